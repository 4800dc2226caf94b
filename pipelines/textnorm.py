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
from dataclasses import dataclass
from functools import cache

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


@dataclass(frozen=True)
class Folded:
    """A folded view of ``original``: ``text[i]`` came from ``original[offsets[i]]``."""

    original: str
    text: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the folded slice ``text[start:end]``."""
        return self.offsets[start], self.offsets[end - 1] + 1


def fold(original: str) -> Folded:
    out: list[str] = []
    offsets: list[int] = []
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
    return Folded(original, "".join(out), tuple(offsets))


def normalize(text: str) -> str:
    return fold(text).text


_PREFIX = re.compile(r"(?<![^\s\"'(])(?:[وف]{1,2}(?=\S\S))?(?:[بكف](?=ال)|ل(?=ل))?")


def _loosen(folded: Folded) -> Folded:
    """Drop attached conjunctions/prepositions (و ف ب ك ل before ال) at word starts.

    Applied to both sides of a comparison, so "وقال" matches "قال" and "بالهجوم" matches "الهجوم".
    """
    dropped = {i for m in _PREFIX.finditer(folded.text) for i in range(m.start(), m.end())}
    keep = [i for i in range(len(folded.text)) if i not in dropped]
    return Folded(
        folded.original, "".join(folded.text[i] for i in keep), tuple(folded.offsets[i] for i in keep)
    )


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
    loose_t = _loosen(ft)
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
