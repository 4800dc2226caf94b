"""Near-duplicate articles (the same wire story reprinted): linked before extraction, extracted once,
every copy a source of the events. Texts from the merge development set (written for this project)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines import neardup
from pipelines.build import build
from pipelines.ingest import Article, article_id

MERGE = Path(__file__).parent / "data" / "merge" / "articles"
ORIGINAL = next(MERGE.glob("ar_03_*.txt")).read_text(encoding="utf-8")
OTHER_REPORT = next(MERGE.glob("ar_04_*.txt")).read_text(encoding="utf-8")  # the same shipment, own words


def reprint(text: str = ORIGINAL) -> str:
    """What a second outlet makes of a wire story: its own headline and dateline, the last paragraph cut."""
    body = text.split("\n\n")[1:-1]
    body[0] = body[0].replace("بنغازي - ", "بنغازي (وكالات) - ", 1)
    return "\n\n".join(["ليبيا: شحنة أسلحة تركية في مصراتة", *body])


EXTRA = "ودعت مصر في بيان منفصل الأطراف الليبية إلى وقف فوري لإطلاق النار في طرابلس."


def art(text: str, name: str) -> Article:
    return Article(article_id=article_id(text), source=name, text=text, published="2025-04-08")


def test_a_reprint_is_a_near_duplicate_and_another_report_of_the_same_event_is_not():
    sig = neardup.signature(ORIGINAL)
    assert neardup.similarity(sig, neardup.signature(reprint())) >= neardup.THRESHOLD
    assert neardup.similarity(sig, neardup.signature(OTHER_REPORT)) < 0.3


def test_a_batch_links_each_reprint_to_the_first_of_its_story_unless_it_adds_a_possible_event():
    a, b, c = art(ORIGINAL, "a"), art(reprint(), "b"), art(OTHER_REPORT, "c")
    d = art(reprint() + "\n\n" + EXTRA, "d")
    links = neardup.link([a, b, c, d])
    assert links.copy_of == {b.article_id: a.article_id}
    assert all(len(k) == neardup.BANDS for k in links.keys.values())


def test_a_copys_events_are_the_originals_re_anchored_in_its_text_and_missing_quotes_drop_one():
    from pipelines.extract.rules import extract

    a, b = art(ORIGINAL, "a"), art(reprint(), "b")
    events = extract(a)
    # An event quoting the paragraph the reprint cut cannot be the reprint's.
    cut = ORIGINAL.split("\n\n")[-1]
    start = ORIGINAL.index(cut)
    gone = {
        **events[0],
        "evidence": [{"article_id": a.article_id, "quote": cut, "start": start, "end": start + len(cut)}],
    }
    copied = neardup.copy_events([*events, gone], b)
    assert len(copied) == len(events) >= 1
    for ev in copied:
        for x in ev["evidence"]:
            assert x["article_id"] == b.article_id and b.text[x["start"] : x["end"]] == x["quote"]
    assert events[0]["evidence"][0]["article_id"] == a.article_id  # the original's events untouched


@pytest.fixture
def extracted(monkeypatch) -> list[str]:
    """The sources of the articles the extractor is given."""
    import pipelines.extract as extract

    seen: list[str] = []
    real = extract.extract_all

    def spy(articles, extractor, progress=None):
        seen.extend(Path(a.source).name for a in articles)
        return real(articles, extractor, progress)

    monkeypatch.setattr(extract, "extract_all", spy)
    return seen


def write(folder: Path, files: dict[str, str], outlets: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    rows = "".join(f"{n},2025-04-08,{o}\n" for n, o in outlets.items())
    (folder / "manifest.csv").write_text("file,published,outlet\n" + rows, encoding="utf-8")


def shipment(out: Path) -> pd.Series:
    events = pd.read_parquet(out / "events")
    (row,) = [
        r for _, r in events.iterrows() if r["event_type"] == "arms_delivery" and r["date"] == "2025-04-06"
    ]
    return row


def test_a_build_extracts_a_reprint_once_and_counts_it_as_a_source(tmp_path, extracted):
    inp, out = tmp_path / "in", tmp_path / "o"
    write(inp, {"a.txt": ORIGINAL, "b.txt": reprint()}, {"a.txt": "Wire A", "b.txt": "Paper B"})
    assert build([inp], out, extractor="rules").error is None
    assert extracted == ["a.txt"]
    articles = pd.read_parquet(out / "articles").set_index("source")
    a, b = (articles.loc[str(inp / n)] for n in ("a.txt", "b.txt"))
    assert b["copy_of"] == a["article_id"] and pd.isna(a["copy_of"])
    assert b["state"] == "extracted" and b["n_events"] == a["n_events"] >= 1
    row = shipment(out)
    assert row["source_count"] == 2 and list(row["outlets"]) == ["Paper B", "Wire A"]
    assert {x["article_id"] for x in row["evidence"]} == {a["article_id"], b["article_id"]}
    ids = set(pd.read_parquet(out / "events")["event_id"])
    assert build([inp], out, extractor="rules").error is None  # again: nothing changes
    assert set(pd.read_parquet(out / "events")["event_id"]) == ids


def test_a_reprint_arriving_later_is_linked_to_the_stored_original(tmp_path, extracted):
    out = tmp_path / "o"
    write(tmp_path / "day1", {"a.txt": ORIGINAL}, {"a.txt": "Wire A"})
    write(tmp_path / "day2", {"b.txt": reprint(), "d.txt": reprint() + "\n\n" + EXTRA}, {"b.txt": "Paper B"})
    assert build([tmp_path / "day1"], out, extractor="rules").error is None
    id_before = shipment(out)["event_id"]
    assert build([tmp_path / "day2"], out, extractor="rules").error is None
    assert extracted == ["a.txt", "d.txt"]  # the reprint with a paragraph of its own is read itself
    row = shipment(out)
    assert row["event_id"] == id_before and row["source_count"] == 3


def test_a_reprint_finds_its_stored_original_among_many_stored_candidates():
    """The store's candidates come as arrays (a retold story shares bands with thousands)."""
    import numpy as np

    others = [OTHER_REPORT + f"\n\nتحديث {i}" for i in range(300)]
    stored = [art(t, f"s{i}") for i, t in enumerate([*others[:150], ORIGINAL, *others[150:]])]
    sigs = np.stack([neardup.signature(a.text) for a in stored])
    keys = np.array([neardup.band_keys(s) for s in sigs], dtype=np.int64)
    asked = []

    def similar(wanted):
        asked.append(wanted)
        hit = [i for i, k in enumerate(keys) if wanted & set(k.tolist())]
        return [stored[i].article_id for i in hit], sigs[hit], keys[hit]

    texts = {a.article_id: (a.text, [{"event_type": "arms_delivery"}]) for a in stored}
    look = neardup.Stored(similar, lambda ids: {i: texts[i] for i in ids})
    b, c = art(reprint(), "b"), art(reprint(OTHER_REPORT), "c")
    links = neardup.link([b, c], look)
    original = stored[150].article_id
    assert links.copy_of[b.article_id] == original and links.stored[original]
    assert links.copy_of[c.article_id] in {a.article_id for a in stored if a.text != ORIGINAL}
    assert asked == [set(links.keys[b.article_id]) | set(links.keys[c.article_id])]


def test_signatures_are_datasketchs_minhash_of_the_shingles():
    from datasketch import MinHash

    for text in (ORIGINAL, reprint(), OTHER_REPORT, "", "one two"):
        m = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED, scheme="affine32")
        m.update_batch(list(neardup._shingles(text)))
        assert (neardup.signature(text) == m.hashvalues).all()
