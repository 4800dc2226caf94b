"""Several model deployments behind one name: litellm's Router, configured by litellm's own file.

In: the path of a litellm proxy config (YAML: ``model_list`` entries with ``model_name`` and
``litellm_params``, ``router_settings`` such as fallbacks, retries, routing strategy, rpm/tpm limits,
and ``litellm_settings``), so a file a user already runs ``litellm --config`` with works unchanged.
Out: the checked configuration (``RouterFile``: groups, the keyword arguments of ``litellm.Router``)
and the router itself. ``os.environ/NAME`` values are read from the environment, as the proxy does.
Sections the library has no use for (``general_settings``: the proxy's own keys and database) are
ignored. Errors name the file and the entry.
"""

from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass
from pathlib import Path

# litellm_settings that are also Router arguments: the proxy applies them to its router too.
_SHARED = ("num_retries", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "timeout")


class RouterConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RouterFile:
    path: Path
    groups: tuple[str, ...]  # model_name values, in file order
    kwargs: dict  # litellm.Router(**kwargs)

    def api_keys(self) -> list[str]:
        """The keys the file gives its deployments (redacted from every message, as others are)."""
        return [
            str(e["litellm_params"]["api_key"])
            for e in self.kwargs["model_list"]
            if e["litellm_params"].get("api_key")
        ]

    def deployment_model(self, group: str) -> str:
        """The litellm model string of the group's first deployment (tells the response format)."""
        for entry in self.kwargs["model_list"]:
            if entry["model_name"] == group:
                return entry["litellm_params"]["model"]
        raise RouterConfigError(f"{self.path}: no model_name {group!r} (it has {', '.join(self.groups)})")


def _env_values(node, where: str):
    if isinstance(node, dict):
        return {k: _env_values(v, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_env_values(v, f"{where}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str) and node.startswith("os.environ/"):
        name = node.split("/", 1)[1]
        if name not in os.environ:
            raise RouterConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]
    return node


def _router_arguments() -> set[str]:
    from pipelines.extract.llm import _import_litellm

    return set(inspect.signature(_import_litellm().Router.__init__).parameters) - {"self", "model_list"}


def load(path: Path | str) -> RouterFile:
    """Read and check a litellm proxy config; raises RouterConfigError naming the file and entry.

    Read once per version of the file (its path and modification time), however often a run asks.
    """
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as e:
        raise RouterConfigError(f"{path}: cannot read the router file: {e.strerror or e}") from None
    return _load(str(path), stamp, tuple(sorted(os.environ.items())))


@functools.lru_cache(maxsize=8)
def _load(name: str, _stamp: int, _environ: tuple) -> RouterFile:
    import yaml

    path = Path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RouterConfigError(f"{path}: cannot read the router file: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise RouterConfigError(f"{path}:{line} not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_list"), list) or not data["model_list"]:
        raise RouterConfigError(f"{path}: a litellm config needs a non-empty model_list")
    for i, entry in enumerate(data["model_list"]):
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not entry.get("model_name") or not isinstance(params, dict):
            raise RouterConfigError(f"{path}: model_list[{i}] needs model_name and litellm_params")
        if not params.get("model"):
            raise RouterConfigError(
                f"{path}: model_list[{i}] ({entry['model_name']}): litellm_params.model is missing"
            )
    model_list = _env_values(data["model_list"], f"{path}: model_list")
    accepted = _router_arguments()
    settings = dict(data.get("router_settings") or {})
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise RouterConfigError(f"{path}: router_settings: unknown setting(s) {', '.join(unknown)}")
    shared = data.get("litellm_settings") or {}
    for name in _SHARED:
        if name in shared and name not in settings:
            settings[name] = shared[name]
    settings = _env_values(settings, f"{path}: router_settings")
    groups = tuple(dict.fromkeys(e["model_name"] for e in model_list))
    return RouterFile(path, groups, {"model_list": model_list, **settings})


def make_router(config: RouterFile):
    """A litellm.Router over the file's deployments (built once per run: it keeps their cooldowns)."""
    from pipelines.extract.llm import _import_litellm

    return _import_litellm().Router(**config.kwargs)
