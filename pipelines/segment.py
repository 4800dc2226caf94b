"""Split article text into sentences, as offsets into the text.

In: cleaned article text. Out: ``(start, end)`` spans with no surrounding white
space. Sentences end at ``. ! ? ؟`` (not after common abbreviations or inside
numbers) and at line breaks, except where a line was merely wrapped (it ends
without punctuation and the next one starts in lower case or with a comma).
"""

from __future__ import annotations

import re

_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Sgt|St|No|Nos|vs|etc|Inc|Ltd|Jr|Sr|U\.S|U\.N|U\.K|e\.g|i\.e)|\b[A-Z])\.$"
)
_END = re.compile(r"[.!?؟…]+[\"'”»)\]]*(?=\s|$)")


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _lines(text: str) -> list[tuple[int, int]]:
    """Logical lines: physical lines joined where the text was only wrapped."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and text[start:end].strip():
            prev_s, prev_e = merged[-1]
            # The end of the logical line so far without its trailing space: found from its end, not by
            # copying it (a long wrapped paragraph would be copied again for each of its lines).
            prev_end = prev_e
            while prev_end > prev_s and text[prev_end - 1].isspace():
                prev_end -= 1
            last = text[prev_end - 1] if prev_end > prev_s else ""
            nxt = text[start:end].lstrip()
            wrapped = (
                last
                and last not in ".!?؟…:\"'”»)"
                and prev_end - prev_s >= 50
                and (nxt[:1].islower() or last in ",،-")
            )
            if wrapped:
                merged[-1] = (prev_s, end)
                continue
        merged.append((start, end))
    return merged


def sentences(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for ls, le in _lines(text):
        start = ls
        for m in _END.finditer(text, ls, le):
            # An abbreviation is at most 4 characters before the end, with 1 more for its \b: the
            # sentence's last 8 characters tell, where all of it would make a long sentence quadratic.
            head = text[max(start, m.start() - 7) : m.start() + 1]
            if m.group().startswith(".") and _ABBREV.search(head):
                continue
            span = _trim(text, start, m.end())
            if span:
                out.append(span)
            start = m.end()
        span = _trim(text, start, le)
        if span:
            out.append(span)
    return out
