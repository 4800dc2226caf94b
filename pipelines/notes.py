"""ACLED-style notes: one English sentence saying who did what to whom, where, when, with the status.

In: a normalised event (its type, status, actors with roles, date and precision, location, conflict
country, symbol, materiel, votes). Out: the sentence, written from those fields alone, so it never
says more than the event holds. The embedded extractor's events get it at normalisation; an event a
model wrote a note for keeps the model's.
"""

from __future__ import annotations

import datetime as dt

from pipelines.data import country_names

_MONTHS = "January February March April May June July August September October November December".split()

# What each status says a body, caller or supplier did, in the past tense ACLED's notes use.
_VERBS = {
    "ceasefire_call": {
        "called": "called for a ceasefire",
        "proposed": "proposed a ceasefire",
        "agreed": "agreed to a ceasefire",
        "rejected": "rejected a ceasefire",
    },
    "resolution": {
        "adopted": "adopted a resolution",
        "drafted": "put forward a draft resolution",
        "vetoed": "saw a draft resolution vetoed",
        "failed": "failed to adopt a draft resolution",
        "blocked": "saw a draft resolution blocked",
    },
    "arms_delivery": {
        "confirmed": "delivered",
        "authorised": "authorised the delivery of",
        "alleged": "allegedly delivered",
        "denied": "was reported to have delivered (denied)",
    },
}


def _join(names: list[str]) -> str:
    names = list(dict.fromkeys(n for n in names if n))
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _when(date: str | None, precision: str | None) -> str:
    if not date:
        return ""
    parts = [int(p) for p in date.split("-")]
    if len(parts) == 3:
        d = dt.date(*parts)
        return f"On {d.day} {_MONTHS[d.month - 1]} {d.year}"
    if len(parts) == 2:
        return f"In {_MONTHS[parts[1] - 1]} {parts[0]}"
    return f"In {parts[0]}"


def _named(actors: list[dict], *roles: str) -> list[str]:
    return [a["name"] for r in roles for a in actors if a.get("role") == r and a.get("name")]


def note(event: dict) -> str:
    """The event in one sentence, e.g. 'On 2 January 2020, Turkey delivered troops to the Government
    of National Accord in Tripoli (Libya) [status: confirmed].'"""
    kind, status = event["event_type"], event.get("status") or ""
    actors = event.get("actors") or []
    conflict = country_names().get(event.get("conflict_country") or "", event.get("conflict_country"))
    if kind == "ceasefire_call":
        who = _join(_named(actors, "caller")) or "an unnamed party"
        what = _VERBS[kind].get(status, "made a ceasefire statement")
        whom = _join(_named(actors, "addressee"))
        what += f" addressed to {whom}" if whom else ""
        what += f" in the conflict in {conflict}" if conflict else ""
    elif kind == "resolution":
        who = _join(_named(actors, "body")) or _join(_named(actors, "sponsor")) or "a body"
        what = _VERBS[kind].get(status, "acted on a resolution")
        if event.get("symbol"):
            what += f" ({event['symbol']})"
        what += f" on {conflict}" if conflict else ""
    else:
        who = _join(_named(actors, "supplier")) or "an unnamed supplier"
        what = _VERBS[kind].get(status, "delivered")
        what += f" {event.get('materiel') or 'military materiel'}"
        whom = _join(_named(actors, "recipient"))
        what += f" to {whom}" if whom else ""
    where = event.get("location")
    if where:
        country = country_names().get(event.get("country") or "", event.get("country"))
        what += f" in {where}" + (f" ({country})" if country and country != where else "")
    if kind == "resolution":
        if event.get("votes_for") is not None:
            votes = [event.get(k) for k in ("votes_for", "votes_against", "abstentions")]
            what += ", by " + " to ".join(str(v or 0) for v in votes[:2])
            what += f" with {votes[2]} abstaining" if votes[2] else ""
        sponsors = _join(_named(actors, "sponsor"))
        if sponsors and sponsors != who:
            what += f", sponsored by {sponsors}"
        opposers = _join(_named(actors, "opposer"))
        if opposers:
            what += f", opposed by {opposers}"
    when = _when(event.get("date"), event.get("date_precision"))
    sentence = f"{when}, {who} {what}" if when else f"{who} {what} (date not reported)"
    tail = f" [status: {status}]" if status else ""  # a status the event lacks is not invented
    return f"{sentence[0].upper()}{sentence[1:]}{tail}."
