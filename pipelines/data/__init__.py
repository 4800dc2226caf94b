"""Data files shipped with the package (lexicons, actor dictionary, places, month names, sample corpus)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any


def data_path(name: str) -> Traversable:
    return resources.files(__name__) / name


@cache
def load_yaml(name: str) -> Any:
    import yaml

    # libyaml's loader when PyYAML was built with it: the same documents, about 7x faster to load.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data_path(name).read_text(encoding="utf-8"), Loader=loader)


@cache
def files_digest(files: tuple[str, ...]) -> str:
    """A short digest of these files' paths and contents (a missing file counts as such)."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode())
        try:
            h.update(Path(f).read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()[:16]


@cache
def acled_countries() -> dict[str, dict]:
    """ISO3 -> {iso (numeric, int), country (ACLED's name), region (ACLED's)} from acled_countries.csv."""
    import csv

    lines = [ln for ln in data_path("acled_countries.csv").read_text(encoding="utf-8").splitlines()]
    rows = csv.DictReader(ln for ln in lines if not ln.startswith("#"))
    return {r["iso3"]: {"iso": int(r["iso"]), "country": r["country"], "region": r["region"]} for r in rows}


@cache
def country_names() -> dict[str, str]:
    """ISO3 -> the country's name as ACLED writes it (Libya, not LBY). One dict for every caller: do
    not change it."""
    return {k: v["country"] for k, v in acled_countries().items()}
