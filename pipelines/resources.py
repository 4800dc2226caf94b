"""Dagster resources: where the dataset goes and which extractor runs.

Both read environment variables as defaults, so the Dagster UI, a schedule and the
CLI are configured the same way (``EVENTBUILDER_OUTPUT``, ``EVENTBUILDER_EXTRACTOR``,
``EVENTBUILDER_MODEL``).
"""

import os
from pathlib import Path

import dagster as dg

DEFAULT_OUTPUT = "outputs"


class OutputLocation(dg.ConfigurableResource):
    """Folder of the published dataset (default ``outputs/``, or EVENTBUILDER_OUTPUT)."""

    path: str = ""

    def folder(self) -> Path:
        return Path(self.path or os.environ.get("EVENTBUILDER_OUTPUT") or DEFAULT_OUTPUT)


class ExtractorSettings(dg.ConfigurableResource):
    """Which extractor runs: auto (the LLM when a model is configured, else rules), rules or llm."""

    extractor: str = ""
    model: str = ""
    show_progress: bool = False

    def choice(self) -> str:
        return self.extractor or os.environ.get("EVENTBUILDER_EXTRACTOR") or "auto"

    def build(self):
        from pipelines.extract import get_extractor

        return get_extractor(self.choice(), self.model or None)
