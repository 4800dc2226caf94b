"""Write the published dataset: ``events``, ``articles`` and ``quarantine`` as Parquet.

In: ingested articles, the extraction, the validated events and a run id.
Out: under the output folder, ``events/year=YYYY/…parquet`` (hive-partitioned by
the event's year, ``year=unknown`` when the date is unknown), ``articles/…parquet``,
``quarantine/…parquet`` (zstd, Arrow schemas derived from ``schemas/``) and
``_manifest.json``: links into ``current``, which points to the newest complete version in
``runs/<run_id>/``. A crashed run never changes what readers see; a run in which every article
failed, or nothing was read, publishes nothing (``PublishRefused``); articles that failed in a run
keep the events the current version has for them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import outdir, reviews, store
from pipelines.extract import Extraction, not_covered
from pipelines.ingest import Ingested, source_file
from pipelines.merged import Merged, merge_store
from pipelines.schema import arrow_schema, arrow_table, schema_version
from pipelines.validate import Validated


@dataclass
class Published:
    output: Path
    run_id: str
    events_by_type: dict[str, int]  # the rows are on disk only: a large dataset's events would not fit
    quarantine: list[dict]
    n_articles: int = 0  # rows of the articles table (not held here: their texts can be gigabytes)
    article_states: dict[str, int] = field(default_factory=dict)
    usage: dict[str, float] = field(default_factory=dict)  # LLM calls, tokens and cost, summed
    failed_reasons: list[str] = field(default_factory=list)  # of the articles in state failed
    not_covered: dict[str, int] = field(default_factory=dict)  # language -> articles it could not read
    not_sent: dict[str, int] = field(default_factory=dict)  # why -> articles no model call was made for
    carried: int = 0  # mentions kept from earlier runs for articles that failed now
    ignored: list[str] = field(default_factory=list)  # hidden input paths, not read
    run: dict = field(default_factory=dict)  # this run: inputs read, extracted, unchanged, failed
    inputs: list[str] = field(default_factory=list)  # every path this run met

    @property
    def n_events(self) -> int:
        return sum(self.events_by_type.values())

    def counts(self) -> dict:
        return {
            "articles": dict(self.article_states),
            "events": dict(self.events_by_type),
            "quarantine": len(self.quarantine),
            "llm": {k: self.usage.get(k, 0) for k in USAGE},
            "carried_events": self.carried,
            "ignored_paths": len(self.ignored),
            "this_run": self.run,
        }

    def failures(self) -> list[tuple[str, int]]:
        """Reasons of the articles that failed, most frequent first."""
        return top_reasons(r or "?" for r in self.failed_reasons)


USAGE = ("llm_calls", "cached_calls", "tokens_in", "tokens_out", "cached_tokens", "cost_usd")


class PublishRefused(RuntimeError):
    """Nothing is published: publishing would replace a good version with a worse one."""


def top_reasons(reasons) -> list[tuple[str, int]]:
    return Counter(" ".join(r.split())[:200] for r in reasons).most_common()


def describe(reasons: list[tuple[str, int]], top: int = 3) -> str:
    shown = "; ".join(f"{n}× {r}" for r, n in reasons[:top])
    more = sum(n for _, n in reasons[top:])
    return shown + (f"; {more} more" if more else "")


def refusal(batches: list[dict]) -> str | None:
    """Why a build must not be published, if it must not: nothing read, or every article failed.

    ``batches``: the summaries of the build's stored batches (see ``store_batch``).
    """
    n_articles = sum(b["articles"] for b in batches)
    if not n_articles:
        met: Counter = Counter()
        for b in batches:
            met.update(b["rejected_reasons"])
        detail = ", ".join(f"{n} {reason}" for reason, n in met.most_common()) or "no input files"
        return f"nothing was read: no article in the inputs ({detail})"
    if sum(b["failed"] for b in batches) == n_articles:
        reasons = top_reasons(r for b in batches for r in b["failed_reasons"])
        return f"every article failed ({n_articles}): {describe(reasons)}"
    return None


def _no_events_by(articles: pa.Table, prefix: str) -> dict[str, int]:
    """Articles in state no_events whose reason starts with ``prefix: ``, counted by the rest."""
    import pyarrow.compute as pc

    mask = pc.and_(
        pc.equal(articles.column("state"), "no_events"),
        pc.starts_with(pc.fill_null(articles.column("reason"), ""), f"{prefix}: "),
    )
    reasons = articles.filter(mask).column("reason").to_pylist()
    return dict(Counter(r.split(": ", 1)[1] for r in reasons).most_common())


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def _rejected_row(rej, kind: str = "article") -> dict:
    return {
        "kind": kind,
        "article_id": None,
        "source": rej.source,
        "reason": rej.reason,
        "detail": rej.detail,
    }


def _kept(prev: dict | None, reason: str, run_id: str) -> dict | None:
    """The stored row of an article with events, kept whole (text, metadata, mentions) but marked
    failed with ``reason``: a failure now never costs the events it had, and they stay grounded in the
    text they were found in."""
    if not prev or prev["kind"] != "article" or prev["state"] == "quarantined":
        return None
    n = len(store.decode(prev, "mentions"))
    if not n:
        return None
    if prev["state"] == "failed":
        reason = reason.split(" (its ")[0]
    return {
        **prev,
        "state": "failed",
        "reason": f"{reason} (its {n} earlier event(s) kept)",
        "run_id": run_id,
    }


def run_rows(
    ingested: Ingested,
    extraction: Extraction,
    validated: Validated,
    events: list[dict],
    run_id: str,
    stored: dict[str, dict],
) -> tuple[list[dict], list[str], int]:
    """Store rows for the inputs this run met, the stored keys to drop, and how many earlier mentions
    were kept for articles that failed now.

    Articles reused unchanged are not rewritten. A stored row is dropped when the file it came from
    was read again and no longer yields it (a JSONL record or manifest row gone, a file whose key
    moved between its path and an ``id``). ``events``: this run's normalised mentions; ``stored``:
    the store's rows by key.
    """
    now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    mentions: dict[str, list[dict]] = {}
    for ev in events:
        mentions.setdefault(ev["evidence"][0]["article_id"], []).append(ev)
    rejected: dict[str, list[dict]] = {}
    for q in [*extraction.rejected, *validated.quarantine]:
        rejected.setdefault(q.get("article_id"), []).append(q)
    rows, carried = [], 0
    unchanged: set[str] = set()
    for art in ingested.articles:
        if art.article_id in extraction.reused:
            unchanged.add(art.key)
            continue
        prev = stored.get(art.key)
        row = art.to_dict()
        row.update(extraction.usage.get(art.article_id, {}))
        row.update(
            copy_of=extraction.copies.get(art.article_id),
            minhash=extraction.signatures.get(art.article_id),
            near_keys=extraction.near_keys.get(art.article_id),
        )
        row.update(key=art.key, kind="article", first_seen=prev["first_seen"] if prev else now, run_id=run_id)
        rej = rejected.get(art.article_id, [])
        if art.article_id in extraction.duplicates:
            detail = f"same text as {extraction.duplicates[art.article_id]}, already in the dataset"
            row.update(
                article_id=f"duplicate:{art.source}",
                state="quarantined",
                reason=f"duplicate: {detail}",
                mentions="[]",
                extraction_key=None,
            )
            rej = [
                {
                    "kind": "article",
                    "article_id": None,
                    "source": art.source,
                    "reason": "duplicate",
                    "detail": detail,
                }
            ]
        elif art.article_id in extraction.failed:
            kept = _kept(prev, extraction.failed[art.article_id], run_id)
            if kept:
                carried += len(store.decode(kept, "mentions"))
                row = kept
            else:
                row.update(
                    state="failed",
                    reason=extraction.failed[art.article_id],
                    mentions="[]",
                    extraction_key=None,
                )
        else:
            found = mentions.get(art.article_id, [])
            row.update(
                state="extracted" if found else "no_events",
                reason=None
                if found
                else extraction.unsent.get(art.article_id) or not_covered(extraction.extractor, art.language),
                mentions=store.encode(found),
                extraction_key=extraction.keys.get(art.article_id),
            )
        row["rejected"] = store.encode(rej)
        rows.append(row)
    for rej in ingested.rejected:
        prev = stored.get(rej.source)
        why = f"{rej.reason}: {rej.detail}" if rej.detail else rej.reason
        kept = _kept(prev, f"now {why}", run_id)
        if kept:  # a file truncated, unreadable or over the limit now keeps the events it had
            carried += len(store.decode(kept, "mentions"))
            rows.append({**kept, "rejected": store.encode([_rejected_row(rej)])})
            continue
        rows.append(
            {
                "key": rej.source,
                "kind": "article",
                "article_id": f"rejected:{rej.source}",
                "source": rej.source,
                "state": "quarantined",
                "reason": why,
                "first_seen": prev["first_seen"] if prev else now,
                "mentions": "[]",
                "rejected": store.encode([_rejected_row(rej)]),
                "run_id": run_id,
            }
        )
    for prob in ingested.problems:
        rows.append(
            {
                "key": prob.source,
                "kind": "problem",
                "article_id": f"problem:{prob.source}",
                "source": prob.source,
                "state": "quarantined",
                "reason": prob.reason,
                "first_seen": now,
                "mentions": "[]",
                "rejected": store.encode([_rejected_row(prob)]),
                "run_id": run_id,
            }
        )
    read = read_files(ingested)
    written = {r["key"] for r in rows} | unchanged
    drop = [k for k, r in stored.items() if k not in written and source_file(r["source"]) in read]
    return rows, drop, carried


def read_files(ingested: Ingested) -> set[str]:
    """The files a batch read: its inputs and the manifest beside each (a manifest row's records)."""
    return set(ingested.inputs) | {str(Path(f).parent / "manifest.csv") for f in ingested.inputs}


def _quote_ids(folder: Path) -> Iterator[tuple[str, list[tuple]]]:
    """(event id, its quotes' (article_id, start, end)) of every event under ``folder``, read a file
    at a time and flattened in Arrow (no Python object per evidence row)."""
    import pyarrow.compute as pc

    for f in sorted(folder.rglob("*.parquet")):
        t = pq.read_table(f, columns=["event_id", "evidence"])
        evidence = t.column("evidence").combine_chunks()
        flat = pc.list_flatten(evidence)
        owners = pc.list_parent_indices(evidence).to_pylist()
        keys = zip(*(flat.field(k).to_pylist() for k in ("article_id", "start", "end")), strict=True)
        ids = t.column("event_id").to_pylist()
        quotes: dict[int, list[tuple]] = {}
        for owner, key in zip(owners, keys, strict=True):
            quotes.setdefault(owner, []).append(key)
        for n, eid in enumerate(ids):
            yield eid, quotes.get(n, [])


def alias_rows(previous: Path | None, events: Path, run_id: str) -> list[dict]:
    """The ``event_aliases`` table of a new version: each event id of the ``previous`` version (its
    folder) that the new one (``events``) no longer has, pointing at the event that now holds its
    first quote (it merged there), and the previous version's aliases, followed to their events now."""
    if previous is None or not (previous / "events").is_dir():
        return []
    holder: dict[tuple, str] = {}
    for eid, quotes in _quote_ids(events):
        for q in quotes:
            holder[q] = eid
    now = set(holder.values())
    aliases: dict[str, tuple[str, str]] = {}  # old id -> (id now, run that merged it)
    for eid, quotes in _quote_ids(previous / "events"):
        if eid not in now and quotes and quotes[0] in holder:
            aliases[eid] = (holder[quotes[0]], run_id)
    earlier = previous / "event_aliases"
    if earlier.is_dir():
        for f in sorted(earlier.glob("*.parquet")):
            for row in pq.read_table(f).to_pylist():
                target = row["event_id"] if row["event_id"] in now else aliases.get(row["event_id"], ("",))[0]
                if target and row["old_event_id"] not in now:
                    aliases.setdefault(row["old_event_id"], (target, row["since_run_id"]))
    return [
        {"old_event_id": old, "event_id": eid, "since_run_id": since, "run_id": run_id}
        for old, (eid, since) in sorted(aliases.items())
    ]


def article_table(stored: pa.Table, cited: Counter, run_id: str) -> tuple[pa.Table, list[dict]]:
    """The published articles table of the store's rows (texts stay in Arrow) with each article's
    events counted, in the store's order (``_write`` sorts it by source as it writes), and the
    quarantine rows."""
    import pyarrow.compute as pc

    quarantine, n_rejected = [], []
    for kind, raw in zip(
        stored.column("kind").to_pylist(), stored.column("rejected").to_pylist(), strict=True
    ):
        rejected = json.loads(raw or "[]")
        quarantine += [{**q, "run_id": run_id} for q in rejected]
        if kind == "article":
            n_rejected.append(len(rejected))
    is_article = pc.equal(stored.column("kind"), "article")
    # Most stores hold articles only: filtering would copy every text for nothing.
    articles = stored if pc.all(is_article).as_py() is not False else stored.filter(is_article)
    n_events = [cited.get(a, 0) for a in articles.column("article_id").to_pylist()]
    states = [
        ("extracted" if n else "no_events") if s in ("extracted", "no_events") else s
        for s, n in zip(articles.column("state").to_pylist(), n_events, strict=True)
    ]
    n_rejected = [0 if s == "quarantined" else k for s, k in zip(states, n_rejected, strict=True)]
    schema = arrow_schema("article")
    computed = {
        "state": pa.array(states, pa.string()),
        "n_events": pa.array(n_events, schema.field("n_events").type),
        "n_rejected": pa.array(n_rejected, schema.field("n_rejected").type),
        "run_id": pa.array([run_id] * articles.num_rows, schema.field("run_id").type),
    }
    columns = [
        computed[f.name] if f.name in computed else articles.column(f.name).cast(f.type) for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema), quarantine


SORTED_ROWS = 512  # rows written at a time in another order: each such take holds them twice


def _write(table: pa.Table, folder: Path, run_id: str, sort_by: str | None = None) -> None:
    """One zstd Parquet file, written with pyarrow.parquet alone (importing pyarrow.dataset would add
    0.3 s to every build's start-up); ``sort_by``: in that column's order, ``SORTED_ROWS`` rows at a
    time, so that a table of every text is not copied whole to be sorted."""
    import pyarrow.compute as pc

    folder.mkdir(parents=True)
    where = folder / f"part-{run_id}-0.parquet"
    if sort_by is None:
        pq.write_table(table, where, compression="zstd")
        return
    order = pc.sort_indices(table, [(sort_by, "ascending")]).to_numpy()
    batches = table.to_batches()
    with pq.ParquetWriter(where, table.schema, compression="zstd") as writer:
        for at in range(0, max(len(order), 1), SORTED_ROWS):
            writer.write_table(_take_rows(batches, table.schema, order[at : at + SORTED_ROWS]))


def _take_rows(batches: list[pa.RecordBatch], schema: pa.Schema, rows) -> pa.Table:
    """The table's ``rows`` (numpy indices, any order), taken batch by batch: ``Table.take`` joins each
    column's chunks into one array first, a copy of every text at each call."""
    import numpy as np

    rows = np.asarray(rows, dtype=np.int64)  # sort_indices gives uint64: less int64 would be float
    bounds = np.cumsum([0, *(b.num_rows for b in batches)], dtype=np.int64)
    which = np.searchsorted(bounds, rows, side="right") - 1
    by_batch = np.argsort(which, kind="stable")
    pieces = [
        batches[c].take(pa.array(rows[by_batch][which[by_batch] == c] - bounds[c])) for c in np.unique(which)
    ]
    taken = pa.Table.from_batches(pieces, schema=schema)
    # Back from batch order to the order asked for: a take over these few rows only.
    back = np.empty_like(by_batch)
    back[by_batch] = np.arange(len(by_batch))
    return taken.take(pa.array(back))


def _point(output: Path, run_id: str) -> None:
    """Switch ``current`` to the new run in one atomic rename; the table paths are links through it."""
    link = output / f".eventbuilder-current-{run_id}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path("runs") / run_id, target_is_directory=True)
    os.replace(link, output / "current")
    for name in outdir.PUBLISHED:
        path = output / name
        if not os.path.lexists(path):  # check_output refused any path of that name the tool did not make
            path.symlink_to(Path("current") / name, target_is_directory=not name.endswith(".json"))


def store_batch(
    output: Path,
    ingested: Ingested,
    extraction: Extraction,
    validated: Validated,
    events: list[dict],
    run_id: str,
    lock_wait: float = 0.0,
) -> dict:
    """Add one batch's inputs to the output's store; returns the batch's summary for publication.

    ``events``: the batch's normalised mentions. New articles are appended, changed ones replaced, and
    rows whose file was read again and no longer yields them dropped, in commits of the store (see
    ``store.write``). Nothing is published here: ``publish`` makes the version.
    """
    output = Path(output)
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.init(output)
        # The stored rows this batch may write or drop, without their text, and whole only the rows
        # a failure now may keep.
        keys = [r.source for r in [*ingested.rejected, *ingested.problems]]
        keys += [a.key for a in ingested.articles]
        stored = store.index(output, keys=keys, sources=read_files(ingested))
        failed = {a.key for a in ingested.articles if a.article_id in extraction.failed}
        stored.update(store.rows(output, (failed | {r.source for r in ingested.rejected}) & stored.keys()))
        rows, drop, carried = run_rows(ingested, extraction, validated, events, run_id, stored)
        store.write(output, rows, drop=drop, known=set(stored))
    reused = {a.key for a in ingested.articles if a.article_id in extraction.reused}
    return {
        "articles": len(ingested.articles),
        "read": len(ingested.articles) + len(ingested.rejected),
        "extracted": len(ingested.articles)
        - len(extraction.reused)
        - len(extraction.failed)
        - len(extraction.duplicates),
        "unchanged": len(extraction.reused),
        "failed": len(extraction.failed),
        "failed_reasons": [
            extraction.failed[a.article_id] for a in ingested.articles if a.article_id in extraction.failed
        ],
        "rejected_reasons": dict(Counter(r.reason for r in ingested.rejected)),
        "carried": carried,
        "ignored": list(ingested.ignored),
        "inputs": list(ingested.inputs),
        "met": sorted({r["key"] for r in rows} | reused),
    }


def prepare(
    output: Path, batches: list[dict], run_id: str, keep: set[str] | None = None, lock_wait: float = 0.0
) -> Merged:
    """The merge stage of a build that stored its ``batches`` (their summaries, from ``store_batch``):
    everything the store holds merged into the staged events of version ``run_id``.

    Raises PublishRefused first when the batches read nothing or every article in them failed (the
    current version stays; what they stored stays in the store: failures keep the events they had).
    ``keep`` (a full refresh): the store keeps only these keys (those its build met); the rest are
    dropped in one commit, the last before the version is made.
    """
    why = refusal(batches)
    if why:
        raise PublishRefused(why)
    outdir.check_run_id(run_id)
    output = Path(output)
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.init(output)
        outdir.check_run_id_free(output, run_id)
        if keep is not None:
            stored = store.stored_keys(output)
            store.write(output, [], drop=[k for k in stored if k not in keep], known=stored)
        return merge_store(output, run_id)


def publish(
    output: Path,
    batches: list[dict],
    run_id: str | None = None,
    extractor: str = "",
    keep: set[str] | None = None,
    lock_wait: float = 0.0,
    merged: Merged | None = None,
) -> Published:
    """Publish a version of everything the store holds, after a build stored its ``batches``.

    ``merged``: the merge stage's result (``prepare``), else it runs here; merged again, under the
    lock, when anything was stored since. Raises PublishRefused as ``prepare`` does.
    """
    why = refusal(batches)
    if why:
        raise PublishRefused(why)
    output = Path(output)
    if merged is None:
        merged = prepare(output, batches, run_id or new_run_id(), keep, lock_wait)
    run_id = merged.run_id
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.init(output)
        outdir.clean_up(output, scratch=False, staging=run_id)
        outdir.check_run_id_free(output, run_id)
        if not merged.current():  # stored to since it was merged: what it staged is not the store's
            merged = merge_store(output, run_id)
        run = {k: sum(b[k] for b in batches) for k in ("read", "extracted", "unchanged", "failed")}
        ignored = [p for b in batches for p in b["ignored"]]
        carried = sum(b["carried"] for b in batches)
        result = write_version(output, merged, extractor, carried, ignored, run)
        result.inputs = [p for b in batches for p in b["inputs"]]
        return result


def write_version(
    output: Path,
    merged: Merged,
    extractor: str,
    carried: int = 0,
    ignored: list[str] | None = None,
    run: dict | None = None,
) -> Published:
    """Write the other tables of the store beside the ``merged`` events and make that version current
    (lock held)."""
    import pyarrow.compute as pc

    run_id = merged.run_id
    staging = merged.folder.parent
    try:
        previous = outdir.current_run(output)
        aliases = alias_rows(output / "runs" / previous if previous else None, staging / "events", run_id)
        decisions = reviews.load(output)
        by_type, cited = Counter(merged.events_by_type), Counter(merged.cited)
        if decisions:  # reviewers' decisions hold in every version, by id or through an alias
            rejected, uncited = reviews.apply(
                merged.folder, decisions, {a["old_event_id"]: a["event_id"] for a in aliases}
            )
            by_type.subtract(rejected)
            cited.subtract(uncited)
        # What the articles and quarantine tables need: not the mentions, nor the near-duplicate
        # signatures (9 MB a 10k store, and their decoding buffers).
        wanted = {*arrow_schema("article").names, "kind", "rejected"}
        columns = [n for n in store.store_schema().names if n in wanted]
        articles, quarantine = article_table(store.table(output, columns), cited, run_id)
        states = articles.column("state")
        result = Published(
            output,
            run_id,
            {k: n for k, n in by_type.items() if n > 0},
            quarantine,
            n_articles=articles.num_rows,
            article_states={v["values"]: v["counts"] for v in pc.value_counts(states).to_pylist()},
            usage={
                k: pc.sum(articles.column(k)).as_py() or 0 if k in articles.column_names else 0 for k in USAGE
            },
            failed_reasons=articles.filter(pc.equal(states, "failed")).column("reason").to_pylist(),
            not_covered=_no_events_by(articles, "language_not_covered"),
            not_sent=_no_events_by(articles, "not_sent"),
            carried=carried,
            ignored=ignored or [],
            run=run or {},
        )
        _write(articles, staging / "articles", run_id, sort_by="source")
        del articles
        _write(arrow_table(quarantine, "quarantine"), staging / "quarantine", run_id)
        _write(arrow_table(aliases, "event_alias"), staging / "event_aliases", run_id)
        review_rows = reviews.published_rows(decisions, run_id)
        _write(arrow_table(review_rows, "review"), staging / "reviews", run_id)
        manifest = {
            "run_id": run_id,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "schema_version": schema_version(),
            "extractor": extractor,
            "counts": result.counts(),
            "rows": {
                "events": result.n_events,
                "articles": result.n_articles,
                "quarantine": len(quarantine),
                "event_aliases": len(aliases),
                "reviews": len(review_rows),
            },
            "tables": {
                "events": "events/",
                "articles": "articles/",
                "quarantine": "quarantine/",
                "event_aliases": "event_aliases/",
                "reviews": "reviews/",
            },
        }
        (staging / "_manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        os.replace(staging, output / "runs" / run_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _point(output, run_id)
    outdir.record_published(output, run_id)
    outdir.clean_up(output, scratch=False)
    return result


def remove(
    output: Path, targets: list[str], run_id: str | None = None, lock_wait: float = 0.0
) -> tuple[list[str], Published | None]:
    """Take articles out of the dataset by article id or path (a file, a folder, a JSONL file's
    records) and publish a version without them.

    Returns the removed keys and the new version (None: nothing matched, nothing published).
    """
    run_id = run_id or new_run_id()
    output = Path(output)
    paths = [str(Path(t).resolve()) for t in targets]
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.clean_up(output, scratch=False)
        keys = [
            r["key"]
            for r in store.index(output).values()
            if r["article_id"] in targets
            or r["key"] in targets
            or any(r["source"] == p or r["source"].startswith((p + ":", p + os.sep)) for p in paths)
        ]
        if not keys:
            return [], None
        store.write(output, [], drop=keys)
        return keys, write_version(output, merge_store(output, run_id), "remove")


def review(
    output: Path, decisions: list[dict], lock_wait: float = 0.0, run_id: str | None = None
) -> Published:
    """Keep reviewers' ``decisions`` with the dataset and publish a version that applies them.

    Each decision must name an event of the current version (or an id that merged into one, through
    ``event_aliases``), and a set value must suit that event's type: else ReviewError, nothing kept.
    """
    from pipelines.checks import read_table

    run_id = run_id or new_run_id()
    output = Path(output)
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.clean_up(output, scratch=False)
        current = output / "current"
        events = read_table(current, "events", ["event_id", "event_type"]).to_pylist()
        types = {e["event_id"]: e["event_type"] for e in events}
        alias_files = sorted((current / "event_aliases").rglob("*.parquet"))
        aliases = {
            a["old_event_id"]: a["event_id"]
            for f in alias_files
            for a in pq.read_table(f, columns=["old_event_id", "event_id"]).to_pylist()
        }
        for d in decisions:
            target = reviews.resolve(d["event_id"], set(types), aliases)
            if target is None:
                raise reviews.ReviewError(f"event {d['event_id']}: not in the dataset's current version")
            if d["decision"] == "set":
                value = reviews.parse_value(d["field"], d["value"])
                reviews.check_value(types[target], d["field"], value)
        reviews.add(output, decisions)
        return write_version(output, merge_store(output, run_id), "review")
