"""Canonical actors: a name as written (Arabic or English, any spelling) to a dictionary entry.

In: an actor name from an extractor and the gazetteer. Out: the actor record with the
canonical English name, type and ISO3, and ``known`` False for a name not in the
dictionary (kept as written, never forced onto a wrong entry). Names are compared
after folding (hamza, taa marbuta, yaa, diacritics, tatweel, the article ال), then
by fuzzy matching (rapidfuzz) above a threshold.
"""

from __future__ import annotations

from pipelines.normalize.gazetteer import Actor, Gazetteer, gazetteer, name_key

FUZZY_THRESHOLD = 87


def resolve(name: str, gaz: Gazetteer | None = None) -> Actor | None:
    """The dictionary entry for a name, or None when nothing is close enough."""
    gaz = gaz or gazetteer()
    exact = gaz.actor(name)
    if exact:
        return exact
    index = gaz.actor_index
    key = name_key(name)
    if key in index:
        return index[key]
    if len(key) < 4:
        return None
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, list(index), scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
    return index[best[0]] if best else None


def canonical_actor(record: dict, gaz: Gazetteer | None = None) -> dict:
    """An actor record (role, name...) completed from the dictionary."""
    actor = resolve(record["name"], gaz)
    out = dict(record)
    if actor is None:
        out["surface"] = record.get("surface") or record["name"]
        out.update(known=False, actor_type=record.get("actor_type"), iso3=record.get("iso3"))
        return out
    if actor.name != record["name"]:
        out["surface"] = record.get("surface") or record["name"]
    out.update(name=actor.name, actor_type=actor.type, iso3=actor.iso3, known=True)
    return out
