"""Checks on a published dataset, read back from disk (used by the asset checks and the CLI).

In: the output folder (and the ingested inputs). Out: lists of problems, empty when fine.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds

from pipelines.ingest import Ingested


def read_table(output: Path, name: str):
    fmt = ds.ParquetFileFormat()
    part = ds.partitioning(flavor="hive") if name == "events" else None
    return ds.dataset(Path(output) / name, format=fmt, partitioning=part).to_table()


def ungrounded_quotes(output: Path) -> list[str]:
    texts = dict(
        zip(*read_table(output, "articles").select(["article_id", "text"]).to_pydict().values(), strict=True)
    )
    bad = []
    for row in read_table(output, "events").select(["event_id", "evidence"]).to_pylist():
        for ev in row["evidence"]:
            text = texts.get(ev["article_id"]) or ""
            if text[ev["start"] : ev["end"]] != ev["quote"] or not ev["quote"]:
                bad.append(f"{row['event_id']}: {ev['quote'][:60]!r}")
    return bad


def unaccounted_inputs(output: Path, ingested: Ingested) -> list[str]:
    rows = read_table(output, "articles").select(["source", "state"]).to_pylist()
    states = {}
    for r in rows:
        states.setdefault(r["source"], []).append(r["state"])
    inputs = [a.source for a in ingested.articles] + [
        r.source for r in ingested.rejected if r.reason != "bad_manifest"
    ]
    problems = [f"{s}: no row" for s in inputs if s not in states]
    problems += [f"{s}: {len(v)} rows" for s, v in states.items() if len(v) != 1]
    return problems
