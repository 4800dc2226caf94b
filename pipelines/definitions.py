"""The Dagster code location: every definition under ``pipelines/defs/``, found by Dagster's loader.

``dg dev`` or ``dagster dev -m pipelines.definitions`` shows it; ``[tool.dg]`` in pyproject.toml
names the package.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
