"""When the pipeline runs by itself: a daily schedule and a sensor for new files.

The schedule (``EVENTBUILDER_SCHEDULE``, cron, default 06:00 daily) and the sensor are off
until switched on in the Dagster UI. The sensor watches ``EVENTBUILDER_INPUT`` (a folder) and
requests a build of that folder when a supported file appears or changes; re-runs are
idempotent and the LLM cache keeps them from paying twice for the same article.
"""

import os
from pathlib import Path

import dagster as dg

from pipelines.ingest import SUFFIXES


def input_folder() -> Path | None:
    raw = os.environ.get("EVENTBUILDER_INPUT", "")
    return Path(raw) if raw else None


def newest_change(folder: Path) -> float:
    """Latest modification time of a supported input file under the folder (0 when none)."""
    times = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES]
    return max(times, default=0.0)


def build_run_config(folder: Path | None) -> dict:
    return {"ops": {"articles": {"config": {"paths": [str(folder)] if folder else []}}}}


def make_automation(job) -> tuple[list, list]:
    schedule = dg.ScheduleDefinition(
        name="daily_build",
        job=job,
        cron_schedule=os.environ.get("EVENTBUILDER_SCHEDULE", "0 6 * * *"),
        run_config=build_run_config(input_folder()),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Rebuild the dataset from EVENTBUILDER_INPUT (or the sample) on a schedule.",
    )

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
        latest = newest_change(folder)
        if latest <= float(context.cursor or 0):
            return dg.SkipReason("no new or changed files")
        context.update_cursor(str(latest))
        return dg.RunRequest(run_key=f"files-{latest}", run_config=build_run_config(folder))

    return [schedule], [new_articles]
