"""Event dates from the text of a sentence and the article's publication date.

In: a sentence (original or folded text), the publication date (``YYYY-MM-DD`` or
None) and optionally the position of the event trigger.
Out: ``(date, precision)``: ``YYYY-MM-DD``/``day``, ``YYYY-MM``/``month``,
``YYYY``/``year`` or ``(None, "unknown")``. A year is never guessed: a day and
month with neither a year in the text nor a publication date give None.
Month names come from ``data/dates.yaml`` (MSA, Levantine, Maghrebi, Libyan).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pipelines.data import load_yaml
from pipelines.textnorm import normalize


def fold_pattern(word: str) -> str:
    """Fold the non-ASCII characters of a lexicon entry; keep regex syntax intact."""
    from pipelines.textnorm import fold_char

    return "".join(fold_char(c) if ord(c) > 127 else c for c in word)


def _alt(words: list[str]) -> str:
    folded = sorted({re.escape(normalize(str(w))) for w in words}, key=len, reverse=True)
    return "|".join(folded)


@dataclass(frozen=True)
class _Vocab:
    month: dict[str, int]
    weekday: dict[str, int]
    ordinal: dict[str, int]
    relative: dict[str, int]
    full: re.Pattern
    month_year: re.Pattern
    weekday_re: re.Pattern
    relative_re: re.Pattern
    year_re: re.Pattern
    last_week_re: re.Pattern
    this_month_re: re.Pattern
    last_month_re: re.Pattern
    same_day_re: re.Pattern


@cache
def _vocab() -> _Vocab:
    spec = load_yaml("dates.yaml")

    def table(key: str) -> dict[str, int]:
        return {normalize(str(w)): int(k) for k, ws in spec[key].items() for w in ws}

    month, weekday, ordinal, relative = (table(k) for k in ("months", "weekdays", "ordinals", "relative"))
    m = _alt(list(month))
    o = _alt(list(ordinal))
    past = _alt(spec["past_markers"])
    b = r"(?<![^\W\d_])"  # not inside a word (digits may touch: ٢٠١٩م)
    e = r"(?![^\W\d_])"
    # A month may be written twice: "الطير/أبريل", "أبريل (نيسان)".
    month_grp = rf"(?P<m1>{m})(?:\s?[/(-]\s?(?P<m2>{m})\)?)?"
    year_grp = r"(?:,?\s?(?:عام |سنة |of )?(?P<y>(?:19|20)\d\d)\s?م?)?"
    day_grp = rf"(?P<d>[0-3]?\d(?!\d)|{o})"
    full = re.compile(
        rf"{b}(?:{day_grp}(?:st|nd|rd|th)?\s?(?:من |of )?(?:شهر )?{month_grp}{year_grp}"
        rf"|{month_grp.replace('m1', 'm3').replace('m2', 'm4')}\s(?P<d2>[0-3]?\d(?!\d))(?:st|nd|rd|th)?"
        rf"{year_grp.replace('<y>', '<y2>')}){e}"
    )
    month_year = re.compile(
        rf"{b}(?:شهر )?(?P<m>{m})(?:\s?[/(-]\s?(?:{m})\)?)?,?\s(?:عام |سنة |of )?(?P<y>(?:19|20)\d\d){e}"
    )
    weekday_re = re.compile(
        rf"{b}(?:يوم )?(?:on )?(?:(?P<last>last) )?(?P<w>{_alt(list(weekday))})(?: (?P<past>{past}))?{e}"
    )
    relative_re = re.compile(rf"{b}(?P<r>{_alt(list(relative))}){e}")
    year_re = re.compile(rf"{b}(?:في |خلال |in |عام |سنة )(?:عام |سنة )?(?P<y>(?:19|20)\d\d)\s?م?{e}")
    last_week_re = re.compile(rf"{b}(?:{_alt(spec['last_week'])}){e}")
    this_month_re = re.compile(rf"{b}(?:{_alt(spec['this_month'])}){e}")
    last_month_re = re.compile(rf"{b}(?:{_alt(spec['last_month'])}){e}")
    same_day_re = re.compile(rf"{b}(?:{_alt(spec['same_day'])}){e}")
    return _Vocab(
        month,
        weekday,
        ordinal,
        relative,
        full,
        month_year,
        weekday_re,
        relative_re,
        year_re,
        last_week_re,
        this_month_re,
        last_month_re,
        same_day_re,
    )


def _pub(published: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(published) if published else None
    except ValueError:
        return None


def _day(token: str, vocab: _Vocab) -> int | None:
    return int(token) if token.isdigit() else vocab.ordinal.get(token)


def _candidates(folded: str, pub: dt.date | None) -> list[tuple[int, str | None, str]]:
    """(position, date, precision) of every time expression in the folded text."""
    v = _vocab()
    out: list[tuple[int, str | None, str]] = []
    taken: list[range] = []
    for mt in v.full.finditer(folded):
        g = mt.groupdict()
        day = _day(g["d"] or g["d2"] or "", v)
        month = v.month.get(g["m1"] or g["m3"] or "")
        year = g["y"] or g["y2"]
        if not day or not month or day > 31:
            continue
        taken.append(range(mt.start(), mt.end()))
        if year:
            y = int(year)
        elif pub:
            # The most recent such day on or before a few days after publication.
            y = pub.year if (month, day) <= (pub.month, pub.day + 3) else pub.year - 1
        else:
            out.append((mt.start(), None, "unknown"))
            continue
        try:
            out.append((mt.start(), dt.date(y, month, day).isoformat(), "day"))
        except ValueError:
            continue
    for mt in v.month_year.finditer(folded):
        if any(mt.start() in r for r in taken):
            continue
        taken.append(range(mt.start(), mt.end()))
        out.append((mt.start(), f"{int(mt['y']):04d}-{v.month[mt['m']]:02d}", "month"))
    for back, pattern in ((0, v.this_month_re), (1, v.last_month_re)):
        for mt in pattern.finditer(folded):
            if any(mt.start() in r for r in taken):
                continue
            taken.append(range(mt.start(), mt.end()))
            if pub:
                y, m = (pub.year, pub.month - back) if pub.month > back else (pub.year - 1, 12)
                out.append((mt.start(), f"{y:04d}-{m:02d}", "month"))
            else:
                out.append((mt.start(), None, "unknown"))
    for mt in v.last_week_re.finditer(folded):
        taken.append(range(mt.start(), mt.end()))
        if pub:
            monday = pub - dt.timedelta(days=pub.weekday() + 7)
            sunday = monday + dt.timedelta(days=6)
            if (monday.year, monday.month) == (sunday.year, sunday.month):
                out.append((mt.start(), f"{monday.year:04d}-{monday.month:02d}", "month"))
                continue
        out.append((mt.start(), None, "unknown"))
    for mt in v.weekday_re.finditer(folded):
        # "Thursday 13 March": the weekday names the date that follows it, not the last Thursday.
        if any(mt.start() in r or 0 <= r.start - mt.end() <= 2 for r in taken):
            continue
        if not pub:
            out.append((mt.start(), None, "unknown"))
            continue
        back = (pub.weekday() - v.weekday[mt["w"]]) % 7
        if back == 0 and (mt["past"] or mt["last"]):
            back = 7
        out.append((mt.start(), (pub - dt.timedelta(days=back)).isoformat(), "day"))
    for mt in v.relative_re.finditer(folded):
        if any(mt.start() in r for r in taken):
            continue
        if pub:
            out.append((mt.start(), (pub - dt.timedelta(days=v.relative[mt["r"]])).isoformat(), "day"))
    for mt in v.year_re.finditer(folded):
        if any(mt.start() in r for r in taken):
            continue
        out.append((mt.start(), mt["y"], "year"))
    return out


def resolve_date(sentence: str, published: str | None, anchor: int | None = None) -> tuple[str | None, str]:
    """Date of the event told in ``sentence``: the time expression nearest the trigger.

    ``anchor`` is a position in the folded sentence (default: its start).
    """
    folded = normalize(sentence)
    found = _candidates(folded, _pub(published))
    if not found:
        return None, "unknown"
    pos = anchor or 0
    _, date, precision = min(found, key=lambda c: (abs(c[0] - pos), c[0]))
    return (date, precision) if date else (None, "unknown")


def same_day(sentence: str) -> bool:
    """Whether a sentence tells of an act right after the one told before it ("minutes later",
    "dans la foulée"): it then has that act's date."""
    return bool(_vocab().same_day_re.search(normalize(sentence)))


PRECISION_RANK = {"day": 3, "month": 2, "year": 1, "unknown": 0}


def years_in(text: str) -> set[int]:
    """Four-digit years written in a text (Arabic-Indic digits folded)."""
    return {int(y) for y in re.findall(r"(?<!\d)(19\d\d|20\d\d)(?!\d)", normalize(text))}


def check_date(
    proposed: str | None,
    precision: str | None,
    quotes: list[str],
    published: str | None,
    article_text: str,
    article_years: Callable[[], set[int]] | None = None,
) -> tuple[str | None, str]:
    """Keep the better-supported of a proposed date (the extractor's) and the ones the quotes give.

    A proposed date that one of the quotes' time expressions gives (or refines) is kept; else the
    quotes' own date wins when they give one; a proposal the text does not support is kept only when
    its year is written in the article or is the publication year (a year is never invented).
    ``article_years`` gives ``years_in(article_text)`` when the caller keeps it for all the events of
    an article: reading the whole article again for each event would make a long one quadratic.
    """
    pub = _pub(published)
    found = [(d, p) for q in quotes for _, d, p in _candidates(normalize(q), pub) if d]
    valid = bool(proposed) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", proposed or "") is not None
    if valid and any(proposed.startswith(d) for d, _ in found):
        return proposed, _precision_of(proposed)
    if found:
        return max(found, key=lambda f: PRECISION_RANK.get(f[1], 0))
    if not valid:
        return None, "unknown"
    year = int(proposed[:4])
    years = article_years() if article_years is not None else years_in(article_text)
    if year in years or (pub and year in {pub.year, pub.year - 1}):
        return proposed, _precision_of(proposed)
    return None, "unknown"


def _precision_of(date: str) -> str:
    return {10: "day", 7: "month", 4: "year"}[len(date)]
