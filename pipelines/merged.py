"""The merge stage: every mention the store holds, merged into published event rows across sources.

In: the output's store (its articles' mentions, outlets, languages and publication dates). Out: the
``events`` table of a new version, written under a staging folder one (year, type) group at a time
(``merge_store``), with each event's evidence, sources, who reported it when and a stable id; and
the number of events citing each article, for the articles table. ``pipelines.merge`` decides which
mentions are one event; this module streams the store through it, so memory holds one group, not the
dataset. Publication (``pipelines.publish``) makes a version of it.
"""

from __future__ import annotations

import json
import shutil
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import outdir, store
from pipelines.merge import combine, event_id, join_undated, merge_sources, same_as, strong_identity
from pipelines.normalize import acled_columns
from pipelines.schema import arrow_table, schema_version

UNKNOWN_YEAR = "unknown"


@dataclass
class Merged:
    """The merged events of a store version, staged for publication as version ``run_id``."""

    output: Path
    run_id: str
    store_version: tuple | None  # the store they were merged from: publication checks it is still so
    events_by_type: dict[str, int] = field(default_factory=dict)
    cited: dict[str, int] = field(default_factory=dict)  # article id -> events citing it

    @property
    def folder(self) -> Path:
        return staging(self.output, self.run_id) / "events"

    @property
    def n_events(self) -> int:
        return sum(self.events_by_type.values())

    def current(self) -> bool:
        """Whether the staged events are still those of the store (nothing stored since)."""
        return self.folder.is_dir() and self.store_version == store.version(self.output)


def staging(output: Path, run_id: str) -> Path:
    """Where version ``run_id`` is made before it is switched in (``runs/.staging-<run_id>``)."""
    return Path(output) / "runs" / f".staging-{run_id}"


def merge_store(output: Path, run_id: str) -> Merged:
    """Merge everything the store holds into the events of version ``run_id``, written to its staging
    folder (made afresh). The caller holds the output's lock."""
    outdir.check_run_id(run_id)
    where = staging(output, run_id)
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    merged = Merged(Path(output), run_id, store.version(output))
    columns = ["kind", "article_id", "outlet", "language", "published", "first_seen", "mentions"]
    by_type, cited = write_events(store.table(output, columns), merged.folder, run_id)
    merged.events_by_type, merged.cited = dict(by_type), dict(cited)
    return merged


def event_rows(
    events: list[dict],
    run_id: str,
    provenance: dict[tuple, tuple[str, str]],
    taken: set[str],
    reports: dict[str, tuple],
) -> list[dict]:
    """Published event rows: mentions merged across sources, with ACLED columns.

    ``provenance``: (article_id, start, end) of a quote -> (when its article was first stored, the id
    of its mention). A merged event takes the id of its earliest mention, so an event keeps its id
    when later sources join it. ``taken``: ids given to rows made before (updated). ``reports``:
    article id -> (outlet, language, publication date), for the columns of who reported it when.
    """
    rows = []
    for ev in sorted(merge_sources(events), key=lambda e: e["event_id"]):
        row = dict(ev)
        firsts = [provenance[t] for t in _quote_keys(ev) if t in provenance]
        # Two events may quote one sentence: the earlier id goes to one of them, the other keeps its own.
        if firsts and min(firsts)[1] not in taken:
            row["event_id"] = min(firsts)[1]
        taken.add(row["event_id"])
        row.update(acled_columns(ev), **reported(ev, reports))
        row["schema_version"] = schema_version()
        row["review_status"] = "unreviewed"  # publication applies the reviewers' decisions
        row["run_id"] = run_id
        rows.append(row)
    rows.sort(key=lambda r: (r.get("date") or "", r["event_type"], r["event_id"]))
    return rows


def reported(ev: dict, reports: dict[str, tuple]) -> dict:
    """Who reported an event and when: the outlets and languages of its articles, and their earliest
    and latest publication dates."""
    known = [reports[a] for a in dict.fromkeys(x["article_id"] for x in ev["evidence"]) if a in reports]
    dates = sorted(d for _, _, d in known if d)
    return {
        "outlets": sorted({o for o, _, _ in known if o}),
        "languages": sorted({lang for _, lang, _ in known if lang}),
        "first_reported": dates[0] if dates else None,
        "last_reported": dates[-1] if dates else None,
    }


def _quote_keys(ev: dict) -> list[tuple]:
    return [(x["article_id"], x["start"], x["end"], ev["event_type"]) for x in ev["evidence"]]


def _year(date: str | None) -> str:
    # "unknown" rather than Hive's null partition: pandas cannot read a null dictionary partition.
    return (date or "")[:4] or UNKNOWN_YEAR


def _group(date: str | None) -> tuple[bool, str, bool, str]:
    """The group a mention's date puts it in, in the order groups are merged: every month of a year,
    then that year's mentions dated to the year only, then the undated ones."""
    year, month = _year(date), (date or "")[5:7]
    return (year == UNKNOWN_YEAR, year, not month, month)


# The fields same_event and strong_identity read: all that is kept of each event written.
_SLIM = (
    "event_type",
    "status",
    "date",
    "actors",
    "symbol",
    "topics",
    "conflict_country",
    "materiel",
    "confidence",
)


def _take(column: pa.ChunkedArray, rows: list[int]) -> list:
    """The values at ``rows`` (ascending) of a column read file by file, as Python objects. Each chunk
    is taken from on its own: ChunkedArray.take joins every chunk into one array first, a copy of the
    whole column at each call."""
    out: list = []
    start = 0
    at = 0
    for chunk in column.chunks:
        end = start + len(chunk)
        stop = bisect_left(rows, end, at)
        if stop > at:
            local = pa.array([r - start for r in rows[at:stop]], pa.int64())
            out.extend(chunk.take(local).to_pylist())
        at, start = stop, end
    return out


def write_events(light: pa.Table, folder: Path, run_id: str, chunk: int = 2000) -> tuple[Counter, Counter]:
    """The published events of every stored mention, written a group at a time under ``folder``.

    ``light``: the store's kind, article_id, outlet, language, published, first_seen and mentions
    columns. Dated
    mentions merge across articles only when their type is the same and their dates agree (so do their
    months): the mentions of one type and month are merged and written together. Those dated to a
    year only, then the undated ones, ``chunk`` stored rows at a time, join the one dated event they
    match (the same event; for undated ones, a strong identity: ``merge.join_undated``, which sees
    every dated event through a few fields kept of each), else stay rows of their own; the files
    holding events that gained sources are written again. Memory holds one month's events of a type,
    not the dataset. Returns the events by type and the events citing each article.
    """
    provenance: dict[tuple, tuple[str, str]] = {}
    rows_of: dict[tuple, list[int]] = {}  # (group, type) -> store rows with such mentions
    firsts = light.column("first_seen").to_pylist()
    columns = [light.column(c).to_pylist() for c in ("article_id", "outlet", "language", "published")]
    reports = {a: (o, lang, p) for a, o, lang, p in zip(*columns, strict=True)}
    published = {a: p for a, (_, _, p) in reports.items()}
    del columns
    mentions_column = light.column("mentions")
    for at in range(0, light.num_rows, chunk):
        for i, raw in enumerate(mentions_column.slice(at, chunk).to_pylist(), start=at):
            groups = set()
            for m in json.loads(raw or "[]"):
                first = (firsts[i] or "", event_id(m))
                for t in _quote_keys(m):
                    provenance[t] = min(provenance.get(t, first), first)
                groups.add((*_group(m.get("date")), m["event_type"]))
            for g in groups:
                rows_of.setdefault(g, []).append(i)
    by_type: Counter = Counter()
    cited: Counter = Counter()
    taken: set[str] = set()
    folder.mkdir(parents=True)
    parts: Counter = Counter()
    dated: list[dict] = []  # a few fields of every dated event written, for undated mentions to join
    where: list[tuple[Path, int]] = []  # the file and row of each
    joined: dict[Path, dict[int, list[dict]]] = {}
    for (undated, year, year_only, month, kind), rows in sorted(rows_of.items()):
        key = (undated, year, year_only, month)
        step = chunk if undated or year_only else len(rows)
        for at in range(0, len(rows), step):
            raws = _take(mentions_column, rows[at : at + step])
            mentions = [
                m
                for raw in raws
                for m in json.loads(raw)
                if m["event_type"] == kind and _group(m.get("date")) == key
            ]
            if undated or year_only:
                match = strong_identity if undated else same_as
                joins, mentions = join_undated(dated, mentions, published, match)
                for i, m in joins:
                    path, row = where[i]
                    joined.setdefault(path, {}).setdefault(row, []).append(m)
            events = event_rows(mentions, run_id, provenance, taken, reports)
            del mentions
            for ev in events:
                by_type[ev["event_type"]] += 1
                cited.update({x["article_id"] for x in ev["evidence"]})
            part = folder / f"year={year}"
            part.mkdir(exist_ok=True)
            path = part / f"part-{run_id}-{parts[year]}.parquet"
            parts[year] += 1
            pq.write_table(arrow_table(events, "event"), path, compression="zstd")
            if not undated:
                dated += [{k: ev.get(k) for k in _SLIM} for ev in events]
                where += [(path, n) for n in range(len(events))]
    for path, rows in joined.items():
        events = pq.read_table(path).to_pylist()
        for n, mentions in rows.items():
            row = events[n]
            for m in mentions:
                row = combine(row, m)
                cited.update({x["article_id"] for x in m["evidence"]})
            row["source_count"] = len({x["article_id"] for x in row["evidence"]})
            row.update(acled_columns(row), **reported(row, reports))
            events[n] = row
        pq.write_table(arrow_table(events, "event"), path, compression="zstd")
    if not rows_of:  # an empty table still gets a file, so that readers see its columns
        pq.write_table(arrow_table([], "event"), folder / f"part-{run_id}-0.parquet", compression="zstd")
    return by_type, cited
