"""Scale-out on the celery executor: the build of N articles in P partitions, each a run of
build_dataset, all started at once, with the steps executed by 1 and then by 2 celery workers, the
model a scripted OpenAI-compatible server on 127.0.0.1 answering after S seconds.

Starts Redis and PostgreSQL (Debian's packages, as the tests do: tests/services.py), the scripted
model (tests/llm_server.py), the workers (``dagster-celery worker start``) and the runs (``dagster job
execute``); nothing leaves 127.0.0.1. Prints the wall time of each worker count and, last,
``speedup=X calls=C articles=N sends=S``: C model calls and S articles sent to the model in the last
pass (S = N: no article was sent twice). Usage (from the repository root):

    .venv/bin/python -m benchmarks.scale_out --articles 2000 --partitions 8 --latency 0.2 --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import make_corpus
from pipelines.defs.jobs import build_run_config
from tests.conftest import stop
from tests.llm_server import LLMServer, Script
from tests.services import Postgres, Redis, celery_worker, dagster_pg_env, partition_run

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ANSWER = json.dumps({"events": []})


def one_pass(workers: int, parts: list[Path], latency: float, tmp: Path, redis: Redis, pg: Postgres):
    import dagster as dg

    home, out = tmp / f"home-{workers}", tmp / f"out-{workers}"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    db = f"dagster{workers}"
    pg.create_database(db)
    pg_env = dagster_pg_env(pg, db)
    os.environ.update(pg_env)
    script = Script(default={"content": ANSWER}, latency=latency)
    with LLMServer(script) as srv:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
        env.update(
            **pg_env,
            DAGSTER_HOME=str(home),
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            EVENTBUILDER_OUTPUT=str(out),
            EVENTBUILDER_EXECUTOR="celery",
            EVENTBUILDER_CELERY_BROKER=redis.url,
            EVENTBUILDER_CELERY_BACKEND=redis.url,
            EVENTBUILDER_EXTRACTOR="llm",
            EVENTBUILDER_MODEL="openai/bench-model",
            EVENTBUILDER_API_BASE=srv.api_base,
            EVENTBUILDER_API_KEY="bench-key-000000",
            EVENTBUILDER_CONCURRENCY="1",  # one call in flight per step: the work waits on the model
        )
        procs = [
            celery_worker(f"w{i}-{workers}", env, tmp, tmp / f"worker-{workers}-{i}.log")
            for i in range(workers)
        ]
        try:
            time.sleep(8)  # the workers connect to the broker
            keys = [f"p{i}" for i in range(len(parts))]
            with dg.DagsterInstance.from_config(str(home)) as instance:
                instance.add_dynamic_partitions("batches", keys)
            t0 = time.perf_counter()
            runs = []
            for key, part in zip(keys, parts, strict=True):
                config = tmp / f"{key}-{workers}.json"
                config.write_text(json.dumps(build_run_config([part], run_id=f"{key}-w{workers}")))
                runs.append(partition_run(key, config, env, tmp))
            failed = [r.communicate()[1][-2000:] for r in runs if r.wait() != 0]
            wall = time.perf_counter() - t0
        finally:
            for p in procs:
                stop(p)
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed:\n{failed[0]}")
    return wall, len(script.calls), script.articles_sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--workers", default="1,2")
    a = ap.parse_args()
    counts = [int(w) for w in a.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="eventbuilder-scale-"))
    try:
        parts = []
        per = a.articles // a.partitions
        for i in range(a.partitions):
            folder = tmp / "in" / f"p{i}"
            folder.mkdir(parents=True)
            n = per if i < a.partitions - 1 else a.articles - per * (a.partitions - 1)
            make_corpus(folder, n, start=i * per)
            parts.append(folder)
        walls = {}
        with Redis(tmp / "redis") as redis, Postgres() as pg:
            for w in counts:
                wall, calls, sends = one_pass(w, parts, a.latency, tmp, redis, pg)
                walls[w] = wall
                print(f"workers={w}: wall {wall:.1f} s, {calls} calls, {sends} articles sent", flush=True)
        speedup = walls[counts[0]] / walls[counts[-1]]
        print(f"speedup={speedup:.2f} calls={calls} articles={a.articles} sends={sends}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
