"""A sensor that adds the files landing in EVENTBUILDER_INPUT to the dataset, one partition per batch.

Off until switched on in the Dagster UI; skips with a reason while EVENTBUILDER_INPUT is unset. Each
tick that finds new or changed files (a newer modification or status-change time than the last tick
saw: a copy that keeps an old modification time counts too) adds one ``batches`` partition per
EVENTBUILDER_BATCH_SIZE of them and requests a run for each; the last run publishes. A file removed
from the folder stays in the dataset until ``eventbuilder remove`` takes it out.
"""

import json
import os

import dagster as dg

from pipelines.defs.assets import batches
from pipelines.defs.jobs import batch_requests, changes, input_folder


@dg.sensor(
    name="new_articles",
    job_name="build_dataset",
    # How often it looks (EVENTBUILDER_SENSOR_INTERVAL seconds, default 60).
    minimum_interval_seconds=int(os.environ.get("EVENTBUILDER_SENSOR_INTERVAL") or 60),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Add the files landing in EVENTBUILDER_INPUT to the dataset, a partition per batch.",
)
def new_articles(context: dg.SensorEvaluationContext):
    from pipelines.publish import new_run_id

    folder = input_folder()
    if folder is None:
        return dg.SkipReason("set EVENTBUILDER_INPUT to a folder of articles to watch")
    since = json.loads(context.cursor or "{}").get("since", 0)
    new, newest = changes(folder, since)
    if not new:
        return dg.SkipReason("no new or changed files")
    keys, requests = batch_requests(new, new_run_id())
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[batches.build_add_request(keys)],
        cursor=json.dumps({"since": newest}),
    )
