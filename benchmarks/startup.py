"""Start-up cost: the sample build against importing Dagster, and the job through Dagster's runner.

Runs, in turn and several times, `python -c "import dagster"`, the build's job with no work in it
(`benchmarks/dagster_skeleton.py`), `eventbuilder build` of the built-in
sample into a fresh output folder, then `dagster job execute -j build_dataset` of one batch partition
with a fresh DAGSTER_HOME (adding the partition is not timed). Taking them in turn keeps a busy moment
of the machine from favouring one of them.
Prints each one's median wall time and the ratio of the sample build to the Dagster import.

    .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
    names = ("import dagster", "dagster skeleton", "sample build", "dagster job execute")
    times: dict[str, list[float]] = {name: [] for name in names}
    skeleton = Path(__file__).with_name("dagster_skeleton.py")
    tmp = Path(tempfile.mkdtemp(prefix="eb-startup-"))
    try:
        for i in range(args.runs):
            times["import dagster"].append(timed([sys.executable, "-c", "import dagster"], env))
            times["dagster skeleton"].append(timed([sys.executable, str(skeleton)], env))
            build = [str(BIN / "eventbuilder"), "build", "--output", str(tmp / f"out{i}")]
            times["sample build"].append(timed(build, env))
            home = tmp / f"home{i}"
            home.mkdir()
            # A run of the job is one batch: a partition added first, as the UI or a sensor does.
            add = "import dagster as dg; dg.DagsterInstance.get().add_dynamic_partitions('batches', ['s'])"
            subprocess.run([sys.executable, "-c", add], check=True, env={**env, "DAGSTER_HOME": str(home)})
            job = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions"]
            job += ["-j", "build_dataset", "--tags", '{"dagster/partition": "s"}']
            run_env = {**env, "DAGSTER_HOME": str(home), "EVENTBUILDER_OUTPUT": str(tmp / f"job{i}")}
            times["dagster job execute"].append(timed(job, run_env, cwd=tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, values in times.items():
        print(f"{name:<22} median {medians[name]:5.2f} s  (min {min(values):.2f}, max {max(values):.2f})")
    ratio = medians["sample build"] / medians["import dagster"]
    print(f"sample build / import dagster: {ratio:.2f}x (issue goal: at most 2.5x)")
    floor = medians["dagster skeleton"] / medians["import dagster"]
    print(f"the job's shape with no work in it (dagster_skeleton.py) / import dagster: {floor:.2f}x")


if __name__ == "__main__":
    main()
