"""A schedule that adds the files of EVENTBUILDER_INPUT to the dataset (cron EVENTBUILDER_SCHEDULE,
default 06:00 daily), one ``batches`` partition per EVENTBUILDER_BATCH_SIZE files; the last run
publishes. Unchanged articles are read but not extracted again. Off until switched on in the Dagster
UI; skips with a reason while EVENTBUILDER_INPUT is unset."""

import os

import dagster as dg

from pipelines.defs.assets import batches
from pipelines.defs.jobs import batch_requests, changes, input_folder


@dg.schedule(
    name="daily_build",
    job_name="build_dataset",
    cron_schedule=os.environ.get("EVENTBUILDER_SCHEDULE", "0 6 * * *"),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Add the files of EVENTBUILDER_INPUT to the dataset on a schedule.",
)
def daily_build(context: dg.ScheduleEvaluationContext):
    from pipelines.publish import new_run_id

    folder = input_folder()
    if folder is None:
        # Without this the schedule would rebuild the built-in sample every day.
        return dg.SkipReason("set EVENTBUILDER_INPUT to the folder of articles to build on a schedule")
    keys, requests = batch_requests(changes(folder)[0], new_run_id())
    # A schedule cannot return partition requests as a sensor does: it adds them itself.
    context.instance.add_dynamic_partitions(batches.name, keys)
    return requests
