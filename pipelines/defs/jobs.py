"""The job the CLI, the schedule and the sensor run: every asset and check, in one process.

One process: the stages are short and share the loaded lexicons, so a process per step (Dagster's
default) would spend more time starting Python than working.
"""

import os
from pathlib import Path

import dagster as dg

build_dataset = dg.define_asset_job(
    "build_dataset",
    selection=dg.AssetSelection.groups("ingest", "extract", "validate", "normalize", "publish"),
    description="Ingest, extract, validate, normalise and publish: new articles are added to the dataset.",
    executor_def=dg.in_process_executor,
)


def input_folder() -> Path | None:
    """The folder the schedule and the sensor build (EVENTBUILDER_INPUT), or None while it is unset or
    not a folder."""
    raw = os.environ.get("EVENTBUILDER_INPUT", "")
    return Path(raw) if raw and Path(raw).is_dir() else None


def build_run_config(folder: Path | None) -> dict:
    return {"ops": {"articles": {"config": {"paths": [str(folder)] if folder else []}}}}
