"""Dagster resources: where the dataset goes, which extractor runs, and how steps hand over results.

Both settings read environment variables as defaults, so the Dagster UI, a schedule and the
CLI are configured the same way (``EVENTBUILDER_OUTPUT``, ``EVENTBUILDER_EXTRACTOR``,
``EVENTBUILDER_MODEL``).
"""

import functools
import os
import pickle
from pathlib import Path

import dagster as dg

DEFAULT_OUTPUT = "outputs"


class OutputLocation(dg.ConfigurableResource):
    """Folder of the published dataset (default ``outputs/``, or EVENTBUILDER_OUTPUT), or an object
    store prefix (``s3://bucket/prefix``): the steps then work in this machine's mirror of it, pulled
    once per process, and the publishing step pushes the new version and switches the pointer
    (pipelines/remote.py).

    ``lock_wait``: seconds a run waits for another one to finish writing the folder before it fails
    (default EVENTBUILDER_LOCK_WAIT, else 600: a sensor's run waits out a scheduled one).
    """

    path: str = ""
    lock_wait: float = -1

    def target(self) -> str:
        return self.path or os.environ.get("EVENTBUILDER_OUTPUT") or DEFAULT_OUTPUT

    def folder(self) -> Path:
        from pipelines import remote

        target = self.target()
        return _pulled(target) if remote.is_remote(target) else Path(target)

    def published(self, run_id: str) -> None:
        """After a version is published in ``folder()``: an object store gets it (pointer last)."""
        from pipelines import remote

        if remote.is_remote(self.target()):
            remote.push(self.target(), self.folder(), run_id)

    def wait(self) -> float:
        if self.lock_wait >= 0:
            return self.lock_wait
        from pipelines.outdir import env_number

        return float(env_number("EVENTBUILDER_LOCK_WAIT", 600, float))


@functools.cache
def _pulled(url: str) -> Path:
    from pipelines import remote

    return remote.pull(url)


class ExtractorSettings(dg.ConfigurableResource):
    """Which extractor runs: auto (the LLM when a model is configured, else rules), rules or llm.

    The LLM settings default to EVENTBUILDER_MODEL, EVENTBUILDER_API_BASE, EVENTBUILDER_CONCURRENCY,
    EVENTBUILDER_MAX_CALLS, EVENTBUILDER_PREFILTER, EVENTBUILDER_CACHE_DIR and EVENTBUILDER_ROUTER (a
    litellm proxy config of several deployments; ``model`` then names one of its groups); the API key
    comes from the provider's usual variable (OPENAI_API_KEY, ...) or EVENTBUILDER_API_KEY, never from
    here.
    """

    extractor: str = ""
    model: str = ""
    api_base: str = ""
    router: str = ""
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
            router=Path(self.router) if self.router else None,
            concurrency=self.concurrency or None,
            max_calls=self.max_calls or None,
            prefilter=self.prefilter or None,
            cache_dir=Path(cache_dir) if cache_dir else None,
        )


class StepHandover(dg.ConfigurableIOManager):
    """Hands a step's result to the next step through the output folder, not Dagster's storage.

    Dagster's default IO manager pickles every output into ``DAGSTER_HOME``: each run would leave a
    copy of every article's text there, forever. This one writes the result to
    ``OUTPUT/.eventbuilder-steps/<run id>/<asset>`` with each article's text replaced by a reference
    to its input file (``pipelines.handover``: read back and checked against its hash by the next
    step) and gives Dagster only that path and its size. The clean-up of the output folder drops hand-overs
    older than two days, after the window in which a failed run is re-executed from the UI.
    """

    output: dg.ResourceDependency[OutputLocation]

    def _path(self, run_id: str, asset_key: dg.AssetKey) -> Path:
        from pipelines.outdir import STEPS

        return self.output.folder() / STEPS / run_id / "__".join(asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        path = self._path(context.run_id, context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        from pipelines.handover import references

        with open(tmp, "wb") as fh:
            pickle.dump(references(obj), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        context.add_output_metadata(
            {"handover": dg.MetadataValue.path(str(path)), "handover_bytes": path.stat().st_size}
        )

    def load_input(self, context: dg.InputContext):
        upstream = context.upstream_output
        path = self._path(upstream.run_id, context.asset_key)
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: the result of {context.asset_key.to_user_string()} is gone (hand-overs are kept"
                " two days); materialize the whole job again"
            )
        from pipelines.handover import resolve

        with open(path, "rb") as fh:
            return resolve(pickle.load(fh))


@dg.definitions
def resources() -> dg.Definitions:
    output = OutputLocation()
    return dg.Definitions(
        resources={
            "extractor": ExtractorSettings(),
            "output": output,
            "io_manager": StepHandover(output=output),
        }
    )
