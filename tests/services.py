"""Servers the tests start on 127.0.0.1 from Debian's packages: PostgreSQL and Redis.

A missing package is installed with apt-get when the tests run as root (CI does); where that cannot
be done, ``pytest.skip`` says why. Each server runs in a folder of the test's own, in a session of
its own, and is stopped with everything it started.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debian_binary(name: str, package: str, also: str = "") -> str:
    """The path of ``name`` (on PATH or in ``also``, a glob), installing ``package`` if need be."""

    def find() -> str | None:
        return (
            shutil.which(name) or next(iter(sorted(glob.glob(f"{also}/{name}"))), None)
            if also
            else shutil.which(name)
        )

    found = find()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            f"{name} is not installed and cannot be installed here (Debian package {package}, needs root)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"apt-get install {package} failed: {done.stderr.strip()[-300:]}")
    found = find()
    if not found:
        pytest.skip(f"{package} installed but {name} not found")
    return found


def _wait_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not listen on {port}: {log.read_text()[-2000:]}")


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as Debian's postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """A PostgreSQL server of the test's own: trust authentication, user postgres, on 127.0.0.1."""

    def __init__(self) -> None:
        bins = "/usr/lib/postgresql/*/bin"
        self.initdb = debian_binary("initdb", "postgresql", bins)
        self.postgres = debian_binary("postgres", "postgresql", bins)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Postgres:
        import tempfile

        # Not under pytest's tmp_path: the postgres user could not enter root's private folder.
        self.folder = Path(tempfile.mkdtemp(prefix="eventbuilder-pg-"))
        data, self.log = self.folder / "pgdata", self.folder / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        init = subprocess.run(
            _as_postgres_user([self.initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if init.returncode != 0:
            pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
        self.start()
        return self

    def start(self) -> None:
        cmd = [
            self.postgres,
            "-D",
            str(self.folder / "pgdata"),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.folder),
        ]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                _as_postgres_user(cmd), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_port(self.port, self.process, self.log)
        time.sleep(0.5)  # listening comes a moment before accepting logins

    def create_database(self, name: str) -> None:
        import psycopg2

        for _ in range(50):
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            from tests.conftest import stop

            stop(self.process)

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Redis:
    """A Redis server of the test's own on 127.0.0.1, no persistence."""

    def __init__(self, folder: Path) -> None:
        self.binary = debian_binary("redis-server", "redis-server")
        self.folder, self.port = folder, free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Redis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "redis.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_port(self.port, self.process, self.log)
        return self

    def __exit__(self, *exc) -> None:
        from tests.conftest import stop

        stop(self.process)


def dagster_pg_env(pg: Postgres, db: str) -> dict[str, str]:
    """The variables deploy/dagster.yaml reads to reach ``db`` on ``pg``."""
    return {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": db,
    }


def celery_worker(name: str, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """A dagster-celery worker (one task at a time) with deploy/celery.yaml, in a session of its own."""
    import sys

    from tests.conftest import ROOT

    bin_ = Path(sys.executable).parent
    with open(log, "w") as f:
        return subprocess.Popen(
            [str(bin_ / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
            + ["-y", str(ROOT / "deploy" / "celery.yaml"), "-n", f"{name}@%h", "-l", "info", "--", "-c", "1"],
            cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def partition_run(key: str, config: Path, env: dict, cwd: Path) -> subprocess.Popen:
    """``dagster job execute`` of build_dataset for partition ``key`` with the run config file ``config``."""
    import json
    import sys

    bin_ = Path(sys.executable).parent
    return subprocess.Popen(
        [str(bin_ / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "build_dataset"]
        + ["--tags", json.dumps({"dagster/partition": key}), "-c", str(config)],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
