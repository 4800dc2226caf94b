"""What one step hands the next when they run in separate processes: references, not article texts.

In: a step's result. Out: the same result with every article's text replaced by a reference (its
sha256; the text is in its input file, which the batch's record names) and, given that, the result
again with each text read back from its file and checked against its hash. Dagster's runner keeps
its IO manager's hand-overs; with this they hold no copy of any article, and a file changed between
two steps is an error naming it, never a silent mix of two versions.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from pathlib import Path

from pipelines.ingest import Ingested, Walk, ingest_walk, source_file

_REF = "sha256:"


def _digest(text: str) -> str:
    return _REF + hashlib.sha256(text.encode("utf-8")).hexdigest()


class InputChanged(RuntimeError):
    """An input file no longer holds the text an earlier step read from it."""


def references(result):
    """``result`` with each article's text replaced by its hash (other results as they are)."""
    if not isinstance(result, Ingested):
        return result
    out = copy.copy(result)
    out.articles = [replace(a, text=_digest(a.text)) for a in result.articles]
    return out


def resolve(result):
    """``result`` with each referenced text read back from its input file (other results as they are).
    Raises InputChanged when a file is gone or now holds another text."""
    if not isinstance(result, Ingested) or not any(a.text.startswith(_REF) for a in result.articles):
        return result
    files = sorted({Path(source_file(a.source)) for a in result.articles})
    try:
        fresh = {a.key: a.text for a in ingest_walk(Walk(files=files)).articles}
    except OSError as e:
        raise InputChanged(f"{e.filename}: an input file of this batch is gone; run it again") from None
    out = copy.copy(result)
    out.articles = []
    for a in result.articles:
        text = fresh.get(a.key)
        if text is None or _digest(text) != a.text:
            raise InputChanged(f"{a.source}: the file changed after it was read; run the batch again")
        out.articles.append(replace(a, text=text))
    return out
