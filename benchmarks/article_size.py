"""Time and memory of the rules extractor (then validation and normalisation) against article size.

Synthetic articles repeat the body paragraphs of the packaged sample articles (Arabic and English
news with actors, places and event triggers) up to a size in UTF-8 bytes. Each size runs in its own
process, so the peak resident memory reported (``resource.getrusage``) is that size's alone. With
``--varied`` each pass over the paragraphs writes its own dates ("on 5 March 2016" for "on
Monday"), so the events of one pass do not merge with those of the others: a long article telling
many distinct events rather than the same few again. Usage:

    .venv/bin/python -m benchmarks.article_size                  # 0.25, 1 and 4 MB
    .venv/bin/python -m benchmarks.article_size 0.25 1 4 16      # sizes in MB
    .venv/bin/python -m benchmarks.article_size --varied 1 4

Cost linear in size gives a 4 MB / 1 MB time ratio near 4 (it was 14 before extraction was made
linear).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from pipelines.data import data_path
from pipelines.ingest import Article, article_id

_WEEKDAY = re.compile(
    r"\b(?:on )?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|يوم (?:الاثنين|الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد)"
)
_MONTHS_EN = "January February March April May June July August September October November December".split()
_MONTHS_AR = "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر".split()


def paragraphs() -> list[str]:
    """Body paragraphs (not the headline) of the sample articles, in file name order."""
    out = []
    for path in sorted(Path(str(data_path("sample"))).rglob("*.txt"), key=lambda p: p.name):
        paras = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        out.extend(paras[1:])
    return out


def _dated(paragraph: str, day: dt.date) -> str:
    def explicit(m: re.Match) -> str:
        if m.group().startswith("يوم"):
            return f"يوم {day.day} {_MONTHS_AR[day.month - 1]} {day.year}"
        return f"on {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"

    return _WEEKDAY.sub(explicit, paragraph)


def synthetic_article(size_bytes: int, varied: bool = False) -> Article:
    """An article of about ``size_bytes`` UTF-8 bytes, paragraphs separated by blank lines."""
    paras = paragraphs()
    parts: list[str] = []
    total = i = 0
    while total < size_bytes:
        p = paras[i % len(paras)]
        if varied:
            p = _dated(p, dt.date(2015, 1, 1) + dt.timedelta(days=i // len(paras)))
        parts.append(p)
        total += len(p.encode("utf-8")) + 2
        i += 1
    text = "\n\n".join(parts)
    return Article(article_id=article_id(text), source="synthetic.txt", text=text, published="2024-03-15")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else KiB


def measure(size_mb: float, varied: bool) -> dict:
    """Run the three stages on one synthetic article, in this process."""
    from pipelines.extract.rules import extract
    from pipelines.normalize import normalize_events
    from pipelines.validate import validate_all

    extract(synthetic_article(20_000, varied))  # load the lexicons, the gazetteer and the schemas
    article = synthetic_article(int(size_mb * 1_000_000), varied)
    baseline = _peak_rss_mb()
    t0 = time.perf_counter()
    events = extract(article)
    t1 = time.perf_counter()
    valid = validate_all([article], events)
    t2 = time.perf_counter()
    normalize_events(valid.events, [article])
    t3 = time.perf_counter()
    return {
        "mb": len(article.text.encode("utf-8")) / 1_000_000,
        "chars": len(article.text),
        "events": len(events),
        "published": len(valid.events),
        "extract": t1 - t0,
        "validate": t2 - t1,
        "normalize": t3 - t2,
        "total": t3 - t0,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=float, default=[0.25, 1, 4], help="sizes in MB")
    parser.add_argument("--varied", action="store_true", help="distinct dates in each pass: few merges")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # one size, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.sizes[0], args.varied)))
        return
    rows = {}
    print(
        f"{'MB':>6} {'chars':>10} {'events':>7} {'extract s':>10} {'validate s':>11} {'normalize s':>12} "
        f"{'total s':>8} {'MB/s':>6} {'peak RSS MB':>12} {'(before)':>9}"
    )
    for size in args.sizes:
        cmd = [sys.executable, "-m", "benchmarks.article_size", "--one", str(size)]
        out = subprocess.run(cmd + (["--varied"] if args.varied else []), capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        r = rows[size] = json.loads(out.stdout)
        print(
            f"{r['mb']:6.2f} {r['chars']:10d} {r['events']:7d} {r['extract']:10.2f} {r['validate']:11.2f} "
            f"{r['normalize']:12.2f} {r['total']:8.2f} {r['mb'] / r['total']:6.2f} {r['peak_rss_mb']:12.0f} "
            f"{r['baseline_rss_mb']:9.0f}",
            flush=True,
        )
    if 1 in rows and 4 in rows:
        ratio = {k: rows[4][k] / rows[1][k] for k in ("extract", "total")}
        print(f"4 MB / 1 MB time: extraction {ratio['extract']:.2f}x, all three stages {ratio['total']:.2f}x")


if __name__ == "__main__":
    main()
