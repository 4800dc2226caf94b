"""The celery executor for real: a Redis server and two celery worker processes started on
127.0.0.1 by the test; two partitions' runs at once execute their steps on the workers, each
worker's log shows the steps it ran, and the dataset holds each article once."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from pipelines.defs.jobs import build_run_config
from tests.conftest import ROOT, SAMPLE, stop
from tests.services import Postgres, Redis, celery_worker, dagster_pg_env, partition_run

BIN = Path(sys.executable).parent


def test_two_runs_on_the_celery_executor_spread_their_steps_over_two_workers(tmp_path, monkeypatch):
    home, out = tmp_path / "dagster_home", tmp_path / "dataset"
    home.mkdir()
    # The deployment's instance: runs and workers at once share PostgreSQL, as in deploy/.
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with Redis(tmp_path / "redis") as redis, Postgres() as pg:
        pg.create_database("dagster")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
        pg_env = dagster_pg_env(pg, "dagster")
        for k, v in pg_env.items():  # for this process's own instance below
            monkeypatch.setenv(k, v)
        env.update(
            **pg_env,
            DAGSTER_HOME=str(home),
            EVENTBUILDER_OUTPUT=str(out),
            EVENTBUILDER_EXTRACTOR="rules",
            EVENTBUILDER_EXECUTOR="celery",
            EVENTBUILDER_CELERY_BROKER=redis.url,
            EVENTBUILDER_CELERY_BACKEND=redis.url,
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery`
        )
        workers = [
            (celery_worker(n, env, tmp_path, tmp_path / f"{n}.log"), tmp_path / f"{n}.log")
            for n in ("w1", "w2")
        ]
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all("ready" in log.read_text() for _, log in workers):
                time.sleep(0.5)
            import dagster as dg

            with dg.DagsterInstance.from_config(str(home)) as instance:
                instance.add_dynamic_partitions("batches", ["p1", "p2"])
            # Two batches of different files, as a backfill of two partitions would have.
            files = sorted(SAMPLE.glob("*.txt"))
            for key, part in (("p1", files[:7]), ("p2", files[7:])):
                config = build_run_config(part, run_id=f"run-{key}")
                (tmp_path / f"{key}.yaml").write_text(json.dumps(config), encoding="utf-8")
            runs = [partition_run(key, tmp_path / f"{key}.yaml", env, tmp_path) for key in ("p1", "p2")]
            results = [(r.wait(timeout=600), r.communicate()[1]) for r in runs]
            logs = {name: log.read_text() for name, (_, log) in zip(("w1", "w2"), workers, strict=True)}
            for code, err in results:
                assert code == 0, err[-3000:] + "\n".join(v[-1500:] for v in logs.values())
        finally:
            for proc, _ in workers:
                stop(proc)
    articles = pd.read_parquet(out / "articles")
    assert len(articles) == articles["source"].nunique() == len(list(SAMPLE.glob("*.txt")))
    assert len(pd.read_parquet(out / "events")) > 0
    ran = {name: re.findall(r'Started execution of step "(\w+)"', text) for name, text in logs.items()}
    print("steps by worker:", ran)
    assert ran["w1"] and ran["w2"], ran  # both workers ran steps
    steps = ran["w1"] + ran["w2"]
    assert "event_mentions" in steps and "published_dataset" in steps
    # every step of the two runs ran once, on one worker or the other
    assert all(steps.count(step) == 2 for step in steps), ran
