"""Checks on a published dataset, read back from disk (used by the asset checks and the CLI).

In: the output folder (and the ingested inputs). Out: lists of problems, empty when fine.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest import source_file
from pipelines.parquet import read_files


def read_table(output: Path, name: str, columns: list[str] | None = None):
    """``columns`` of a published table: every Parquet file under ``output/name``, year folders too
    (default: every column in the files; the ``year`` of the folder names is not one)."""
    return read_files(sorted((Path(output) / name).rglob("*.parquet")), columns)


def ungrounded(events, texts: dict[str, str]) -> list[str]:
    """Evidence whose quote is empty or not exactly ``text[start:end]`` of its article."""
    bad = []
    for event in events:
        for ev in event["evidence"]:
            text = texts.get(ev["article_id"]) or ""
            if text[ev["start"] : ev["end"]] != ev["quote"] or not ev["quote"]:
                bad.append(f"{event.get('event_id') or event.get('event_type')}: {ev['quote'][:60]!r}")
    return bad


def ungrounded_quotes(output: Path) -> list[str]:
    """Published evidence, read back from disk, that is not in its published article.

    The evidence is gathered first (it is small); the articles' texts are then read a record batch at
    a time, so memory never holds every text of the dataset."""
    import pyarrow.parquet as pq

    wanted: dict[str, list[tuple[str, int, int, str]]] = {}
    for f in sorted((Path(output) / "events").rglob("*.parquet")):
        for row in pq.read_table(f, columns=["event_id", "evidence"]).to_pylist():
            for ev in row["evidence"]:
                spans = wanted.setdefault(ev["article_id"], [])
                spans.append((row["event_id"], ev["start"], ev["end"], ev["quote"]))
    bad: list[str] = []
    for f in sorted((Path(output) / "articles").rglob("*.parquet")):
        for batch in pq.ParquetFile(f).iter_batches(batch_size=1000, columns=["article_id", "text"]):
            ids, texts = batch.column("article_id").to_pylist(), batch.column("text").to_pylist()
            for article_id, text in zip(ids, texts, strict=True):
                for event_id, start, end, quote in wanted.pop(article_id, []):
                    if not quote or (text or "")[start:end] != quote:
                        bad.append(f"{event_id}: {quote[:60]!r}")
    # Evidence citing an article the table does not have is not grounded either.
    bad += [f"{e}: {q[:60]!r}" for spans in wanted.values() for e, _, _, q in spans]
    return bad


def unaccounted_inputs(output: Path, inputs: list[str]) -> list[str]:
    """Files found with no article row, and sources with more than one row."""
    sources = [r["source"] for r in read_table(output, "articles", ["source"]).to_pylist()]
    counts: dict[str, int] = {}
    for src in sources:
        counts[src] = counts.get(src, 0) + 1
    problems = [f"{s}: {n} rows" for s, n in counts.items() if n != 1]
    files_with_rows = {source_file(s) for s in counts}
    problems += [f"{f}: no row" for f in inputs if f not in files_with_rows]
    return problems
