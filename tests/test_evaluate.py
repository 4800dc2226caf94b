import json
from pathlib import Path

import pytest

from pipelines.evaluate import match, run_eval, score

TEXT = (
    "دعت مصر يوم الخميس إلى وقف فوري لإطلاق النار في ليبيا. "
    "وأرسلت تركيا طائرات مسيرة إلى طرابلس. "
    "واعتمد مجلس الأمن القرار 2510 بأغلبية 14 صوتا."
)
S1 = "دعت مصر يوم الخميس إلى وقف فوري لإطلاق النار في ليبيا."
S2 = "وأرسلت تركيا طائرات مسيرة إلى طرابلس."
S3 = "واعتمد مجلس الأمن القرار 2510 بأغلبية 14 صوتا."

GOLD = {
    "article": "a.txt",
    "published": "2020-01-10",
    "events": [
        {
            "event_type": "ceasefire_call",
            "status": "called",
            "anchors": [S1],
            "actors": {"caller": ["Egypt"]},
            "date": "2020-01-09",
            "date_precision": "day",
            "country": None,
        },
        {
            "event_type": "arms_delivery",
            "status": "confirmed",
            "anchors": [S2],
            "actors": {"supplier": ["Turkey"]},
            "date": None,
            "date_precision": "unknown",
            "country": "LBY",
        },
        {
            "event_type": "resolution",
            "status": "adopted",
            "anchors": [S3],
            "actors": {"body": ["United Nations Security Council"]},
            "date": None,
            "date_precision": "unknown",
            "country": "USA",
        },
    ],
}


def pred(event_type, sentence, status, actors, date=None, country=None, quote=None):
    q = quote or sentence
    s = TEXT.index(q)
    return {
        "event_type": event_type,
        "status": status,
        "date": date,
        "country": country,
        "actors": [{"role": r, "name": n} for r, names in actors.items() for n in names],
        "evidence": [{"article_id": "x", "quote": q, "start": s, "end": s + len(q)}],
    }


PERFECT = [
    pred("ceasefire_call", S1, "called", {"caller": ["Egypt"]}, "2020-01-09"),
    pred("arms_delivery", S2, "confirmed", {"supplier": ["Turkey"]}, country="LBY"),
    pred("resolution", S3, "adopted", {"body": ["United Nations Security Council"]}, country="USA"),
]


def run(preds):
    return score([(GOLD, preds, preds, TEXT)])


def test_perfect_predictions_score_one():
    r = run(PERFECT)
    assert r["detection"]["micro"] == {"tp": 3, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert r["arguments"]["status"]["accuracy"] == 1.0
    assert r["arguments"]["date"] == {"correct": 1, "total": 1, "accuracy": 1.0}
    assert r["arguments"]["country"]["accuracy"] == 1.0
    assert r["arguments"]["actors"]["all"]["f1"] == 1.0
    assert r["grounding"]["rate"] == 1.0
    assert r["false_positives"] == [] and r["misses"] == []


def test_no_predictions_score_zero_and_list_every_miss():
    r = run([])
    assert r["detection"]["micro"]["tp"] == 0 and r["detection"]["micro"]["fn"] == 3
    assert r["detection"]["micro"]["f1"] == 0.0
    assert {m["event_type"] for m in r["misses"]} == {"ceasefire_call", "arms_delivery", "resolution"}


def test_one_miss():
    r = run(PERFECT[:2])
    m = r["detection"]["micro"]
    assert (m["tp"], m["fp"], m["fn"]) == (2, 0, 1)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["misses"][0]["anchor"] == S3


def test_one_false_positive():
    extra = pred("arms_delivery", S1, "alleged", {"supplier": ["Egypt"]})
    r = run(PERFECT + [extra])
    m = r["detection"]["micro"]
    assert (m["tp"], m["fp"], m["fn"]) == (3, 1, 0)
    assert r["false_positives"][0]["quote"] == S1
    assert r["detection"]["per_type"]["arms_delivery"]["precision"] == 0.5


def test_wrong_type_is_a_false_positive_and_a_miss():
    wrong = pred("resolution", S1, "adopted", {"body": ["Egypt"]})
    r = run([wrong] + PERFECT[1:])
    m = r["detection"]["micro"]
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
    assert r["misses"][0]["event_type"] == "ceasefire_call"


def test_two_predictions_for_one_gold_event_match_once():
    twice = [
        PERFECT[0],
        pred("ceasefire_call", S1, "called", {"caller": ["Egypt"]}, quote="دعت مصر يوم الخميس"),
    ]
    r = run(twice + PERFECT[1:])
    m = r["detection"]["micro"]
    assert (m["tp"], m["fp"], m["fn"]) == (3, 1, 0)


def test_wrong_arguments_are_scored_on_matched_pairs():
    p = [pred("ceasefire_call", S1, "proposed", {"caller": ["Egypt", "Turkey"]}, "2020-01-08")] + PERFECT[1:]
    r = run(p)
    assert r["detection"]["micro"]["f1"] == 1.0
    assert r["arguments"]["status"]["correct"] == 2
    assert r["arguments"]["date"]["accuracy"] == 0.0
    caller = r["arguments"]["actors"]["caller"]
    assert (caller["tp"], caller["fp"], caller["fn"]) == (1, 1, 0)


def test_actor_names_fold_case_diacritics_and_aliases():
    p = [
        pred("ceasefire_call", S1, "called", {"caller": ["EGYPT"]}, "2020-01-09"),
        pred("arms_delivery", S2, "confirmed", {"supplier": ["تركيا"]}, country="LBY"),
        pred("resolution", S3, "adopted", {"body": ["UN Security Council"]}, country="USA"),
    ]
    assert run(p)["arguments"]["actors"]["all"]["f1"] == 1.0


@pytest.mark.parametrize(
    "anchor",
    [
        "دعت مصر يوم الخميس الى وقف فوري لاطلاق النار",  # hamza dropped
        "دعت مصر يوم الخميس إلى وقفٍ فوريٍّ لإطلاق النار",  # diacritics added
        "دعت مصر يوم الخميـــس إلى وقف فوري لإطلاق النار",  # tatweel
        "ودعت مصر يوم الخميس",  # attached و
    ],
)
def test_matching_tolerates_orthographic_variants_in_anchors(anchor):
    gold = {**GOLD, "events": [{**GOLD["events"][0], "anchors": [anchor]}]}
    assert len(match([PERFECT[0]], gold["events"], TEXT)) == 1


def test_curly_and_straight_quotes_match():
    text = 'قال الوزير "ندعو إلى وقف فوري لإطلاق النار" في بيان.'
    q = "ندعو إلى وقف فوري لإطلاق النار"
    s = text.index(q)
    p = {
        "event_type": "ceasefire_call",
        "status": "called",
        "actors": [],
        "evidence": [{"article_id": "x", "quote": q, "start": s, "end": s + len(q)}],
    }
    g = {"event_type": "ceasefire_call", "anchors": ["قال الوزير “ندعو إلى وقف فوري"]}
    assert len(match([p], [g], text)) == 1


def test_grounding_rate_counts_fabricated_quotes():
    fabricated = pred("arms_delivery", S2, "confirmed", {"supplier": ["Turkey"]})
    fabricated["evidence"][0]["quote"] = "أرسلت روسيا دبابات"
    r = score([(GOLD, PERFECT, PERFECT + [fabricated], TEXT)])
    assert r["grounding"] == {"quotes": 4, "grounded": 3, "rate": 0.75}


def test_eval_end_to_end_on_a_folder(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "gold").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "gold" / "a.json").write_text(json.dumps(GOLD, ensure_ascii=False), encoding="utf-8")
    r = run_eval(tmp_path / "gold", [tmp_path / "articles"], extractor="rules")
    assert r["articles"] == 1
    assert r["grounding"]["rate"] == 1.0
    assert r["detection"]["micro"]["tp"] + r["detection"]["micro"]["fn"] == 3


def test_merge_scores_count_links_fused_and_split_pairs():
    from pipelines.evaluate import merge_scores

    # Gold: a1, a2 and c1 report one event (x), b1 another (y). Predicted: a1, a2, b1 got one id (e1),
    # c1 another (e2): one true link, two fused pairs (a-b), two split ones (a-c).
    linked = [("a", 0, "x", "e1"), ("a", 1, "x", "e1"), ("b", 0, "y", "e1"), ("c", 0, "x", "e2")]
    m = merge_scores(linked)
    assert (m["pairwise"]["tp"], m["pairwise"]["fp"], m["pairwise"]["fn"]) == (1, 2, 2)
    assert m["bcubed"]["precision"] == m["bcubed"]["recall"] == round(2 / 3, 4)
    assert {(p["a"], p["b"]) for p in m["wrongly_fused"]} == {("a#0", "b#0"), ("a#1", "b#0")}
    assert {(p["a"], p["b"]) for p in m["wrongly_split"]} == {("a#0", "c#0"), ("a#1", "c#0")}


def test_eval_scores_the_merge_on_the_merge_development_set():
    merge = Path(__file__).parent / "data" / "merge"
    report = run_eval(merge / "gold", [merge / "articles"], extractor="rules")
    m = report["merge"]
    assert m is not None and m["clusters"] >= 5
    pairs = m["pairwise"]
    assert pairs["tp"] + pairs["fn"] > 0  # the set has events reported by several articles
    # The bar for the embedded extractor: pairwise F1 >= 0.9 and no look-alike pair fused.
    assert pairs["f1"] >= 0.9 and not m["wrongly_fused"], m
    for pair in m["wrongly_split"]:
        assert pair["event_ids"][0] != pair["event_ids"][1]
