"""The five real seed articles of ../shared (skipped where ../shared is absent)."""

import json

import pandas as pd

from pipelines.build import build
from pipelines.evaluate import run_eval

from .conftest import SEED_GOLD

# Regression floors, below what the extractor scores today (see the README), so that a change that
# loses events on the seeds fails. Not a target to tune to: these five articles are a smoke test.
SEED_MICRO_F1_FLOOR = 0.9


def test_seed_build_accounts_for_every_article_and_grounds_every_quote(seeds, tmp_path):
    result = build([seeds], tmp_path, extractor="rules")
    assert result.error is None
    assert all(result.checks.values()), result.checks
    arts = pd.read_parquet(tmp_path / "articles")
    assert sorted(p.rsplit("/", 1)[-1] for p in arts["source"]) == sorted(p.name for p in seeds.glob("*.txt"))
    assert set(arts["state"]) <= {"extracted", "no_events"}
    texts = dict(zip(arts["article_id"], arts["text"], strict=True))
    events = pd.read_parquet(tmp_path / "events")
    assert len(events) > 0
    for evidence in events["evidence"]:
        for ev in evidence:
            assert ev["quote"] in texts[ev["article_id"]]
            assert texts[ev["article_id"]][ev["start"] : ev["end"]] == ev["quote"]
    # publication dates come from the manifest
    assert set(arts["published"].dropna()) == {"2019-04-19", "2020-01-09"}


def test_rules_extractor_does_not_regress_on_the_seed_gold(seeds):
    report = run_eval(SEED_GOLD, [seeds], extractor="rules")
    assert report["articles"] == 5
    assert report["grounding"]["rate"] == 1.0
    assert report["detection"]["micro"]["f1"] >= SEED_MICRO_F1_FLOOR, json.dumps(
        report["detection"], indent=1
    )


def test_eval_scores_a_published_dataset_like_a_fresh_extraction(seeds, tmp_path):
    build([seeds], tmp_path, extractor="rules")
    from_dataset = run_eval(SEED_GOLD, [], dataset=tmp_path)
    fresh = run_eval(SEED_GOLD, [seeds], extractor="rules")
    assert from_dataset["detection"]["micro"]["tp"] == fresh["detection"]["micro"]["tp"]
    assert from_dataset["grounding"]["rate"] == 1.0
