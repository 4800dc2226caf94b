"""Extraction cost grows linearly with article size: work is counted, not timed.

The articles are the sample articles' paragraphs repeated. The rules extractor used to scan every
mention of the article for every sentence (quadratic: 4x the paragraphs cost 15x the mention reads),
and sentence splitting copied a wrapped paragraph again for each of its lines and each abbreviation.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pipelines.data import data_path
from pipelines.extract.rules import extract
from pipelines.ingest import Article, article_id
from pipelines.normalize.gazetteer import Gazetteer, Mention, gazetteer
from pipelines.segment import sentences
from pipelines.textnorm import _fold_by_char, fold

# 4x the input may cost at most this many times the work (linear, with some slack for fixed costs).
MAX_RATIO = 4.5


def _paragraphs() -> list[str]:
    """Body paragraphs (no headline) of the sample articles, Arabic and English."""
    out = []
    for path in sorted(Path(str(data_path("sample"))).rglob("*.txt"), key=lambda p: p.name):
        paras = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        out.extend(paras[1:])
    return out


def _article(text: str) -> Article:
    return Article(article_id=article_id(text), source="long.txt", text=text, published="2024-03-15")


def _text(n_paragraphs: int) -> str:
    paras = _paragraphs()
    return "\n\n".join(paras[i % len(paras)] for i in range(n_paragraphs))


class _Counted(Mention):
    """A mention that counts the reads of its fields: the work spent looking at mentions."""

    reads = 0

    def __getattribute__(self, name):
        _Counted.reads += 1
        return object.__getattribute__(self, name)


def _counting_gazetteer() -> Gazetteer:
    gaz = copy.copy(gazetteer())
    find_actors, find_places = gaz.find_actors, gaz.find_places

    def counted(mentions: list[Mention]) -> list[Mention]:
        return [_Counted(m.entry, m.start, m.end, m.demonym) for m in mentions]

    gaz.find_actors = lambda folded: counted(find_actors(folded))
    gaz.find_places = lambda folded: counted(find_places(folded))
    return gaz


def _mention_reads(n_paragraphs: int) -> tuple[int, list[dict]]:
    gaz = _counting_gazetteer()
    _Counted.reads = 0
    events = extract(_article(_text(n_paragraphs)), gaz)
    return _Counted.reads, events


def test_mention_work_grows_linearly_with_article_size():
    k = len(_paragraphs())  # about 14 K characters
    small, small_events = _mention_reads(k)
    large, large_events = _mention_reads(4 * k)
    assert small_events and large_events
    # Before the fix: 29 527 reads for k paragraphs, 431 848 for 4k (14.6x); after: 3 472 and 13 888.
    assert large / small <= MAX_RATIO, (small, large)


class _CountingStr(str):
    """A text that counts the characters copied out of it by slicing."""

    copied = 0

    def __getitem__(self, key):
        out = super().__getitem__(key)
        if isinstance(key, slice):
            _CountingStr.copied += len(out)
        return out


def _wrapped_paragraph(n_lines: int) -> str:
    """One hard-wrapped paragraph: every line continues the last, abbreviations inside sentences."""
    line = "and then Mr. Smith told Dr. Jones that the U.S. envoy had met Gen. Haftar in"
    return (
        "The talks went on for days in the capital, and diplomats said that\n"
        + "\n".join(line for _ in range(n_lines))
        + " Tripoli."
    )


def _copied_by_sentences(n_lines: int) -> tuple[int, list[tuple[int, int]]]:
    text = _CountingStr(_wrapped_paragraph(n_lines))
    _CountingStr.copied = 0
    spans = sentences(text)
    return _CountingStr.copied, spans


def test_sentence_splitting_of_a_long_wrapped_paragraph_is_linear():
    small, small_spans = _copied_by_sentences(200)
    large, large_spans = _copied_by_sentences(800)
    # The wrapped lines are one logical line and the abbreviations end no sentence.
    assert len(small_spans) == len(large_spans) == 1
    # Before the fix: 7.8 M characters copied for 200 lines, 123.6 M for 800 (15.8x); after: 37 K, 147 K.
    assert large / small <= MAX_RATIO, (small, large)


def test_a_long_article_gives_the_events_of_each_of_its_parts():
    """Every copy of a block in a long article yields the block's events, at the copy's offsets."""
    block = _text(len(_paragraphs()))
    sep, n = "\n\n", 16  # about 300 KB
    alone = extract(_article(block))
    long = extract(_article(sep.join([block] * n)))
    assert len(alone) > 20
    assert len(long) == len(alone)
    step = len(block) + len(sep)
    for a, b in zip(alone, long, strict=True):
        # Mentions of one event merge across the copies: more evidence, and so more confidence.
        assert {k: v for k, v in a.items() if k not in ("evidence", "confidence")} == {
            k: v for k, v in b.items() if k not in ("evidence", "confidence")
        }
        expected = [(e["start"] + j * step, e["end"] + j * step) for j in range(n) for e in a["evidence"]]
        assert [(e["start"], e["end"]) for e in b["evidence"]] == expected
        assert {e["quote"] for e in b["evidence"]} == {e["quote"] for e in a["evidence"]}


@pytest.mark.parametrize(
    "text",
    [
        "\n\n".join(_paragraphs()),
        "  ٱلْأَمْنُ\u200c  ـــ  «ok»  ¼ Ĳ ¨ x \t\n é  ",
        "",
        " \u064b ",
    ],
)
def test_fold_gives_what_the_character_by_character_definition_gives(text):
    fast, slow = fold(text), _fold_by_char(text)
    assert fast.text == slow.text
    assert list(fast.offsets) == list(slow.offsets)


def test_rows_taken_batch_by_batch_are_those_a_table_take_gives_in_the_order_asked():
    import numpy as np
    import pyarrow as pa

    from pipelines.publish import _take_rows

    table = pa.concat_tables(
        pa.table(
            {"source": [f"s{i:03d}" for i in range(k, k + 7)], "text": [str(i) * 3 for i in range(k, k + 7)]}
        )
        for k in range(0, 35, 7)
    )
    rows = np.random.default_rng(1).permutation(len(table))[:20].astype(np.uint64)
    got = _take_rows(table.to_batches(), table.schema, rows)
    assert got.to_pylist() == table.take(pa.array(rows)).to_pylist()
