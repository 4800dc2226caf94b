"""Write the published dataset: ``events``, ``articles`` and ``quarantine`` as Parquet.

In: ingested articles, the extraction, the validated events and a run id.
Out: under the output folder, ``events/year=YYYY/…parquet`` (hive-partitioned by
the event's year, ``year=unknown`` when the date is unknown), ``articles/…parquet``,
``quarantine/…parquet`` (zstd, Arrow schemas derived from ``schemas/``) and
``_manifest.json``: links into ``current``, which points to the newest complete version in
``runs/<run_id>/``. A crashed run never changes what readers see.
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


PUBLISHED = ("events", "articles", "quarantine", "_manifest.json")


def keep_runs() -> int:
    return max(1, int(os.environ.get("EVENTBUILDER_KEEP_RUNS") or 5))


def _point(output: Path, run_id: str) -> None:
    """Switch ``current`` to the new run in one atomic rename; the table paths go through it."""
    link = output / f".current-{run_id}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path("runs") / run_id, target_is_directory=True)
    os.replace(link, output / "current")
    for name in PUBLISHED:
        path = output / name
        if path.is_symlink():
            continue
        if path.is_dir():
            shutil.rmtree(path)  # a table of the layout before runs/: replaced by its link
        elif path.exists():
            path.unlink()
        path.symlink_to(Path("current") / name, target_is_directory=not name.endswith(".json"))


def _prune(output: Path, run_id: str) -> None:
    runs = sorted(
        (p for p in (output / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in runs[: -keep_runs()]:
        if old.name != run_id:
            shutil.rmtree(old, ignore_errors=True)


def publish(
    output: Path,
    ingested: Ingested,
    extraction: Extraction,
    validated: Validated,
    run_id: str | None = None,
    events: list[dict] | None = None,
) -> Published:
    """Write one version of the dataset and make it the current one.

    ``events``: the normalised events (default: the validated ones as they are). Each run is
    written under ``runs/<run_id>/`` and becomes visible at once when ``current`` is switched to
    it; ``events``, ``articles``, ``quarantine`` and ``_manifest.json`` are links through
    ``current``, so readers never see a mix of two runs. The last ``EVENTBUILDER_KEEP_RUNS``
    versions (default 5) are kept.
    """
    run_id = run_id or new_run_id()
    output = Path(output)
    (output / "runs").mkdir(parents=True, exist_ok=True)
    events = event_rows(validated.events if events is None else events, run_id)
    articles = article_rows(ingested, extraction, validated, events, run_id)
    quarantine = quarantine_rows(ingested, extraction, validated, run_id)
    for stale in (output / "runs").glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
    staging = output / "runs" / f".staging-{run_id}"
    staging.mkdir()
    result = Published(output, run_id, events, articles, quarantine)
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
            "tables": {"events": "events/", "articles": "articles/", "quarantine": "quarantine/"},
        }
        (staging / "_manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        final = output / "runs" / run_id
        if final.exists():
            shutil.rmtree(final)  # the same --run-id again: replace that version
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _point(output, run_id)
    _prune(output, run_id)
    return result
