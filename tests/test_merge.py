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


def groups(events: list[dict], published: dict | None = None) -> list[set[str]]:
    return sorted(
        ({x["article_id"] for x in ev["evidence"]} for ev in merge_sources(events, published)), key=sorted
    )


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


CALLERS = {"caller": ["Egypt", "Qatar"]}


def test_an_undated_report_joins_the_one_dated_event_with_the_same_identity():
    events = [
        mention("a", "ceasefire_call", "proposed", "2025-04-27", CALLERS, conflict_country="PSE"),
        mention("b", "ceasefire_call", "proposed", None, CALLERS, conflict_country="PSE"),
        mention("c", "resolution", "adopted", "2025-03-13", COUNCIL, symbol="S/RES/2786 (2025)"),
        mention("d", "resolution", "adopted", None, COUNCIL, symbol="2786"),
        mention("e", "resolution", "adopted", None, COUNCIL),  # no symbol: weak, stays alone
    ]
    assert groups(events) == [{"a", "b"}, {"c", "d"}, {"e"}]
    (call,) = [ev for ev in merge_sources(events) if ev["event_type"] == "ceasefire_call"]
    assert call["date"] == "2025-04-27" and call["source_count"] == 2


def test_an_undated_report_that_fits_two_dated_events_or_only_another_undated_one_joins_none():
    events = [
        mention("a", "ceasefire_call", "called", "2025-02-24", CALLERS, conflict_country="SDN"),
        mention("b", "ceasefire_call", "called", "2025-10-06", CALLERS, conflict_country="SDN"),
        mention("c", "ceasefire_call", "called", None, CALLERS, conflict_country="SDN"),
        mention("d", "ceasefire_call", "called", None, {"caller": ["France"]}, conflict_country="SDN"),
        mention("e", "ceasefire_call", "called", None, {"caller": ["France"]}, conflict_country="SDN"),
    ]
    assert groups(events) == [{"a"}, {"b"}, {"c"}, {"d"}, {"e"}]
    # Its article's publication date picks the call it reports: the one of the weeks before.
    assert groups(events[:3], published={"c": "2025-10-08"}) == [{"a"}, {"b", "c"}]


def test_an_undated_veto_joins_the_dated_veto_by_the_same_state_on_the_same_conflict():
    vetoed = {**COUNCIL, "opposer": ["Russia"]}
    events = [
        mention("a", "resolution", "vetoed", "2025-06-18", vetoed, conflict_country="YEM"),
        mention("b", "resolution", "vetoed", None, vetoed, conflict_country="YEM"),
        mention("c", "resolution", "vetoed", None, {**COUNCIL, "opposer": ["China"]}, conflict_country="YEM"),
        mention("d", "resolution", "vetoed", None, vetoed, conflict_country="SYR"),
    ]
    assert groups(events, published={"b": "2025-07-01"}) == [{"a", "b"}, {"c"}, {"d"}]
    # Published before the veto: it cannot be reporting it.
    assert groups(events[:2], published={"b": "2025-06-01"}) == [{"a"}, {"b"}]


def test_publication_joins_an_undated_report_to_its_dated_event_and_keeps_the_events_id(tmp_path):
    import pandas as pd

    from pipelines.build import build

    inp, out = tmp_path / "in", tmp_path / "o"
    inp.mkdir()
    (inp / "a.txt").write_text(
        "Truce plan\n\nOn 27 April 2025, Egypt and Qatar called for a ceasefire in Gaza.\n",
        encoding="utf-8",
    )
    (inp / "manifest.csv").write_text(
        "file,published,outlet,language\na.txt,2025-04-28,Nile Wire,en\nb.txt,,Gulf Desk,en\n",
        encoding="utf-8",
    )
    assert build([inp], out, extractor="rules").error is None
    (first,) = pd.read_parquet(out / "events")["event_id"]
    (inp / "b.txt").write_text(
        "Mediators\n\nEgypt and Qatar called for a ceasefire in Gaza.\n", encoding="utf-8"
    )
    assert build([inp], out, extractor="rules").error is None
    events = pd.read_parquet(out / "events")
    assert list(events["event_id"]) == [first] and list(events["source_count"]) == [2]
    (row,) = events.to_dict("records")
    assert list(row["outlets"]) == ["Gulf Desk", "Nile Wire"] and list(row["languages"]) == ["en"]
    assert row["first_reported"] == row["last_reported"] == "2025-04-28"
    arts = pd.read_parquet(out / "articles").set_index("source")
    assert arts.loc[str(inp / "b.txt"), "n_events"] == 1


def test_a_draft_and_its_adoption_the_same_day_are_one_event_a_veto_and_a_later_adoption_two():
    events = [
        mention("a", "resolution", "drafted", "2025-06-30", COUNCIL),
        mention("b", "resolution", "adopted", "2025-06-30", COUNCIL),
        mention("c", "resolution", "vetoed", "2025-06-18", COUNCIL),
        mention("d", "resolution", "adopted", "2025-06", COUNCIL),
    ]
    merged = merge_sources(events)
    assert groups(events) == [{"a", "b", "d"}, {"c"}]
    assert {ev["status"] for ev in merged} == {"adopted", "vetoed"}


def test_a_merged_event_keeps_the_values_its_sources_disagree_on():
    events = [
        mention(
            "a", "ceasefire_call", "called", "2025-04-27", CALLERS, conflict_country="PSE", location="Cairo"
        ),
        mention("b", "ceasefire_call", "called", "2025-04", CALLERS, conflict_country="PSE", location="Doha"),
    ]
    (merged,) = merge_sources(events)
    assert merged["date"] == "2025-04-27"  # the more precise date is no disagreement
    assert merged["conflicts"] == [{"field": "location", "values": ["Cairo", "Doha"]}]


def test_when_two_published_events_become_one_the_vanished_id_is_an_alias_of_the_one_kept(tmp_path):
    import pandas as pd

    from pipelines.build import build
    from pipelines.publish import remove

    inp, out = tmp_path / "in", tmp_path / "o"
    inp.mkdir()
    call = "Egypt and Qatar called for a ceasefire in Gaza"
    (inp / "a.txt").write_text(f"Plan\n\nOn 27 April 2025, {call}.\n", encoding="utf-8")
    (inp / "c.txt").write_text(f"Again\n\nOn 2 May 2025, {call}.\n", encoding="utf-8")
    (inp / "b.txt").write_text(f"Mediators\n\n{call}.\n", encoding="utf-8")  # undated: either call
    (inp / "manifest.csv").write_text(
        "file,published\na.txt,2025-04-28\nc.txt,2025-05-03\n", encoding="utf-8"
    )
    assert build([inp], out, extractor="rules").error is None
    before = set(pd.read_parquet(out / "events")["event_id"])
    assert len(before) == 3 and len(pd.read_parquet(out / "event_aliases")) == 0
    remove(out, [str(inp / "c.txt")])  # now b.txt can only be the April call: the two become one
    (kept,) = pd.read_parquet(out / "events")["event_id"]
    aliases = pd.read_parquet(out / "event_aliases")
    assert len(aliases) == 1 and aliases["event_id"].tolist() == [kept]
    assert aliases["old_event_id"].iloc[0] in before - {kept}
    # A later version keeps the alias.
    (inp / "d.txt").write_text("Weather\n\nIt rained in Tunis.\n", encoding="utf-8")
    assert build([inp / "d.txt"], out, extractor="rules").error is None
    assert pd.read_parquet(out / "event_aliases")["old_event_id"].tolist() == aliases["old_event_id"].tolist()


def test_the_merge_stage_stages_a_version_and_publication_merges_again_if_the_store_changed(tmp_path):
    import pandas as pd

    from pipelines.build import build
    from pipelines.publish import prepare, publish

    out = tmp_path / "o"
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, text in (
        (a, "Plan\n\nOn 27 April 2025, Egypt and Qatar called for a ceasefire in Gaza.\n"),
        (b, "Vote\n\nOn 2 May 2025, the Security Council adopted resolution 2799 on Sudan.\n"),
    ):
        folder.mkdir()
        (folder / "x.txt").write_text(text, encoding="utf-8")
    assert build([a], out, extractor="rules").error is None
    summary = {"articles": 1, "read": 1, "extracted": 0, "unchanged": 1, "failed": 0, "carried": 0}
    summary |= {"failed_reasons": [], "rejected_reasons": {}, "ignored": [], "inputs": []}
    merged = prepare(out, [summary], "20990101T000000Z-merge1")
    assert merged.events_by_type == {"ceasefire_call": 1} and merged.current()
    staged = pd.read_parquet(merged.folder)
    assert staged["event_type"].tolist() == ["ceasefire_call"]
    assert pd.read_parquet(out / "events")["run_id"].iloc[0] != merged.run_id  # staged, not published
    # Another build stores (and publishes) a resolution meanwhile: the staged merge is stale.
    assert build([b], out, extractor="rules").error is None
    assert not merged.current()
    published = publish(out, [summary], merged=merged)
    events = pd.read_parquet(out / "events")
    assert sorted(events["event_type"]) == ["ceasefire_call", "resolution"]
    assert set(events["run_id"]) == {merged.run_id} == {published.run_id}


def test_a_report_dated_to_the_year_only_joins_the_one_event_of_that_year_it_can_be():
    calls = {"caller": ["France", "Germany"]}
    one = [
        mention("a", "ceasefire_call", "called", "2025-02-24", calls, conflict_country="SDN"),
        mention("b", "ceasefire_call", "called", "2025", calls, conflict_country="SDN"),
    ]
    assert groups(one) == [{"a", "b"}]
    two = [*one, mention("c", "ceasefire_call", "called", "2025-10-06", calls, conflict_country="SDN")]
    assert groups(two) == [{"a"}, {"b"}, {"c"}]  # February's or October's: it joins neither


def test_a_block_explained_by_a_veto_is_one_event_a_veto_and_another_texts_failed_vote_two():
    explained = [
        mention("a", "resolution", "blocked", "2025-06-18", COUNCIL),
        mention("b", "resolution", "vetoed", "2025-06-18", COUNCIL),
    ]
    merged = merge_sources(explained)
    assert [ev["status"] for ev in merged] == ["vetoed"]
    rival = [
        mention("a", "resolution", "vetoed", "2025-06-18", COUNCIL),
        mention("b", "resolution", "failed", "2025-06-18", COUNCIL),
    ]
    assert groups(rival) == [{"a"}, {"b"}]


def test_an_organisations_official_and_the_organisation_calling_in_one_article_are_one_call():
    from pipelines.merge import coreference

    au = mention("a", "ceasefire_call", "called", None, {"caller": ["African Union"]})
    faki = mention("a", "ceasefire_call", "called", None, {"caller": ["Moussa Faki Mahamat"]})
    faki["evidence"] = [{"article_id": "a", "start": 20, "end": 30, "quote": "r"}]
    other = mention("a", "ceasefire_call", "called", None, {"caller": ["Antonio Guterres"]})
    merged = coreference([au, faki, other])
    assert [len(ev["evidence"]) for ev in merged] == [2, 1]


def test_values_taken_from_a_column_read_file_by_file_are_those_at_the_rows_asked():
    import pyarrow as pa

    from pipelines.merged import _take

    column = pa.chunked_array([["a", "b"], [], ["c"], ["d", "e", "f"]])
    assert _take(column, [0, 2, 3, 5]) == ["a", "c", "d", "f"]
    assert _take(column, []) == []
    assert _take(column, [1, 4]) == column.take(pa.array([1, 4])).to_pylist()
