"""When the pipeline runs by itself: a daily schedule and a sensor for new files.

The schedule (``EVENTBUILDER_SCHEDULE``, cron, default 06:00 daily) and the sensor are off
until switched on in the Dagster UI, and both skip with a reason while ``EVENTBUILDER_INPUT``
is unset. The sensor watches ``EVENTBUILDER_INPUT`` (a folder) and requests a build of that
folder when a supported file appears, changes or goes; each build adds to the dataset and
extracts only new or changed articles, and the output's lock makes overlapping runs wait.
"""

import os
from pathlib import Path

import dagster as dg

from pipelines.ingest import MANIFEST, SUFFIXES


def input_folder() -> Path | None:
    raw = os.environ.get("EVENTBUILDER_INPUT", "")
    return Path(raw) if raw else None


def fingerprint(folder: Path) -> str:
    """A digest of every supported input's path, size and modification time: any new, changed or
    removed file changes it (a copy that keeps an old modification time too)."""
    import hashlib

    rows = sorted(
        f"{p}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}"
        for p in folder.rglob("*")
        if p.is_file() and (p.suffix.lower() in SUFFIXES or p.name == MANIFEST)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16] if rows else ""


def build_run_config(folder: Path | None) -> dict:
    return {"ops": {"articles": {"config": {"paths": [str(folder)] if folder else []}}}}


def make_automation(job) -> tuple[list, list]:
    @dg.schedule(
        name="daily_build",
        job=job,
        cron_schedule=os.environ.get("EVENTBUILDER_SCHEDULE", "0 6 * * *"),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Add the files of EVENTBUILDER_INPUT to the dataset on a schedule.",
    )
    def daily_build(context: dg.ScheduleEvaluationContext):
        folder = input_folder()
        if folder is None or not folder.is_dir():
            # Without this the schedule would rebuild the built-in sample every day.
            return dg.SkipReason("set EVENTBUILDER_INPUT to the folder of articles to build on a schedule")
        return dg.RunRequest(run_config=build_run_config(folder))

    @dg.sensor(
        name="new_articles",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Rebuild when files land in EVENTBUILDER_INPUT.",
    )
    def new_articles(context: dg.SensorEvaluationContext):
        folder = input_folder()
        if folder is None or not folder.is_dir():
            return dg.SkipReason("set EVENTBUILDER_INPUT to a folder of articles to watch")
        digest = fingerprint(folder)
        if not digest or digest == context.cursor:
            return dg.SkipReason("no new, changed or removed files")
        context.update_cursor(digest)
        return dg.RunRequest(run_key=f"files-{digest}", run_config=build_run_config(folder))

    return [daily_build], [new_articles]
