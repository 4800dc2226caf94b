"""The Dagster deployment's instance for real: the shipped deploy/dagster.yaml (PostgreSQL run,
event-log and schedule storage) with a PostgreSQL server the test starts on 127.0.0.1. The daemon
runs the schedule and the new-files sensor, both publish, and the run history outlives a restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT, SAMPLE, stop
from tests.services import Postgres, dagster_pg_env

BIN = Path(sys.executable).parent


def sources(out: Path) -> set[str]:
    try:
        return {Path(s).name for s in pd.read_parquet(out / "articles")["source"]}
    except (FileNotFoundError, OSError):
        return set()


def dagster(*args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dagster"), *args, "-w", str(ROOT / "deploy" / "workspace.yaml")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def run_count(home: Path) -> int:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        return len(instance.get_runs())


def all_runs_ended(home: Path) -> bool:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        return all(r.is_finished for r in instance.get_runs())


def start_daemon(env, cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "a") as f:
        return subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "deploy" / "workspace.yaml")],
            cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_for(condition, daemon: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert daemon.poll() is None, log.read_text()[-3000:]
        time.sleep(2)
    raise AssertionError(f"timed out; daemon log: {log.read_text()[-3000:]}")


def test_the_daemon_on_postgres_runs_the_schedule_and_the_sensor_and_history_survives_a_restart(
    tmp_path, monkeypatch
):
    home, inbox, out = tmp_path / "dagster_home", tmp_path / "inbox", tmp_path / "dataset"
    home.mkdir()
    inbox.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with Postgres() as pg:
        pg.create_database("dagster")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
        env.update(
            DAGSTER_HOME=str(home),
            **dagster_pg_env(pg, "dagster"),
            EVENTBUILDER_INPUT=str(inbox),
            EVENTBUILDER_OUTPUT=str(out),
            EVENTBUILDER_EXTRACTOR="rules",
            EVENTBUILDER_SENSOR_INTERVAL="2",
            EVENTBUILDER_SCHEDULE="* * * * *",  # every minute, so the test sees a tick
        )
        shutil.copy(SAMPLE / "en_03_gaza_tank_shells.txt", inbox)
        started = dagster("schedule", "start", "daily_build", env=env, cwd=tmp_path)
        assert started.returncode == 0, started.stdout + started.stderr
        log = tmp_path / "daemon.log"
        daemon = start_daemon(env, tmp_path, log)
        try:
            # The schedule's tick (at the next minute) starts a run; stopped then, so that a slow run
            # does not see a second tick. The run publishes what the inbox holds.
            for k, v in env.items():
                if k.startswith("DAGSTER_PG_"):
                    monkeypatch.setenv(k, v)
            wait_for(lambda: run_count(home) > 0, daemon, log, 150)
            stopped = dagster("schedule", "stop", "daily_build", env=env, cwd=tmp_path)
            assert stopped.returncode == 0, stopped.stderr
            wait_for(lambda: sources(out) == {"en_03_gaza_tank_shells.txt"}, daemon, log, 150)
            started = dagster("sensor", "start", "new_articles", env=env, cwd=tmp_path)
            assert started.returncode == 0, started.stdout + started.stderr
            shutil.copy(SAMPLE / "ar_01_libya_humanitarian_truce.txt", inbox)
            want = {"en_03_gaza_tank_shells.txt", "ar_01_libya_humanitarian_truce.txt"}
            wait_for(lambda: sources(out) == want, daemon, log, 150)
            # The dataset is on disk before the run's checks on it end: stopping the daemon then
            # would interrupt the run (its process is the daemon's child), which is not the case tested.
            wait_for(lambda: all_runs_ended(home), daemon, log, 150)
        finally:
            stop(daemon)

        import dagster as dg

        def history() -> list:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                assert type(instance.run_storage).__name__ == "PostgresRunStorage"
                return [(r.run_id, r.status) for r in instance.get_runs()]

        runs = history()
        failed = [r for r, s in runs if s != dg.DagsterRunStatus.SUCCESS]
        if failed:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                why = [
                    e.dagster_event.message
                    for e in instance.all_logs(failed[0])
                    if e.dagster_event and e.dagster_event.is_failure
                ]
            raise AssertionError(f"{len(failed)} of {len(runs)} runs failed: {why}")
        assert len(runs) >= 2
        assert not list(home.rglob("*.db"))  # nothing went to SQLite files
        # A new daemon (and a restarted database) sees the same history.
        pg.stop()
        pg.start()
        daemon = start_daemon(env, tmp_path, log)
        try:
            time.sleep(5)
            assert daemon.poll() is None, log.read_text()[-3000:]
            assert set(history()) >= set(runs)
        finally:
            stop(daemon)
