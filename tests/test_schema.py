import pyarrow as pa
import pytest

from pipelines import schema


def test_examples_in_the_schema_are_valid_and_grounded_in_their_own_quotes():
    examples = schema.load_schema("event")["examples"]
    assert examples
    for ex in examples:
        assert schema.validation_errors(ex) == []
        for ev in ex["evidence"]:
            assert ev["end"] - ev["start"] == len(ev["quote"])


@pytest.mark.parametrize("table", schema.TABLES)
def test_arrow_schema_has_exactly_the_json_schema_fields(table):
    js = schema.load_schema(table)
    arrow = schema.arrow_schema(table)
    assert arrow.names == list(js["properties"])
    for name, spec in js["properties"].items():
        t = spec.get("type")
        kinds = {t} if isinstance(t, str) else set(t or ["string"])
        field = arrow.field(name)
        if "array" in kinds:
            assert pa.types.is_list(field.type)
        elif "integer" in kinds:
            assert pa.types.is_int64(field.type)
        elif "boolean" in kinds:
            assert pa.types.is_boolean(field.type)
        elif "number" in kinds:
            assert pa.types.is_floating(field.type)
        elif "object" in kinds:
            assert pa.types.is_struct(field.type)
        elif spec.get("format") == "date":  # a real date column, not text
            assert pa.types.is_date32(field.type)
        else:
            assert pa.types.is_string(field.type)


def test_evidence_is_a_list_of_structs_with_the_documented_names():
    ev = schema.arrow_schema("event").field("evidence").type
    assert [f.name for f in ev.value_type] == ["article_id", "quote", "start", "end"]


def test_statuses_and_roles_are_read_per_type_from_the_schema():
    assert set(schema.event_types()) == {"ceasefire_call", "resolution", "arms_delivery"}
    assert "vetoed" in schema.statuses_for("resolution")
    assert "vetoed" not in schema.statuses_for("arms_delivery")
    assert schema.roles_for("arms_delivery") == ["supplier", "recipient"]
    all_statuses = set(schema.load_schema()["properties"]["status"]["enum"])
    assert all_statuses == {s for t in schema.event_types() for s in schema.statuses_for(t)}


def test_a_status_or_role_of_another_type_is_rejected():
    bad = {
        "event_type": "ceasefire_call",
        "status": "adopted",
        "date": None,
        "date_precision": "unknown",
        "actors": [{"role": "supplier", "name": "France"}],
        "evidence": [{"article_id": "a", "quote": "x", "start": 0, "end": 1}],
    }
    errors = schema.validation_errors(bad)
    assert any(e.startswith("status") for e in errors)
    assert any(e.startswith("actors/0/role") for e in errors)


def test_readonly_fields_are_not_for_extractors():
    fields = schema.extractor_fields()
    assert "event_type" in fields and "evidence" in fields
    assert "event_id" not in fields and "run_id" not in fields
