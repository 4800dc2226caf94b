"""Per-article work in worker processes: results in order, and a dead worker fails the call."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from pipelines.workers import map_chunks


def _square_with_pid(chunk: list[int]) -> list[tuple[int, int]]:
    return [(x * x, os.getpid()) for x in chunk]


def _die_on_13(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        os._exit(9)  # as the kernel's OOM killer would end it: no exception, no clean-up
    return chunk


def test_results_come_back_in_order_from_several_processes(monkeypatch):
    monkeypatch.setenv("EVENTBUILDER_WORKERS", "2")
    seen: list[int] = []
    results = map_chunks(_square_with_pid, range(500), min_per_worker=10, progress=seen.extend)
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
