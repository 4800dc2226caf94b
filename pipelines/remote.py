"""A dataset in an object store (``s3://bucket/prefix``, or any fsspec URL), published atomically.

In: a URL and a local build or reader. Out: for ``build``, a local mirror of what the prefix holds
(its store, review log and current version) to build into as into any folder, then the new version
pushed back; for readers (``export``, ``eval``, ``report``), the current version downloaded into a
temporary folder.

Object stores have no links and no renames, so the local layout's ``current`` link becomes a
pointer object, ``_current.json`` ({"run_id", "path", "tables"}), written last, in one PUT, after
every file of the new version (under ``runs/<run_id>/``, keys never reused) and of the store (Delta
Lake: data files first, then the commit files of its ``_delta_log``) is uploaded. A PUT replaces an
object whole, so a reader sees the old pointer or the new one, and both name complete versions:
never a half-written one. Plain readers do the same: read ``_current.json``, then
``pd.read_parquet(f"{url}/{path}/events")``.

One writer per prefix at a time (the Dagster deployment's run queue serialises them; see README):
S3 has no lock a second machine would see. The mirror lives in ``EVENTBUILDER_MIRROR_DIR`` (default
``~/.cache/eventbuilder/mirror``), one folder per URL; it also keeps the model's answer cache.
Credentials and endpoint come from the usual AWS variables (``AWS_ENDPOINT_URL`` for MinIO, moto...).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

POINTER = "_current.json"
# Never uploaded: this machine's scratch, locks and the links that object stores cannot hold.
_LOCAL_ONLY = (
    ".cache",
    ".eventbuilder-tmp",
    ".eventbuilder-steps",
    ".eventbuilder.lock",
    ".eventbuilder.lock.info",
)


class RemoteError(OSError):
    """The object store cannot be used; the message is one line naming the URL."""


def is_remote(target: str | os.PathLike) -> bool:
    text = str(target)
    return "://" in text and not text.startswith("file://")


def _fs(url: str):
    try:
        import fsspec

        return fsspec.core.url_to_fs(url.rstrip("/"))
    except ImportError as e:
        raise RemoteError(
            f"{url}: reading or writing an object store needs s3fs: pip install 'eventbuilder[s3]' ({e.name})"
        ) from None
    except ValueError as e:  # an unknown protocol
        raise RemoteError(f"{url}: {e}") from None


def _join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}" if rel else root


def current(url: str) -> dict | None:
    """The pointer of the prefix (None when nothing was published there yet)."""
    fs, root = _fs(url)
    try:
        with fs.open(_join(root, POINTER), "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None
    except Exception as e:  # credentials, endpoint, bucket: say which URL
        raise RemoteError(f"{url}: cannot read {POINTER}: {type(e).__name__}: {e}") from None


def mirror_dir(url: str) -> Path:
    default = Path.home() / ".cache" / "eventbuilder" / "mirror"
    base = Path(os.environ.get("EVENTBUILDER_MIRROR_DIR") or default)
    name = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    return base / name


def _download(fs, remote: str, local: Path) -> None:
    """Every file under ``remote`` that ``local`` lacks or holds at another size."""
    try:
        found = fs.find(remote, detail=True)
    except FileNotFoundError:
        return
    for key, info in found.items():
        rel = key[len(remote.rstrip("/")) :].lstrip("/")
        target = local / rel if rel else local
        if target.is_file() and target.stat().st_size == info.get("size"):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        fs.get_file(key, str(tmp))
        os.replace(tmp, target)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _upload(fs, local: Path, remote: str, sent: dict) -> None:
    """Files of ``local`` changed since last sent; a Delta table's commit files after its data."""
    files = [p for p in _files(local) if not any(part in _LOCAL_ONLY for part in p.relative_to(local).parts)]
    files.sort(key=lambda p: ("_delta_log" in p.parts, str(p)))
    for p in files:
        rel = p.relative_to(local).as_posix()
        st = p.stat()
        mark = [st.st_size, st.st_mtime_ns]
        if sent.get(f"{remote}/{rel}") == mark:
            continue
        fs.put_file(str(p), _join(remote, rel))
        sent[f"{remote}/{rel}"] = mark


def pull(url: str) -> Path:
    """A local folder holding what the prefix holds (its current version linked as ``current``).

    Only what the mirror lacks is downloaded: pulling again on the same machine (each Dagster step
    process does) keeps what earlier steps of the run wrote there.
    """
    fs, root = _fs(url)
    local = mirror_dir(url)
    local.mkdir(parents=True, exist_ok=True)
    pointer = current(url)
    link = local / "current"
    here = os.readlink(link) if link.is_symlink() else None
    stale = pointer is not None and here != f"runs/{pointer['run_id']}"
    marker = ".eventbuilder.json"
    if (stale or not (local / marker).is_file()) and fs.exists(_join(root, marker)):
        fs.get_file(_join(root, marker), str(local / marker))
    for name in ("store", "review_log"):
        _download(fs, _join(root, name), local / name)
    if pointer:
        _download(fs, _join(root, pointer["path"]), local / "runs" / pointer["run_id"])
        if stale:
            from pipelines.publish import _point

            _point(local, pointer["run_id"])  # a new mirror, or another machine published since
    return local


def push(url: str, local: Path, run_id: str) -> None:
    """Upload the new version and the store, then switch the pointer (last: see the module's note)."""
    fs, root = _fs(url)
    record = local / ".cache" / "remote-sent.json"
    sent = json.loads(record.read_text()) if record.is_file() else {}
    try:
        _upload(fs, local / "runs" / run_id, _join(root, f"runs/{run_id}"), sent)
        for name in ("store", "review_log"):
            if (local / name).is_dir():
                _upload(fs, local / name, _join(root, name), sent)
        if (local / ".eventbuilder.json").is_file():
            fs.put_file(str(local / ".eventbuilder.json"), _join(root, ".eventbuilder.json"))
        from pipelines.outdir import PUBLISHED

        pointer = {
            "run_id": run_id,
            "path": f"runs/{run_id}",
            "tables": [n for n in PUBLISHED if (local / "runs" / run_id / n).exists()],
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        with fs.open(_join(root, POINTER), "wb") as f:
            f.write(json.dumps(pointer, indent=1).encode())
    except RemoteError:
        raise
    except Exception as e:
        raise RemoteError(f"{url}: upload failed, the published version there is unchanged: {e}") from None
    finally:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(sent))


@contextlib.contextmanager
def dataset(url: str) -> Iterator[Path]:
    """The prefix's current version, downloaded into a temporary folder (removed afterwards)."""
    pointer = current(url)
    if pointer is None:
        raise RemoteError(f"{url}: no published dataset there (no {POINTER}): give a build's --output")
    fs, root = _fs(url)
    tmp = Path(tempfile.mkdtemp(prefix="eventbuilder-dataset-"))
    try:
        _download(fs, _join(root, pointer["path"]), tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
