"""The Dagster code location: ``dagster dev -m pipelines.definitions`` shows it."""

import dagster as dg

from pipelines.assets import ASSETS, CHECKS
from pipelines.automation import make_automation
from pipelines.resources import ExtractorSettings, OutputLocation

build_dataset = dg.define_asset_job(
    "build_dataset",
    selection=dg.AssetSelection.assets(*ASSETS),
    description="Ingest, extract, validate and publish the dataset.",
)

schedules, sensors = make_automation(build_dataset)

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[build_dataset],
    schedules=schedules,
    sensors=sensors,
    resources={"extractor": ExtractorSettings(), "output": OutputLocation()},
)
