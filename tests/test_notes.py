"""The notes column: one English sentence per event written from its fields."""

from pipelines.normalize import acled_columns, middle_date
from pipelines.notes import note


def _resolution(**extra):
    return {
        "event_type": "resolution",
        "status": "adopted",
        "actors": [
            {"role": "body", "name": "United Nations Security Council"},
            {"role": "sponsor", "name": "United Kingdom"},
            {"role": "abstainer", "name": "Russia"},
        ],
        "date": "2024-06-13",
        "date_precision": "day",
        "location": "New York",
        "country": "USA",
        "conflict_country": "SDN",
        "symbol": "S/RES/2736 (2024)",
        "votes_for": 14,
        "votes_against": 0,
        "abstentions": 1,
        "extractor": "rules",
        **extra,
    }


def test_a_note_says_who_did_what_where_when_and_the_status():
    text = note(_resolution())
    assert text == (
        "On 13 June 2024, United Nations Security Council adopted a resolution (S/RES/2736 (2024)) on "
        "Sudan in New York (United States), by 14 to 0 with 1 abstaining, sponsored by United Kingdom "
        "[status: adopted]."
    )


def test_a_call_without_caller_or_date_says_so():
    text = note({"event_type": "ceasefire_call", "status": "called", "actors": [], "date": None})
    assert text == "An unnamed party called for a ceasefire (date not reported) [status: called]."
    month = note(
        {
            "event_type": "ceasefire_call",
            "status": "agreed",
            "date": "2020-04",
            "actors": [
                {"role": "caller", "name": "Libyan National Army"},
                {"role": "addressee", "name": "Turkey"},
            ],
        }
    )
    assert month.startswith("In April 2020, Libyan National Army agreed to a ceasefire addressed to Turkey")


def test_a_delivery_names_supplier_materiel_and_recipient():
    event = {
        "event_type": "arms_delivery",
        "status": "denied",
        "date": "2024-06-10",
        "materiel": "drones",
        "actors": [
            {"role": "supplier", "name": "United Arab Emirates"},
            {"role": "recipient", "name": "Rapid Support Forces"},
        ],
    }
    assert "United Arab Emirates was reported to have delivered (denied) drones to Rapid Support Forces" in (
        note(event)
    )


def test_acled_columns_keep_a_models_note_and_rewrite_ours():
    assert acled_columns(_resolution(notes="stale", extractor="rules"))["notes"].startswith("On 13 June")
    assert (
        acled_columns(_resolution(notes="The model's own.", extractor="llm:m"))["notes"] == "The model's own."
    )


def test_event_date_stands_for_the_middle_of_a_partial_date():
    assert [middle_date(d) for d in ("2020-01-02", "2020-02", "2020", None)] == [
        "2020-01-02",
        "2020-02-15",
        "2020-07-01",
        None,
    ]
