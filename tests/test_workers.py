"""Per-article work in worker processes: results in order, and a dead worker fails the call."""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from pipelines.workers import map_chunks


def _square_with_pid(chunk: list[int]) -> list[tuple[int, int]]:
    return [(x * x, os.getpid()) for x in chunk]


def _square_once_two_workers_are_up(folder: Path, chunk: list[int]) -> list[tuple[int, int]]:
    # A worker forked a moment later could find every chunk taken by the first: a process's first
    # chunk waits (a while at most) until a second process has started one, so both must take part.
    mark = folder / str(os.getpid())
    if mark.exists():
        return _square_with_pid(chunk)
    mark.touch()
    deadline = time.monotonic() + 10
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return _square_with_pid(chunk)


def _die_on_13(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        os._exit(9)  # as the kernel's OOM killer would end it: no exception, no clean-up
    return chunk


def test_results_come_back_in_order_from_several_processes(monkeypatch, tmp_path):
    monkeypatch.setenv("EVENTBUILDER_WORKERS", "2")
    seen: list[int] = []
    square = functools.partial(_square_once_two_workers_are_up, tmp_path)
    results = map_chunks(square, range(500), min_per_worker=10, progress=seen.extend)
    assert [r for r, _ in results] == [x * x for x in range(500)]
    assert sorted(seen) == list(range(500))
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) == 2


def test_one_worker_runs_in_this_process(monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_WORKERS", "1")
    results = map_chunks(_square_with_pid, range(300), min_per_worker=10)
    assert {pid for _, pid in results} == {os.getpid()}


def test_a_worker_that_dies_fails_the_call_instead_of_hanging(monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_WORKERS", "2")
    with pytest.raises(BrokenProcessPool):
        map_chunks(_die_on_13, range(400), min_per_worker=10)


def _map_in_daemon(queue) -> None:
    try:
        results = map_chunks(_square_with_pid, range(500), min_per_worker=10)
        queue.put(("ok", [r for r, _ in results], {pid for _, pid in results}))
    except BaseException as e:  # what a celery worker's pool process would hit
        queue.put(("error", f"{type(e).__name__}: {e}", set()))


def test_in_a_daemonic_process_the_work_runs_in_that_process(monkeypatch):
    """A celery worker runs each step in a daemonic pool process, which may not start children."""
    import multiprocessing as mp

    monkeypatch.setenv("EVENTBUILDER_WORKERS", "2")
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_map_in_daemon, args=(queue,), daemon=True)
    proc.start()
    kind, results, pids = queue.get(timeout=60)
    proc.join(timeout=60)
    assert kind == "ok", results
    assert results == [x * x for x in range(500)] and pids == {proc.pid}


# in_child is checked in a fresh interpreter: once this test process has loaded Delta Lake (another
# test's build), it runs calls in this process by design.
_IN_CHILD = r"""
import os, signal, sys
from pipelines.workers import ChildDied, in_child

def fails():
    raise KeyError("missing")

print("pid", in_child(os.getpid) != os.getpid())
print("value", in_child(lambda: {"a": [1, 2]}))
try:
    in_child(fails)
except KeyError as e:
    print("raised", e)
try:
    in_child(lambda: os.kill(os.getpid(), signal.SIGKILL), "the run of batch 7")
except ChildDied as e:
    print("died", e)
import deltalake
print("after deltalake", in_child(os.getpid) == os.getpid())
"""


def test_in_child_runs_the_call_in_another_process_and_hands_back_its_result_or_error():
    import subprocess
    import sys

    env = {**os.environ, "EVENTBUILDER_WORKERS": "2"}
    r = subprocess.run([sys.executable, "-c", _IN_CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["pid True", "value {'a': [1, 2]}", "raised 'missing'"]
    assert lines[3].startswith("died the run of batch 7 was killed by SIGKILL before it finished")
    # Delta Lake's runtime refuses a forked child: once it is loaded, the call runs here.
    assert lines[4] == "after deltalake True"
