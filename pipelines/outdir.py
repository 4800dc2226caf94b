"""The output folder: what the tool owns there, who writes it now, which versions are published.

In: an output folder (and a run id). Out: ``OutputError`` refusals (one line naming the path) raised
before any work, a lock held while a run writes, the history of published versions and the clean-up
of what a killed run left behind. Nothing here deletes or replaces a path the tool did not create.

Layout of an output folder::

    .eventbuilder.json    marker and history: {"tool": "eventbuilder", "published": [run ids, oldest first]}
    .eventbuilder.lock    lock file (flock: released by the kernel when its holder dies, so it is never stale)
    .eventbuilder.lock.info   who holds or last held it (pid, host, since, run id)
    store/                what the folder has accumulated (a Delta Lake table, see store.py)
    runs/<run_id>/        complete versions; runs/.staging-<run_id>/ while one is written
    current -> runs/<run_id>
    events, articles, quarantine, _manifest.json -> current/...
    .cache/llm/           answers of the model
    .eventbuilder-tmp/    scratch space of a run in progress
    .eventbuilder-steps/<dagster run id>/   what one Dagster run's steps hand each other (see
                          defs/resources.py), so no article text goes into Dagster's own storage
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

MARKER = ".eventbuilder.json"
LOCK = ".eventbuilder.lock"
SCRATCH = ".eventbuilder-tmp"  # a name of the tool's own: a user's .tmp is never touched
STEPS = ".eventbuilder-steps"
PUBLISHED = ("events", "articles", "quarantine", "event_aliases", "reviews", "_manifest.json")
RESERVED = (*PUBLISHED, "current", "runs", "store", "review_log")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OutputError(Exception):
    """The output folder cannot be used; the message is one line for the user."""


class OutputBusy(OutputError):
    """Another run holds the output folder's lock."""


def check_run_id(run_id: str) -> None:
    """A run id names a folder under ``runs/``: 1-64 letters, digits, ``_ . -``, not starting with a dot."""
    if run_id and not RUN_ID.match(run_id):
        raise ValueError(
            f"--run-id {run_id[:70]!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )


def env_number(name: str, default: float, kind: type = int) -> float:
    """A numeric setting from the environment; a value that is not a number is a one-line OutputError."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise OutputError(
            f"{name}={raw[:40]!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if value < 0:
        raise OutputError(f"{name}={raw[:40]!r} must not be negative")
    return value


def keep_runs() -> int:
    return max(1, int(env_number("EVENTBUILDER_KEEP_RUNS", 5)))


# --- ownership ----------------------------------------------------------------------


def _our_link(path: Path, target: str) -> bool:
    return path.is_symlink() and os.readlink(path) == target


def _legacy(output: Path) -> bool:
    """A dataset written before the marker existed: ``current`` a link into ``runs/``."""
    cur = output / "current"
    return cur.is_symlink() and os.readlink(cur).startswith("runs" + os.sep) and (output / "runs").is_dir()


def owned(output: Path) -> bool:
    return (output / MARKER).is_file() or _legacy(output)


def check_output(output: Path) -> None:
    """Refuse, before any work, an output folder the tool cannot write or does not own.

    Creates the folder when missing. A folder holding an ``events``, ``articles``, ``quarantine``,
    ``_manifest.json``, ``current``, ``runs`` or ``store`` that eventbuilder did not create is refused,
    so that publication never replaces a user's files (or the inputs themselves) with its links.
    """
    output = Path(output)
    keep_runs()  # settings that are not numbers are refused now, not after the extraction
    env_number("EVENTBUILDER_LOCK_WAIT", 600, float)
    env_number("EVENTBUILDER_MAX_ARTICLE_CHARS", 1, int)
    if output.exists() and not output.is_dir():
        raise OutputError(f"--output {output}: is a file, not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--output {output}: cannot create it: {e.strerror or e}") from None
    if owned(output):
        theirs = [
            n for n in PUBLISHED if os.path.lexists(output / n) and not _our_link(output / n, f"current/{n}")
        ]
        if os.path.lexists(output / "current") and not (output / "current").is_symlink():
            theirs.append("current")
    else:
        theirs = [n for n in RESERVED if os.path.lexists(output / n)]
    if theirs:
        raise OutputError(
            f"--output {output}: {output / theirs[0]} was not written by eventbuilder and would be replaced; "
            "choose an empty or new folder"
        )
    probe = output / f".eventbuilder-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"--output {output}: cannot write there: {e.strerror or e}") from None
    free = shutil.disk_usage(output).free
    need = env_number("EVENTBUILDER_MIN_FREE_MB", 20, float) * 1_000_000
    if free < need:
        raise OutputError(
            f"--output {output}: only {free / 1e6:.1f} MB free on its disk "
            f"(at least {need / 1e6:.0f} MB needed; EVENTBUILDER_MIN_FREE_MB)"
        )


# --- lock ---------------------------------------------------------------------------


def _holder(output: Path, patience: float = 1.0) -> str:
    """Who holds the lock, from the file its holder writes right after taking it: a run refused in
    that moment waits up to ``patience`` seconds for it."""
    import time

    deadline = time.monotonic() + patience
    while True:
        try:
            info = json.loads((output / f"{LOCK}.info").read_text(encoding="utf-8"))
            return f"pid {info['pid']} on {info['host']}, since {info['since']}"
        except (OSError, ValueError, KeyError):
            if time.monotonic() >= deadline:
                return "holder unknown"
            time.sleep(0.02)


@contextlib.contextmanager
def locked(output: Path, wait: float = 0.0, run_id: str = "") -> Iterator[None]:
    """Hold the output's lock: one writer at a time. Waits up to ``wait`` seconds, then raises OutputBusy.

    Re-entrant within a process (the CLI holds it for the whole run, publication takes it again),
    and held already in a child the holder forked for a run (``workers.in_child``: the holder waits
    for it, and it dies with the holder). The kernel releases it when the holder dies, so a killed run
    never leaves a stale lock.
    """
    from filelock import FileLock, Timeout

    output = Path(output)
    holder = _HOLDERS.get(str(output.resolve()))
    if holder is not None and holder != os.getpid() and holder == os.getppid():
        yield
        return
    lock = FileLock(output / LOCK, timeout=max(0.0, wait), thread_local=False, is_singleton=True)
    first = not lock.is_locked
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusy(
            f"--output {output}: another eventbuilder run is writing it ({_holder(output)}); "
            "try again later or pass --wait SECONDS"
        ) from None
    except OSError as e:  # after Timeout, which is an OSError too
        raise OutputError(
            f"--output {output}: cannot take its lock {output / LOCK}: {e.strerror or e}"
        ) from None
    if first:
        _HOLDERS[str(output.resolve())] = os.getpid()
    try:
        if first:
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "run_id": run_id,
            }
            # Replaced whole, never truncated in place: a run refused meanwhile reads who holds it.
            tmp = output / f"{LOCK}.info.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(info), encoding="utf-8")
            os.replace(tmp, output / f"{LOCK}.info")
        yield
    finally:
        lock.release()
        if not lock.is_locked:
            _HOLDERS.pop(str(output.resolve()), None)


# output folder -> the pid of the process holding its lock (inherited by the children it forks)
_HOLDERS: dict[str, int] = {}


# --- history and clean-up (call with the lock held) ---------------------------------


def _state(output: Path) -> dict:
    try:
        state = json.loads((output / MARKER).read_text(encoding="utf-8"))
        if isinstance(state, dict) and isinstance(state.get("published"), list):
            return state
    except (OSError, ValueError):
        pass
    published = []
    if _legacy(output):
        runs = [p for p in (output / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
        published = [p.name for p in sorted(runs, key=lambda p: p.stat().st_mtime)]
    return {"tool": "eventbuilder", "format": 1, "published": published}


def _write_state(output: Path, state: dict) -> None:
    tmp = output / f"{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.replace(tmp, output / MARKER)


def current_run(output: Path) -> str | None:
    cur = Path(output) / "current"
    if not cur.is_symlink():
        return None
    name = Path(os.readlink(cur)).name
    return name if (Path(output) / "runs" / name / "_manifest.json").is_file() else None


def published_runs(output: Path) -> list[str]:
    """Run ids of the published versions still on disk, oldest first (the current one last)."""
    output = Path(output)
    state = _state(output)
    runs = [r for r in state["published"] if (output / "runs" / r).is_dir()]
    cur = current_run(output)
    if cur and cur not in runs:
        runs.append(cur)  # killed after the switch, before the history was written
    return runs


def init(output: Path) -> None:
    """Mark the folder as the tool's (once the checks passed)."""
    output = Path(output)
    if not (output / MARKER).is_file():
        _write_state(output, _state(output))


def check_run_id_free(output: Path, run_id: str) -> None:
    if run_id and (Path(output) / "runs" / run_id).exists():
        raise OutputError(
            f"--run-id {run_id}: {Path(output) / 'runs' / run_id} exists already; choose another"
        )


def record_published(output: Path, run_id: str) -> None:
    state = _state(output)
    state["published"] = [r for r in published_runs(output) if r != run_id] + [run_id]
    _write_state(output, state)


def clean_up(output: Path, scratch: bool = True, staging: str | None = None) -> list[str]:
    """Remove what killed runs left: staging folders (but that of run ``staging``, being published),
    half-made ``current`` links, scratch space (``scratch``: at the start of a run, not during one),
    versions finished but never published; then keep the newest ``EVENTBUILDER_KEEP_RUNS`` versions.

    Only with the lock held: then no other run is writing. Returns what was removed.
    """
    output = Path(output)
    removed: list[str] = []
    for link in output.glob(".eventbuilder-current-*"):
        if link.is_symlink():
            link.unlink()
            removed.append(link.name)
    for tmp in [*output.glob(f"{MARKER}.*.tmp"), *output.glob(f"{LOCK}.info.*.tmp")]:
        tmp.unlink(missing_ok=True)
    if scratch and (output / SCRATCH).is_dir():
        shutil.rmtree(output / SCRATCH, ignore_errors=True)
        removed.append(SCRATCH)
    _drop_old_steps(output / STEPS)
    runs_dir = output / "runs"
    if not runs_dir.is_dir() or not owned(output):
        return removed
    published = published_runs(output)
    keep = set(published[-keep_runs() :]) | ({current_run(output)} - {None})
    keep |= {f".staging-{staging}"} if staging else set()
    for path in runs_dir.iterdir():
        if path.is_dir() and not path.is_symlink() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(f"runs/{path.name}")
    state = _state(output)
    state["published"] = [r for r in published if r in keep]
    _write_state(output, state)
    return removed


def _drop_old_steps(steps: Path, keep_seconds: float = 2 * 86400) -> None:
    """Hand-overs of Dagster runs older than two days: long enough to re-execute a failed run's
    steps from the UI, short enough not to pile up copies of the articles."""
    import time

    if not steps.is_dir():
        return
    cutoff = time.time() - keep_seconds
    for run in steps.iterdir():
        if run.is_dir() and not run.is_symlink() and run.stat().st_mtime < cutoff:
            shutil.rmtree(run, ignore_errors=True)


def scratch_dir(output: Path) -> Path:
    """A fresh folder for a run's temporary files, removed by the next clean-up if the run is killed."""
    import uuid

    path = Path(output) / SCRATCH / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path
