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
    error: str | None = None  # one line: the real cause, not Dagster's wrapper
    traceback: str | None = None  # the whole error chain, for --debug


def _cause(error) -> tuple[str, str]:
    """The innermost cause of a step failure as one line, and the whole chain as text."""
    full = error.to_string() if error else "?"
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "?", full
    message = " ".join(error.message.split())
    if error.cls_name in {"PublishRefused", "OutputError", "OutputBusy", "DagsterAssetCheckFailedError"}:
        message = message.split(": ", 1)[-1]  # the text is meant for the user as it is
    return message, full


def build(
    paths: list[Path],
    output: Path,
    extractor: str = "auto",
    model: str = "",
    show_progress: bool = False,
    run_id: str = "",
    lock_wait: float = 0.0,
    full_refresh: bool = False,
    **llm_settings,
) -> BuildResult:
    """Run the pipeline once into ``output``: ``paths`` are added to what it holds (``full_refresh``:
    the dataset becomes exactly ``paths``).

    ``llm_settings``: ExtractorSettings fields (api_base, concurrency, max_calls, prefilter, cache_dir).
    Raises ValueError for a bad run id and OutputError (OutputBusy) when the output folder cannot be
    used or another run holds it longer than ``lock_wait`` seconds: all before any work. The lock
    is held for the whole run; Dagster's scratch space lives under ``output/.tmp`` and outputs are
    kept in memory, so no copy of the articles is left anywhere when the run is killed.
    """
    import contextlib
    import shutil

    import dagster as dg

    from pipelines import outdir
    from pipelines.defs import assets, checks
    from pipelines.defs.resources import ExtractorSettings, OutputLocation

    outdir.check_run_id(run_id)
    output = Path(output)
    outdir.check_output(output)
    run_config = {
        "ops": {
            "articles": {"config": {"paths": [str(p) for p in paths], "full_refresh": full_refresh}},
            "published_dataset": {"config": {"run_id": run_id}},
        },
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    with outdir.locked(output, lock_wait, run_id):
        outdir.init(output)
        outdir.clean_up(output, scratch=True)
        outdir.check_run_id_free(output, run_id)
        scratch = outdir.scratch_dir(output)
        try:
            with dg.DagsterInstance.ephemeral(tempdir=str(scratch)) as instance:
                result = dg.materialize(
                    [*dg.load_assets_from_modules([assets]), *dg.load_asset_checks_from_modules([checks])],
                    resources={
                        "extractor": ExtractorSettings(
                            extractor=extractor,
                            model=model,
                            show_progress=show_progress,
                            **{k: v for k, v in llm_settings.items() if v is not None},
                        ),
                        "output": OutputLocation(path=str(output), lock_wait=lock_wait),
                        "io_manager": dg.mem_io_manager,
                    },
                    run_config=run_config,
                    instance=instance,
                    raise_on_error=False,
                )
                return _result(result)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch.parent.rmdir()  # the scratch folder, when no other run's scratch is in it


def _result(result) -> BuildResult:
    checks = {ev.check_name: ev.passed for ev in result.get_asset_check_evaluations()}
    if result.success:
        return BuildResult(result.output_for_node("published_dataset"), checks)
    failures = [ev for ev in result.all_events if ev.is_step_failure]
    causes = [_cause(ev.step_failure_data.error) for ev in failures]
    error = "; ".join(dict.fromkeys(c[0] for c in causes)) or "the run failed"
    traceback = "\n\n".join(f"{ev.step_key}:\n{c[1]}" for ev, c in zip(failures, causes, strict=True))
    published = None
    if "published_dataset" not in {ev.step_key for ev in failures}:
        try:
            published = result.output_for_node("published_dataset")
        except Exception:
            published = None
    return BuildResult(published, checks, error, traceback or None)
