"""Orthographic folding of Arabic (and Latin) text, with a map back to exact offsets.

In: any text. Out: a folded view (hamza forms, taa marbuta, alef maqsura,
Persian yeh/kaf, diacritics, tatweel, quote styles, digits, case and white space
folded) and, for each folded character, the offset of the character it came
from. Grounding, lexicon matching and evaluation all compare in this view, then
report offsets in the original text, so a quote is always ``text[start:end]``.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

_DROP = {chr(c) for c in range(0x064B, 0x0653)} | {"\u0670", "\u0640", "\u200c", "\u200d", "\u200e", "\u200f"}
_MAP = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",
    "ي": "ي",
    "ئ": "ي",
    "ؤ": "و",
    "ک": "ك",
    "ڪ": "ك",
    "ۀ": "ه",
    "ە": "ه",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "″": '"',
    "‘": "'",
    "’": "'",
    "‚": "'",
    "`": "'",
    "´": "'",
    "–": "-",
    "—": "-",
    "ـ": "",
    "،": ",",
    "؛": ";",
    "؟": "?",
}
for _d in range(10):
    _MAP[chr(0x0660 + _d)] = str(_d)  # Arabic-Indic digits
    _MAP[chr(0x06F0 + _d)] = str(_d)  # Persian digits


@cache
def fold_char(ch: str) -> str:
    """The folded form of one character ('' when it is dropped)."""
    if ch in _DROP:
        return ""
    if ch in _MAP:
        return _MAP[ch]
    if ch.isspace():
        return " "
    if ord(ch) < 0x0600 and not ch.isascii():
        # Latin diacritics: é -> e
        ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return ch.lower()


# ``fold_char`` by code point, a table for ``str.translate``, and what each character becomes for
# the offsets: a (one character), m (several), a space, d (nothing). Filled as characters are met.
_FOLD: dict[int, str] = {}
_KIND: dict[int, str] = {}
# Characters folded to several characters among which a space (none today): the translate path
# cannot tell their space from a collapsible one, so a text with any is folded character by character.
_SPACED: set[str] = set()
# Runs of the kinds string: characters kept as they are (one space between them is kept too), one
# character kept as several, a space with the spaces and dropped characters after it (one space at
# most is kept for it). Dropped characters between are skipped.
_RUNS = re.compile(r"((?:a+ ?)+)|(m)|( [ d]*)")
_SPACES = re.compile(r" {2,}")


def _learn(text: str) -> None:
    for ch in set(text):
        code = ord(ch)
        if code in _FOLD:
            continue
        f = fold_char(ch)
        if len(f) > 1 and " " in f:
            _SPACED.add(ch)
        _KIND[code] = "d" if not f else " " if f == " " else "a" if len(f) == 1 else "m"
        _FOLD[code] = f


# Offsets are machine integers (8 bytes a character), not a list of Python ints (about 36).
OFFSET_TYPE = "q"


@dataclass(frozen=True)
class Folded:
    """A folded view of ``original``: ``text[i]`` came from ``original[offsets[i]]``.

    ``offsets`` is an ``array('q')`` for the views made here (a tuple of ints does as well).
    """

    original: str
    text: str
    offsets: Sequence[int] = field(hash=False)  # an array is not hashable; original and text tell

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the folded slice ``text[start:end]``."""
        return self.offsets[start], self.offsets[end - 1] + 1

    @cached_property
    def loose(self) -> Folded:
        """``_loosen(self)``, made once: grounding many quotes in one article reuses it."""
        return _loosen(self)


def _fold_by_char(original: str) -> Folded:
    out: list[str] = []
    offsets = array(OFFSET_TYPE)
    for i, ch in enumerate(original):
        f = fold_char(ch)
        if not f:
            continue
        if f == " " and (not out or out[-1] == " "):
            continue  # collapse runs of white space
        for c in f:
            out.append(c)
            offsets.append(i)
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return Folded(original, "".join(out), offsets)


def _fold_text(original: str) -> str | None:
    """The folded text alone (None when the text needs the character-by-character path)."""
    _learn(original)
    if _SPACED and not _SPACED.isdisjoint(original):
        return None
    # Every space now comes from white space: a run is one space, none at either end.
    return _SPACES.sub(" ", original.translate(_FOLD)).strip(" ")


def fold(original: str) -> Folded:
    """The folded view of a text, in time and memory linear in its length.

    What the character-by-character definition (``_fold_by_char``) gives, made with ``str.translate``
    and a pass over runs of characters instead of a Python step (and a Python int) per character.
    """
    text = _fold_text(original)
    if text is None:
        return _fold_by_char(original)
    kinds = original.translate(_KIND)
    offsets = array(OFFSET_TYPE)
    space_last = False
    for m in _RUNS.finditer(kinds):
        if m.lastindex == 1:
            offsets.extend(range(m.start(), m.end()))
            space_last = kinds[m.end() - 1] == " "
        elif m.lastindex == 2:
            offsets.extend([m.start()] * len(_FOLD[ord(original[m.start()])]))
            space_last = False
        elif offsets and not space_last:
            offsets.append(m.start())  # the first of a run of spaces, not at the start of the text
            space_last = True
    if space_last:
        offsets.pop()
    if len(offsets) != len(text):  # never expected: the two paths disagree, take the definition
        return _fold_by_char(original)
    return Folded(original, text, offsets)


def normalize(text: str) -> str:
    folded = _fold_text(text)
    return _fold_by_char(text).text if folded is None else folded


_PREFIX = re.compile(r"(?<![^\s\"'(])(?:[وف]{1,2}(?=\S\S))?(?:[بكف](?=ال)|ل(?=ل))?")


def _loosen(folded: Folded) -> Folded:
    """Drop attached conjunctions/prepositions (و ف ب ك ل before ال) at word starts.

    Applied to both sides of a comparison, so "وقال" matches "قال" and "بالهجوم" matches "الهجوم".
    """
    parts: list[str] = []
    offsets = array(OFFSET_TYPE)
    pos = 0
    for m in _PREFIX.finditer(folded.text):
        if m.end() > m.start():
            parts.append(folded.text[pos : m.start()])
            offsets.extend(folded.offsets[pos : m.start()])
            pos = m.end()
    parts.append(folded.text[pos:])
    offsets.extend(folded.offsets[pos:])
    return Folded(folded.original, "".join(parts), offsets)


_EDGE = " \t\r\n\"'.,;:!?()[]-…"


def ground(quote: str, text: str, folded_text: Folded | None = None) -> tuple[int, int] | None:
    """Offsets (start, end) of ``quote`` in ``text``: exact first, then orthography-tolerant.

    Returns None when the quote is not in the text (a fabrication). The caller takes
    ``text[start:end]`` as the verbatim quote.
    """
    if not quote or not quote.strip():
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    ft = folded_text or fold(text)
    q = fold(quote).text.strip(_EDGE)
    if len(q) < 3:
        return None
    i = ft.text.find(q)
    if i >= 0:
        return ft.span(i, i + len(q))
    loose_t = ft.loose
    loose_q = _loosen(fold(q)).text.strip(_EDGE)
    i = loose_t.text.find(loose_q)
    if i >= 0 and loose_q:
        start, end = loose_t.span(i, i + len(loose_q))
        # Never start a quote inside a word: take back the attached prefix we skipped.
        k = start
        while k > 0 and text[k - 1].isalpha():
            k -= 1
        if start - k <= 3 and all(c in "وفبكل" for c in text[k:start]):
            start = k
        return start, end
    return None


def spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
