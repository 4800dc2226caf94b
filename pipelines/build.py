"""Run the Dagster assets in process, as ``eventbuilder build`` does (no daemon, no webserver).

In: input paths (none: the built-in sample), output folder, extractor choice.
Out: a ``BuildResult`` with the published tables and the asset-check outcomes.
"""

from __future__ import annotations

import contextlib
import functools
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
    output: Path | str,
    extractor: str = "auto",
    model: str = "",
    show_progress: bool = False,
    run_id: str = "",
    lock_wait: float = 0.0,
    full_refresh: bool = False,
    batch_size: int = 0,
    **llm_settings,
) -> BuildResult:
    """Run the pipeline once into ``output``: ``paths`` are added to what it holds (``full_refresh``:
    the dataset becomes exactly ``paths``).

    The inputs are cut into batches of ``batch_size`` files (default EVENTBUILDER_BATCH_SIZE, 2,000),
    one Dagster run each, each adding its batch to the store; the last run publishes. So memory holds
    one batch's texts, not every text. ``llm_settings``: ExtractorSettings fields (api_base,
    concurrency, max_calls, prefilter, cache_dir). Raises ValueError for a bad run id,
    FileNotFoundError for a missing input, and OutputError (OutputBusy) when the output folder cannot
    be used or another run holds it longer than ``lock_wait`` seconds: all before any work. The lock
    is held for the whole build; Dagster's scratch space lives under the output and outputs are kept
    in memory, so no copy of the articles is left anywhere when the run is killed.
    """
    from pipelines import remote

    if remote.is_remote(output):
        # An object store: build into a local mirror of what it holds, then push the new version
        # and switch its pointer last (pipelines/remote.py). A build that publishes nothing pushes nothing.
        url = str(output)
        local = remote.pull(url)
        result = build(
            paths, local, extractor, model, show_progress, run_id, lock_wait, full_refresh, batch_size,
            **llm_settings,
        )  # fmt: skip
        if result.published is not None:
            remote.push(url, local, result.published.run_id)
        return result
    import shutil

    import dagster as dg

    from pipelines import batches, ingest, memory, outdir, workers
    from pipelines.defs import assets, checks
    from pipelines.defs.jobs import BATCH_ASSETS, PUBLISH_ASSETS
    from pipelines.defs.resources import ExtractorSettings, OutputLocation
    from pipelines.publish import new_run_id

    outdir.check_run_id(run_id)
    output = Path(output)
    outdir.check_output(output)
    run_id = run_id or new_run_id()
    with outdir.locked(output, lock_wait, run_id):
        outdir.init(output)
        outdir.clean_up(output, scratch=True)
        outdir.check_run_id_free(output, run_id)
        found = ingest.walk(paths or [assets.sample_corpus()], exclude=[output])
        parts = ingest.split(found, batch_size or batches.batch_size())
        keys = [f"{run_id}-{i:04d}" for i in range(1, len(parts) + 1)]
        for key, part in zip(keys, parts, strict=True):
            batches.save(output, batches.Batch.of(key, run_id, part, full_refresh))
        defs = dg.Definitions(
            assets=dg.load_assets_from_modules([assets]),
            asset_checks=dg.load_asset_checks_from_modules([checks]),
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
        )
        job = defs.resolve_implicit_global_asset_job_def()
        quiet = {"console": {"config": {"log_level": "CRITICAL"}}}
        store_config = {"ops": {"articles": {"config": {"run_id": run_id}}}, "loggers": quiet}
        publish_config = {"ops": {"merged_events": {"config": {"run_id": run_id}}}, "loggers": quiet}
        scratch = outdir.scratch_dir(output)
        # One run per batch stores it; then one run merges and publishes. After several batches each
        # run is a child process of its own (workers.in_child): what a run allocated (its batch's
        # texts and mentions, the Delta writer's buffers, the whole store the publication reads)
        # goes back to the system when it ends, so memory is that of one run, not the sum of every
        # run's leftovers. A build of one batch (the sample, a day's files) is one run in this
        # process, which saves a run's start-up.
        runs = [(key, BATCH_ASSETS, store_config) for key in keys]
        if len(keys) == 1:
            both = {**store_config, "ops": {**store_config["ops"], **publish_config["ops"]}}
            runs = [(keys[0], None, both)]
        else:
            runs.append((None, PUBLISH_ASSETS, publish_config))
        checks_passed: dict[str, bool] = {}
        memory.freeze()
        try:
            for n, (key, selection, config) in enumerate(runs, start=1):
                run = functools.partial(_run, job, scratch, keys, key, selection, config, checks_passed)
                if len(runs) == 1:
                    outcome, seen = run()
                else:
                    what = f"the run of batch {key}" if key else "the publication's run"
                    try:
                        outcome, seen = workers.in_child(run, what)
                    except workers.ChildDied as exc:
                        outcome, seen = BuildResult(None, dict(checks_passed), str(exc)), checks_passed
                checks_passed.update(seen)
                if n == len(runs) or outcome.error:
                    # These partitions live as long as this build's runs.
                    batches.forget(output, keys)
                    return outcome
                memory.release()  # what a run in this process left (none is left by a child's)
            raise AssertionError("unreachable: the last run publishes")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch.parent.rmdir()  # the scratch folder, when no other run's scratch is in it


def _run(job, scratch: Path, keys: list[str], key, selection, config, checks: dict[str, bool]):
    """One Dagster run of the build's job (``key``: its batch; None: the publication), in a Dagster
    instance of its own that knows the build's partitions. Returns its outcome and the checks'
    outcomes so far."""
    import dagster as dg

    from pipelines.defs import assets

    checks = dict(checks)
    with dg.DagsterInstance.ephemeral(tempdir=str(scratch)) as instance:
        instance.add_dynamic_partitions(assets.batches.name, keys)
        result = job.execute_in_process(
            run_config=config,
            instance=instance,
            partition_key=key,
            asset_selection=selection,
            raise_on_error=False,
        )
        return _result(result, checks), checks


def _result(result, checks: dict[str, bool]) -> BuildResult:
    """The outcome of one batch's run; ``checks``: the checks' outcomes so far, updated (a check
    passes when it passed in every batch)."""
    for ev in result.get_asset_check_evaluations():
        checks[ev.check_name] = checks.get(ev.check_name, True) and ev.passed
    if result.success:
        published = None
        with contextlib.suppress(Exception):  # a batch run that does not publish has no such output
            published = result.output_for_node("published_dataset")
        return BuildResult(published, dict(checks))
    failures = [ev for ev in result.all_events if ev.is_step_failure]
    causes = [_cause(ev.step_failure_data.error) for ev in failures]
    error = "; ".join(dict.fromkeys(c[0] for c in causes)) or "the run failed"
    traceback = "\n\n".join(f"{ev.step_key}:\n{c[1]}" for ev, c in zip(failures, causes, strict=True))
    published = None
    if "published_dataset" not in {ev.step_key for ev in failures}:
        with contextlib.suppress(Exception):
            published = result.output_for_node("published_dataset")
    return BuildResult(published, dict(checks), error, traceback or None)
