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
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from pipelines import outdir
from pipelines.extract import Extraction
from pipelines.ingest import Ingested
from pipelines.merge import merge_sources
from pipelines.normalize import acled_columns
from pipelines.schema import arrow_schema, schema_version
from pipelines.validate import Validated

UNKNOWN_YEAR = "unknown"


@dataclass
class Published:
    output: Path
    run_id: str
    events: list[dict]
    articles: list[dict]
    quarantine: list[dict]
    carried: int = 0  # events kept from the previous version for articles that failed now
    ignored: list[str] = field(default_factory=list)  # hidden input paths, not read

    def counts(self) -> dict:
        by_state: dict[str, int] = {}
        for a in self.articles:
            by_state[a["state"]] = by_state.get(a["state"], 0) + 1
        by_type: dict[str, int] = {}
        for e in self.events:
            by_type[e["event_type"]] = by_type.get(e["event_type"], 0) + 1
        usage = {
            k: sum(a.get(k) or 0 for a in self.articles)
            for k in ("llm_calls", "cached_calls", "tokens_in", "tokens_out", "cost_usd")
        }
        return {
            "articles": by_state,
            "events": by_type,
            "quarantine": len(self.quarantine),
            "llm": usage,
            "carried_events": self.carried,
            "ignored_paths": len(self.ignored),
        }

    def failures(self) -> list[tuple[str, int]]:
        """Reasons of the articles that failed, most frequent first."""
        return top_reasons(a["reason"] or "?" for a in self.articles if a["state"] == "failed")


class PublishRefused(RuntimeError):
    """Nothing is published: publishing would replace a good version with a worse one."""


def top_reasons(reasons) -> list[tuple[str, int]]:
    return Counter(" ".join(r.split())[:200] for r in reasons).most_common()


def describe(reasons: list[tuple[str, int]], top: int = 3) -> str:
    shown = "; ".join(f"{n}× {r}" for r, n in reasons[:top])
    more = sum(n for _, n in reasons[top:])
    return shown + (f"; {more} more" if more else "")


def refusal(ingested: Ingested, extraction: Extraction) -> str | None:
    """Why this run must not be published, if it must not: nothing read, or every article failed."""
    if not ingested.articles:
        met = Counter(r.reason for r in ingested.rejected)
        detail = ", ".join(f"{n} {reason}" for reason, n in met.most_common()) or "no input files"
        return f"nothing was read: no article in the inputs ({detail})"
    if ingested.articles and all(a.article_id in extraction.failed for a in ingested.articles):
        reasons = top_reasons(extraction.failed.values())
        return f"every article failed ({len(ingested.articles)}): {describe(reasons)}"
    return None


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def event_rows(events: list[dict], run_id: str) -> list[dict]:
    rows = []
    for ev in merge_sources(events):
        row = dict(ev)
        row.update(acled_columns(ev))
        row["schema_version"] = schema_version()
        row["run_id"] = run_id
        rows.append(row)
    rows.sort(key=lambda r: (r.get("date") or "", r["event_type"], r["event_id"]))
    return rows


def article_rows(
    ingested: Ingested, extraction: Extraction, validated: Validated, events: list[dict], run_id: str
) -> list[dict]:
    cited: dict[str, int] = {}
    for ev in events:
        for aid in {x["article_id"] for x in ev["evidence"]}:
            cited[aid] = cited.get(aid, 0) + 1
    rejected: dict[str, int] = {}
    for q in [*extraction.rejected, *validated.quarantine]:
        if q.get("article_id"):
            rejected[q["article_id"]] = rejected.get(q["article_id"], 0) + 1
    rows = []
    for art in ingested.articles:
        row = art.to_dict()
        if art.article_id in extraction.failed:
            state, reason = "failed", extraction.failed[art.article_id]
            if cited.get(art.article_id):
                reason += f" (its {cited[art.article_id]} earlier event(s) kept)"
        elif cited.get(art.article_id):
            state, reason = "extracted", None
        else:
            state, reason = "no_events", None
        row.update(extraction.usage.get(art.article_id, {}))
        row.update(
            state=state,
            reason=reason,
            n_events=cited.get(art.article_id, 0),
            n_rejected=rejected.get(art.article_id, 0),
            run_id=run_id,
        )
        rows.append(row)
    for rej in ingested.rejected:
        rows.append(
            {
                "article_id": f"rejected:{rej.source}",
                "source": rej.source,
                "state": "quarantined",
                "reason": f"{rej.reason}: {rej.detail}" if rej.detail else rej.reason,
                "n_events": 0,
                "n_rejected": 0,
                "run_id": run_id,
            }
        )
    return rows


def quarantine_rows(
    ingested: Ingested, extraction: Extraction, validated: Validated, run_id: str
) -> list[dict]:
    rows = [
        {
            "kind": "article",
            "article_id": None,
            "source": rej.source,
            "reason": rej.reason,
            "detail": rej.detail,
            "run_id": run_id,
        }
        for rej in [*ingested.rejected, *ingested.problems]
    ]
    rows += [{**q, "run_id": run_id} for q in [*extraction.rejected, *validated.quarantine]]
    return rows


def _table(rows: list[dict], name: str) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=arrow_schema(name))


def _write(table: pa.Table, folder: Path, partition_by_year: bool, run_id: str) -> None:
    kwargs = {}
    if partition_by_year:
        # "unknown" rather than Hive's null partition: pandas cannot read a null dictionary partition.
        years = pa.array(
            [(d or "")[:4] or UNKNOWN_YEAR for d in table.column("date").to_pylist()], pa.string()
        )
        table = table.append_column("year", years)
        kwargs = {"partitioning": ds.partitioning(pa.schema([("year", pa.string())]), flavor="hive")}
    ds.write_dataset(
        table,
        folder,
        format="parquet",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
        basename_template=f"part-{run_id}-{{i}}.parquet",
        existing_data_behavior="error",
        **kwargs,
    )
    if table.num_rows == 0:
        # Keep an empty file so that readers see the columns of an empty table.
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / f"part-{run_id}-0.parquet", compression="zstd")


# Columns of a published event row that publication computes again from the mention fields.
_DERIVED = (
    "event_id",
    "source_count",
    "schema_version",
    "run_id",
    "year",
    "actor1",
    "actor2",
    "assoc_actor_1",
    "assoc_actor_2",
    "inter1",
    "inter2",
)


def carried_events(output: Path, ingested: Ingested, extraction: Extraction) -> list[dict]:
    """The current version's events for articles whose extraction failed now, as mentions to merge again.

    Only the evidence of the failed articles is kept, and only where it is still verbatim in their
    text; the other sources of a merged event were extracted again in this run.
    """
    failed = {a.article_id: a.text for a in ingested.articles if a.article_id in extraction.failed}
    cur = outdir.current_run(output)
    if not failed or not cur:
        return []
    from pipelines.checks import read_table

    table = read_table(output / "runs" / cur, "events")
    out = []
    for row in table.to_pylist():
        evidence = [
            x
            for x in row["evidence"] or []
            if x["article_id"] in failed and failed[x["article_id"]][x["start"] : x["end"]] == x["quote"]
        ]
        if evidence:
            ev = {k: v for k, v in row.items() if k not in _DERIVED}
            ev["evidence"] = evidence
            out.append(ev)
    return out


def _point(output: Path, run_id: str) -> None:
    """Switch ``current`` to the new run in one atomic rename; the table paths are links through it."""
    link = output / f".current-{run_id}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path("runs") / run_id, target_is_directory=True)
    os.replace(link, output / "current")
    for name in outdir.PUBLISHED:
        path = output / name
        if not os.path.lexists(path):  # check_output refused any path of that name the tool did not make
            path.symlink_to(Path("current") / name, target_is_directory=not name.endswith(".json"))


def publish(
    output: Path,
    ingested: Ingested,
    extraction: Extraction,
    validated: Validated,
    run_id: str | None = None,
    events: list[dict] | None = None,
    lock_wait: float = 0.0,
) -> Published:
    """Write one version of the dataset and make it the current one.

    ``events``: the normalised events (default: the validated ones as they are). Each run is
    written under ``runs/<run_id>/`` and becomes visible at once when ``current`` is switched to
    it; ``events``, ``articles``, ``quarantine`` and ``_manifest.json`` are links through
    ``current``, so readers never see a mix of two runs. The output's lock is held throughout
    (waiting up to ``lock_wait`` seconds for another run). Raises PublishRefused when nothing was
    read or every article failed: the current version stays. The last ``EVENTBUILDER_KEEP_RUNS``
    versions (default 5) are kept.
    """
    why = refusal(ingested, extraction)
    if why:
        raise PublishRefused(why)
    run_id = run_id or new_run_id()
    outdir.check_run_id(run_id)
    output = Path(output)
    with outdir.locked(output, lock_wait, run_id):
        outdir.check_output(output)
        outdir.init(output)
        outdir.clean_up(output, scratch=False)
        outdir.check_run_id_free(output, run_id)
        mentions = validated.events if events is None else events
        carried = carried_events(output, ingested, extraction)
        events = event_rows([*mentions, *carried], run_id)
        articles = article_rows(ingested, extraction, validated, events, run_id)
        quarantine = quarantine_rows(ingested, extraction, validated, run_id)
        (output / "runs").mkdir(exist_ok=True)
        staging = output / "runs" / f".staging-{run_id}"
        staging.mkdir()
        result = Published(output, run_id, events, articles, quarantine, len(carried), list(ingested.ignored))
        try:
            _write(_table(events, "event"), staging / "events", True, run_id)
            _write(_table(articles, "article"), staging / "articles", False, run_id)
            _write(_table(quarantine, "quarantine"), staging / "quarantine", False, run_id)
            manifest = {
                "run_id": run_id,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "schema_version": schema_version(),
                "extractor": extraction.extractor,
                "counts": result.counts(),
                "rows": {"events": len(events), "articles": len(articles), "quarantine": len(quarantine)},
                "tables": {"events": "events/", "articles": "articles/", "quarantine": "quarantine/"},
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
