"""Data files shipped with the package (lexicons, actor dictionary, places, month names, sample corpus)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any


def data_path(name: str) -> Traversable:
    return resources.files(__name__) / name


@cache
def load_yaml(name: str) -> Any:
    import yaml

    # libyaml's loader when PyYAML was built with it: the same documents, about 7x faster to load.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data_path(name).read_text(encoding="utf-8"), Loader=loader)
