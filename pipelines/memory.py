"""Keep a long build's resident memory near what it holds, not near its high-water mark.

In: nothing. Out: ``configure()`` makes Arrow allocate through the C library's allocator (its default,
mimalloc, keeps freed pages of each batch: a 10k build peaked about 110 MB higher with it), tells the
Delta Lake library's own allocator (jemalloc) to hand freed pages back at once rather than after ten
seconds (about 30 MB less per store write) and keeps Arrow from importing pandas, which nothing here
uses (``_no_pandas``: about 35 MB and 0.4 s in each process); ``release()`` hands freed memory
back to the system between batches and stages (``malloc_trim``, where the C library has it);
``freeze()`` leaves what start-up made out of its collections.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache


def configure() -> None:
    """Arrow's default memory pool becomes the system allocator (the one ``release`` can trim), and
    deltalake's jemalloc returns freed pages at once (unless the user configured it: its variable is
    read when deltalake is first loaded, so this runs before)."""
    import os

    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
    _no_pandas(pa)


class _PandasAbsent:
    """An import finder that says pandas is not installed."""

    def find_spec(self, name: str, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not imported by eventbuilder")
        return None


def _no_pandas(pa) -> None:
    """Arrow imports pandas the first time it converts Python values (to tell a pandas object from
    a list), and once only: that first look is made here with pandas hidden, so it finds none. Arrow
    still imports pandas when something asks it for pandas (``to_pandas``, ``from_pandas``)."""
    import sys

    if "pandas" in sys.modules:
        return
    finder = _PandasAbsent()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([False])
    finally:
        sys.meta_path.remove(finder)


@cache
def _trim():
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return getattr(libc, "malloc_trim", None)


def freeze() -> None:
    """What is alive now (modules, definitions, the Dagster instance) lives as long as the process:
    later collections skip it, so ``release()`` costs what the batches made, not what start-up made
    (about 0.17 s a collection of 300,000 objects otherwise, several times per build). No collection
    first: it would cost as much, for the little garbage that importing leaves."""
    gc.freeze()


def release() -> None:
    """Collect unreachable objects and return the heap's free pages to the system."""
    gc.collect()
    trim = _trim()
    if trim is not None:
        trim(0)
