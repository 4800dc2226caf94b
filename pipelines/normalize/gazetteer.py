"""Actor dictionary and place gazetteer: find known actors and places in folded text.

In: ``data/actors.yaml`` (canonical English name, type, ISO3, body, office, the
conflicts an actor fights in, Arabic and English aliases and demonyms) and
``data/places.yaml`` (name, country, admin1, coordinates, aliases), optionally
extended by a user's own YAML file (``EVENTBUILDER_ACTORS``).
Out: ``Mention`` records with the entry and its span in the folded text, and
look-ups by name (``actor``), by ISO3 (``state``) and capitals.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import yaml

from pipelines.data import load_yaml
from pipelines.textnorm import Folded, normalize

_ARMY = re.compile(r"\b(?:Armed Forces|Army|Military)\b")


@dataclass(frozen=True)
class Actor:
    name: str
    type: str | None
    iso3: str | None = None
    body: str | None = None
    office: str | None = None
    party_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    admin1: str | None = None
    lat: float | None = None
    lon: float | None = None
    capital: bool = False


@dataclass(frozen=True)
class Mention:
    entry: Actor | Place
    start: int  # offsets in the folded text searched
    end: int
    demonym: bool = False


# Attached conjunction, then preposition: و/ف then ب/ل/ك ("وبالخرطوم", "لمصر").
_CONJUNCTIONS = frozenset("وف")
_PREPOSITIONS = frozenset("بلك")


def _prefix_lengths(text: str, pos: int) -> list[int]:
    """How many attached prefix letters may start the word at ``pos``: the longest first."""
    lengths = []
    first = text[pos : pos + 1]
    if first in _CONJUNCTIONS:
        if text[pos + 1 : pos + 2] in _PREPOSITIONS:
            lengths.append(2)
        lengths.append(1)
    elif first in _PREPOSITIONS:
        lengths.append(1)
    lengths.append(0)
    return lengths


def _is_acronym(token: str) -> bool:
    letters = token.replace(".", "")
    return letters.isalpha() and letters.isupper() and len(letters) <= 5


def _same_acronyms(found: str, alias: str) -> bool:
    """Acronym tokens must be written in capitals; other tokens may differ in case ("The UN")."""
    return all(f == a if _is_acronym(a) else True for f, a in zip(found.split(), alias.split(), strict=False))


@dataclass
class Matcher:
    """Every alias at once (an Aho-Corasick automaton): the longest alias that starts a word, after
    any attached prefixes, and ends one."""

    table: dict[str, tuple[object, bool]] = field(default_factory=dict)
    # Acronyms (US, UN, RSF) match only in capitals: "us" is a pronoun.
    acronyms: dict[str, str] = field(default_factory=dict)
    # Names that are also common words (مالي is Mali and "financial"): found only in a text that names
    # the same entry by another of its names.
    weak: set[str] = field(default_factory=set)
    _automaton: object | None = None

    def add(self, alias: str, entry: object, demonym: bool = False, weak: bool = False) -> None:
        alias = str(alias).strip()
        folded = normalize(alias)
        if len(folded) < 2:
            return
        if weak:
            self.weak.add(folded)
        if alias.isascii() and any(_is_acronym(t) for t in alias.split()):
            self.acronyms.setdefault(folded, alias)
        for form in {folded, folded[2:] if folded.startswith("ال") and len(folded) > 4 else folded}:
            if form != folded:
                form = "ل" + form  # لل + word: the ل of ال merges with the preposition
            self.table.setdefault(form, (entry, demonym))
        self._automaton = None

    def compile(self) -> None:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for alias in self.table:
            automaton.add_word(alias, len(alias))
        automaton.make_automaton()
        self._automaton = automaton

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the aliases found, left to right, as a word-bounded search would give."""
        if self._automaton is None:
            self.compile()
        # Every alias occurrence that ends a word, by where it starts: its lengths, longest first.
        ends_word: dict[int, list[int]] = {}
        for last, length in self._automaton.iter(text):
            end = last + 1
            if end < len(text) and text[end].isalnum():
                continue
            ends_word.setdefault(end - length, []).append(length)
        if not ends_word:
            return []
        spans = []
        pos = 0
        for word_start in sorted({s - k for s in ends_word for k in (0, 1, 2) if s - k >= 0}):
            if word_start < pos or (word_start > 0 and text[word_start - 1].isalnum()):
                continue
            for plen in _prefix_lengths(text, word_start):
                lengths = ends_word.get(word_start + plen)
                if lengths:
                    start = word_start + plen
                    spans.append((start, start + max(lengths)))
                    pos = start + max(lengths)
                    break
        return spans

    def find(self, folded: Folded) -> list[Mention]:
        out = []
        for start, end in self._spans(folded.text):
            alias = folded.text[start:end]
            entry, demonym = self.table[alias]
            acronym = self.acronyms.get(alias)
            if acronym and not _same_acronyms(folded.original[slice(*folded.span(start, end))], acronym):
                continue
            out.append(Mention(entry, start, end, demonym))
        if self.weak:
            strong = {id(m.entry) for m in out if folded.text[m.start : m.end] not in self.weak}
            out = [m for m in out if id(m.entry) in strong or folded.text[m.start : m.end] not in self.weak]
        return out


class Gazetteer:
    def __init__(self, actor_records: Iterable[dict], place_records: Iterable[dict]) -> None:
        self.actors: dict[str, Actor] = {}
        self.by_fold: dict[str, Actor] = {}
        self.states: dict[str, Actor] = {}
        self.places: list[Place] = []
        self.capitals: dict[str, Place] = {}
        self.actor_matcher = Matcher()
        self.place_matcher = Matcher()
        self._place_aliases: list[tuple[Place, list[str]]] = []
        for rec in actor_records:
            actor = Actor(
                name=rec["name"],
                type=rec.get("type"),
                iso3=rec.get("iso3"),
                body=rec.get("body"),
                office=rec.get("office"),
                party_in=tuple(rec.get("party_in") or ()),
            )
            self.actors[actor.name] = actor
            if actor.type == "state" and actor.iso3:
                self.states[actor.iso3] = actor
            aliases = rec.get("aliases") or {}
            names = [actor.name, *[a for lang in aliases.values() for a in (lang or [])]]
            for alias in names:
                self.actor_matcher.add(alias, actor)
                self.by_fold.setdefault(normalize(str(alias)), actor)
            for dem in [d for lang in (rec.get("demonyms") or {}).values() for d in (lang or [])]:
                self.actor_matcher.add(dem, actor, demonym=True)
            for weak in [w for lang in (rec.get("weak_aliases") or {}).values() for w in (lang or [])]:
                self.actor_matcher.add(weak, actor, weak=True)
        for rec in place_records:
            place = Place(
                name=rec["name"],
                country=rec["country"],
                admin1=rec.get("admin1"),
                lat=rec.get("lat"),
                lon=rec.get("lon"),
                capital=bool(rec.get("capital")),
            )
            self.places.append(place)
            if place.capital:
                self.capitals.setdefault(place.country, place)
            aliases = rec.get("aliases") or {}
            names = [place.name, *[a for lang in aliases.values() for a in (lang or [])]]
            self._place_aliases.append((place, names))
            for alias in names:
                self.place_matcher.add(alias, place)
        self.conflicts = {c for a in self.actors.values() for c in a.party_in}

    @cached_property
    def actor_index(self) -> dict[str, Actor]:
        """Every alias (no demonyms) and canonical name by ``name_key``."""
        index: dict[str, Actor] = {}
        for alias, (actor, demonym) in self.actor_matcher.table.items():
            if not demonym:
                index.setdefault(name_key(alias), actor)
        for actor in self.actors.values():
            index.setdefault(name_key(actor.name), actor)
        return index

    @cached_property
    def place_index(self) -> dict[str, list[Place]]:
        """Every place alias by ``name_key``, all places that share it (Tripoli: LBY and LBN)."""
        index: dict[str, list[Place]] = {}
        for place, aliases in self._place_aliases:
            for alias in aliases:
                bucket = index.setdefault(name_key(alias), [])
                if place not in bucket:
                    bucket.append(place)
        return index

    def find_actors(self, folded: Folded) -> list[Mention]:
        """Actor mentions, with spans in ``folded.text``."""
        return self.actor_matcher.find(folded)

    def find_places(self, folded: Folded) -> list[Mention]:
        return self.place_matcher.find(folded)

    def actor(self, name: str) -> Actor | None:
        """The dictionary entry for a canonical name or any alias (folded)."""
        return self.actors.get(name) or self.by_fold.get(normalize(name))

    def canonical(self, name: str) -> str:
        """Canonical name for a name or alias; unknown names come back folded, for comparison."""
        actor = self.actor(name)
        return actor.name if actor else normalize(name)

    def seat(self, actor: Actor) -> Place | None:
        """Where a body acts: its seat (data/seats.yaml), the capital for a legislature or state."""
        seats = load_yaml("seats.yaml")
        if actor.name in seats:
            return self.place_named(seats[actor.name])
        if actor.type in {"legislature", "state", "government"} and actor.iso3:
            return self.capitals.get(actor.iso3)
        return None

    @cached_property
    def _armies(self) -> dict[str, Actor | None]:
        found: dict[str, list[Actor]] = {}
        for a in self.actors.values():
            if a.type == "government" and a.iso3 in a.party_in and _ARMY.search(a.name):
                found.setdefault(a.iso3, []).append(a)
        return {iso3: armies[0] if len(armies) == 1 else None for iso3, armies in found.items()}

    def national_army(self, iso3: str) -> Actor | None:
        """The one government actor of state ``iso3`` that is its armed forces (named Armed Forces,
        Army or Military, a party to its war), or None when there is none or more than one."""
        return self._armies.get(iso3)

    def place_named(self, name: str) -> Place | None:
        return next((p for p in self.places if p.name == name), None)


def name_key(name: str) -> str:
    """A name folded for comparison, without the Arabic article or punctuation ("الإمارات" ~ "امارات")."""
    folded = re.sub(r"(?<![^\W_])ال(?=\w{3,})", "", normalize(name))
    return " ".join(re.sub(r"[^\w ]+", " ", folded).split())


def _user_files() -> list[Path]:
    raw = os.environ.get("EVENTBUILDER_ACTORS", "")
    return [Path(p) for p in raw.split(os.pathsep) if p]


@cache
def gazetteer() -> Gazetteer:
    """The actor and place dictionary, built once per process; kept built in the user's cache folder
    (EVENTBUILDER_DATA_CACHE, default ~/.cache/eventbuilder) under a digest of its data and code, so
    a new process loads it in milliseconds instead of building it in half a second."""
    import pickle
    import sys

    import ahocorasick

    from pipelines.data import data_path, files_digest

    root = Path(__file__).resolve().parent.parent
    sources = [str(data_path(n)) for n in ("actors.yaml", "places.yaml")]
    sources += [str(root / "normalize" / "gazetteer.py"), str(root / "textnorm.py")]
    sources += [str(p) for p in _user_files()]
    stamp = f"{sys.version_info[:2]}-{getattr(ahocorasick, '__version__', '')}-{files_digest(tuple(sources))}"
    cache_dir = Path(
        os.environ.get("EVENTBUILDER_DATA_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eventbuilder"
    )
    path = cache_dir / f"gazetteer-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    gaz = _build_gazetteer()
    try:  # a cache that cannot be written only costs the next process the build
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(gaz, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except OSError:
        pass
    return gaz


def _build_gazetteer() -> Gazetteer:
    # A user's record replaces the packaged one of the same name, aliases included.
    actors = {rec["name"]: rec for rec in load_yaml("actors.yaml")}
    for path in _user_files():
        for rec in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            actors.pop(rec["name"], None)
            actors[rec["name"]] = rec
    return Gazetteer(list(actors.values()), load_yaml("places.yaml"))
