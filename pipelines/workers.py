"""Run a function over many items in worker processes, one per core; results in input order.

In: a module-level function that takes a list of items and returns a list of results, the items, and
how many items make a worker worth starting. Out: the results of every item, in the items' order.
Used for the per-article work of a large build (reading files, rules extraction). ``in_child``
runs one call in a forked child and hands its result back: a long build runs each of its Dagster runs
so, and what a run allocated goes back to the system when its process ends.

Workers are forked where the platform allows it, after the caller has loaded what they share
(lexicons, dictionaries): they start in milliseconds and share that memory. A worker that dies (the
kernel's OOM killer, a crash in C code) fails the call with BrokenProcessPool: a step that fails,
never one that waits for ever. ``EVENTBUILDER_WORKERS`` sets the number of workers (default: the
number of cores; 1 runs everything in this process); in a daemonic process there are none.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 100  # below this a worker costs more to start and feed than it saves


def worker_count() -> int:
    import multiprocessing as mp

    from pipelines.outdir import env_number

    if mp.current_process().daemon:
        # A daemonic process (a celery worker's pool runs each Dagster step in one) may not start
        # children: the work runs in it, and the workers of the pool give the parallelism.
        return 1
    return max(1, int(env_number("EVENTBUILDER_WORKERS", os.cpu_count() or 1)))


def _call(job: tuple[Callable, int, list]) -> tuple[int, list]:
    func, index, chunk = job
    return index, func(chunk)


def map_chunks(
    func: Callable[[list[T]], list[R]],
    items: Sequence[T],
    min_per_worker: int = MIN_PER_WORKER,
    progress: Callable[[list[T]], None] | None = None,
) -> list[R]:
    """``func`` over ``items`` in chunks, in worker processes when there are enough items.

    ``func`` returns one result per item of its chunk. ``progress`` is called with each finished chunk.
    """
    items = list(items)
    workers = min(worker_count(), len(items) // min_per_worker)
    # Chunks small enough for a progress bar to move and for the workers to share the work evenly.
    size = max(1, min(64, len(items) // (max(workers, 1) * 8)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if workers <= 1:
        out: list[R] = []
        for chunk in chunks:
            out += func(chunk)
            if progress:
                progress(chunk)
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    done: dict[int, list[R]] = {}
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(_call, (func, i, chunk)) for i, chunk in enumerate(chunks)]
        for future in as_completed(futures):
            index, results = future.result()
            done[index] = results
            if progress:
                progress(chunks[index])
    return [r for index in range(len(chunks)) for r in done[index]]


class ChildDied(RuntimeError):
    """The child process of ``in_child`` ended without handing back a result (killed, or crashed)."""


def in_child(func: Callable[[], R], what: str = "the run") -> R:
    """``func()`` in a forked child process: its result (or its exception) comes back pickled.

    Only Linux forks here, and only while Delta Lake's library is not loaded: its runtime, once
    started, refuses to run in a forked child (elsewhere, then, or with EVENTBUILDER_WORKERS=1,
    ``func()`` runs in this process). The CLI's process never loads it: its runs do. The child dies
    with this process (a build killed leaves no run behind it holding the output's lock), and a child
    killed ends in ChildDied naming the signal. ``what`` names the call in that message.
    """
    if sys.platform != "linux" or worker_count() == 1 or "deltalake" in sys.modules:
        return func()
    import pickle
    import signal

    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else the child would write what this process had buffered a second time
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 1
        try:
            os.close(read)
            _die_with(parent)
            try:
                payload = pickle.dumps((True, func()))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
                    payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(write, "wb") as fh:
                fh.write(payload)
            code = 0
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001, S110 - a closed stream must not keep the child alive
                    pass
            os._exit(code)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # Interrupted (Ctrl-C): the child must not go on writing the output on its own.
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    if not data:
        if os.WIFSIGNALED(status):
            how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            how = f"exited with status {os.waitstatus_to_exitcode(status)}"
        raise ChildDied(f"{what} {how} before it finished (out of memory? see the system log)")
    ok, value = pickle.loads(data)
    if ok:
        return value
    raise value


def _die_with(parent: int) -> None:
    """The kernel kills this process when its parent ends (Linux's PR_SET_PDEATHSIG)."""
    import ctypes
    import ctypes.util
    import signal

    name = ctypes.util.find_library("c")
    if name:
        ctypes.CDLL(name).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent ended before the call above
        os._exit(1)
