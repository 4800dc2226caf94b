"""The batches a build is cut into: Dagster's dynamic partitions of the articles.

In: an output folder, a batch key (the partition key), the walk of the batch's inputs, and after its
store step its summary. Out: ``OUTPUT/.eventbuilder-batches/<key>.json`` per batch, holding its files,
the paths met that are not articles, the build (run id) it belongs to, and once stored its counts.
A batch is registered, then stored (its articles are in the store), then published or refused; a
publication takes the stored batches not yet published. A partition re-run from the Dagster UI (a
backfill) reads its files from here.

Batches bound memory: a build holds one batch's texts at a time, however large its input.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.ingest import Rejected, Walk

FOLDER = ".eventbuilder-batches"
DEFAULT_SIZE = 2000


def batch_size() -> int:
    """Files per batch (EVENTBUILDER_BATCH_SIZE, default 2,000)."""
    from pipelines.outdir import env_number

    return int(env_number("EVENTBUILDER_BATCH_SIZE", DEFAULT_SIZE))


@dataclass
class Batch:
    key: str
    run_id: str
    files: list[str]
    rejected: list[list] = field(default_factory=list)  # [source, reason, detail] of paths not read
    ignored: list[str] = field(default_factory=list)  # hidden paths
    full_refresh: bool = False
    state: str = "registered"  # then stored, then published or refused
    summary: dict = field(default_factory=dict)  # what storing it did (see publish.store_batch)

    @classmethod
    def of(cls, key: str, run_id: str, found: Walk, full_refresh: bool = False) -> Batch:
        return cls(
            key,
            run_id,
            [str(f) for f in found.files],
            [[r.source, r.reason, r.detail] for r in found.rejected],
            list(found.ignored),
            full_refresh,
        )

    def walk(self) -> Walk:
        return Walk([Path(f) for f in self.files], [Rejected(*r) for r in self.rejected], list(self.ignored))


def _path(output: Path, key: str) -> Path:
    return Path(output) / FOLDER / f"{key}.json"


def save(output: Path, batch: Batch) -> None:
    path = _path(output, batch.key)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(batch), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def load(output: Path, key: str) -> Batch | None:
    try:
        return Batch(**json.loads(_path(output, key).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def pending(output: Path) -> list[Batch]:
    """The batches stored and not yet published, in key order (each has a ``<key>.stored`` marker, so
    this reads none of the published ones)."""
    folder = Path(output) / FOLDER
    if not folder.is_dir():
        return []
    found = (load(output, p.stem) for p in sorted(folder.glob("*.stored")))
    return [b for b in found if b is not None and b.state == "stored"]


def mark(output: Path, batches: list[Batch], state: str) -> None:
    """Record a batch's new state (``summary`` already set for "stored")."""
    for b in batches:
        b.state = state
        save(output, b)
        marker = _path(output, b.key).with_suffix(".stored")
        if state == "stored":
            marker.touch()
        else:
            marker.unlink(missing_ok=True)


def forget(output: Path, keys: list[str]) -> None:
    """Remove the records of these batches unless still waiting for publication (a build whose
    partitions live only as long as it does: the CLI's)."""
    for key in keys:
        path = _path(output, key)
        if not path.with_suffix(".stored").exists():
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (Path(output) / FOLDER).rmdir()  # when empty


def drop_old(output: Path, keep_days: float = 30) -> None:
    """Remove the records of batches published or refused more than ``keep_days`` ago: a backfill
    re-runs batches of the last month."""
    folder = Path(output) / FOLDER
    if not folder.is_dir():
        return
    cutoff = time.time() - keep_days * 86400
    for path in folder.glob("*.json"):
        if not path.with_suffix(".stored").exists() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
