"""The review loop: decisions kept with the dataset, applied at once and in every later build."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from pipelines import reviews
from pipelines.build import build

from .conftest import SAMPLE, run_cli


def _events(out):
    return pd.read_parquet(out / "events").set_index("event_id")


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "out"
    assert build([SAMPLE], out, extractor="rules").error is None
    return out


def test_a_reject_and_a_correction_survive_a_rebuild_of_the_same_inputs(built):
    before = _events(built)
    assert set(before["review_status"]) == {"unreviewed"}
    resolution = before[before["event_type"] == "resolution"].index[0]
    call = before[before["event_type"] == "ceasefire_call"].index[0]
    done = run_cli("review", call, "--reject", "--note", "not a call", "--dataset", built)
    assert done.returncode == 0, done.stderr
    done = run_cli(
        "review", resolution, "--set", "status=vetoed", "--set", "date=2020-05", "--dataset", built
    )
    assert done.returncode == 0, done.stderr
    for _ in range(2):  # at once, and after a rebuild of the same inputs
        now = _events(built)
        assert call not in now.index and len(now) == len(before) - 1
        row = now.loc[resolution]
        assert (row["status"], row["date"], row["date_precision"]) == ("vetoed", "2020-05", "month")
        assert str(row["event_date"]) == "2020-05-15" and row["review_status"] == "corrected"
        assert "vetoed" in row["notes"]
        manifest = json.loads((built / "_manifest.json").read_text())
        assert manifest["rows"]["events"] == len(now) and manifest["rows"]["reviews"] == 3
        assert build([SAMPLE], built, extractor="rules").error is None
    kept = pd.read_parquet(built / "reviews")
    assert list(kept["decision"]) == ["reject", "set", "set"] and kept["note"].iloc[0] == "not a call"


def test_decisions_import_from_jsonl_and_csv_and_bad_lines_name_their_file_and_line(built, tmp_path):
    ids = list(_events(built).index[:3])
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(
        json.dumps({"event_id": ids[0], "decision": "accept", "reviewer": "ana"})
        + "\n"
        + json.dumps({"event_id": ids[1], "decision": "reject", "note": "dup"})
        + "\n"
    )
    assert run_cli("review", "--import", jsonl, "--dataset", built).returncode == 0
    csv_file = tmp_path / "d.csv"
    csv_file.write_text(
        f"event_id,decision,field,value,note,reviewer,time\n{ids[2]},set,location,Sirte,,bo,\n"
    )
    assert run_cli("review", "--import", csv_file, "--dataset", built).returncode == 0
    now = _events(built)
    assert now.loc[ids[0], "review_status"] == "accepted" and ids[1] not in now.index
    assert now.loc[ids[2], "location"] == "Sirte" and now.loc[ids[2], "review_status"] == "corrected"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"event_id,decision,field,value\n{ids[0]},accept,,\n{ids[0]},set,event_type,x\n")
    done = run_cli("review", "--import", bad, "--dataset", built)
    assert done.returncode == 2 and f"{bad}:3:" in done.stderr and "event_type" in done.stderr
    assert len(pd.read_parquet(built / "reviews")) == 3  # nothing of the bad file was kept


def test_a_value_the_event_cannot_take_or_an_unknown_event_is_refused(built):
    resolution = _events(built).query("event_type == 'resolution'").index[0]
    done = run_cli("review", resolution, "--set", "status=called", "--dataset", built)
    assert done.returncode == 2 and "a resolution is one of" in done.stderr
    done = run_cli("review", "0000000000000000", "--accept", "--dataset", built)
    assert done.returncode == 2 and "not in the dataset" in done.stderr
    done = run_cli("review", resolution, "--set", "votes_for=many", "--dataset", built)
    assert done.returncode == 2 and "not an integer" in done.stderr
    assert not reviews.load(built)


def test_a_decision_on_an_id_that_merged_away_follows_its_alias(built, tmp_path):
    folder = tmp_path / "events"
    shutil.copytree(built / "current" / "events", folder)
    target = _events(built).index[0]
    decisions = [
        reviews.decision("old-id", "set", "location", "Benghazi"),
        reviews.decision("gone", "reject"),
    ]
    rejected, _ = reviews.apply(folder, decisions, {"old-id": "older-id", "older-id": target})
    now = pd.read_parquet(folder).set_index("event_id")
    assert now.loc[target, "location"] == "Benghazi" and not rejected
