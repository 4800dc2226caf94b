"""The real development corpus: what the repository keeps is complete and safe; with the texts
restored (``EVENTBUILDER_REALDEV_TEXTS``), every hash checks and the gold grounds in them."""

import csv
import hashlib
import json
import os
import sys
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest

from .conftest import ROOT

HERE = ROOT / "tests" / "realdev"
sys.path.insert(0, str(HERE))
import restore  # noqa: E402

RESERVED = ROOT.parent / "shared" / "reserved-pages.sha256"


def rows() -> list[dict]:
    with open(HERE / "manifest.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_manifest_holds_enough_languages_and_a_third_held_out():
    m = rows()
    assert len({r["id"] for r in m}) == len(m) >= 45
    langs = Counter(r["lang"] for r in m)
    assert langs["ar"] >= 24 and langs["en"] >= 12 and langs["fr"] >= 9
    for lang, n in langs.items():
        test = sum(r["split"] == "test" for r in m if r["lang"] == lang)
        assert abs(test - n / 3) <= 1, (lang, test, n)


def test_the_repository_keeps_offsets_and_hashes_not_text():
    for r in rows():
        assert len(r["sha256"]) == 64 and int(r["length"]) > 300
        gold = json.loads((HERE / "gold" / f"{r['id']}.json").read_text(encoding="utf-8"))
        for ev in gold["events"]:
            assert ev["anchors"], r["id"]
            for a in ev["anchors"]:
                assert set(a) == {"start", "end", "sha256"}, r["id"]
                assert 0 <= a["start"] < a["end"] <= int(r["length"]), r["id"]


def test_no_reserved_page_is_used():
    if not RESERVED.exists():
        pytest.skip(f"{RESERVED} is absent: the reserved list cannot be checked")
    reserved = {ln.strip() for ln in RESERVED.read_text().splitlines() if ln.strip() and ln[0] != "#"}
    for r in rows():
        forms = {r["url"].strip(), urllib.parse.unquote(r["url"].strip())}
        forms |= {f.lower() for f in forms}
        assert not {hashlib.sha256(f.encode()).hexdigest() for f in forms} & reserved, r["url"]


def test_restored_texts_check_and_their_gold_grounds(tmp_path):
    texts = os.environ.get("EVENTBUILDER_REALDEV_TEXTS")
    if not texts or not Path(texts).is_dir():
        pytest.skip("the real development texts are not restored here (set EVENTBUILDER_REALDEV_TEXTS)")
    from pipelines.evaluate import load_gold
    from pipelines.textnorm import fold, ground

    ids = restore.restore(Path(texts), tmp_path)
    assert len(ids) == len(rows())
    for doc in load_gold(tmp_path / "gold"):
        text = (tmp_path / "articles" / doc["article"]).read_text(encoding="utf-8")
        for ev in doc["events"]:
            for a in ev["anchors"]:
                assert ground(a, text, fold(text)), (doc["article"], a[:40])
