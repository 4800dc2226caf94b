"""Once for real: dagster-daemon with a temporary DAGSTER_HOME (the shipped deploy/local/dagster.yaml)
runs the sensor, which sees files dropped into the watched folder, and the dataset publishes them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT, SAMPLE, stop

BIN = Path(sys.executable).parent


def _published_sources(out: Path) -> set[str]:
    try:
        return set(pd.read_parquet(out / "articles")["source"])
    except (FileNotFoundError, OSError):
        return set()


def test_the_daemon_publishes_files_dropped_into_the_watched_folder(tmp_path):
    home, watched, out = tmp_path / "dagster_home", tmp_path / "inbox", tmp_path / "dataset"
    home.mkdir()
    watched.mkdir()
    shutil.copy(ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        EVENTBUILDER_INPUT=str(watched),
        EVENTBUILDER_OUTPUT=str(out),
        EVENTBUILDER_EXTRACTOR="rules",
        EVENTBUILDER_SENSOR_INTERVAL="2",
    )
    location = ["-m", "pipelines.definitions"]
    started = subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", "new_articles", *location],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *location],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(5)  # the sensor's first look finds an empty folder
        assert _published_sources(out) == set()
        dropped = []
        for name in ("en_03_gaza_tank_shells.txt", "ar_01_libya_humanitarian_truce.txt"):
            shutil.copy(SAMPLE / name, watched / name)
            dropped.append(str((watched / name).resolve()))
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _published_sources(out) != set(dropped):
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(2)
        assert _published_sources(out) == set(dropped), (tmp_path / "daemon.log").read_text()[-3000:]
        assert len(pd.read_parquet(out / "events")) > 0
    finally:
        stop(daemon)
        log.close()
