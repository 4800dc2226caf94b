"""Reviewers' decisions on published events, kept with the dataset and applied to every version.

In: decisions (event id, accept / reject / set FIELD=VALUE, note, reviewer, time), from the command
line or a JSONL or CSV file. They are appended to a Delta table in the output (``review_log/``), so
they outlive every rebuild. Out: ``apply`` changes a staged version's events: a rejected event leaves
``events``, a corrected field shows the reviewer's value, and every event gets ``review_status``
(unreviewed, accepted, corrected). A decision names an event by any id it ever had: ids that merged
into another event are followed through ``event_aliases``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.schema import arrow_schema, arrow_table, load_schema, statuses_for

DECISIONS = ("accept", "reject", "set")
# Fields the pipeline derives or owns: a reviewer corrects what they are made from instead.
NOT_SETTABLE = {
    "event_id", "event_type", "event_date", "schema_version", "run_id", "extractor", "source_count",
    "review_status", "outlets", "languages", "first_reported", "last_reported", "conflicts",
}  # fmt: skip


class ReviewError(ValueError):
    """A decision that cannot be taken: one line naming the decision (and its file and line)."""


def log_path(output: Path) -> Path:
    return Path(output) / "review_log"


def settable_fields() -> dict[str, dict]:
    """Event fields a reviewer may set: the schema's scalar fields the pipeline does not derive."""
    props = load_schema("event")["properties"]
    scalar = {"string", "integer", "number", "boolean", "null"}
    out = {}
    for name, spec in props.items():
        kinds = spec.get("type", "string")
        kinds = {kinds} if isinstance(kinds, str) else set(kinds)
        if name not in NOT_SETTABLE and kinds <= scalar:
            out[name] = spec
    return out


def parse_value(field: str, text: str | None):
    """The reviewer's text read with the field's type ('' and 'null' are null)."""
    spec = settable_fields()[field]
    if text is None or text.strip() in ("", "null"):
        return None
    kinds = spec.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    try:
        if "integer" in kinds:
            return int(text)
        if "number" in kinds:
            return float(text)
        if "boolean" in kinds:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
    except ValueError:
        raise ReviewError(
            f"{field}={text}: not {'an' if kinds[0][0] in 'aeiou' else 'a'} {kinds[0]}"
        ) from None
    return text


def check_value(event_type: str, field: str, value) -> None:
    """Raise ReviewError when ``value`` is not allowed in ``field`` of an event of ``event_type``."""
    from jsonschema import Draft202012Validator

    if field == "status" and value not in statuses_for(event_type):
        raise ReviewError(f"status={value}: a {event_type} is one of {', '.join(statuses_for(event_type))}")
    errors = list(Draft202012Validator(settable_fields()[field]).iter_errors(value))
    if errors:
        raise ReviewError(f"{field}={value}: {errors[0].message}")


def decision(
    event_id: str,
    kind: str,
    field: str | None = None,
    value: str | None = None,
    note: str | None = None,
    reviewer: str | None = None,
    time: str | None = None,
) -> dict:
    """One decision record, checked for its form (not yet against the dataset)."""
    if kind not in DECISIONS:
        raise ReviewError(f"decision {kind!r}: not one of {', '.join(DECISIONS)}")
    if not event_id:
        raise ReviewError("a decision needs an event_id")
    if kind == "set":
        if field not in settable_fields():
            raise ReviewError(f"field {field!r}: not one a reviewer can set ({', '.join(settable_fields())})")
        parse_value(field, value)
    else:
        field = value = None
    when = time or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {"event_id": event_id, "decision": kind, "field": field, "value": value, "note": note or None,
            "reviewer": reviewer or None, "time": when}  # fmt: skip


def read_file(path: Path) -> list[dict]:
    """Decisions from a JSONL or CSV file (columns event_id, decision, field, value, note, reviewer,
    time); a bad record is a ReviewError naming the file and line."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        records = [(i, r) for i, r in enumerate(csv.DictReader(text.splitlines()), start=2)]
    else:
        records = []
        for i, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append((i, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise ReviewError(f"{path}:{i}: not JSON ({e.msg})") from None
    out = []
    for i, r in records:
        try:
            out.append(decision(
                str(r.get("event_id") or ""), str(r.get("decision") or ""), r.get("field") or None,
                None if r.get("value") is None else str(r.get("value")), r.get("note"), r.get("reviewer"),
                r.get("time") or None,
            ))  # fmt: skip
        except ReviewError as e:
            raise ReviewError(f"{path}:{i}: {e}") from None
    return out


def load(output: Path) -> list[dict]:
    """Every decision kept with the dataset, oldest first."""
    from deltalake import DeltaTable

    where = log_path(output)
    if not (where / "_delta_log").is_dir():
        return []
    rows = DeltaTable(str(where)).to_pyarrow_table().to_pylist()
    return sorted(rows, key=lambda r: r["time"])


def add(output: Path, decisions: list[dict]) -> None:
    """Append ``decisions`` to the dataset's review log (one commit). The caller holds the lock."""
    from deltalake import write_deltalake

    rows = [{**d, "run_id": None} for d in decisions]
    where = log_path(output)
    mode = "append" if (where / "_delta_log").is_dir() else "overwrite"
    write_deltalake(str(where), arrow_table(rows, "review"), mode=mode)


def resolve(event_id: str, present: set[str], aliases: dict[str, str]) -> str | None:
    """The id ``event_id`` has in this version: itself, or the event it merged into."""
    seen = set()
    while event_id not in present and event_id in aliases and event_id not in seen:
        seen.add(event_id)
        event_id = aliases[event_id]
    return event_id if event_id in present else None


def apply(folder: Path, decisions: list[dict], aliases: dict[str, str]) -> tuple[Counter, Counter]:
    """Apply ``decisions`` to the event files under ``folder`` (a staged version's events), rewriting
    them. Every event gets review_status. Returns the rejected events by type and, per article, how
    many published events no longer cite it."""
    from pipelines.normalize import middle_date
    from pipelines.notes import note

    files = sorted(Path(folder).rglob("*.parquet"))
    present: set[str] = set()
    for f in files:
        present.update(pq.read_table(f, columns=["event_id"]).column("event_id").to_pylist())
    verdict: dict[str, str] = {}
    sets: dict[str, dict[str, str | None]] = {}
    for d in decisions:
        target = resolve(d["event_id"], present, aliases)
        if target is None:
            continue  # its event is gone (its articles were removed): nothing to apply it to
        if d["decision"] == "set":
            sets.setdefault(target, {})[d["field"]] = d["value"]
        else:
            verdict[target] = d["decision"]
    rejected, uncited = Counter(), Counter()
    for f in files:
        rows = pq.read_table(f).to_pylist()
        kept = []
        for row in rows:
            eid = row["event_id"]
            if verdict.get(eid) == "reject":
                rejected[row["event_type"]] += 1
                uncited.update({x["article_id"] for x in row["evidence"]})
                continue
            changed = False
            for field, text in (sets.get(eid) or {}).items():
                value = parse_value(field, text)
                try:
                    check_value(row["event_type"], field, value)
                except ReviewError:
                    continue  # checked when it was given; a later schema may refuse it: keep the data
                row[field] = value
                changed = True
                if field == "date":
                    row["date_precision"] = {1: "year", 2: "month", 3: "day"}.get(
                        len(value.split("-")) if value else 0, "unknown"
                    )
                    row["event_date"] = middle_date(value)
            if changed and "notes" not in sets[eid] and not str(row.get("extractor") or "").startswith("llm"):
                row["notes"] = note(row)  # our note says what the event now holds
            row["review_status"] = (
                "corrected" if changed else "accepted" if verdict.get(eid) == "accept" else "unreviewed"
            )
            kept.append(row)
        if kept or len(files) == 1:
            pq.write_table(arrow_table(kept, "event"), f, compression="zstd")
        else:
            f.unlink()
    return rejected, uncited


def published_rows(decisions: list[dict], run_id: str) -> list[dict]:
    """The ``reviews`` table of a version: every decision, with the version's run id."""
    names = arrow_schema("review").names
    return [{**{k: d.get(k) for k in names}, "run_id": run_id} for d in decisions]
