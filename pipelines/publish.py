"""Write the published dataset: ``events``, ``articles`` and ``quarantine`` as Parquet.

In: ingested articles, the extraction, the validated events and a run id.
Out: under the output folder, ``events/year=YYYY/…parquet`` (hive-partitioned by
the event's year, ``year=unknown`` when the date is unknown),
``articles/…parquet``, ``quarantine/…parquet`` (zstd, Arrow schemas derived from
``schemas/``), ``_manifest.json`` and, per run, ``_runs/<run_id>.json``. Each table is
written into a staging folder first and renamed into place, so a crashed run never leaves
a half-written table where readers look; a re-run replaces the previous version.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

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
        return {"articles": by_state, "events": by_type, "quarantine": len(self.quarantine), "llm": usage}


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


def _swap(staged: Path, final: Path, run_id: str) -> None:
    """Put a staged folder in place of the published one; the old one is removed after."""
    old = final.parent / f".old-{final.name}-{run_id}"
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    if old.exists():
        shutil.rmtree(old)


def publish(
    output: Path,
    ingested: Ingested,
    extraction: Extraction,
    validated: Validated,
    run_id: str | None = None,
    events: list[dict] | None = None,
) -> Published:
    """``events``: the normalised events (default: the validated ones as they are)."""
    run_id = run_id or new_run_id()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    events = event_rows(validated.events if events is None else events, run_id)
    articles = article_rows(ingested, extraction, validated, events, run_id)
    quarantine = quarantine_rows(ingested, extraction, validated, run_id)
    for stale in [*output.glob(".staging-*"), *output.glob(".old-*")]:
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
    staging = output / f".staging-{run_id}"
    staging.mkdir()
    try:
        _write(_table(events, "event"), staging / "events", True, run_id)
        _write(_table(articles, "article"), staging / "articles", False, run_id)
        _write(_table(quarantine, "quarantine"), staging / "quarantine", False, run_id)
        for name in ("events", "articles", "quarantine"):
            _swap(staging / name, output / name, run_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = Published(output, run_id, events, articles, quarantine)
    manifest = {
        "run_id": run_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "schema_version": schema_version(),
        "extractor": extraction.extractor,
        "counts": result.counts(),
        "tables": {"events": "events/", "articles": "articles/", "quarantine": "quarantine/"},
    }
    tmp = output / f".manifest-{run_id}.json"
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output / "_manifest.json")
    # The history of runs: one manifest per run, so a user can see what each version contained.
    (output / "_runs").mkdir(exist_ok=True)
    (output / "_runs" / f"{run_id}.json").write_text(text, encoding="utf-8")
    return result
