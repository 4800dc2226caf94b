"""Run the Dagster assets in process, as ``eventbuilder build`` does (no daemon, no webserver).

In: input paths (none: the built-in sample), output folder, extractor choice.
Out: a ``BuildResult`` with the published tables and the asset-check outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.publish import Published


@dataclass
class BuildResult:
    published: Published | None
    checks: dict[str, bool]
    error: str | None = None


def _message(event) -> str:
    error = event.step_failure_data.error
    return error.message.strip() if error else "?"


def build(
    paths: list[Path],
    output: Path,
    extractor: str = "auto",
    model: str = "",
    show_progress: bool = False,
    run_id: str = "",
    **llm_settings,
) -> BuildResult:
    """``llm_settings``: ExtractorSettings fields (api_base, concurrency, max_calls, prefilter, cache_dir)."""
    import dagster as dg

    from pipelines.assets import ASSETS, CHECKS
    from pipelines.resources import ExtractorSettings, OutputLocation

    run_config = {
        "ops": {
            "articles": {"config": {"paths": [str(p) for p in paths]}},
            "published_dataset": {"config": {"run_id": run_id}},
        },
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
    }
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            resources={
                "extractor": ExtractorSettings(
                    extractor=extractor,
                    model=model,
                    show_progress=show_progress,
                    **{k: v for k, v in llm_settings.items() if v is not None},
                ),
                "output": OutputLocation(path=str(output)),
            },
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
        )
        checks = {ev.check_name: ev.passed for ev in result.get_asset_check_evaluations()}
        if not result.success:
            failures = [ev for ev in result.all_events if ev.is_step_failure]
            detail = "; ".join(f"{ev.step_key}: {_message(ev)}" for ev in failures)
            published = None
            if "published_dataset" not in {ev.step_key for ev in failures}:
                try:
                    published = result.output_for_node("published_dataset")
                except Exception:
                    published = None
            return BuildResult(published, checks, detail or "the run failed")
        return BuildResult(result.output_for_node("published_dataset"), checks)
