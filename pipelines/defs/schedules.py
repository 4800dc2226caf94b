"""A schedule that adds the files of EVENTBUILDER_INPUT to the dataset (cron EVENTBUILDER_SCHEDULE,
default 06:00 daily). Off until switched on in the Dagster UI; skips with a reason while
EVENTBUILDER_INPUT is unset."""

import os

import dagster as dg

from pipelines.defs.jobs import build_run_config, input_folder


@dg.schedule(
    name="daily_build",
    job_name="build_dataset",
    cron_schedule=os.environ.get("EVENTBUILDER_SCHEDULE", "0 6 * * *"),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Add the files of EVENTBUILDER_INPUT to the dataset on a schedule.",
)
def daily_build(context: dg.ScheduleEvaluationContext):
    folder = input_folder()
    if folder is None:
        # Without this the schedule would rebuild the built-in sample every day.
        return dg.SkipReason("set EVENTBUILDER_INPUT to the folder of articles to build on a schedule")
    return dg.RunRequest(run_config=build_run_config(folder))
