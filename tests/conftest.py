from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "corpus" / "seeds"
SEED_GOLD = SHARED / "corpus" / "gold"
SAMPLE = ROOT / "pipelines" / "data" / "sample" / "articles"
SAMPLE_GOLD = ROOT / "pipelines" / "data" / "sample" / "gold"


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.is_dir() or not SEED_GOLD.is_dir():
        pytest.skip(
            f"../shared/corpus is absent ({SEEDS}): the seed articles and gold live outside this repo"
        )
    return SEEDS


def run_cli(*args, cwd=None, env=None, timeout=300):
    """The installed ``eventbuilder`` command, as a user runs it."""
    exe = Path(sys.executable).parent / "eventbuilder"
    return subprocess.run(
        [str(exe), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


def stop(process: subprocess.Popen) -> None:
    """End a server started in a session of its own, and everything it started."""
    import os
    import signal

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
