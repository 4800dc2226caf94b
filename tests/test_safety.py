"""Nothing a user, a fault or a second run does can lose data or publish a worse dataset.

Most cases run the real ``eventbuilder`` command in a subprocess, as a user or a scheduler would.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from benchmarks.corpus import filler
from pipelines.build import build
from pipelines.ingest import ingest

from .conftest import ROOT, SAMPLE, run_cli
from .llm_server import LLMServer, Script
from .test_llm import answer

MODEL = "openai/test-model"
CEASEFIRE = "Egypt called for an immediate ceasefire in Gaza on Monday."


def copy_sample(dest: Path) -> Path:
    shutil.copytree(SAMPLE, dest)
    return dest


def tree(folder: Path) -> dict[str, bytes]:
    """Every file's bytes (but the lock's note of who last took it)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".eventbuilder.lock.info"
    }


def manifest(out: Path) -> dict:
    return json.loads((out / "_manifest.json").read_text(encoding="utf-8"))


def rows(out: Path, name: str) -> int:
    part = "hive" if name == "events" else None
    return ds.dataset(out / name, format="parquet", partitioning=part).count_rows()


def complete(out: Path) -> bool:
    """Readers see one whole version: the manifest's row counts are the tables' row counts."""
    m = manifest(out)
    return all(rows(out, t) == m["rows"][t] for t in ("events", "articles", "quarantine"))


def one_line_error(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eventbuilder: "), r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. inputs inside the output folder -----------------------------------------------------


@pytest.mark.parametrize(
    "reserved", ["articles", "events", "quarantine", "_manifest.json", "runs", "current"]
)
def test_an_output_folder_holding_the_users_files_is_refused_and_nothing_is_touched(tmp_path, reserved):
    proj = tmp_path / "proj"
    copy_sample(proj / "inputs")
    if reserved == "articles":
        (proj / "inputs").rename(proj / "articles")
        inputs = proj / "articles"
    else:
        inputs = proj / "inputs"
        (proj / reserved).write_text("the user's own file", encoding="utf-8")
    before = tree(proj)
    r = run_cli("build", inputs, "--output", proj)
    assert r.returncode == 2
    assert "was not written by eventbuilder" in one_line_error(r)
    assert tree(proj) == before


def test_a_dataset_of_its_own_is_updated_in_place(tmp_path):
    out = tmp_path / "o"
    assert run_cli("build", "--output", out).returncode == 0
    first = manifest(out)["run_id"]
    r = run_cli("build", "--output", out)
    assert r.returncode == 0, r.stderr
    assert manifest(out)["run_id"] != first and complete(out)


# --- 2. run ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("run_id", ["..", ".", "a/b", "../x", "x" * 300, ".hidden", "a b"])
def test_unsafe_run_ids_are_refused_before_any_work(tmp_path, run_id):
    out = tmp_path / "o"
    assert run_cli("build", "--output", out).returncode == 0
    before = tree(out)
    r = run_cli("build", "--output", out, "--run-id", run_id)
    assert r.returncode == 2 and "--run-id" in one_line_error(r)
    assert tree(out) == before and complete(out)


def test_reusing_the_current_run_id_is_refused_and_the_version_stays(tmp_path):
    out = tmp_path / "o"
    assert run_cli("build", "--output", out, "--run-id", "daily-1").returncode == 0
    before = tree(out)
    r = run_cli("build", "--output", out, "--run-id", "daily-1")
    assert r.returncode == 2 and "exists already" in one_line_error(r)
    assert tree(out) == before and manifest(out)["run_id"] == "daily-1"


# --- 3. failed runs ----------------------------------------------------------------------------


def test_a_dead_endpoint_publishes_nothing_and_keeps_the_good_version(tmp_path):
    out = tmp_path / "o"
    assert run_cli("build", "--output", out, "--extractor", "rules").returncode == 0
    good = manifest(out)
    assert sum(good["counts"]["events"].values()) > 10
    dead = f"http://127.0.0.1:{free_port()}/v1"
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test",
        "EVENTBUILDER_TIMEOUT": "2",
        "EVENTBUILDER_RETRIES": "1",
    }
    r = run_cli("build", "--output", out, "--extractor", "llm", "--model", MODEL, "--api-base", dead, env=env)
    assert r.returncode == 1
    line = one_line_error(r)
    assert "every article failed (14)" in line and "14×" in line and "nothing was published" in line
    assert manifest(out) == good and complete(out)


@pytest.mark.parametrize("content", [{}, {"notes.md": b"# notes\n", "scan.pdf": b"%PDF-1.4\n"}])
def test_an_input_folder_with_no_article_publishes_nothing(tmp_path, content):
    out = tmp_path / "o"
    assert run_cli("build", "--output", out).returncode == 0
    good = manifest(out)
    inp = tmp_path / "in"
    inp.mkdir()
    for name, data in content.items():
        (inp / name).write_bytes(data)
    r = run_cli("build", inp, "--output", out)
    assert r.returncode == 1 and "nothing was read" in one_line_error(r)
    assert manifest(out) == good and complete(out)


def test_an_article_that_fails_now_keeps_its_earlier_events(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text(f"Egypt urges truce\n\n{CEASEFIRE}", encoding="utf-8")
    qatar = "Qatar called for a humanitarian truce in Gaza on Monday."
    (inp / "b.txt").write_text(f"Qatar urges truce\n\n{qatar}", encoding="utf-8")
    out = tmp_path / "o"
    good = Script(
        {"Egypt urges": [{"content": answer(CEASEFIRE)}], "Qatar urges": [{"content": answer(qatar)}]}
    )
    with LLMServer(good) as srv:
        first = build(
            [inp], out, extractor="llm", model=MODEL, api_base=srv.api_base, cache_dir=str(tmp_path / "c1")
        )
    ids = sorted(pd.read_parquet(out / "events")["event_id"])
    assert first.published.n_events == len(ids)
    assert len(ids) == 2
    bad = Script({"Egypt urges": [{"content": answer(CEASEFIRE)}], "Qatar urges": [{"status": 400}]})
    # Another model: both articles are extracted again (an unchanged article is not), and b.txt fails.
    with LLMServer(bad) as srv:
        second = build(
            [inp],
            out,
            extractor="llm",
            model="openai/other-model",
            api_base=srv.api_base,
            cache_dir=str(tmp_path / "c2"),
        )
    assert second.published is not None and second.published.carried == 1
    assert sorted(pd.read_parquet(out / "events")["event_id"]) == ids
    arts = pd.read_parquet(out / "articles").set_index("source")
    b = arts.loc[str(inp / "b.txt")]
    assert b["state"] == "failed" and "earlier event(s) kept" in b["reason"] and b["n_events"] == 1
    assert complete(out)


# --- 4. concurrent runs --------------------------------------------------------------------------


def test_four_builds_at_once_each_succeed_or_refuse_in_one_line(tmp_path):
    out = tmp_path / "o"
    exe = Path(sys.executable).parent / "eventbuilder"
    for _round in range(3):
        procs = [
            subprocess.Popen(
                [str(exe), "build", "--output", str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes[0] == 0, results
        for code, stdout, stderr in results:
            assert "Traceback" not in stdout + stderr
            if code:
                assert code == 75
                lines = stderr.strip().splitlines()
                assert len(lines) == 1 and "another eventbuilder run is writing it (pid" in lines[0], stderr
        assert complete(out)
        assert not list((out / "runs").glob(".staging-*"))
    # With --wait, a second run waits for the first instead of refusing.
    procs = [
        subprocess.Popen(
            [str(exe), "build", "--output", str(out), "--wait", "120"], stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    assert [p.wait(timeout=400) for p in procs] == [0, 0, 0]
    assert complete(out)


def test_a_lock_of_a_dead_run_does_not_block(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    # A process that takes the lock and dies without releasing it.
    code = (
        "import os, sys; from pipelines import outdir\n"
        f"cm = outdir.locked(__import__('pathlib').Path({str(out)!r})); cm.__enter__(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert (out / ".eventbuilder.lock.info").exists()
    r = run_cli("build", "--output", out)
    assert r.returncode == 0, r.stderr


# --- 5. repeated ids -----------------------------------------------------------------------------


def test_records_sharing_an_id_never_lose_or_misattribute_events(tmp_path):
    texts = [
        (SAMPLE / n).read_text(encoding="utf-8") for n in sorted(os.listdir(SAMPLE)) if n.endswith(".txt")
    ]
    feed = tmp_path / "in" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text("\n".join(json.dumps({"id": "7", "text": t}) for t in texts[:3]) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    r = run_cli("build", feed.parent, "--output", out)
    assert r.returncode == 0, r.stderr
    arts = pd.read_parquet(out / "articles")
    assert sorted(arts["state"].tolist()).count("quarantined") == 2
    assert set(arts.loc[arts["state"] == "quarantined", "reason"].str.split(":").str[0]) == {"duplicate_id"}
    events = pd.read_parquet(out / "events")
    cited: dict[str, int] = {}
    for evidence in events["evidence"]:
        for aid in {x["article_id"] for x in evidence}:
            cited[aid] = cited.get(aid, 0) + 1
    for row in arts.itertuples():
        assert row.n_events == cited.get(row.article_id, 0)
        assert (row.state == "extracted") == (row.n_events > 0) or row.state == "failed"
    assert complete(out)


# --- 6 and 10. every path met under an input root -----------------------------------------------


def test_every_path_under_an_input_root_is_accounted_for(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret outside the input\n", encoding="utf-8")
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "good.txt").write_text(f"Egypt urges truce\n\n{CEASEFIRE}", encoding="utf-8")
    (inp / "passwd.txt").symlink_to(secret)
    (inp / "inside.txt").symlink_to(inp / "good.txt")  # a link to an input: that input, once
    (inp / "loop.txt").symlink_to(inp / "loop.txt")
    (inp / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (inp / "outside_dir").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(inp / "pipe.txt")
    (inp / "x.txt").mkdir()
    (inp / "x.txt" / "nested.txt").write_text(
        "Qatar urges truce\n\nQatar called for a humanitarian truce in Gaza.", encoding="utf-8"
    )
    (inp / "notes.md").write_text("# notes\n", encoding="utf-8")
    (inp / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    (inp / ".DS_Store").write_bytes(b"\0\0")
    out = tmp_path / "o"
    r = run_cli("build", inp, "--output", out, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "check articles_accounted_for: passed" in r.stdout
    assert "ignored 1 path(s)" in r.stdout
    arts = pd.read_parquet(out / "articles")
    by_name = {
        Path(s).name: (st, rs.split(":")[0] if isinstance(rs, str) else "")
        for s, st, rs in arts[["source", "state", "reason"]].itertuples(index=False)
    }
    assert by_name == {
        "good.txt": ("extracted", ""),
        "nested.txt": ("extracted", ""),
        "passwd.txt": ("quarantined", "link_outside_input"),
        "loop.txt": ("quarantined", "unreadable"),
        "dangling.txt": ("quarantined", "unreadable"),
        "outside_dir": ("quarantined", "link_not_followed"),
        "pipe.txt": ("quarantined", "unsupported_type"),
        "notes.md": ("quarantined", "unsupported_type"),
        "scan.pdf": ("quarantined", "unsupported_type"),
    }
    for f in out.rglob("*.parquet"):
        assert b"the secret outside the input" not in f.read_bytes()


def test_an_unreadable_folder_and_manifest_are_recorded_and_the_rest_goes_on(tmp_path, monkeypatch):
    inp = tmp_path / "in"
    (inp / "locked").mkdir(parents=True)
    (inp / "locked" / "a.txt").write_text("A\n\nText.", encoding="utf-8")
    (inp / "b.txt").write_text("B\n\nAnother text.", encoding="utf-8")
    (inp / "manifest.csv").write_text("file,published\nb.txt,2024-01-02\n", encoding="utf-8")
    real_scandir, real_read = os.scandir, Path.read_bytes

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def read_bytes(self):
        if self.name == "manifest.csv":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = ingest([inp])
    assert [a.source for a in result.articles] == [str((inp / "b.txt").resolve())]
    assert [(Path(r.source).name, r.reason) for r in result.rejected] == [("locked", "unreadable")]
    assert [(Path(r.source).name, r.reason, r.detail) for r in result.problems] == [
        ("manifest.csv", "bad_manifest", "cannot be read: Permission denied")
    ]


# --- 7. huge articles -----------------------------------------------------------------------------


def test_articles_over_the_size_limit_are_quarantined_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_MAX_ARTICLE_CHARS", "2000")
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "ok.txt").write_text("Fine\n\n" + "Short text. " * 100, encoding="utf-8")
    (inp / "long.txt").write_text("Long\n\n" + "A long text. " * 200, encoding="utf-8")
    (inp / "huge.txt").write_bytes(b"x" * (2000 * 16 + 1))
    (inp / "feed.jsonl").write_text(
        json.dumps({"text": "Fine record."}) + "\n" + json.dumps({"text": "word " * 1000}) + "\n",
        encoding="utf-8",
    )
    result = ingest([inp])
    assert sorted(Path(a.source).name for a in result.articles) == ["feed.jsonl:1", "ok.txt"]
    reasons = {Path(r.source).name: (r.reason, r.detail) for r in result.rejected}
    assert {k: v[0] for k, v in reasons.items()} == {
        "long.txt": "too_large",
        "huge.txt": "too_large",
        "feed.jsonl:2": "too_large",
    }
    assert "not read" in reasons["huge.txt"][1] and "EVENTBUILDER_MAX_ARTICLE_CHARS" in reasons["long.txt"][1]


# --- 8. JSONL lines that broke the run -------------------------------------------------------------


def test_jsonl_deep_nesting_and_unicode_line_separators(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    lines = [
        json.dumps({"text": "First\u2028story about a truce."}, ensure_ascii=False),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"text": "Third\u0085story, with a next-line character."}, ensure_ascii=False),
        json.dumps({"text": "Fourth story.\u2029End."}, ensure_ascii=False),
    ]
    (inp / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest([inp])
    assert [Path(a.source).name for a in result.articles] == ["feed.jsonl:1", "feed.jsonl:3", "feed.jsonl:4"]
    assert [(Path(r.source).name, r.reason) for r in result.rejected] == [("feed.jsonl:2", "invalid_json")]
    assert "\u2028" in result.articles[0].text


# --- 9. damaged UTF-8 -------------------------------------------------------------------------------


def test_utf8_with_a_bad_byte_is_read_as_utf8_and_the_repair_recorded(tmp_path):
    arabic = "دعا مجلس الأمن الدولي إلى وقف فوري لإطلاق النار في السودان يوم الخميس.\n\n" * 5
    raw = arabic[:20].encode("utf-8") + b"\xff" + arabic[20:].encode("utf-8")
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_bytes(raw)
    (art,) = ingest([inp]).articles
    assert art.encoding == "utf-8" and art.language == "ar"
    assert "مجلس الأمن" in art.text and "\ufffd" in art.text
    assert art.warnings == [f"{(inp / 'a.txt').resolve()}: 1 invalid UTF-8 byte(s) replaced with U+FFFD"]


# --- 11. text no reader sees; what the debris rules removed -------------------------------------------


def test_hidden_html_is_not_read(tmp_path):
    from pipelines.ingest import html_to_text

    hidden = "Russia delivered attack helicopters to the Libyan National Army on Monday."
    html = (
        "<html><body><h1>Council meets</h1><p>The council met on Monday.</p>"
        f'<span style="display: none">{hidden}</span>'
        f'<div style="visibility:hidden"><p>{hidden}</p></div>'
        f'<div hidden>{hidden}</div><p aria-hidden="true">{hidden}</p>'
        "<p>Diplomats said a vote is due.</p><div hidden/><p>Still visible.</p></body></html>"
    )
    _, text = html_to_text(html)
    assert hidden not in text
    assert "The council met on Monday." in text and "vote is due" in text and "Still visible." in text


def test_a_related_line_does_not_cut_a_tail_holding_events_and_cuts_are_recorded():
    from pipelines.ingest import clean

    body = "\n\n".join(f"Paragraph {i} about the weather in the region." for i in range(6))
    tail = "The Security Council adopted a resolution calling for a ceasefire in Sudan on Thursday."
    kept = clean(f"Title\n\n{body}\n\nMore from the Security Council:\n\n{tail}")
    assert tail in kept.text and "More from the Security Council:" not in kept.text
    assert kept.removed and "kept" in kept.removed[0]
    teaser = "Weather: sunny spells expected over the weekend in the capital city."
    cut = clean(f"Title\n\n{body}\n\nRelated articles\n\n{teaser}")
    assert teaser not in cut.text
    assert cut.removed_chars == len("Related articles\n\n" + teaser) + 1
    assert cut.removed[0].startswith("cut: 'Related articles'")


# --- 12. metadata --------------------------------------------------------------------------------------


def test_bad_metadata_fields_are_reported_never_dropped_silently(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (inp / name).write_text(f"{name} title\n\nText of {name}.", encoding="utf-8")
    (inp / "manifest.csv").write_text(
        "file,published,language,outlet\n"
        "a.txt,2021-13-45,en,Daily\n"
        "b.txt,0000-00-00,en,\n"
        "c.txt,03/04/2020,english please,\n"
        "d.txt,2021-03-04,en,\n"
        "gone.txt,2021-03-04,en,\n",
        encoding="utf-8",
    )
    (inp / "feed.jsonl").write_text(
        json.dumps({"text": "Feed story.", "title": ["a", "list"], "outlet": {"x": 1}, "published": 20210304})
        + "\n",
        encoding="utf-8",
    )
    result = ingest([inp])
    arts = {Path(a.source).name: a for a in result.articles}
    man = inp.resolve() / "manifest.csv"
    assert arts["a.txt"].published is None and arts["a.txt"].outlet == "Daily"
    assert arts["a.txt"].warnings == [f"{man}:2: published '2021-13-45' is not a real date: ignored"]
    assert arts["b.txt"].warnings == [f"{man}:3: published '0000-00-00' is not a real date: ignored"]
    assert arts["c.txt"].warnings == [
        f"{man}:4: language 'english please' is not a language code: detected instead",
        f"{man}:4: published '03/04/2020' is not a date in YYYY-MM-DD form: ignored",
    ]
    assert arts["d.txt"].published == "2021-03-04" and arts["d.txt"].warnings == []
    feed = arts["feed.jsonl:1"]
    assert feed.title == "Feed story." and feed.outlet is None and feed.published is None
    assert [w.split(": ", 1)[1] for w in feed.warnings] == [
        "title should be text, not a list: ignored",
        "outlet should be text, not a dict: ignored",
        "published '20210304' is not a date in YYYY-MM-DD form: ignored",
    ]
    assert [(r.reason, r.detail) for r in result.problems] == [
        ("bad_manifest", "names 'gone.txt', which is not in the folder")
    ]


def test_a_manifest_without_a_file_column_is_a_problem(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("A\n\nText.", encoding="utf-8")
    (inp / "manifest.csv").write_text("name,published\na.txt,2021-01-01\n", encoding="utf-8")
    result = ingest([inp])
    assert [(r.reason, r.detail) for r in result.problems] == [
        ("bad_manifest", "no 'file' column (columns: name, published)")
    ]
    assert result.articles[0].published is None


def test_warnings_and_removals_reach_the_articles_table(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("Title\n\nThe council met.\n\nShare\n\nA vote is due.", encoding="utf-8")
    (inp / "manifest.csv").write_text("file,published\na.txt,2021-02-30\n", encoding="utf-8")
    out = tmp_path / "o"
    assert build([inp], out, extractor="rules").published is not None
    row = pd.read_parquet(out / "articles").iloc[0]
    assert list(row["warnings"]) == [
        f"{inp.resolve() / 'manifest.csv'}:2: published '2021-02-30' is not a real date: ignored"
    ]
    assert list(row["removed"]) == ["line: 'Share'"] and row["removed_chars"] == 5


# --- 13. an output that cannot be written is found before any work --------------------------------------


def test_an_unwritable_or_full_output_is_refused_before_any_work(tmp_path):
    r = run_cli("build", "--output", "/proc/self")
    assert r.returncode == 2 and "cannot write there" in one_line_error(r)
    r = run_cli("build", "--output", "/proc/eventbuilder-out")
    assert r.returncode == 2 and "cannot create it" in one_line_error(r)
    env = {**os.environ, "EVENTBUILDER_MIN_FREE_MB": str(10**12)}
    r = run_cli("build", "--output", tmp_path / "o", env=env)
    assert r.returncode == 2 and "MB free on its disk" in one_line_error(r)


def test_a_failure_during_publication_prints_its_real_cause_in_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import pipelines.publish as publish
    from pipelines.cli import app

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_write", full)
    result = CliRunner().invoke(app, ["build", "--output", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "eventbuilder: nothing was published, the current version (if any) is kept: "
        "OSError: [Errno 28] No space left on device"
    )
    debug = CliRunner().invoke(app, ["build", "--output", str(tmp_path / "o"), "--debug"])
    assert debug.exit_code == 1 and "_write" in debug.stderr and len(debug.stderr.splitlines()) > 5


# --- 14. what a killed run leaves behind is cleaned by the next --------------------------------------------


def test_leftovers_of_killed_runs_are_cleaned_and_not_counted_as_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_KEEP_RUNS", "2")
    out = tmp_path / "o"
    ids = [build([SAMPLE], out, extractor="rules").published.run_id for _ in range(2)]
    # What a kill at different moments leaves: a staging folder, a half-made link, a finished but
    # unpublished version, scratch space.
    (out / "runs" / ".staging-killed").mkdir()
    (out / ".eventbuilder-current-killed").symlink_to("runs/killed")
    shutil.copytree(out / "runs" / ids[-1], out / "runs" / "zz-finished-unpublished")
    (out / ".eventbuilder-tmp" / "123-abc").mkdir(parents=True)
    third = build([SAMPLE], out, extractor="rules").published.run_id
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted([ids[-1], third])
    assert (
        not os.path.lexists(out / ".eventbuilder-current-killed") and not (out / ".eventbuilder-tmp").exists()
    )
    assert json.loads((out / ".eventbuilder.json").read_text())["published"] == [ids[-1], third]


def test_a_killed_build_leaves_no_copy_of_the_articles_outside_the_output(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(400):
        text = f"Story {i}\n\n{CEASEFIRE} Marker{i}.\n\n{filler(i)}"  # not near-duplicates: 400 calls
        (inp / f"a{i:03}.txt").write_text(text, encoding="utf-8")
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    exe = Path(sys.executable).parent / "eventbuilder"
    script = Script(default={"content": answer(CEASEFIRE)}, latency=0.05)
    with LLMServer(script) as srv:
        env = {**os.environ, "TMPDIR": str(scratch), "OPENAI_API_KEY": "sk-test"}
        cmd = [str(exe), "build", str(inp), "--output", str(tmp_path / "o"), "--extractor", "llm"]
        p = subprocess.Popen([*cmd, "--model", MODEL, "--api-base", srv.api_base], env=env)
        import time

        deadline = time.monotonic() + 120
        while len(script.calls) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        p.kill()
        p.wait()
    assert len(script.calls) >= 50
    for f in scratch.rglob("*"):
        assert not f.is_file() or b"Marker" not in f.read_bytes(), f


# --- 15 and 16. the command line --------------------------------------------------------------------------


def test_dev_resolves_paths_against_the_callers_folder(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "mine")
    r = subprocess.run(
        [str(ROOT / "dev"), "build", "mine", "--output", "o3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o3" / "_manifest.json").is_file()
    assert not (ROOT / "o3").exists()


def test_help_version_and_argument_checks():
    build_help = run_cli("build", "-h")
    assert build_help.returncode == 0 and "--output" in build_help.stdout
    assert "[default: 0]" not in build_help.stdout.replace("\n", " ")
    eval_help = run_cli("eval", "--help")
    assert "OUTPUT/" not in eval_help.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("eventbuilder ")
    r = run_cli("eval", "--gold", SAMPLE.parent / "gold", "--dataset", "/nope")
    assert r.returncode == 2 and "--dataset /nope: no published dataset there" in one_line_error(r)
    r = run_cli("eval", "--gold", SAMPLE.parent / "gold", SAMPLE, "--fail-under", "1.5")
    assert r.returncode == 2 and "Invalid value for '--fail-under'" in r.stderr


def test_a_users_tmp_folder_in_the_output_is_left_alone(tmp_path):
    out = tmp_path / "o"
    (out / ".tmp").mkdir(parents=True)
    (out / ".tmp" / "notes.txt").write_text("precious", encoding="utf-8")
    assert run_cli("build", "--output", out).returncode == 0
    assert (out / ".tmp" / "notes.txt").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize(
    "var",
    [
        "EVENTBUILDER_KEEP_RUNS",
        "EVENTBUILDER_MIN_FREE_MB",
        "EVENTBUILDER_LOCK_WAIT",
        "EVENTBUILDER_MAX_ARTICLE_CHARS",
    ],
)
def test_a_setting_that_is_not_a_number_is_one_line(tmp_path, var):
    r = run_cli("build", "--output", tmp_path / "o", env={**os.environ, var: "all"})
    assert r.returncode == 2 and var in one_line_error(r)


def test_a_browser_closes_a_hidden_paragraph_at_the_next_block():
    from pipelines.ingest import html_to_text

    _, text = html_to_text("<body><p hidden>secret<div>Visible text.</div><p>More.</p></body>")
    assert "secret" not in text and "Visible text." in text and "More." in text


def test_manifest_rows_repeated_nested_or_too_long_are_reported(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.txt").write_text("A\n\nText.", encoding="utf-8")
    (inp / "manifest.csv").write_text(
        "file,published\na.txt,2021-01-01\na.txt,2022-02-02\nsub/a.txt,2021-01-01\na.txt,2021-01-01,extra\n",
        encoding="utf-8",
    )
    result = ingest([inp])
    assert result.articles[0].published == "2021-01-01"
    details = sorted(r.detail for r in result.problems)
    assert any("again (line 2)" in d for d in details)
    assert any("'sub/a.txt'" in d for d in details)
    assert any("more fields than the header" in d for d in details)
