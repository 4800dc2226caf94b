"""Builds cut into batches (Dagster's dynamic partitions): the same dataset as one batch, one batch's
texts in memory at a time, and refusal, full refresh and duplicates judged over the whole build."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines import batches, store
from pipelines.build import build

from .conftest import SAMPLE
from .test_incremental import write_articles


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / name)


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "o"
    assert build([SAMPLE], out, extractor="rules").error is None
    return out


def test_a_build_in_batches_publishes_what_one_batch_does(tmp_path, whole):
    out = tmp_path / "o"
    result = build([SAMPLE], out, extractor="rules", batch_size=5)
    assert result.error is None and all(result.checks.values()) and len(result.checks) == 4
    # The CLI's partitions live as long as its build: their records go with it.
    assert not (out / batches.FOLDER).exists()
    for name, key in (("events", "event_id"), ("articles", "source"), ("quarantine", "source")):
        a, b = table(whole, name), table(out, name)
        assert sorted(a[key].astype(str)) == sorted(b[key].astype(str)), name
    ev_a = table(whole, "events").set_index("event_id")
    ev_b = table(out, "events").set_index("event_id").loc[ev_a.index]
    assert list(ev_a["date"]) == list(ev_b["date"]) and list(ev_a["status"]) == list(ev_b["status"])
    assert json.loads((out / "_manifest.json").read_text())["counts"]["this_run"] == {
        "read": 14,
        "extracted": 14,
        "unchanged": 0,
        "failed": 0,
    }


def test_the_extractor_sees_one_batch_at_a_time(tmp_path, monkeypatch):
    import pipelines.extract as extract

    sizes: list[int] = []
    real = extract.extract_all

    def spy(articles, extractor, progress=None):
        sizes.append(len(articles))
        return real(articles, extractor, progress)

    monkeypatch.setattr(extract, "extract_all", spy)
    write_articles(tmp_path / "in", 0, 7)
    assert build([tmp_path / "in"], tmp_path / "o", extractor="rules", batch_size=3).error is None
    assert sizes == [3, 3, 1] and len(table(tmp_path / "o", "articles")) == 7


def test_duplicates_across_batches_are_quarantined_as_in_one_batch(tmp_path):
    inp = tmp_path / "in"
    (first,) = write_articles(inp, 0, 1)
    (inp / "z_copy.txt").write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    story = (SAMPLE / "en_01_syria_crossborder_veto.txt").read_text(encoding="utf-8")
    for name, text in (("c.jsonl", story), ("d.jsonl", "Title\n\nEgypt called for a truce in Gaza.")):
        (inp / name).write_text(json.dumps({"id": "same-id", "text": text}) + "\n", encoding="utf-8")
    outcomes = []
    for size in (100, 1):
        out = tmp_path / f"o{size}"
        result = build([inp], out, extractor="rules", batch_size=size)
        assert result.error is None and all(result.checks.values()), result.checks
        arts = table(out, "articles").set_index("source")
        outcomes.append(arts["reason"].fillna("").map(lambda r: r.split(":")[0]).to_dict())
    batched = outcomes[1]
    assert outcomes[0] == batched
    assert batched[str(inp / "z_copy.txt")] == "duplicate"
    assert batched[f"{inp / 'd.jsonl'}:1"] == "duplicate_id"


def test_refusal_is_judged_over_every_batch(tmp_path, whole):
    out = tmp_path / "o"
    assert build([SAMPLE], out, extractor="rules").error is None
    good = (out / "_manifest.json").read_text()
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(3):
        (inp / f"n{i}.pdf").write_bytes(b"%PDF-1.4\n")
    refused = build([inp], out, extractor="rules", batch_size=1)
    assert refused.published is None and "nothing was read" in refused.error
    assert (out / "_manifest.json").read_text() == good
    # One batch with nothing to read does not stop a build whose other batch has an article.
    write_articles(inp, 0, 1)
    result = build([inp], out, extractor="rules", batch_size=1)
    assert result.error is None and result.published.run["read"] == 4


def test_a_full_refresh_in_batches_drops_the_rest_only_when_it_publishes(tmp_path, monkeypatch):
    import pipelines.publish as publish

    out = tmp_path / "o"
    old = write_articles(tmp_path / "old", 0, 3)
    assert build([tmp_path / "old"], out, extractor="rules").error is None
    new = write_articles(tmp_path / "new", 10, 3)
    real = publish.store_batch
    calls = []

    def dies_in_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(publish, "store_batch", dies_in_the_second_batch)
    failed = build([tmp_path / "new"], out, extractor="rules", full_refresh=True, batch_size=1)
    assert failed.error and "disk full" in failed.error and failed.published is None
    # The first batch is stored beside the old articles: nothing was dropped before the last step.
    sources = {r["source"] for r in store.index(out).values()}
    assert sources == {str(p.resolve()) for p in [*old, new[0]]}
    assert sorted(table(out, "articles")["source"]) == sorted(str(p.resolve()) for p in old)
    monkeypatch.undo()
    # The failed full refresh left a stored batch: the next, ordinary build adds to everything.
    extra = write_articles(tmp_path / "extra", 20, 1)
    assert build([tmp_path / "extra"], out, extractor="rules").error is None
    everything = {str(p.resolve()) for p in [*old, new[0], *extra]}
    assert set(table(out, "articles")["source"]) == everything
    result = build([tmp_path / "new"], out, extractor="rules", full_refresh=True, batch_size=2)
    assert result.error is None
    assert sorted(table(out, "articles")["source"]) == sorted(str(p.resolve()) for p in new)
    assert {r["source"] for r in store.index(out).values()} == {str(p.resolve()) for p in new}


def test_the_cli_runs_each_batch_in_a_child_process_and_publishes_what_one_batch_does(tmp_path, whole):
    """The CLI's process never loads Delta Lake, so each batch's run and the publication's are forked
    children (pipelines.workers.in_child): the dataset is the same as one batch's in this process."""
    import os
    import subprocess
    import sys

    cli = Path(sys.executable).parent / "eventbuilder"
    out = tmp_path / "o"
    env = {**os.environ, "EVENTBUILDER_BATCH_SIZE": "5", "EVENTBUILDER_WORKERS": "2"}
    cmd = [str(cli), "build", str(SAMPLE), "--output", str(out), "--extractor", "rules"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    for name, key in (("events", "event_id"), ("articles", "source"), ("quarantine", "source")):
        assert sorted(table(whole, name)[key].astype(str)) == sorted(table(out, name)[key].astype(str)), name
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["counts"]["this_run"]["extracted"] == 14
    assert not (out / batches.FOLDER).exists() and not list(out.glob(".eventbuilder-lock*.tmp"))
