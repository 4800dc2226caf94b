"""The JSON Schemas in ``schemas/`` and everything derived from them.

In: ``schemas/*.schema.json`` (shipped inside the wheel as ``pipelines/schemas``).
Out: the parsed schemas, the enums (event types, statuses and roles per type), a
validator, and the Arrow schema of each published table. Nothing here repeats a
field list: add a field or an event type in ``schemas/`` and it flows through.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

TABLES = ("event", "article", "quarantine", "review")


def schema_dir() -> Traversable:
    """Where the schemas are: inside the installed package, else the source checkout."""
    packaged = resources.files("pipelines") / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"


@cache
def load_schema(name: str = "event") -> dict[str, Any]:
    return json.loads((schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def schema_version() -> str:
    return load_schema("event")["x-schema-version"]


def event_types() -> list[str]:
    return list(load_schema("event")["properties"]["event_type"]["enum"])


def _type_rule(event_type: str) -> dict[str, Any]:
    for rule in load_schema("event").get("allOf", []):
        if rule["if"]["properties"]["event_type"]["const"] == event_type:
            return rule["then"]["properties"]
    raise KeyError(f"no rule for event type {event_type!r} in event.schema.json")


def statuses_for(event_type: str) -> list[str]:
    return list(_type_rule(event_type)["status"]["enum"])


def roles_for(event_type: str) -> list[str]:
    return list(_type_rule(event_type)["actors"]["items"]["properties"]["role"]["enum"])


def extractor_fields() -> list[str]:
    """Fields an extractor fills (everything that is not readOnly)."""
    props = load_schema("event")["properties"]
    return [k for k, v in props.items() if not v.get("readOnly")]


@cache
def validator(name: str = "event"):
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def fast_validator(name: str = "event"):
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(load_schema(name))


def validation_errors(record: dict[str, Any], name: str = "event") -> list[str]:
    """Readable validation errors, each prefixed with the JSON path it concerns.

    The compiled (Rust) validator answers whether a record is valid, about 100x faster than the
    Python one; only an invalid record is explained by the Python validator, whose messages name
    every allowed value (they go into the quarantine and back to the model).
    """
    if fast_validator(name).is_valid(record):
        return []
    errors = sorted(validator(name).iter_errors(record), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


# --- Arrow --------------------------------------------------------------------------


def _arrow_type(spec: dict[str, Any], where: str):
    import pyarrow as pa

    scalars = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
    kind = spec.get("type")
    if kind is None and "enum" in spec:
        kind = "string"
    kinds = [kind] if isinstance(kind, str) else [k for k in (kind or []) if k != "null"]
    if len(kinds) != 1:
        raise ValueError(f"{where}: cannot map JSON Schema type {kind!r} to one Arrow type")
    (kind,) = kinds
    if kind == "string" and spec.get("format") == "date":
        return pa.date32()
    if kind in scalars:
        return scalars[kind]
    if kind == "array":
        return pa.list_(_arrow_type(spec["items"], f"{where}[]"))
    if kind == "object":
        return pa.struct(
            [
                pa.field(name, _arrow_type(sub, f"{where}.{name}"), nullable=True)
                for name, sub in spec["properties"].items()
            ]
        )
    raise ValueError(f"{where}: unsupported JSON Schema type {kind!r}")


@cache
def arrow_schema(name: str = "event"):
    """Arrow schema (pyarrow.Schema) of a published table, derived field by field from its JSON Schema."""
    import pyarrow as pa

    schema = load_schema(name)
    required = set(schema.get("required", []))
    fields = []
    for field, spec in schema["properties"].items():
        t = spec.get("type")
        nullable = field not in required or (isinstance(t, list) and "null" in t)
        fields.append(pa.field(field, _arrow_type(spec, field), nullable=nullable))
    return pa.schema(fields, metadata={"schema_version": schema["x-schema-version"], "table": name})


def arrow_table(rows: list[dict], name: str = "event"):
    """Rows as an Arrow table of a published table's schema."""
    import pyarrow as pa

    dates = _date_fields(name)
    if dates:  # JSON records carry dates as ISO strings; the Parquet column is a real date
        rows = [{**r, **{k: _as_date(r.get(k)) for k in dates}} for r in rows]
    return pa.Table.from_pylist(rows, schema=arrow_schema(name))


@cache
def _date_fields(name: str) -> tuple[str, ...]:
    props = load_schema(name)["properties"]
    return tuple(k for k, v in props.items() if v.get("format") == "date")


def _as_date(value):
    import datetime as dt

    return dt.date.fromisoformat(value) if isinstance(value, str) else value
