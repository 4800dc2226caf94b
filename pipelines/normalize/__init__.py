"""Normalise validated events: canonical actors, checked dates, geocoded places, ACLED columns.

In: validated events and their articles. Out: the same events with actors completed from
the dictionary (``known`` False when not in it), the date checked against the text and the
publication date, and location/admin1/country/latitude/longitude/geo_precision filled.
``acled_columns`` gives actor1, assoc_actor_1, actor2, assoc_actor_2, inter1, inter2, event_date
and notes of a (merged) event.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

from pipelines.data import load_yaml
from pipelines.ingest import Article
from pipelines.normalize.actors import canonical_actor
from pipelines.normalize.dates import check_date, years_in
from pipelines.normalize.gazetteer import gazetteer
from pipelines.normalize.places import geocode
from pipelines.notes import note

# Who is on each side, per event type: (actor1 roles, actor2 roles), most central first.
SIDES = {
    "ceasefire_call": (("caller",), ("addressee",)),
    "resolution": (("body", "sponsor", "supporter"), ("opposer", "abstainer")),
    "arms_delivery": (("supplier",), ("recipient",)),
}


def normalize_event(
    event: dict, article: Article | None, article_years: Callable[[], set[int]] | None = None
) -> dict:
    """One event normalised; ``article_years`` gives the years written in ``article`` (computed once
    for all of its events by ``normalize_events``)."""
    gaz = gazetteer()
    ev = dict(event)
    ev["actors"] = [canonical_actor(a, gaz) for a in event.get("actors", [])]
    if article is not None:
        quotes = [e["quote"] for e in event["evidence"] if e["article_id"] == article.article_id]
        ev["date"], ev["date_precision"] = check_date(
            event.get("date"),
            event.get("date_precision"),
            quotes,
            article.published,
            article.text,
            article_years,
        )
    geo = geocode(event.get("location"), event.get("country"), event.get("conflict_country"), gaz)
    if geo is not None:
        ev.update(geo.fields())
    elif event.get("location"):
        ev.update(
            admin1=None, latitude=None, longitude=None, geo_precision=None
        )  # unknown place: kept as written
    return ev


def normalize_events(events: list[dict], articles: list[Article]) -> list[dict]:
    """Every event normalised, in the same order; a large batch in worker processes, an article's
    events together (they share the years its text names)."""
    from pipelines.workers import map_chunks

    gazetteer()  # loaded here once, shared by forked workers
    by_id = {a.article_id: a for a in articles}
    positions: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        positions.setdefault(e["evidence"][0]["article_id"], []).append(i)
    groups = [(by_id.get(aid), [events[i] for i in idx]) for aid, idx in positions.items()]
    out: list[dict] = [{}] * len(events)
    for idx, done in zip(positions.values(), map_chunks(_normalize_groups, groups), strict=True):
        for i, ev in zip(idx, done, strict=True):
            out[i] = ev
    return out


def _normalize_groups(groups: list[tuple[Article | None, list[dict]]]) -> list[list[dict]]:
    out = []
    for article, events in groups:
        # The years written in an article: read from its text once for all of its events, when needed.
        years = cache(partial(years_in, article.text)) if article else None
        out.append([normalize_event(e, article, years) for e in events])
    return out


def _inter(actor: dict, conflict: str | None) -> int | None:
    table = load_yaml("acled_inter.yaml")
    gaz = gazetteer()
    entry = gaz.actor(actor["name"]) if actor.get("known", True) else None
    kind = actor.get("actor_type") or (entry.type if entry else None)
    if kind is None:
        return None
    home = bool(conflict) and (
        actor.get("iso3") == conflict or (entry is not None and conflict in entry.party_in)
    )
    return table["home" if home else "abroad"].get(kind)


def middle_date(date: str | None) -> str | None:
    """The ISO day a date of any precision stands for: the day; a month's 15th; a year's 1 July."""
    if not date:
        return None
    parts = date.split("-")
    return {1: f"{date}-07-01", 2: f"{date}-15"}.get(len(parts), date)


def acled_columns(event: dict) -> dict:
    roles1, roles2 = SIDES.get(event["event_type"], ((), ()))
    side1 = [a for r in roles1 for a in event["actors"] if a["role"] == r]
    side2 = [a for r in roles2 for a in event["actors"] if a["role"] == r]
    conflict = event.get("conflict_country")

    def names(side):
        return list(dict.fromkeys(a["name"] for a in side))

    n1, n2 = names(side1), names(side2)
    notes = event.get("notes")
    if not notes or not str(event.get("extractor") or "").startswith("llm"):
        notes = note(event)  # ours are written again from the merged fields; a model's note is kept
    return {
        "event_date": middle_date(event.get("date")),
        "notes": notes,
        "actor1": n1[0] if n1 else None,
        "assoc_actor_1": "; ".join(n1[1:]) or None,
        "actor2": n2[0] if n2 else None,
        "assoc_actor_2": "; ".join(n2[1:]) or None,
        "inter1": _inter(side1[0], conflict) if side1 else None,
        "inter2": _inter(side2[0], conflict) if side2 else None,
    }
