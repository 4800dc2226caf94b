"""The job the CLI, the schedule and the sensor run: every asset and check.

Its executor is chosen by configuration (EVENTBUILDER_EXECUTOR): ``in_process`` (the default, and
what the CLI uses: the stages are short and share the loaded lexicons, so a process per step would
spend more time starting Python than working), ``multiprocess`` (a process per step, for local
backfills of many partitions), or ``celery`` (dagster-celery: steps go to celery workers, on several
machines, through the broker EVENTBUILDER_CELERY_BROKER, default redis://localhost:6379/0, results
in EVENTBUILDER_CELERY_BACKEND, default the broker). Workers run the same package:
``dagster-celery worker start -A dagster_celery.app -y deploy/celery.yaml``.
"""

import os
from pathlib import Path

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "celery")


def executor() -> dg.ExecutorDefinition:
    kind = os.environ.get("EVENTBUILDER_EXECUTOR", "") or "in_process"
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        broker = os.environ.get("EVENTBUILDER_CELERY_BROKER") or "redis://localhost:6379/0"
        backend = os.environ.get("EVENTBUILDER_CELERY_BACKEND") or broker
        return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
    raise ValueError(f"EVENTBUILDER_EXECUTOR={kind!r}: choose one of {', '.join(EXECUTORS)}")


build_dataset = dg.define_asset_job(
    "build_dataset",
    selection=dg.AssetSelection.groups(
        "ingest", "extract", "validate", "normalize", "store", "merge", "publish"
    ),
    description="Ingest, extract, validate, normalise and store one batch of articles, then merge and "
    "publish everything the store holds.",
    executor_def=executor(),
)

# A batch's own assets: a run of every batch but a request's last stores without publishing.
BATCH_ASSETS = [
    dg.AssetKey(k)
    for k in ("articles", "event_mentions", "validated_events", "normalized_events", "stored_articles")
]
# The assets over all batches: what a run that publishes without storing a batch runs.
PUBLISH_ASSETS = [dg.AssetKey(k) for k in ("merged_events", "published_dataset")]


def input_folder() -> Path | None:
    """The folder the schedule and the sensor build (EVENTBUILDER_INPUT), or None while it is unset or
    not a folder."""
    raw = os.environ.get("EVENTBUILDER_INPUT", "")
    return Path(raw) if raw and Path(raw).is_dir() else None


def _stamp(path: Path) -> int:
    st = path.lstat()
    return max(st.st_mtime_ns, st.st_ctime_ns)


def changes(folder: Path, since: int = -1) -> tuple[list[Path], int]:
    """The inputs under ``folder`` changed after the time stamp ``since`` (files to read, and files
    of an unsupported type, to be quarantined), and the newest stamp seen."""
    from pipelines.defs.resources import OutputLocation
    from pipelines.ingest import walk

    found = walk([folder], exclude=[OutputLocation().folder()])
    paths = list(found.files) + [Path(r.source) for r in found.rejected if r.reason == "unsupported_type"]
    stamps = {p: _stamp(p) for p in paths}
    return [p for p in paths if stamps[p] > since], max(stamps.values(), default=since)


def batch_requests(paths: list[Path], tag: str) -> tuple[list[str], list[dg.RunRequest]]:
    """Partition keys and run requests for ``paths`` cut into batches (EVENTBUILDER_BATCH_SIZE files):
    every run stores its batch, the last one also publishes. ``tag``: unique to this request."""
    from pipelines.batches import batch_size
    from pipelines.ingest import Walk, split

    parts = [part.files for part in split(Walk(list(paths)), batch_size())]
    keys = [f"{tag}-{i:04d}" for i in range(1, len(parts) + 1)]
    requests = [
        dg.RunRequest(
            run_key=key,
            partition_key=key,
            run_config=build_run_config(part, tag, publish=i == len(parts) - 1),
            asset_selection=None if i == len(parts) - 1 else BATCH_ASSETS,
        )
        for i, (key, part) in enumerate(zip(keys, parts, strict=True))
    ]
    return keys, requests


def build_run_config(paths: list[Path], run_id: str = "", publish: bool = True) -> dict:
    ops: dict = {"articles": {"config": {"paths": [str(p) for p in paths], "run_id": run_id}}}
    if publish:
        ops["merged_events"] = {"config": {"run_id": run_id}}
    return {"ops": ops}
