"""Run a function over many items in worker processes, one per core; results in input order.

In: a module-level function that takes a list of items and returns a list of results, the items, and
how many items make a worker worth starting. Out: the results of every item, in the items' order.
Used for the per-article work of a large build (reading files, rules extraction).

Workers are forked where the platform allows it, after the caller has loaded what they share
(lexicons, dictionaries): they start in milliseconds and share that memory. A worker that dies (the
kernel's OOM killer, a crash in C code) fails the call with BrokenProcessPool: a step that fails,
never one that waits for ever. ``EVENTBUILDER_WORKERS`` sets the number of workers (default: the
number of cores; 1 runs everything in this process); in a daemonic process there are none.
"""

from __future__ import annotations

import os
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
