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
    """Folder of the published dataset (default ``outputs/``, or EVENTBUILDER_OUTPUT).

    ``lock_wait``: seconds a run waits for another one to finish writing the folder before it fails
    (default EVENTBUILDER_LOCK_WAIT, else 600: a sensor's run waits out a scheduled one).
    """

    path: str = ""
    lock_wait: float = -1

    def folder(self) -> Path:
        return Path(self.path or os.environ.get("EVENTBUILDER_OUTPUT") or DEFAULT_OUTPUT)

    def wait(self) -> float:
        if self.lock_wait >= 0:
            return self.lock_wait
        from pipelines.outdir import env_number

        return float(env_number("EVENTBUILDER_LOCK_WAIT", 600, float))


class ExtractorSettings(dg.ConfigurableResource):
    """Which extractor runs: auto (the LLM when a model is configured, else rules), rules or llm.

    The LLM settings default to EVENTBUILDER_MODEL, EVENTBUILDER_API_BASE, EVENTBUILDER_CONCURRENCY,
    EVENTBUILDER_MAX_CALLS, EVENTBUILDER_PREFILTER and EVENTBUILDER_CACHE_DIR; the API key comes from
    the provider's usual variable (OPENAI_API_KEY, ...) or EVENTBUILDER_API_KEY, never from here.
    """

    extractor: str = ""
    model: str = ""
    api_base: str = ""
    concurrency: int = 0
    max_calls: int = 0
    prefilter: bool = False
    cache_dir: str = ""
    show_progress: bool = False

    def choice(self) -> str:
        return self.extractor or os.environ.get("EVENTBUILDER_EXTRACTOR") or "auto"

    def build(self, output: Path | None = None):
        from pipelines.extract import get_extractor

        cache_dir = (
            self.cache_dir
            or os.environ.get("EVENTBUILDER_CACHE_DIR")
            or (str(output / ".cache" / "llm") if output else "")
        )
        return get_extractor(
            self.choice(),
            self.model or None,
            api_base=self.api_base or None,
            concurrency=self.concurrency or None,
            max_calls=self.max_calls or None,
            prefilter=self.prefilter or None,
            cache_dir=Path(cache_dir) if cache_dir else None,
        )
