"""The LLM prompt and response format, generated from ``schemas/`` and ``data/llm_prompt.yaml``.

In: the event JSON Schema, the instructions and the few-shot example, and the pieces of articles
to send in one call (each a text, its publication date and which part of its article it is).
Out: the chat messages, the response format (the event record without its ``readOnly`` fields,
evidence as quotes only: offsets are found by grounding, never trusted from a model; each event
names the article it is in by the key its marker gives), and a prompt version that changes
whenever any of these change (it is part of the cache key).

What is sent per call is a fixed prefix (instructions, type guide, example: byte-identical across
calls, so providers' prefix caches apply) and then the articles. The schema goes once, as the
response format, in json_schema mode; only the other modes restate it in the instructions.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache

from pipelines.data import load_yaml
from pipelines.schema import (
    event_types,
    extractor_fields,
    load_schema,
    roles_for,
    schema_version,
    statuses_for,
)

# Fields a model does not fill: provenance set by the pipeline.
_NOT_FROM_MODEL = {"extractor", "confidence"}
# The field by which each event of an answer names its article (a key of this call, not a record field).
ARTICLE_KEY = "article"
# Fields the instructions or the type guide already explain: the field guide skips them.
_EXPLAINED = {
    ARTICLE_KEY,
    "event_type",
    "status",
    "actors",
    "evidence",
    "date",
    "location",
    "country",
    "conflict_country",
}

Piece = tuple[str, str | None, str]  # (text, publication date, part label such as "part 2 of 3")


def article_key(i: int) -> str:
    """The key of the i-th article (from 0) of a call: A1, A2, ..."""
    return f"A{i + 1}"


@cache
def response_schema() -> dict:
    """JSON Schema of the model's answer: {"events": [event, ...]}, each event naming its article."""
    event = load_schema("event")
    props = {
        ARTICLE_KEY: {
            "type": "string",
            "description": "Key of the article the event is in, as its marker gives it (A1, A2, ...).",
        }
    }
    for name in extractor_fields():
        if name in _NOT_FROM_MODEL:
            continue
        spec = copy.deepcopy(event["properties"][name])
        if name == "evidence":
            spec["items"] = {
                "type": "object",
                "additionalProperties": False,
                "required": ["quote"],
                "properties": {"quote": event["properties"]["evidence"]["items"]["properties"]["quote"]},
            }
        if name == "actors":
            spec["items"]["required"] = ["role", "name"]
            spec["items"]["properties"] = {k: spec["items"]["properties"][k] for k in ("role", "name")}
        props[name] = spec
    item = {
        "type": "object",
        "additionalProperties": False,
        "required": [ARTICLE_KEY, *(f for f in event["required"] if f in props)],
        "properties": props,
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": item}},
    }


def _strip_descriptions(node):
    if isinstance(node, dict):
        return {k: _strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


@cache
def model_schema() -> dict:
    """The response schema as sent: without descriptions (the field guide of the prompt has them)."""
    return _strip_descriptions(response_schema())


@cache
def compact_schema() -> str:
    return json.dumps(model_schema(), ensure_ascii=False, separators=(",", ":"))


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=\.)\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]


def _type_guide() -> str:
    event = load_schema("event")
    lines = ["Event types:", event["properties"]["event_type"]["description"]]
    for t in event_types():
        lines.append(f"- {t}: status {'|'.join(statuses_for(t))}; roles {'|'.join(roles_for(t))}")
    lines.append("Other fields (null or absent when the text does not say):")
    for name, spec in response_schema()["properties"]["events"]["items"]["properties"].items():
        if name not in _EXPLAINED and spec.get("description"):
            lines.append(f"- {name}: {_first_sentence(spec['description'])}")
    return "\n".join(lines)


@cache
def system_prompt() -> str:
    spec = load_yaml("llm_prompt.yaml")
    return f"{spec['instructions'].strip()}\n\n{_type_guide()}"


def articles_block(pieces: list[Piece]) -> str:
    """The user message of one call: every piece between its markers, with its key and date."""
    out = []
    for i, (text, published, part) in enumerate(pieces):
        head = f"<<<ARTICLE {article_key(i)} published {published or 'unknown'}"
        out.append(f"{head}{f' {part}' if part else ''}\n{text}\nARTICLE>>>")
    return "\n\n".join(out)


@cache
def examples() -> list[dict]:
    msgs = []
    for ex in load_yaml("llm_prompt.yaml").get("examples", []):
        pieces = [(a["text"].strip(), a.get("published"), "") for a in ex["articles"]]
        msgs.append({"role": "user", "content": articles_block(pieces)})
        msgs.append(
            {
                "role": "assistant",
                "content": json.dumps(ex["answer"], ensure_ascii=False, separators=(",", ":")),
            }
        )
    return msgs


@cache
def prompt_version() -> str:
    material = json.dumps([system_prompt(), examples(), model_schema(), schema_version()], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:12]


def response_format(mode: str) -> dict | None:
    """The ``response_format`` argument of a call in ``mode`` (None: the prompt carries the format)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "events", "schema": model_schema(), "strict": False},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def messages(pieces: list[Piece], mode: str) -> list[dict]:
    """Chat messages for one call over ``pieces``. Modes other than json_schema add the schema to
    the instructions, since their response format cannot carry it."""
    system = system_prompt()
    if mode != "json_schema":
        system += "\n\nThe answer must follow this JSON Schema:\n" + compact_schema()
    return [
        {"role": "system", "content": system},
        *examples(),
        {"role": "user", "content": articles_block(pieces)},
    ]


def characters_sent(msgs: list[dict], mode: str) -> int:
    """Characters of one request: every message plus the response format."""
    fmt = response_format(mode)
    sent = sum(len(m["content"]) for m in msgs)
    return sent + (len(json.dumps(fmt, ensure_ascii=False, separators=(",", ":"))) if fmt else 0)


def repair_message(errors: list[str]) -> dict:
    shown = "\n".join(f"- {e}" for e in errors[:20])
    return {
        "role": "user",
        "content": "Your answer is not valid:\n"
        f"{shown}\nAnswer again with the corrected JSON object only, following the schema.",
    }
