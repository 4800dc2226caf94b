"""Merge mentions of one real-world event: within an article, then across sources.

In: event records (schema shape) with evidence. Out: fewer records, each with
the union of its mentions' evidence and actors, the strongest status (the order
of each type's status list in the schema), the most precise date, and a stable
``event_id`` and ``source_count`` once merged across sources.

Within an article (``coreference``) mentions merge when their type and key
actors agree (the body of a resolution, the callers of a ceasefire call, the
supplier or recipient of a delivery) and their dates do not conflict. Across
articles (``merge_sources``) the date must also be known and agree (and the
status, symbols, topics and materiel), since an undated "Russia called for a
ceasefire" in two articles may be two calls; an undated mention joins a dated
event only on a strong identity (``join_undated``), never another undated one.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import re
from bisect import insort
from collections.abc import Iterable, Iterator

from pipelines.normalize.dates import PRECISION_RANK
from pipelines.schema import statuses_for

# Roles that identify an event: the body that acts, who calls, who sends (else who receives).
_KEY_ROLES = {
    "resolution": ("body",),
    "ceasefire_call": ("caller",),
    "arms_delivery": ("supplier", "recipient"),
}
_GEO = ("location", "admin1", "latitude", "longitude", "geo_precision", "country")


def _key_names(ev: dict) -> tuple[set[str], str | None]:
    """Names in the first key role that has any, and that role."""
    for role in _KEY_ROLES.get(ev["event_type"], ()):
        names = {a["name"] for a in ev.get("actors", []) if a["role"] == role}
        if names:
            return names, role
    return set(), None


def _keys(ev: dict) -> tuple[set[str], frozenset[str]]:
    """The key names (with the organisation an official of it speaks for: Faki for the African
    Union), and the set of their states: what two mentions of one event share."""
    names, role = _key_names(ev)
    if not role:
        return set(), frozenset()
    return names | {b for n in names if (b := _body_of(n))}, _states(ev, role)


@functools.cache
def _body_of(name: str) -> str | None:
    """The organisation whose official ``name`` is (the dictionary's ``body``), if any."""
    from pipelines.normalize.gazetteer import gazetteer

    actor = gazetteer().actors.get(name)
    return actor.body if actor and actor.type == "official" and not actor.iso3 else None


def _dates_agree(a: dict, b: dict, strict: bool) -> bool:
    da, db = a.get("date"), b.get("date")
    if not da or not db:
        return not strict
    return da.startswith(db) or db.startswith(da)


def _materiel_list(ev: dict) -> list[str]:
    raw = (ev.get("materiel") or "").replace(" and ", ",").replace(";", ",")
    return [m.strip() for m in raw.split(",") if m.strip()]


# Words that name no particular materiel: they never tell two shipments apart.
_GENERIC_MATERIEL = {"weapon", "arm", "military", "equipment", "aid", "materiel", "hardware", "supplie"}


def _materiel(ev: dict) -> set[str]:
    """The specific words of an event's materiel, plurals folded: "armoured vehicles and air-defence
    systems" and "military vehicles" share "vehicle"; "troops" and "mercenaries" share nothing."""
    words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", (ev.get("materiel") or "").lower())
    return {w.removesuffix("s") for w in words if len(w) > 3} - _GENERIC_MATERIEL


def symbol_key(symbol: str | None) -> str | None:
    """A resolution's symbol as written in any report: "S/RES/2786 (2025)" and "2786" are "2786";
    "A/RES/ES-10/21" is "ES-10/21"."""
    if not symbol:
        return None
    s = re.sub(r"\s*\(\d{4}\)\s*$", "", str(symbol)).upper().replace(" ", "")
    return s.split("RES/", 1)[-1] or None


def same_event(a: dict, b: dict, cross_source: bool = False) -> bool:
    if a["event_type"] != b["event_type"]:
        return False
    if not _dates_agree(a, b, strict=cross_source):
        return False
    if cross_source and a["status"] != b["status"]:
        # Across sources a status is a moment: one report's draft is another's adoption only on the
        # same day ("circulated and adopted the same day": one event, its final status).
        day = len(a.get("date") or "") == 10 and a.get("date") == b.get("date")
        if a["event_type"] != "resolution" or not day:
            return False
    if a["event_type"] == "resolution":
        # Two texts adopted at one meeting: told apart by their symbols, else by what they are about.
        sa, sb = symbol_key(a.get("symbol")), symbol_key(b.get("symbol"))
        if sa and sb and sa != sb:
            return False
        ta, tb = set(a.get("topics") or ()), set(b.get("topics") or ())
        # Within an article, topics are found sentence by sentence: there they tell nothing apart.
        if cross_source and not (sa and sb) and ta and tb and not ta & tb:
            return False
    if a["event_type"] == "resolution" and a["status"] != b["status"]:
        # Adopted one day, vetoed another: two acts; so are a veto and another text's failed vote. A
        # draft and its outcome, a failure told as a block, or a block explained by a veto ("failed
        # to adopt ... due to the veto of"), are one.
        pair = {a["status"], b["status"]}
        if "drafted" not in pair and pair not in ({"failed", "blocked"}, {"blocked", "vetoed"}):
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
    out = _combine_fields(a, b)
    ev_seen = {_evidence_key(x) for x in a["evidence"]}
    out["evidence"] = list(a["evidence"]) + [x for x in b["evidence"] if _evidence_key(x) not in ev_seen]
    return out


def _evidence_key(x: dict) -> tuple:
    return x["article_id"], x["start"], x["end"]


_CONFLICTING = ("status", "date", "location", "country", "conflict_country", "symbol")


def _conflicts(a: dict, b: dict) -> list[dict]:
    """The fields two merged records disagree on, with every value either gave (and those their own
    earlier merges kept). A date and a more precise one within it do not disagree."""
    values: dict[str, set[str]] = {c["field"]: set(c["values"]) for c in a.get("conflicts") or []}
    for c in b.get("conflicts") or []:
        values.setdefault(c["field"], set()).update(c["values"])
    for f in _CONFLICTING:
        va, vb = a.get(f), b.get(f)
        if not va or not vb or va == vb:
            continue
        if f == "date" and (str(va).startswith(str(vb)) or str(vb).startswith(str(va))):
            continue
        if f == "symbol" and symbol_key(va) == symbol_key(vb):
            continue
        values.setdefault(f, set()).update({str(va), str(vb)})
    return [{"field": f, "values": sorted(v)} for f, v in sorted(values.items())]


def _combine_fields(a: dict, b: dict) -> dict:
    """``combine`` but for the evidence, which stays a's."""
    out = dict(a)
    order = statuses_for(a["event_type"])
    ca, cb = a.get("confidence") or 0, b.get("confidence") or 0
    if a["status"] != b["status"] and ca != cb:
        out["status"] = a["status"] if ca > cb else b["status"]  # an explicit cue beats a default
    else:
        out["status"] = min(a["status"], b["status"], key=order.index)
    conflicts = _conflicts(a, b)
    if conflicts:  # a record that never disagreed has no such field, merged or not
        out["conflicts"] = conflicts
    else:
        out.pop("conflicts", None)
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


class _Candidates:
    """The earlier records a mention may be the same event as, found without comparing it to all.

    ``same_event`` accepts only records of the mention's type that share one of its key actors (or
    its set of states) and whose date agrees with its own (either is missing, or one starts the
    other). Records are filed under each (type, key actor, date) that can agree, so a mention looks
    only at those: in creation order, as a scan of every record would, and ``same_event`` still
    decides. A record filed under keys it no longer has only costs a comparison.
    """

    def __init__(self) -> None:
        self._records: dict[tuple, list[int]] = {}  # record indices by key, ascending
        self._filed: dict[int, set[tuple]] = {}  # the keys each record is filed under

    @staticmethod
    def _parts(ev: dict) -> tuple[str, list[tuple]]:
        date = ev.get("date") or ""
        names, states = _keys(ev)
        actors = [("name", n) for n in names] + ([("states", states)] if states else [])
        return (date if isinstance(date, str) else ""), actors

    def file(self, i: int, ev: dict, bucket: tuple) -> None:
        """File record ``i`` (as it is now) under every key a later mention may look it up by."""
        filed = self._filed.setdefault(i, set())
        date, actors = self._parts(ev)
        # Its own date ("=") and each shorter start of it ("<": a mention dated less precisely).
        dates = [("=", date)] + [("<", date[:k]) for k in range(len(date))]
        for actor in actors:
            for d in dates:
                key = (bucket, ev["event_type"], actor, d)
                if key not in filed:
                    filed.add(key)
                    insort(self._records.setdefault(key, []), i)

    def find(self, ev: dict, bucket: tuple) -> Iterator[int]:
        date, actors = self._parts(ev)
        # Records undated, dated by a start of this date (or this date), or more precisely within it.
        dates = [("=", date[:k]) for k in range(len(date) + 1)] + [("<", date)]
        found = [
            self._records[key]
            for actor in actors
            for d in dates
            if (key := (bucket, ev["event_type"], actor, d)) in self._records
        ]
        last = -1
        for i in heapq.merge(*found):
            if i != last:
                yield i
                last = i


def _cluster(events: Iterable[dict], cross_source: bool) -> list[dict]:
    merged: list[dict] = []
    # Across sources only events of one type, status (not for resolutions) and year can merge:
    # compare within those buckets.
    bucket_of: list[tuple | None] = []
    candidates = _Candidates()
    # A record's evidence once it has merged: extended in place, not copied at each merge.
    evidence: dict[int, tuple[list[dict], set[tuple]]] = {}
    for ev in events:
        # A resolution's statuses may merge across sources (see same_event): not bucketed by status.
        status = "" if ev["event_type"] == "resolution" else ev["status"]
        key = (ev["event_type"], status, (ev.get("date") or "")[:4]) if cross_source else ()
        for i in candidates.find(ev, key):
            if same_event(merged[i], ev, cross_source):
                if i not in evidence:
                    evidence[i] = (
                        list(merged[i]["evidence"]),
                        {_evidence_key(x) for x in merged[i]["evidence"]},
                    )
                items, seen = evidence[i]
                new = [x for x in ev["evidence"] if _evidence_key(x) not in seen]
                items.extend(new)
                seen.update(_evidence_key(x) for x in new)
                merged[i] = _combine_fields(merged[i], ev)
                merged[i]["evidence"] = items
                candidates.file(i, merged[i], bucket_of[i])
                break
        else:
            bucket_of.append(key)
            merged.append(ev)
            candidates.file(len(merged) - 1, ev, key)
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
    names, _ = _key_names(ev)  # as named: an id does not change with the dictionary's bodies
    return hashlib.sha256(json.dumps([ev["event_type"], key, sorted(names)]).encode()).hexdigest()[:16]


def _states(ev: dict, role: str) -> frozenset[str]:
    # A state and its officials stand for each other; armed groups of one country do not.
    return frozenset(
        a.get("iso3") if a.get("actor_type") in {"state", "official"} and a.get("iso3") else a["name"]
        for a in ev.get("actors", [])
        if a["role"] == role
    )


def strong_identity(dated: dict, undated: dict) -> bool:
    """Whether an undated mention names the same event as a dated record on more than its date: the
    same symbol and body (a resolution; a veto: the same body, vetoing state and conflict), the same
    callers' states on the same conflict (a ceasefire call), the same supplier and recipient and the
    same kind of materiel (a delivery); and the same status."""
    kind = dated["event_type"]
    if kind != undated["event_type"] or dated["status"] != undated["status"]:
        return False
    if kind == "resolution":
        if not _keys(dated)[0] & _keys(undated)[0]:
            return False
        symbol = symbol_key(dated.get("symbol"))
        if symbol:
            return symbol == symbol_key(undated.get("symbol"))
        # A veto is rare: the same body vetoed by the same state on the same conflict, once in the
        # report's window ("twelve days after Russia vetoed an earlier version").
        return (
            dated["status"] == "vetoed"
            and bool(_states(dated, "opposer") & _states(undated, "opposer"))
            and bool(dated.get("conflict_country"))
            and dated.get("conflict_country") == undated.get("conflict_country")
        )
    if kind == "ceasefire_call":
        callers = _states(dated, "caller")
        return (
            bool(callers)
            and callers == _states(undated, "caller")
            and bool(dated.get("conflict_country"))
            and dated.get("conflict_country") == undated.get("conflict_country")
        )
    sides = [_states(dated, r) for r in ("supplier", "recipient")]
    return (
        all(sides)
        and sides == [_states(undated, r) for r in ("supplier", "recipient")]
        and bool(_materiel(dated) & _materiel(undated))
    )


def _reported_within(date: str, published: str | None, days: int = 62) -> bool:
    """Whether an event of ``date`` (any precision) can be what an article published on ``published``
    reports: on or before that day, and not long before."""
    if not published:
        return True
    import datetime as dt

    try:
        pub = dt.date.fromisoformat(published)
        start = dt.date.fromisoformat((date + "-01-01")[:10] if len(date) == 4 else (date + "-01")[:10])
    except ValueError:
        return True
    return start <= pub and (pub - start).days <= days


def join_undated(
    records: list[dict],
    undated: list[dict],
    published: dict[str, str | None] | None = None,
    match=strong_identity,
) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Which undated mentions join a dated record: those whose identity is strong (``match``, by
    default ``strong_identity``) with exactly one dated record that their article's publication date
    (``published``: article id -> date) allows. Returns (record index, mention) joins and the mentions
    left on their own; two undated mentions are never merged."""
    by_kind: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        if r.get("date"):
            by_kind.setdefault(r["event_type"], []).append(i)
    joins, alone = [], []
    for u in undated:
        pub = (published or {}).get(u["evidence"][0]["article_id"])
        fits = [
            i
            for i in by_kind.get(u["event_type"], [])
            if match(records[i], u) and _reported_within(records[i]["date"], pub)
        ]
        if len(fits) == 1:
            joins.append((fits[0], u))
        else:
            alone.append(u)
    return joins, alone


def same_as(record: dict, mention: dict) -> bool:
    """Whether a mention dated to a year only is the dated event ``record`` (``same_event`` across
    sources): it joins that event when it is the only one of the year it can be."""
    return same_event(record, mention, cross_source=True)


def merge_sources(events: list[dict], published: dict[str, str | None] | None = None) -> list[dict]:
    """Merge the same event reported by several articles; set event_id and source_count.

    Mentions dated to the month or day merge when ``same_event`` says so; one dated to a year only
    joins the one such event it is the same as; an undated one joins a dated event only on a strong
    identity (``join_undated``; ``published``: article id -> publication date)."""
    merged = _cluster([e for e in events if len(e.get("date") or "") > 4], cross_source=True)
    # Dated to a year only: the one event of that year it is the same as, as publication merges it.
    yearly = _cluster([e for e in events if len(e.get("date") or "") == 4], cross_source=True)
    joins, alone = join_undated(merged, yearly, published, same_as)
    for i, u in joins:
        merged[i] = combine(merged[i], u)
    merged += alone
    joins, alone = join_undated(merged, [e for e in events if not e.get("date")], published)
    for i, u in joins:
        merged[i] = combine(merged[i], u)
    merged += alone
    for ev in merged:
        ev["source_count"] = len({x["article_id"] for x in ev["evidence"]})
        ev["event_id"] = event_id(ev)
    return merged
