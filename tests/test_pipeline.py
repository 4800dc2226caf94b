"""End to end: the Dagster assets materialised in process, as `eventbuilder build` runs them."""

import json
import subprocess
import sys
import time

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from pipelines.build import build
from pipelines.ingest import discover

from .conftest import ROOT, SAMPLE, run_cli


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = build([], out, extractor="rules")
    assert result.error is None, result.error
    return out, result


def test_sample_build_publishes_three_tables_and_passes_its_checks(sample_build):
    out, result = sample_build
    assert result.checks == {
        "events_match_schema": True,
        "quotes_grounded_before_publishing": True,
        "quotes_grounded": True,
        "articles_accounted_for": True,
    }
    for name in ("events", "articles", "quarantine"):
        assert (out / name).is_dir()
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["run_id"] == result.published.run_id
    counts = result.published.counts()
    assert set(counts["events"]) == {"ceasefire_call", "resolution", "arms_delivery"}


def test_every_sample_article_has_exactly_one_state(sample_build):
    out, _ = sample_build
    arts = pd.read_parquet(out / "articles")
    inputs = [p for p in discover([SAMPLE])]
    assert len(arts) == len(inputs)
    assert arts["source"].is_unique
    assert set(arts["state"]) <= {"extracted", "no_events", "quarantined", "failed"}
    assert (arts["state"] == "extracted").sum() >= 8
    assert (arts["state"] == "no_events").sum() >= 1


def test_every_published_event_has_its_own_id(sample_build):
    # Two events quoting one sentence (a call and a resolution) once took the same id.
    events = pd.read_parquet(sample_build[0] / "events")
    assert events["event_id"].is_unique, events["event_id"][events["event_id"].duplicated()].tolist()


def test_every_published_quote_is_verbatim_in_its_article(sample_build):
    out, _ = sample_build
    texts = dict(pd.read_parquet(out / "articles")[["article_id", "text"]].itertuples(index=False))
    events = pd.read_parquet(out / "events")
    n = 0
    for evidence in events["evidence"]:
        for ev in evidence:
            assert texts[ev["article_id"]][ev["start"] : ev["end"]] == ev["quote"]
            n += 1
    assert n >= len(events) > 0


def test_the_published_grounding_check_finds_a_moved_quote_and_a_missing_article(sample_build, tmp_path):
    import shutil

    import pyarrow.parquet as pq

    from pipelines.checks import ungrounded_quotes

    out = tmp_path / "copy"
    shutil.copytree(sample_build[0] / "current", out)
    assert ungrounded_quotes(out) == []
    files = sorted((out / "events").rglob("*.parquet"), key=lambda f: pq.read_metadata(f).num_rows)
    files = files[-1:]  # the file with the most events: two of them are changed
    rows = pq.read_table(files[0]).to_pylist()
    assert len(rows) >= 2
    first, second = rows[0]["evidence"][0], rows[-1]["evidence"][0]
    first["start"] += 1  # the quote no longer sits at its offsets
    second["article_id"] = "no-such-article"
    pq.write_table(pq.read_table(files[0]).from_pylist(rows, schema=pq.read_schema(files[0])), files[0])
    bad = ungrounded_quotes(out)
    assert len(bad) == 2, bad
    assert {b.split(":")[0] for b in bad} == {rows[0]["event_id"], rows[-1]["event_id"]}


def test_pandas_pyarrow_and_duckdb_read_the_dataset_as_is(sample_build):
    out, _ = sample_build
    pdf = pd.read_parquet(out / "events")
    table = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    con = duckdb.connect()
    n_duck = con.execute(
        f"select count(*) from read_parquet('{out}/events/**/*.parquet', hive_partitioning=true)"
    ).fetchone()[0]
    assert len(pdf) == table.num_rows == n_duck > 0
    years = con.execute(
        f"select distinct year from read_parquet('{out}/events/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert all(str(y[0]).isdigit() or y[0] == "unknown" for y in years)
    quotes = con.execute(
        f"select e.quote from read_parquet('{out}/events/**/*.parquet', hive_partitioning=true), "
        f"unnest(evidence) as t(e) limit 1"
    ).fetchone()
    assert quotes and quotes[0]
    for name in ("articles", "quarantine"):
        assert len(pd.read_parquet(out / name)) == ds.dataset(out / name).count_rows()
        con.execute(f"select * from read_parquet('{out}/{name}/*.parquet')").fetchall()


def test_the_articles_table_is_in_source_order_when_written_a_few_rows_at_a_time(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines import publish

    monkeypatch.setattr(publish, "SORTED_ROWS", 2)  # five rows: three takes
    sources = ["e.txt", "b.txt", "d.txt", "a.txt", "c.txt"]
    table = pa.table({"source": sources, "text": [f"text of {s}" for s in sources]})
    publish._write(table, tmp_path / "articles", "r1", sort_by="source")
    back = pq.read_table(tmp_path / "articles" / "part-r1-0.parquet")
    assert back.column("source").to_pylist() == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    assert back.column("text").to_pylist() == [f"text of {s}" for s in sorted(sources)]
    publish._write(table.slice(0, 0), tmp_path / "empty", "r1", sort_by="source")
    assert pq.read_table(tmp_path / "empty" / "part-r1-0.parquet").schema == table.schema


def test_events_are_partitioned_by_year_where_known(sample_build):
    out, _ = sample_build
    parts = {p.name for p in (out / "events").iterdir()}
    assert all(p.startswith("year=") for p in parts)
    events = pd.read_parquet(out / "events")  # as a user reads it: the year comes from the folder names
    for year, date in zip(events["year"], events["date"], strict=True):
        assert str(year) == (date[:4] if isinstance(date, str) else "unknown")


def test_a_rerun_is_idempotent(tmp_path):
    first = build([SAMPLE], tmp_path, extractor="rules")
    ids1 = sorted(pd.read_parquet(tmp_path / "events")["event_id"])
    assert first.published.n_events == len(ids1)
    second = build([SAMPLE], tmp_path, extractor="rules")
    ids2 = sorted(pd.read_parquet(tmp_path / "events")["event_id"])
    assert ids1 == ids2
    assert len(list((tmp_path / "articles").glob("*.parquet"))) == 1  # replaced, not appended
    hidden = {p.name for p in tmp_path.iterdir() if p.name.startswith(".")}
    assert hidden <= {".eventbuilder.json", ".eventbuilder.lock", ".eventbuilder.lock.info"}
    assert second.published.run_id != first.published.run_id
    # Both versions are kept; the tables point at the newest.
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == sorted([first.published.run_id, second.published.run_id])
    assert json.loads((tmp_path / "_manifest.json").read_text())["run_id"] == second.published.run_id


def test_old_versions_are_pruned_and_a_failed_write_leaves_the_current_version(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_KEEP_RUNS", "2")
    ids = [build([SAMPLE], tmp_path, extractor="rules").published.run_id for _ in range(3)]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(ids[1:])
    import pipelines.publish as publish

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "_write", broken)
    assert build([SAMPLE], tmp_path, extractor="rules").published is None
    assert json.loads((tmp_path / "_manifest.json").read_text())["run_id"] == ids[-1]
    assert len(pd.read_parquet(tmp_path / "events")) > 0
    assert not list((tmp_path / "runs").glob(".staging-*"))


def test_bad_inputs_are_quarantined_and_the_run_goes_on(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "good.txt").write_text(
        "Egypt urges truce\n\nEgypt's foreign ministry on Tuesday called for an immediate truce in Libya.",
        encoding="utf-8",
    )
    (inp / "broken.txt").write_bytes(b"\x00\x9f\x92\x96" * 100)
    out = tmp_path / "out"
    result = build([inp], out, extractor="rules")
    arts = pd.read_parquet(out / "articles").set_index("source")
    assert arts.loc[str(inp / "broken.txt"), "state"] == "quarantined"
    assert "undecodable" in arts.loc[str(inp / "broken.txt"), "reason"]
    assert arts.loc[str(inp / "good.txt"), "state"] in {"extracted", "no_events"}
    q = pd.read_parquet(out / "quarantine")
    assert list(q["reason"]) == ["undecodable"]
    assert result.checks["articles_accounted_for"]


def test_help_answers_fast_and_explains():
    t0 = time.perf_counter()
    r = run_cli("--help")
    assert r.returncode == 0 and time.perf_counter() - t0 < 1.0
    assert "build" in r.stdout and "eval" in r.stdout
    r = run_cli("build", "--help")
    assert "--output" in r.stdout and "--extractor" in r.stdout and "manifest.csv" in r.stdout


def test_help_does_not_import_dagster_or_litellm():
    code = (
        "import sys; from pipelines import cli\n"
        "try:\n    cli.app(['--help'])\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('dagster', 'litellm', 'pandas') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_cli_build_prints_a_summary_and_exits_zero(tmp_path):
    r = run_cli("build", "--output", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "extracted" in r.stdout and "arms_delivery" in r.stdout and str(tmp_path / "o") in r.stdout


def test_cli_build_fails_clearly_on_a_missing_path(tmp_path):
    r = run_cli("build", str(tmp_path / "nope"), "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_cli_build_refuses_a_file_as_output_before_any_work(tmp_path):
    out = tmp_path / "o"
    out.write_text("a file where the output folder should be")
    r = run_cli("build", "--output", str(out))
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"eventbuilder: --output {out}: is a file, not a folder"
    ]
    assert out.read_text() == "a file where the output folder should be"


def test_definitions_load_with_assets_checks_and_job():
    import dagster as dg

    from pipelines.definitions import defs as load

    defs = load()
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert keys == {
        "articles",
        "event_mentions",
        "validated_events",
        "normalized_events",
        "stored_articles",
        "merged_events",
        "published_dataset",
    }
    graph = repo.asset_graph
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == keys - {"merged_events", "published_dataset"}
    # The merge is a stage of its own, between the store and publication.
    assert graph.get(dg.AssetKey("merged_events")).parent_keys == {dg.AssetKey("stored_articles")}
    assert graph.get(dg.AssetKey("published_dataset")).parent_keys == {dg.AssetKey("merged_events")}
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert checks == {
        "events_match_schema",
        "quotes_grounded_before_publishing",
        "quotes_grounded",
        "articles_accounted_for",
    }
    assert defs.resolve_job_def("build_dataset") is not None
    assert {s.name for s in repo.schedule_defs} == {"daily_build"}
    assert {s.name for s in repo.sensor_defs} == {"new_articles"}


def test_readme_quick_start_uses_the_dev_script():
    readme = (ROOT / "README.md").read_text()
    assert "./dev build" in readme and "./dev test" in readme
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()


def test_the_rules_path_never_imports_litellm(tmp_path):
    code = (
        "import sys; from pipelines.build import build\n"
        f"r = build([], {str(tmp_path)!r}, extractor='rules')\n"
        "assert r.published is not None\n"
        "print('litellm' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"


def test_sensor_adds_a_partition_per_batch_of_new_files_and_not_again(tmp_path, monkeypatch):
    import os

    import dagster as dg

    monkeypatch.setenv("EVENTBUILDER_INPUT", str(tmp_path))
    monkeypatch.setenv("EVENTBUILDER_BATCH_SIZE", "2")
    from pipelines.defs.sensors import new_articles as sensor

    ctx = dg.build_sensor_context(cursor=None)
    assert isinstance(sensor(ctx), dg.SkipReason)  # empty folder
    for name in "abc":
        (tmp_path / f"{name}.txt").write_text(f"Title\n\nEgypt called for truce {name}.", encoding="utf-8")
    result = sensor(ctx)
    first, last = result.run_requests
    # Two batches: two partitions, two runs; only the last publishes.
    (added,) = result.dynamic_partitions_requests
    assert added.partitions_def_name == "batches"
    assert added.partition_keys == [first.partition_key, last.partition_key]
    paths = [r.run_config["ops"]["articles"]["config"]["paths"] for r in (first, last)]
    assert paths == [[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], [str(tmp_path / "c.txt")]]
    assert dg.AssetKey("published_dataset") not in first.asset_selection and last.asset_selection is None
    ctx2 = dg.build_sensor_context(cursor=result.cursor)
    assert isinstance(sensor(ctx2), dg.SkipReason)  # nothing new since
    old = tmp_path / "d.txt"
    old.write_text("Title\n\nQatar called for a truce.", encoding="utf-8")
    os.utime(old, (1_000_000, 1_000_000))  # copied in with an old modification time (cp -p, rsync -a)
    (only,) = sensor(ctx2).run_requests  # the new file alone
    assert only.run_config["ops"]["articles"]["config"]["paths"] == [str(old)]


def test_cli_llm_without_a_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("EVENTBUILDER_MODEL", raising=False)
    r = run_cli("build", "--extractor", "llm", "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "needs a model" in r.stderr
    r = run_cli("build", "--extractor", "nope", "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "unknown extractor" in r.stderr


def test_duplicates_and_empty_files_are_accounted_for_and_quotes_stay_grounded(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    story = (SAMPLE / "en_01_syria_crossborder_veto.txt").read_text(encoding="utf-8")
    (inp / "a.txt").write_text(story, encoding="utf-8")
    (inp / "b.txt").write_text(story, encoding="utf-8")
    (inp / "empty.jsonl").write_text("\n")
    result = build([inp], tmp_path / "out", extractor="rules")
    assert result.checks == {
        "events_match_schema": True,
        "quotes_grounded_before_publishing": True,
        "quotes_grounded": True,
        "articles_accounted_for": True,
    }
    arts = pd.read_parquet(tmp_path / "out" / "articles").set_index("source")
    assert (
        arts.loc[str(inp / "b.txt"), "state"] == "quarantined"
        and "duplicate" in arts.loc[str(inp / "b.txt"), "reason"]
    )
    assert arts.loc[str(inp / "empty.jsonl"), "state"] == "quarantined"
    assert arts["article_id"].is_unique


def test_the_schedule_skips_with_a_reason_when_no_input_folder_is_set(tmp_path, monkeypatch):
    import dagster as dg

    from pipelines.defs.schedules import daily_build as schedule

    monkeypatch.delenv("EVENTBUILDER_INPUT", raising=False)
    skipped = schedule.evaluate_tick(dg.build_schedule_context())
    assert not skipped.run_requests and "EVENTBUILDER_INPUT" in skipped.skip_message
    monkeypatch.setenv("EVENTBUILDER_INPUT", str(tmp_path))
    (tmp_path / "a.txt").write_text("Title\n\nEgypt called for a truce.", encoding="utf-8")
    with dg.instance_for_test() as instance:
        (request,) = schedule(dg.build_schedule_context(instance=instance))
        assert request.run_config["ops"]["articles"]["config"]["paths"] == [str(tmp_path / "a.txt")]
        assert instance.get_dynamic_partitions("batches") == [request.partition_key]
