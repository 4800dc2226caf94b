"""Merge mentions of one real-world event: within an article, then across sources.

In: event records (schema shape) with evidence. Out: fewer records, each with
the union of its mentions' evidence and actors, the strongest status (the order
of each type's status list in the schema), the most precise date, and a stable
``event_id`` and ``source_count`` once merged across sources.

Within an article (``coreference``) mentions merge when their type and key
actors agree (the body of a resolution, the callers of a ceasefire call, the
supplier or recipient of a delivery) and their dates do not conflict. Across
articles (``merge_sources``) the date must also be known and equal, since an
undated "Russia called for a ceasefire" in two articles may be two calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from pipelines.normalize.dates import PRECISION_RANK
from pipelines.schema import statuses_for

# Roles that identify an event: the body that acts, who calls, who sends (else who receives).
_KEY_ROLES = {
    "resolution": ("body",),
    "ceasefire_call": ("caller",),
    "arms_delivery": ("supplier", "recipient"),
}
_GEO = ("location", "admin1", "latitude", "longitude", "geo_precision", "country")


def _keys(ev: dict) -> tuple[set[str], frozenset[str]]:
    """Names in the first key role that has any, and the set of their states."""
    for role in _KEY_ROLES.get(ev["event_type"], ()):
        actors = [a for a in ev.get("actors", []) if a["role"] == role]
        if actors:
            # A state and its officials stand for each other; armed groups of one country do not.
            states = frozenset(
                a.get("iso3") if a.get("actor_type") in {"state", "official"} and a.get("iso3") else a["name"]
                for a in actors
            )
            return {a["name"] for a in actors}, states
    return set(), frozenset()


def _dates_agree(a: dict, b: dict, strict: bool) -> bool:
    da, db = a.get("date"), b.get("date")
    if not da or not db:
        return not strict
    return da.startswith(db) or db.startswith(da)


def _materiel_list(ev: dict) -> list[str]:
    raw = (ev.get("materiel") or "").replace(" and ", ",").replace(";", ",")
    return [m.strip() for m in raw.split(",") if m.strip()]


def _materiel(ev: dict) -> set[str]:
    return set(_materiel_list(ev))


def same_event(a: dict, b: dict, cross_source: bool = False) -> bool:
    if a["event_type"] != b["event_type"]:
        return False
    if not _dates_agree(a, b, strict=cross_source):
        return False
    if cross_source and a["status"] != b["status"]:
        return False
    if a["event_type"] == "resolution" and a["status"] != b["status"]:
        # Adopted one day, vetoed another: two acts. A draft and its outcome, or a failure told as a
        # block, are one.
        pair = {a["status"], b["status"]}
        if "drafted" not in pair and pair != {"failed", "blocked"}:
            return False
    if (
        a["event_type"] == "ceasefire_call"
        and "rejected" in {a["status"], b["status"]}
        and a["status"] != b["status"]
    ):
        return False  # one side rejecting a truce and another accepting or proposing it are two acts
    if a["event_type"] == "arms_delivery":
        # One supplier's troops and, separately, its mercenaries are two deliveries; so are an
        # approval and a delivery that actually happened.
        ma, mb = _materiel(a), _materiel(b)
        if ma and mb and not ma & mb:
            return False
        if {a["status"], b["status"]} == {"authorised", "confirmed"} and min(
            a.get("confidence") or 0, b.get("confidence") or 0
        ) >= 0.7:
            return False
    (na, ia), (nb, ib) = _keys(a), _keys(b)
    # Shared actor, or the same states ("the Russian and Turkish presidents" = Putin and Erdogan).
    return bool(na & nb) or (bool(ia) and ia == ib)


def combine(a: dict, b: dict) -> dict:
    """One record from two mentions of the same event (a's values win ties)."""
    out = dict(a)
    order = statuses_for(a["event_type"])
    ca, cb = a.get("confidence") or 0, b.get("confidence") or 0
    if a["status"] != b["status"] and ca != cb:
        out["status"] = a["status"] if ca > cb else b["status"]  # an explicit cue beats a default
    else:
        out["status"] = min(a["status"], b["status"], key=order.index)
    seen = {(x["role"], x["name"]) for x in a.get("actors", [])}
    out["actors"] = list(a.get("actors", [])) + [
        x for x in b.get("actors", []) if (x["role"], x["name"]) not in seen
    ]
    if a["event_type"] == "resolution":
        # One actor, one stance on a text: objecting or abstaining is said explicitly, sponsoring
        # and supporting are read from weaker cues ("presented", "backed").
        rank = {r: i for i, r in enumerate(("body", "opposer", "abstainer", "sponsor", "supporter"))}
        best: dict[str, str] = {}
        for x in out["actors"]:
            if x["name"] not in best or rank.get(x["role"], 9) < rank.get(best[x["name"]], 9):
                best[x["name"]] = x["role"]
        out["actors"] = [x for x in out["actors"] if best[x["name"]] == x["role"]]
    # A person subsumes their own state in the same role (Putin over Russia).
    people = {(x["role"], x.get("iso3")) for x in out["actors"] if x.get("actor_type") == "official"}
    out["actors"] = [
        x
        for x in out["actors"]
        if not (x.get("actor_type") == "state" and (x["role"], x.get("iso3")) in people)
    ]
    ev_seen = {(x["article_id"], x["start"], x["end"]) for x in a["evidence"]}
    out["evidence"] = list(a["evidence"]) + [
        x for x in b["evidence"] if (x["article_id"], x["start"], x["end"]) not in ev_seen
    ]
    rank_a, rank_b = (PRECISION_RANK[e.get("date_precision") or "unknown"] for e in (a, b))
    if rank_b > rank_a:
        out["date"], out["date_precision"] = b.get("date"), b.get("date_precision")
    if out.get("location") is None and b.get("location") is not None:
        out.update({k: b.get(k) for k in _GEO})
    for key in (
        "country",
        "conflict_country",
        "symbol",
        "votes_for",
        "votes_against",
        "abstentions",
        "materiel",
        "notes",
    ):
        if out.get(key) is None and b.get(key) is not None:
            out[key] = b[key]
    if "topics" in a or "topics" in b:
        out["topics"] = list(dict.fromkeys([*(a.get("topics") or []), *(b.get("topics") or [])]))
    if out.get("mode") in (None, "unknown") and b.get("mode") not in (None, "unknown"):
        out["mode"] = b["mode"]
    if a.get("embargo_violation_claimed") or b.get("embargo_violation_claimed"):
        out["embargo_violation_claimed"] = True
    items = list(dict.fromkeys([*_materiel_list(a), *_materiel_list(b)]))
    if items:
        out["materiel"] = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    conf = [c for c in (a.get("confidence"), b.get("confidence")) if c is not None]
    if conf:
        out["confidence"] = round(min(1.0, max(conf) + 0.1), 3)
    return out


def _cluster(events: Iterable[dict], cross_source: bool) -> list[dict]:
    merged: list[dict] = []
    # Across sources only events of one type, status and year can merge: compare within those buckets.
    buckets: dict[tuple, list[int]] = {}
    for ev in events:
        key = (ev["event_type"], ev["status"], (ev.get("date") or "")[:4]) if cross_source else ()
        if cross_source and not ev.get("date"):
            merged.append(ev)  # an undated event never merges across sources
            continue
        for i in buckets.get(key, []):
            if same_event(merged[i], ev, cross_source):
                merged[i] = combine(merged[i], ev)
                break
        else:
            buckets.setdefault(key, []).append(len(merged))
            merged.append(ev)
    return merged


def coreference(events: list[dict]) -> list[dict]:
    """Merge the mentions of one event within an article."""
    return _cluster(events, cross_source=False)


def merge_chunk_duplicates(chunks: list[list[dict]]) -> list[dict]:
    """Events of several overlapping chunks of one article: an event of a later chunk that is the same
    event as one of an earlier chunk and quotes overlapping text is merged into it."""
    merged: list[dict] = []
    for events in chunks:
        earlier = len(merged)
        for ev in events:
            for k in range(earlier):
                if same_event(merged[k], ev) and _quotes_overlap(merged[k], ev):
                    merged[k] = combine(merged[k], ev)
                    break
            else:
                merged.append(ev)
    return merged


def _quotes_overlap(a: dict, b: dict) -> bool:
    return any(
        x["article_id"] == y["article_id"] and x["start"] < y["end"] and y["start"] < x["end"]
        for x in a["evidence"]
        for y in b["evidence"]
    )


def event_id(ev: dict) -> str:
    """Stable id from the type, the quotes and the key actors (two events may quote one sentence)."""
    key = sorted((x["article_id"], x["start"], x["end"]) for x in ev["evidence"])
    names, _ = _keys(ev)
    return hashlib.sha256(json.dumps([ev["event_type"], key, sorted(names)]).encode()).hexdigest()[:16]


def merge_sources(events: list[dict]) -> list[dict]:
    """Merge the same event reported by several articles; set event_id and source_count."""
    merged = _cluster(events, cross_source=True)
    for ev in merged:
        ev["source_count"] = len({x["article_id"] for x in ev["evidence"]})
        ev["event_id"] = event_id(ev)
    return merged
