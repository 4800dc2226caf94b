"""Fault injection: builds killed with SIGKILL at random moments of extraction and publication.

After every kill, readers still see one complete version (the manifest's row counts are the
tables' row counts), and the next run succeeds and sends the model only what was not answered
and cached before the kill.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.corpus import filler

from .llm_server import LLMServer, Script
from .test_safety import CEASEFIRE, MODEL, answer, complete

N_ARTICLES = 64
KILLS = 20


def cached_answers(cache: Path) -> int:
    return sum(1 for _ in cache.rglob("*.json")) if cache.exists() else 0


def test_sigkill_at_20_moments_never_tears_the_dataset_or_repeats_a_finished_call(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(N_ARTICLES):
        # A paragraph of its own each: not near-duplicates, so every article goes to the model.
        (inp / f"a{i:03}.txt").write_text(f"Story {i}\n\n{CEASEFIRE}\n\n{filler(i)}", encoding="utf-8")
    out = tmp_path / "o"
    exe = Path(sys.executable).parent / "eventbuilder"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    script = Script(default={"content": answer(CEASEFIRE)}, latency=0.08)
    rng = random.Random(20)
    in_publication = 0
    with LLMServer(script) as srv:
        base = [str(exe), "build", str(inp), "--output", str(out), "--extractor", "llm", "--model", MODEL]
        # --full-refresh: every run extracts all articles again (else the store would skip them all),
        # so each killed run is in the middle of real model calls, then of writing the store and a version.
        base += ["--api-base", srv.api_base, "--full-refresh"]
        ref = subprocess.Popen(
            [*base, "--cache-dir", str(tmp_path / "c-ref")], env=env, stderr=subprocess.PIPE
        )
        while ref.poll() is None and not script.calls:
            time.sleep(0.002)
        t0 = time.monotonic()
        assert ref.wait(timeout=300) == 0, ref.stderr.read()
        window = time.monotonic() - t0  # from the first model call to the end: extraction and publication
        assert complete(out)
        for i in range(KILLS):
            cache = tmp_path / f"c{i}"
            p = subprocess.Popen(
                [*base, "--cache-dir", str(cache)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if i % 2:
                # Aim at publication: wait for the staging folder to appear, then a little more (the
                # tables of 64 articles are written in milliseconds).
                while p.poll() is None and not list((out / "runs").glob(".staging-*")):
                    time.sleep(0.0005)
                time.sleep(rng.uniform(0, 0.004))
                in_publication += bool(list((out / "runs").glob(".staging-*")))
            else:
                # Aim at extraction: from the run's first model call on.
                calls = len(script.calls)
                while p.poll() is None and len(script.calls) == calls:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, window))
            p.kill()
            p.wait()
            assert complete(out), f"kill {i}: readers see a torn version"
            answered = cached_answers(cache)
            # Short articles share a call, so the count that must match is articles sent, not calls.
            before = script.articles_sent
            again = subprocess.run(
                [*base, "--cache-dir", str(cache)], env=env, capture_output=True, text=True
            )
            assert again.returncode == 0, f"kill {i}: the next run failed: {again.stderr}"
            assert script.articles_sent - before == N_ARTICLES - answered, (
                f"kill {i}: an answered article was sent again, or one was not sent"
            )
            assert complete(out)
            assert not list((out / "runs").glob(".staging-*"))
    assert in_publication >= 3, f"only {in_publication} kills landed in publication"
