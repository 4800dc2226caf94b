"""The celery executor for real: a Redis server and two celery worker processes started on
127.0.0.1 by the test; two partitions' runs at once execute their steps on the workers, each
worker's log shows the steps it ran, and the dataset holds each article once."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from pipelines.defs.jobs import build_run_config
from tests.conftest import ROOT, SAMPLE, stop
from tests.services import Postgres, Redis, celery_worker, dagster_pg_env, partition_run

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def deployment(tmp_path: Path, monkeypatch, **extra: str):
    """Redis, PostgreSQL, a DAGSTER_HOME with deploy/dagster.yaml and two celery workers (w1, w2).
    Yields the environment of the runs, the home and {name: (worker process, its log)}."""
    import dagster as dg

    home, out = tmp_path / "dagster_home", tmp_path / "dataset"
    home.mkdir()
    # The deployment's instance: runs and workers at once share PostgreSQL, as in deploy/.
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with Redis(tmp_path / "redis") as redis, Postgres() as pg:
        pg.create_database("dagster")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
        pg_env = dagster_pg_env(pg, "dagster")
        for k, v in pg_env.items():  # for this process's own instance
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
        env.update(extra)
        workers = {
            n: (celery_worker(n, env, tmp_path, tmp_path / f"{n}.log"), tmp_path / f"{n}.log")
            for n in ("w1", "w2")
        }
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(
                "ready" in log.read_text() for _, log in workers.values()
            ):
                time.sleep(0.5)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                instance.add_dynamic_partitions("batches", ["p1", "p2"])
            yield env, home, workers
        finally:
            for proc, _ in workers.values():
                if proc.poll() is None:
                    stop(proc)


def write_config(tmp_path: Path, key: str, files: list[Path]) -> Path:
    path = tmp_path / f"{key}.yaml"
    path.write_text(json.dumps(build_run_config(files, run_id=f"run-{key}")), encoding="utf-8")
    return path


def test_two_runs_on_the_celery_executor_spread_their_steps_over_two_workers(tmp_path, monkeypatch):
    out = tmp_path / "dataset"
    with deployment(tmp_path, monkeypatch) as (env, home, workers):
        # Two batches of different files, as a backfill of two partitions would have.
        files = sorted(SAMPLE.glob("*.txt"))
        configs = {
            "p1": write_config(tmp_path, "p1", files[:7]),
            "p2": write_config(tmp_path, "p2", files[7:]),
        }
        runs = [partition_run(key, config, env, tmp_path) for key, config in configs.items()]
        results = [(r.wait(timeout=600), r.communicate()[1]) for r in runs]
        logs = {name: log.read_text() for name, (_, log) in workers.items()}
        for code, err in results:
            assert code == 0, err[-3000:] + "\n".join(v[-1500:] for v in logs.values())
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


def test_a_worker_killed_mid_run_leaves_its_partition_retryable_and_the_retry_duplicates_nothing(
    tmp_path, monkeypatch
):
    from tests.llm_server import LLMServer, Script

    out = tmp_path / "dataset"
    files = sorted(SAMPLE.glob("*.txt"))[:6]
    # A slow model: the extraction step is still waiting on it when its worker is killed.
    script = Script(default={"content": '{"events": []}'}, latency=4.0)
    with LLMServer(script) as srv:
        llm = {
            "EVENTBUILDER_EXTRACTOR": "llm",
            "EVENTBUILDER_MODEL": "openai/test-model",
            "EVENTBUILDER_API_BASE": srv.api_base,
            "EVENTBUILDER_API_KEY": "sk-test-000000000000",
            "EVENTBUILDER_ARTICLES_PER_CALL": "1",
            "EVENTBUILDER_CONCURRENCY": "1",
        }
        with deployment(tmp_path, monkeypatch, **llm) as (env, home, workers):
            config = write_config(tmp_path, "p1", files)
            first = partition_run("p1", config, env, tmp_path)
            deadline, victim = time.monotonic() + 180, None
            while victim is None and time.monotonic() < deadline:
                for name, (_, log) in workers.items():
                    if 'Started execution of step "event_mentions"' in log.read_text():
                        victim = name
                time.sleep(0.2)
            assert victim, "the extraction step never started"
            os.killpg(workers[victim][0].pid, signal.SIGKILL)  # the worker and its pool, mid-step
            try:  # the run fails, or waits for a step no worker will finish: then it is ended
                code = first.wait(timeout=30)
            except subprocess.TimeoutExpired:
                first.kill()
                code = first.wait()
            print("first run:", code)
            assert code != 0
            assert not (out / "current").exists()  # nothing was published by the broken run
            # The retry: the same partition run again; the other worker runs every step.
            retry = partition_run("p1", config, env, tmp_path)
            assert retry.wait(timeout=600) == 0, retry.communicate()[1][-3000:]
            survivor = next(n for n in workers if n != victim)
            assert 'Started execution of step "published_dataset"' in workers[survivor][1].read_text()
    articles = pd.read_parquet(out / "articles")
    assert len(articles) == articles["source"].nunique() == len(files)
    assert set(articles["state"]) == {"no_events"}
