"""A sensor that builds EVENTBUILDER_INPUT when a supported file in it appears, changes or goes.

Off until switched on in the Dagster UI; skips with a reason while EVENTBUILDER_INPUT is unset. Each
build adds to the dataset and extracts only new or changed articles, and the output's lock makes
overlapping runs wait.
"""

import hashlib
import os
from pathlib import Path

import dagster as dg

from pipelines.defs.jobs import build_run_config, input_folder
from pipelines.ingest import MANIFEST, SUFFIXES


def fingerprint(folder: Path) -> str:
    """A digest of every supported input's path, size and modification time: any new, changed or
    removed file changes it (a copy that keeps an old modification time too)."""
    rows = sorted(
        f"{p}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}"
        for p in folder.rglob("*")
        if p.is_file() and (p.suffix.lower() in SUFFIXES or p.name == MANIFEST)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16] if rows else ""


@dg.sensor(
    name="new_articles",
    job_name="build_dataset",
    # How often it looks (EVENTBUILDER_SENSOR_INTERVAL seconds, default 60).
    minimum_interval_seconds=int(os.environ.get("EVENTBUILDER_SENSOR_INTERVAL") or 60),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Build when files land in EVENTBUILDER_INPUT.",
)
def new_articles(context: dg.SensorEvaluationContext):
    folder = input_folder()
    if folder is None:
        return dg.SkipReason("set EVENTBUILDER_INPUT to a folder of articles to watch")
    digest = fingerprint(folder)
    if not digest or digest == context.cursor:
        return dg.SkipReason("no new, changed or removed files")
    context.update_cursor(digest)
    return dg.RunRequest(run_key=f"files-{digest}", run_config=build_run_config(folder))
