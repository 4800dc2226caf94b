"""The pipeline as Dagster runs it: the defs-folder layout, Dagster's own runner, blocking checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

from pipelines.build import build
from tests.conftest import ROOT, SAMPLE, stop

BIN = Path(sys.executable).parent
# A sentence of the sample article en_03: if it is found in Dagster's storage, an article's text is.
SENTENCE = "invoking an emergency provision that bypasses the usual congressional review"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTBUILDER_", "DAGSTER_"))}
    return {**env, **extra}


def test_dg_check_defs_loads_the_defs_folder():
    r = subprocess.run(
        [str(BIN / "dg"), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=_env()
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All definitions loaded successfully" in r.stdout + r.stderr


def test_dg_list_defs_names_every_definition():
    r = subprocess.run(
        [str(BIN / "dg"), "list", "defs", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    listed = json.loads(r.stdout)
    assert {a["asset_key"] for a in listed["assets"]} >= {"articles", "published_dataset"}
    assert len(listed["asset_checks"]) == 4
    assert [j["name"] for j in listed["jobs"]] == ["build_dataset"]
    assert [s["name"] for s in listed["schedules"]] == ["daily_build"]
    assert [s["name"] for s in listed["sensors"]] == ["new_articles"]


def test_dg_dev_serves_the_code_location(tmp_path):
    port = _free_port()
    env = _env(DAGSTER_HOME=str(tmp_path))
    server = subprocess.Popen(
        [str(BIN / "dg"), "dev", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
    try:
        deadline = time.monotonic() + 240
        answer = None
        while time.monotonic() < deadline and answer is None:
            assert server.poll() is None, "dg dev exited"
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": query}).encode(),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read())
            except (OSError, ValueError):
                time.sleep(1)
        assert answer is not None, "dg dev did not answer within 240 s"
        jobs = {j["name"] for n in answer["data"]["repositoriesOrError"]["nodes"] for j in n["jobs"]}
        assert "build_dataset" in jobs
    finally:
        stop(server)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dagsters_runner_publishes_and_keeps_no_article_text_in_dagster_home(tmp_path):
    import dagster as dg

    home, out = tmp_path / "dagster_home", tmp_path / "out"
    home.mkdir()
    # A run of the job is one batch, a partition of the instance (the UI's "add partition" does this).
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("batches", ["sample"])
    tags = '{"dagster/partition": "sample"}'
    r = subprocess.run(
        [
            *(str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions"),
            *("-j", "build_dataset", "--tags", tags),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(DAGSTER_HOME=str(home), EVENTBUILDER_OUTPUT=str(out)),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    articles = pd.read_parquet(out / "articles")
    assert len(articles) == len(list(SAMPLE.glob("*.txt")))
    assert any(SENTENCE in t for t in articles["text"])
    events = pd.read_parquet(out / "events")
    assert len(events) > 0

    stored = [p for p in home.rglob("*") if p.is_file()]
    assert stored, "Dagster wrote nothing: the run did not use this DAGSTER_HOME"
    holding = [p for p in stored if SENTENCE.encode() in p.read_bytes()]
    assert holding == []
    # The steps hand each other references to the input files, not copies of the articles' texts.
    handovers = [p.read_bytes() for p in (out / ".eventbuilder-steps").rglob("*") if p.is_file()]
    texts = [t.encode() for t in articles["text"]]
    assert handovers and not [t for t in texts for data in handovers if t in data]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("published_dataset"))
        metadata = event.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == len(events)
        columns = {c.name for c in metadata["dagster/column_schema"].value.columns}
        assert {"event_id", "event_type", "evidence"} <= columns
        event = instance.get_latest_materialization_event(dg.AssetKey("articles"))
        assert event.asset_materialization.metadata["dagster/row_count"].value == len(articles)


def test_a_failing_blocking_check_publishes_nothing_and_the_earlier_version_stays(tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = build([], out, extractor="rules")
    assert first.error is None
    before = pd.read_parquet(out / "events")

    import pipelines.normalize as normalize

    real = normalize.normalize_events

    def moved_quote(events, articles):
        result = real(events, articles)
        result[0]["evidence"][0]["start"] += 1  # a quote no longer text[start:end] of its article
        return result

    monkeypatch.setattr(normalize, "normalize_events", moved_quote)
    inp = tmp_path / "in"
    inp.mkdir()
    story = (SAMPLE / "en_03_gaza_tank_shells.txt").read_text(encoding="utf-8")
    (inp / "new.txt").write_text(story + "\nMore.", encoding="utf-8")
    second = build([inp], out, extractor="rules")
    assert second.published is None
    assert second.checks["quotes_grounded_before_publishing"] is False
    assert second.error == (
        "1 blocking asset check failed with ERROR severity:"
        " normalized_events: quotes_grounded_before_publishing"
    )
    after = pd.read_parquet(out / "events")
    assert sorted(after["event_id"]) == sorted(before["event_id"])
    assert str(inp / "new.txt") not in set(pd.read_parquet(out / "articles")["source"])
