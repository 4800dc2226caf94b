"""One accumulating dataset: builds add and update articles, never start over, never re-extract."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.corpus import filler
from pipelines.build import build
from pipelines.extract import RulesExtractor

from .conftest import SAMPLE, run_cli

STORIES = sorted(p for p in SAMPLE.glob("*.txt"))


def write_articles(folder: Path, start: int, n: int) -> list[Path]:
    """``n`` distinct articles: the sample stories under numbered headlines, each with a paragraph of
    its own (not near-duplicates of each other: each is extracted)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        story = STORIES[i % len(STORIES)]
        p = folder / f"r{i:05}_{story.name}"
        p.write_text(f"Report {i}\n\n{story.read_text(encoding='utf-8')}\n\n{filler(i)}", encoding="utf-8")
        paths.append(p)
    return paths


class Calls:
    """The articles the embedded extractor was asked to read, and by which process: written to a
    file, because the workers that extract a large batch are other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[list[str]]:
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        return [line.split("\t") for line in text.splitlines()]

    def __len__(self) -> int:
        return len(self.lines())

    def sources(self) -> list[str]:
        return [source for _, source in self.lines()]

    def pids(self) -> set[str]:
        return {pid for pid, _ in self.lines()}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """How many articles the embedded extractor is asked to read."""
    calls = Calls(tmp_path / "extractor-calls.tsv")
    real = RulesExtractor.extract

    def extract(self, article):
        with open(calls.path, "a", encoding="utf-8") as fh:  # one short append: whole lines
            fh.write(f"{os.getpid()}\t{article.source}\n")
        return real(self, article)

    monkeypatch.setattr(RulesExtractor, "extract", extract)
    return calls


def test_new_files_are_added_and_only_they_are_extracted(tmp_path, counted):
    inp, out = tmp_path / "in", tmp_path / "o"
    write_articles(inp, 0, 3000)
    first = build([inp], out, extractor="rules")
    assert first.error is None, first.error
    assert len(counted) == 3000
    if (os.cpu_count() or 1) > 1:
        assert len(counted.pids()) > 1 and str(os.getpid()) not in counted.pids()  # worker processes
    ids = set(pd.read_parquet(out / "events")["event_id"])
    assert len(pd.read_parquet(out / "articles")) == 3000 and ids

    counted.clear()
    write_articles(inp, 3000, 20)
    second = build([inp], out, extractor="rules")
    assert len(counted) == 20 and second.published.run["unchanged"] == 3000
    assert len(pd.read_parquet(out / "articles")) == 3020
    assert ids <= set(pd.read_parquet(out / "events")["event_id"])

    counted.clear()
    write_articles(tmp_path / "other", 5000, 5)
    build([tmp_path / "other"], out, extractor="rules")
    assert len(counted) == 5
    assert len(pd.read_parquet(out / "articles")) == 3025
    assert ids <= set(pd.read_parquet(out / "events")["event_id"])


def test_a_changed_file_replaces_its_old_events_and_full_refresh_publishes_exactly_its_inputs(
    tmp_path, counted
):
    inp, out = tmp_path / "in", tmp_path / "o"
    inp.mkdir()
    a = inp / "a.txt"
    a.write_text(
        "Egypt urges truce\n\nEgypt called for an immediate ceasefire in Gaza on Monday.\n", encoding="utf-8"
    )
    write_articles(inp, 0, 3)
    build([inp], out, extractor="rules")
    events = pd.read_parquet(out / "events")
    old = [e for e in events.itertuples() if any("Egypt" in x["quote"] for x in e.evidence)]
    assert len(old) == 1
    a.write_text(
        "Qatar urges truce\n\nQatar called for an immediate ceasefire in Sudan on Monday.\n", encoding="utf-8"
    )
    counted.clear()
    build([inp], out, extractor="rules")
    assert counted.sources() == [str(a.resolve())]
    events = pd.read_parquet(out / "events")
    quotes = [x["quote"] for ev in events["evidence"] for x in ev]
    assert not any("Egypt called" in q for q in quotes) and any("Qatar called" in q for q in quotes)
    arts = pd.read_parquet(out / "articles")
    assert (arts["source"] == str(a.resolve())).sum() == 1 and len(arts) == 4

    only = tmp_path / "only"
    write_articles(only, 100, 2)
    refreshed = build([only], out, extractor="rules", full_refresh=True)
    assert refreshed.error is None
    arts = pd.read_parquet(out / "articles")
    assert sorted(Path(s).parent.name for s in arts["source"]) == ["only", "only"]


def test_remove_takes_articles_out_by_id_or_path(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    paths = write_articles(inp, 0, 6)
    assert run_cli("build", inp, "--output", out).returncode == 0
    arts = pd.read_parquet(out / "articles")
    by_source = dict(zip(arts["source"], arts["article_id"], strict=True))
    victim = by_source[str(paths[0].resolve())]
    r = run_cli("remove", victim, str(paths[1]), "--output", out)
    assert r.returncode == 0, r.stderr
    assert "removed 2 input(s)" in r.stdout
    arts = pd.read_parquet(out / "articles")
    assert len(arts) == 4 and victim not in set(arts["article_id"])
    cited = {x["article_id"] for ev in pd.read_parquet(out / "events")["evidence"] for x in ev}
    assert victim not in cited
    assert json.loads((out / "_manifest.json").read_text())["rows"]["articles"] == 4
    r = run_cli("remove", "no-such-article", "--output", out)
    assert r.returncode == 1 and "nothing matched" in r.stderr
    # A removed file that is still in the folder comes back with the next build.
    assert run_cli("build", inp, "--output", out).returncode == 0
    assert len(pd.read_parquet(out / "articles")) == 6


def test_a_new_lexicon_or_extractor_version_extracts_again(tmp_path, counted, monkeypatch):
    inp, out = tmp_path / "in", tmp_path / "o"
    write_articles(inp, 0, 4)
    build([inp], out, extractor="rules")
    counted.clear()
    build([inp], out, extractor="rules")
    assert len(counted) == 0
    monkeypatch.setattr(RulesExtractor, "version", property(lambda self: "rules:a-new-lexicon"))
    build([inp], out, extractor="rules")
    assert len(counted) == 4


def test_an_event_keeps_its_id_when_a_new_source_joins_it(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    inp.mkdir()
    body = "Egypt called for an immediate ceasefire in Gaza on 3 March 2024.\n"
    (inp / "a.txt").write_text(f"Egypt urges truce\n\n{body}", encoding="utf-8")
    build([inp], out, extractor="rules")
    (before,) = pd.read_parquet(out / "events")["event_id"]
    (inp / "b.txt").write_text(f"Cairo calls for a truce\n\nOn Sunday, {body}", encoding="utf-8")
    build([inp], out, extractor="rules")
    events = pd.read_parquet(out / "events")
    assert len(events) == 1 and events["source_count"].iloc[0] == 2
    assert events["event_id"].iloc[0] == before
    shutil.rmtree(out)


# --- what a second build must not do to the first one's data (found in review) --------------------


def events_of(out: Path) -> list[str]:
    return sorted(pd.read_parquet(out / "events")["event_id"])


def test_a_copy_of_a_stored_article_does_not_wipe_its_events(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    (a,) = write_articles(inp, 0, 1)
    build([inp], out, extractor="rules")
    before = events_of(out)
    assert before
    shutil.copy(a, inp / "0.txt")  # sorts first: within the run, a.txt is now the copy
    result = build([inp], out, extractor="rules")
    assert result.error is None and all(result.checks.values())
    assert events_of(out) == before
    arts = pd.read_parquet(out / "articles")
    assert arts["article_id"].is_unique
    assert (arts["n_events"] > 0).sum() == 1


def test_a_truncated_file_keeps_its_events_and_a_fixed_manifest_drops_its_old_problem(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    (a, b) = write_articles(inp, 0, 2)
    (inp / "manifest.csv").write_text(f"file,published\n{a.name},2024-01-02\nmissing.txt,2024-01-02\n")
    build([inp], out, extractor="rules")
    before = events_of(out)
    assert "bad_manifest" in set(pd.read_parquet(out / "quarantine")["reason"])
    a.write_text("", encoding="utf-8")  # truncated mid-copy
    (inp / "manifest.csv").write_text(f"file,published\n{a.name},2024-01-02\n")
    result = build([inp], out, extractor="rules")
    assert result.error is None and all(result.checks.values())
    assert events_of(out) == before
    row = pd.read_parquet(out / "articles").set_index("source").loc[str(a.resolve())]
    assert (
        row["state"] == "failed" and "now empty" in row["reason"] and "earlier event(s) kept" in row["reason"]
    )
    assert "bad_manifest" not in set(pd.read_parquet(out / "quarantine")["reason"])


def test_giving_a_file_an_id_does_not_duplicate_it(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    (a,) = write_articles(inp, 0, 1)
    build([inp], out, extractor="rules")
    n = len(events_of(out))
    (inp / "manifest.csv").write_text(f"file,id\n{a.name},story-1\n")
    result = build([inp], out, extractor="rules")
    assert all(result.checks.values()), result.checks
    arts = pd.read_parquet(out / "articles")
    assert list(arts["article_id"]) == ["story-1"] and len(events_of(out)) == n


def test_a_failed_record_whose_text_changed_keeps_its_old_text_and_events(tmp_path, monkeypatch):
    inp, out = tmp_path / "in", tmp_path / "o"
    inp.mkdir()
    story = STORIES[0].read_text(encoding="utf-8")
    feed = inp / "feed.jsonl"
    other = json.dumps({"id": "B", "text": STORIES[1].read_text(encoding="utf-8")})
    feed.write_text(json.dumps({"id": "A", "text": story}) + "\n" + other + "\n", encoding="utf-8")
    build([inp], out, extractor="rules")
    before = events_of(out)
    feed.write_text(
        json.dumps({"id": "A", "text": "Breaking\n\n" + story}) + "\n" + other + "\n", encoding="utf-8"
    )

    real = RulesExtractor.extract

    def broken(self, article):
        if article.text.startswith("Breaking"):
            raise RuntimeError("model down")
        return real(self, article)

    monkeypatch.setattr(RulesExtractor, "extract", broken)
    result = build([inp], out, extractor="rules")
    assert result.checks["quotes_grounded"] and events_of(out) == before
    row = pd.read_parquet(out / "articles").set_index("article_id").loc["A"]
    assert (
        row["state"] == "failed" and row["text"] == story.strip() and "earlier event(s) kept" in row["reason"]
    )


def test_an_output_path_with_a_space_builds_again(tmp_path):
    out = tmp_path / "my data"
    write_articles(tmp_path / "in", 0, 2)
    for _ in range(2):
        result = build([tmp_path / "in"], out, extractor="rules")
        assert result.error is None, result.error


def test_the_store_keeps_no_files_of_old_versions(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "o"
    (a, _b) = write_articles(inp, 0, 2)
    for i in range(6):
        a.write_text(f"Report {i}\n\n{STORIES[i].read_text(encoding='utf-8')}", encoding="utf-8")
        build([inp], out, extractor="rules")
    assert len(list((out / "store").glob("*.parquet"))) <= 2


def test_new_articles_are_appended_in_chunks_and_a_run_killed_between_them_loses_nothing(
    tmp_path, counted, monkeypatch
):
    import deltalake

    from pipelines import store

    monkeypatch.setattr(store, "WRITE_CHUNK", 4)
    inp, out = tmp_path / "in", tmp_path / "o"
    write_articles(inp, 0, 10)
    real = deltalake.write_deltalake
    commits = []

    def dies_after_two_commits(*args, **kwargs):
        if len(commits) == 2:
            raise OSError("killed between commits")
        commits.append(kwargs.get("mode"))
        return real(*args, **kwargs)

    monkeypatch.setattr(deltalake, "write_deltalake", dies_after_two_commits)
    failed = build([inp], out, extractor="rules")
    assert failed.published is None and "killed between commits" in failed.error
    assert not (out / "articles").exists()  # nothing was published
    assert len(store.index(out)) == 8  # two commits of four articles each were stored

    monkeypatch.setattr(deltalake, "write_deltalake", real)
    counted.clear()
    again = build([inp], out, extractor="rules")
    assert again.error is None
    assert len(counted) == 2  # only the two articles the killed run did not store
    assert len(pd.read_parquet(out / "articles")) == 10

    def history() -> list[dict]:
        return deltalake.DeltaTable(str(out / "store")).history()

    before = len(history())
    write_articles(inp, 10, 2)
    build([inp], out, extractor="rules")
    operations = [h["operation"] for h in history()[: len(history()) - before]]
    assert "WRITE" in operations and "MERGE" not in operations  # appended: no merge reads the table
    assert len(pd.read_parquet(out / "articles")) == 12
