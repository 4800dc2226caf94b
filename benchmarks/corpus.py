"""Distinct articles made from the built-in sample stories, for benchmarks and tests that need many.

Each article is a sample story under its own headline with a paragraph of filler words of its own
(``filler``), drawn from a vocabulary with no event word: enough text of its own that two articles
telling the same story are not near-duplicates (``pipelines.neardup``), so each is extracted, as
distinct real articles would be.
"""

from __future__ import annotations

import random
from pathlib import Path

_VOCABULARY = (
    "market harvest rain season bread school bus road bridge museum library concert football league "
    "coach river garden bakery festival weather cloud morning evening village city square street "
    "teacher student exam holiday train station ticket price coffee tea sugar flour olive orange "
    "lemon tomato onion potato farmer fisherman boat harbour beach sand wind sun moon star lamp "
    "window door kitchen table chair book paper pencil painting music song dance theatre cinema film "
    "actor singer poet novel story radio clock calendar week month year spring summer autumn winter "
    "snow ice cold warm hot dry wet green blue yellow white black red brown grey tall short long wide "
    "narrow old new young quiet loud busy calm early late fast slow bright dark sweet salty fresh "
    "clean crowded empty open closed cheap costly local rural urban coastal mountain valley hill lake "
    "forest tree flower grass field farm cow sheep goat horse camel bird cat dog fish shop mall hotel "
    "restaurant menu recipe soup salad rice bean lentil pepper salt honey milk cheese butter egg"
).split()


def filler(i: int, words: int = 300) -> str:
    """A paragraph of ``words`` words of its own for article ``i`` (the same for the same ``i``)."""
    rng = random.Random(i)
    return "Local notes: " + " ".join(rng.choice(_VOCABULARY) for _ in range(words)) + "."


def sample_stories() -> list[Path]:
    from pipelines.data import data_path

    return sorted(Path(str(data_path("sample") / "articles")).glob("*.txt"))


def make_corpus(folder: Path, n: int, start: int = 0) -> None:
    """Write articles ``start`` .. ``start + n - 1`` into ``folder``."""
    files = sample_stories()
    for i in range(start, start + n):
        src = files[i % len(files)]
        text = src.read_text(encoding="utf-8")
        (folder / f"{i:05d}_{src.name}").write_text(f"Copy {i}\n\n{text}\n\n{filler(i)}", encoding="utf-8")
