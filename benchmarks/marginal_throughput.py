"""Marginal throughput and peak memory of `eventbuilder build`, against a plain pass as its floor.

The floor is the least any tool must do with these files: one pass that reads each file, folds
its Arabic orthography (the project's own fold), runs one 500-word regular-expression alternation
over it and writes the texts as zstd Parquet. The build does much more (cleaning, language,
extraction, grounding, normalisation, merging, a Delta store, versioned tables), so the ratio says
how close the whole product comes to that floor.

Marginal throughput is (N_big - N_small) / (t_big - t_small): the fixed start-up cost (imports,
lexicons) cancels out. Each build is a separate `eventbuilder build` process into a fresh output
folder; its peak resident memory is read from the kernel (wait4) for that process alone.

    .venv/bin/python benchmarks/marginal_throughput.py [--small 1000] [--big 10000]

100k: ``--small 10000 --big 100000 --repeat 1`` (about 15 minutes) gives the time ratio 100k / 10k.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.corpus import make_corpus
from pipelines.data import load_yaml
from pipelines.textnorm import normalize

EVENTBUILDER = Path(sys.executable).parent / "eventbuilder"


def floor_words(n: int = 500) -> list[str]:
    """500 folded words and names from the packaged actor dictionary (Arabic and English)."""
    words: list[str] = []
    for rec in load_yaml("actors.yaml"):
        for alias in [rec["name"], *(rec.get("aliases") or [])]:
            w = normalize(str(alias))
            if len(w) > 2 and w not in words:
                words.append(w)
            if len(words) == n:
                return words
    return words


def plain_pass(files: list[Path], out: Path, pattern: re.Pattern) -> int:
    """Read, fold, one regex alternation, zstd Parquet: the floor. Returns the matches found."""
    paths, texts, counts = [], [], []
    for f in files:
        text = f.read_text(encoding="utf-8")
        counts.append(len(pattern.findall(normalize(text))))
        paths.append(str(f))
        texts.append(text)
    table = pa.table({"path": paths, "text": texts, "matches": counts})
    pq.write_table(table, out, compression="zstd")
    return sum(counts)


# Started from this process, a build would be charged this process's own peak: Linux carries the
# peak RSS of the memory a process replaces at exec into its rusage (and the floor pass at 100k holds
# every text, 1.5 GB). So a small launcher starts the build and reports the build's own rusage.
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def timed_build(inp: Path, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `eventbuilder build` process (the most any one of its
    processes held: the build, its extraction workers or a run's child)."""
    cmd = [str(EVENTBUILDER), "build", str(inp), "--output", str(out), "--extractor", "rules"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    code, maxrss = (int(x) for x in proc.stdout.split())
    if code != 0:
        raise SystemExit(f"eventbuilder build {inp} failed ({code}): {proc.stderr}")
    return secs, maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--big", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3, help="floor passes per size; the median counts")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eb-marginal-"))
    try:
        small, big = tmp / "small", tmp / "big"
        small.mkdir()
        big.mkdir()
        make_corpus(small, args.small)
        make_corpus(big, args.big)
        pattern = re.compile("|".join(re.escape(w) for w in floor_words()))

        floor_t = {}
        for name, folder in (("small", small), ("big", big)):
            files = sorted(folder.iterdir())
            runs = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                plain_pass(files, tmp / f"{name}.parquet", pattern)
                runs.append(time.perf_counter() - t0)
            floor_t[name] = statistics.median(runs)
        floor_rate = (args.big - args.small) / (floor_t["big"] - floor_t["small"])

        build_t, rss = {}, {}
        for name, folder in (("small", small), ("big", big)):
            build_t[name], rss[name] = timed_build(folder, tmp / f"out-{name}")
        build_rate = (args.big - args.small) / (build_t["big"] - build_t["small"])

        print(f"articles: {args.small} and {args.big} ({os.cpu_count()} cores)")
        print(
            f"floor (read, fold, 500-word regex, zstd Parquet): {floor_t['small']:.2f} s and "
            f"{floor_t['big']:.2f} s -> marginal {floor_rate:,.0f} articles/s"
        )
        print(
            f"eventbuilder build: {build_t['small']:.1f} s and {build_t['big']:.1f} s -> marginal "
            f"{build_rate:,.0f} articles/s"
        )
        print(f"ratio to the floor: {build_rate / floor_rate:.2f}x (issue goal 1.0x, done at 0.5x)")
        print(f"peak RSS: {rss['small']:.0f} MB at {args.small}, {rss['big']:.0f} MB at {args.big}")
        print(f"time {args.big} / {args.small}: {build_t['big'] / build_t['small']:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
