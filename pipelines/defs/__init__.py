"""Dagster definitions, loaded by the defs-folder loader (see ``pipelines/definitions.py``).

assets.py (the stages), checks.py (asset checks), resources.py, jobs.py, schedules.py, sensors.py.
Each asset is a thin layer over the plain function of its stage, tested without Dagster.
"""

from pipelines import memory

# Every process that runs the assets (the CLI, a code server, a run worker) allocates Arrow's memory
# where memory.release() can hand it back between batches.
memory.configure()
