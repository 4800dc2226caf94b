"""The dataset in an object store: build, export, eval and report against moto's S3 server, started
on 127.0.0.1 by the test (moto is a dev dependency from PyPI)."""

import json
import shutil
import socket

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

from .conftest import SAMPLE, SAMPLE_GOLD

moto_server = pytest.importorskip(
    "moto.server", reason="moto[server] is not installed (pip install -e '.[dev]')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(monkeypatch, tmp_path):
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "EVENTBUILDER_MIRROR_DIR": str(tmp_path / "mirror-a"),
    }.items():
        monkeypatch.setenv(k, v)
    import boto3
    import s3fs

    # fsspec keeps one filesystem per set of arguments: one made for an earlier test's server would
    # still point at its port
    s3fs.S3FileSystem.clear_instance_cache()
    import urllib.request

    # moto keeps its buckets per process, not per server: start each test from an empty store
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="news")
    yield client
    server.stop()


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def pointer(client) -> dict:
    return json.loads(client.get_object(Bucket="news", Key="events/_current.json")["Body"].read())


def read(client, table: str) -> pd.DataFrame:
    path = pointer(client)["path"]
    return pd.read_parquet(f"s3://news/events/{path}/{table}")


def test_build_into_s3_grows_the_dataset_there_and_readers_see_it(s3, tmp_path, monkeypatch):
    first = tmp_path / "first"
    shutil.copytree(SAMPLE, first)
    late = sorted(first.glob("*.txt"))[-3:]
    later = tmp_path / "later"
    later.mkdir()
    for p in late:
        shutil.move(p, later / p.name)
    code, out = cli("build", first, "--output", "s3://news/events")
    assert code == 0, out
    assert "s3://news/events/_current.json" in out
    one = pointer(s3)
    events = read(s3, "events")
    assert len(read(s3, "articles")) == 11 and len(events) > 0

    # Another machine (an empty mirror) adds three files: only those are new, earlier ids are kept.
    monkeypatch.setenv("EVENTBUILDER_MIRROR_DIR", str(tmp_path / "mirror-b"))
    code, out = cli("build", later, "--output", "s3://news/events")
    assert code == 0, out
    assert "this run: 3 input(s) read, 3 extracted" in " ".join(out.split())
    two = pointer(s3)
    assert two["run_id"] != one["run_id"]
    assert len(read(s3, "articles")) == 14
    assert set(events["event_id"]) <= set(read(s3, "events")["event_id"])
    # The earlier version is still whole where its pointer named it.
    assert len(pd.read_parquet(f"s3://news/events/{one['path']}/events")) == len(events)

    n = len(read(s3, "events"))
    code, out = cli(
        "export", "--dataset", "s3://news/events", "--format", "csv", "--output", tmp_path / "e.csv"
    )
    assert code == 0, out
    assert len(pd.read_csv(tmp_path / "e.csv", encoding="utf-8-sig")) == n
    code, out = cli("report", "--dataset", "s3://news/events", "--output", tmp_path / "r.html")
    assert code == 0, out
    assert f"({n} events)" in out
    code, out = cli("eval", "--gold", SAMPLE_GOLD, "--dataset", "s3://news/events", "--fail-under", "0.9")
    assert code == 0, out


def test_a_push_that_fails_midway_leaves_readers_the_previous_version_whole(s3, tmp_path, monkeypatch):
    code, out = cli("build", SAMPLE, "--output", "s3://news/events")
    assert code == 0, out
    before = pointer(s3)
    rows = len(read(s3, "events"))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.txt").write_text(
        "Egypt urges truce\n\nOn Thursday, Egypt called for an immediate ceasefire in Libya.",
        encoding="utf-8",
    )
    import s3fs

    real = s3fs.S3FileSystem._put_file  # the coroutine behind put_file
    calls = {"n": 0}

    async def flaky(self, lpath, rpath, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:  # the connection drops after two files of the new version
            raise ConnectionError("connection reset by peer")
        return await real(self, lpath, rpath, *a, **kw)

    s3fs.S3FileSystem.clear_instance_cache()
    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", flaky)
    code, out = cli("build", extra, "--output", "s3://news/events")
    assert code == 1 and "upload failed, the published version there is unchanged" in out
    assert pointer(s3) == before and len(read(s3, "events")) == rows

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", real)
    s3fs.S3FileSystem.clear_instance_cache()
    code, out = cli("build", extra, "--output", "s3://news/events")
    assert code == 0, out
    assert pointer(s3)["run_id"] != before["run_id"] and len(read(s3, "events")) == rows + 1


def test_a_dataset_url_with_nothing_published_is_named(s3, tmp_path):
    code, out = cli("export", "--dataset", "s3://news/nothing", "--output", tmp_path / "e.csv")
    assert code == 2 and "s3://news/nothing: no published dataset there (no _current.json)" in out


def test_dagsters_runner_publishes_into_s3_through_the_output_resource(s3, tmp_path):
    import os
    import subprocess

    import dagster as dg

    from .conftest import ROOT

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("batches", ["sample"])
    env = {**os.environ, "DAGSTER_HOME": str(home), "EVENTBUILDER_OUTPUT": "s3://news/events"}
    r = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "dagster"), "job", "execute", "-m", "pipelines.definitions"]
        + ["-j", "build_dataset", "--tags", '{"dagster/partition": "sample"}'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(read(s3, "articles")) == len(list(SAMPLE.glob("*.txt")))
    assert len(read(s3, "events")) > 0
