"""One row per real event across sources: identity by type (symbols, materiel), and look-alikes kept
apart. Mentions are built by hand here; the merge development set (tests/data/merge/) measures it."""

from __future__ import annotations

from pipelines.merge import merge_sources


def mention(article: str, kind: str, status: str, date: str | None, actors: dict, **fields) -> dict:
    return {
        "event_type": kind,
        "status": status,
        "date": date,
        "date_precision": {10: "day", 7: "month", 4: "year"}.get(len(date or ""), "unknown"),
        "actors": [{"role": r, "name": n, "actor_type": "state"} for r, ns in actors.items() for n in ns],
        "evidence": [{"article_id": article, "start": 0, "end": 10, "quote": "q"}],
        "confidence": 0.8,
        **fields,
    }


COUNCIL = {"body": ["United Nations Security Council"]}


def groups(events: list[dict]) -> list[set[str]]:
    return sorted(({x["article_id"] for x in ev["evidence"]} for ev in merge_sources(events)), key=sorted)


def test_two_resolutions_adopted_the_same_day_stay_two_and_a_symbol_written_two_ways_is_one():
    events = [
        mention("a", "resolution", "adopted", "2025-03-13", COUNCIL, symbol="S/RES/2786 (2025)"),
        mention("b", "resolution", "adopted", "2025-03-13", COUNCIL, symbol="2787"),
        mention("c", "resolution", "adopted", "2025-03-13", COUNCIL, symbol="2786"),
        mention("d", "resolution", "adopted", "2025-03-13", COUNCIL, symbol="S/RES/2787 (2025)"),
    ]
    assert groups(events) == [{"a", "c"}, {"b", "d"}]


def test_resolutions_without_symbols_on_different_topics_stay_apart():
    events = [
        mention("a", "resolution", "adopted", "2025-03-13", COUNCIL, topics=["ceasefire"]),
        mention("b", "resolution", "adopted", "2025-03-13", COUNCIL, topics=["sanctions", "arms_embargo"]),
        mention(
            "c", "resolution", "adopted", "2025-03-13", COUNCIL, topics=["ceasefire", "humanitarian_access"]
        ),
    ]
    assert groups(events) == [{"a", "c"}, {"b"}]


def test_one_shipment_told_with_different_words_for_its_materiel_is_one_and_troops_are_not_mercenaries():
    sides = {"supplier": ["Turkey"], "recipient": ["Government of National Unity"]}
    events = [
        mention(
            "a",
            "arms_delivery",
            "alleged",
            "2025-04-06",
            sides,
            materiel="armoured vehicles and air-defence systems",
        ),
        mention(
            "b",
            "arms_delivery",
            "alleged",
            "2025-04",
            sides,
            materiel="military vehicles and air-defence equipment",
        ),
        mention("c", "arms_delivery", "alleged", "2025-04-06", sides, materiel="troops"),
        mention("d", "arms_delivery", "alleged", "2025-04-06", sides, materiel="mercenaries"),
    ]
    assert groups(events) == [{"a", "b"}, {"c"}, {"d"}]
