"""The embedded offline extractor: trigger lexicons + actor dictionary + role rules.

In: an ``Article``. Out: candidate event records (dicts in the shape of
``schemas/event.schema.json``), each with the verbatim sentence that states it
and its offsets. Works sentence by sentence in the folded view of the text
(``textnorm.fold``), so hamza forms, taa marbuta, diacritics and attached
prefixes do not matter; mentions of one event within an article are merged by
``merge.coreference``.

The role rules are deliberately simple and explainable: conflict parties (actors
whose ``party_in`` holds the article's conflict country) are addressees and
recipients, other actors are callers and suppliers; resolution roles go to the
actor nearest a sponsor/opposer/supporter/abstainer cue.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache

from pipelines.data import load_yaml
from pipelines.ingest import Article
from pipelines.merge import combine, coreference, same_event
from pipelines.normalize.dates import fold_pattern, resolve_date, same_day
from pipelines.normalize.gazetteer import Actor, Gazetteer, Mention, Place, gazetteer, name_key
from pipelines.segment import sentences
from pipelines.textnorm import Folded, fold

NAME = "rules"
# Word start, with attached prefixes allowed: و/ف, then ب/ك/ل, and the article (لل = ل + ال).
_B = r"(?<![^\W_])(?:[وف]?(?:[بك]?ال|لل|[بلك])?)"


def _compile(patterns: list[str] | str) -> re.Pattern:
    if isinstance(patterns, str):
        patterns = [patterns]
    # A taa marbuta becomes ت before a suffix (دعوة -> دعوته): [ةه] in the lexicon takes both.
    body = "|".join(f"(?:{fold_pattern(p.replace('[ةه]', '[هت]'))})" for p in patterns)
    return re.compile(rf"{_B}(?:{body})")


def _compile_anywhere(patterns: list[str]) -> re.Pattern:
    """As ``_compile``, for patterns that may start inside a word (at a closing quote) or end at the
    search's end: no word-start prefix in front."""
    return re.compile("|".join(f"(?:{fold_pattern(p)})" for p in patterns))


@dataclass(frozen=True)
class Lexicon:
    cf_term: re.Pattern
    cf_call: re.Pattern
    cf_proposed: re.Pattern
    cf_agreed: re.Pattern
    cf_rejected: re.Pattern
    cf_need: re.Pattern
    cf_welcome: re.Pattern
    cf_agent: re.Pattern
    cf_unnamed_parties: re.Pattern
    res_noun: re.Pattern
    res_leg_noun: re.Pattern
    res_status: dict[str, re.Pattern]
    res_vote: re.Pattern
    res_background: re.Pattern
    res_topics: dict[str, re.Pattern]
    arms_delivery: re.Pattern
    arms_sale: re.Pattern
    arms_materiel: dict[str, re.Pattern]
    arms_not: re.Pattern
    arms_status: dict[str, re.Pattern]
    arms_violation: re.Pattern
    arms_modes: dict[str, re.Pattern]
    arms_vessel: re.Pattern
    third_party: re.Pattern
    res_roles: dict[str, re.Pattern]
    res_count_roles: dict[str, re.Pattern]
    res_symbol: re.Pattern
    res_votes: dict[str, re.Pattern]
    hard_boundary: re.Pattern
    clause_end: re.Pattern
    dative: re.Pattern
    coordination: re.Pattern
    including: re.Pattern
    res_anaphor: re.Pattern
    speaker_titles: re.Pattern
    res_demands: re.Pattern
    res_by_majority: re.Pattern
    res_generic: re.Pattern
    res_prior: re.Pattern
    res_other: re.Pattern
    res_not_vetoed: re.Pattern
    backed_by: re.Pattern
    against: re.Pattern
    generic_army: re.Pattern
    quote_speaker: re.Pattern
    flag_of: re.Pattern


# Punctuation that ends a clause; relative-clause words extend it in Lexicon.clause_end.
_PUNCT_BOUNDARY = r"[,;:.?!\"]\s|\s-\s"


@cache
def lexicon() -> Lexicon:
    lx = load_yaml("lexicon.yaml")
    cf, res, arms, g = lx["ceasefire"], lx["resolution"], lx["arms"], lx["grammar"]
    return Lexicon(
        cf_term=_compile(cf["terms"]),
        cf_call=_compile(cf["call"]),
        cf_proposed=_compile(cf["proposed"]),
        cf_agreed=_compile(cf["agreed"]),
        cf_rejected=_compile(cf["rejected"]),
        cf_need=_compile(cf["need_not_agreed"]),
        cf_welcome=_compile(cf["welcome"]),
        cf_agent=_compile(cf["proposal_agent"]),
        cf_unnamed_parties=_compile(cf["unnamed_parties"]),
        res_noun=_compile(res["nouns"]),
        res_leg_noun=_compile(res["legislative_nouns"]),
        res_status={k: _compile(res[k]) for k in ("vetoed", "adopted", "failed", "blocked", "drafted")},
        res_vote=_compile(res["vote"]),
        res_background=_compile(res["background"]),
        res_topics={k: _compile(v) for k, v in res["topics"].items()},
        arms_delivery=_compile(arms["delivery"]),
        arms_sale=_compile(arms["sale"]),
        arms_materiel={k: _compile(v) for k, v in arms["materiel"].items()},
        arms_not=_compile(arms["not_delivery"]),
        arms_status={k: _compile(arms[k]) for k in ("denied", "authorised", "confirmed", "alleged")},
        arms_violation=_compile(arms["embargo_violation"]),
        arms_modes={k: _compile(v) for k, v in arms["modes"].items()},
        arms_vessel=_compile(arms["vessel"]),
        third_party=_compile(lx["third_party"]),
        res_roles={k: _compile(v) for k, v in res["roles"].items()},
        res_count_roles={k: _compile(v) for k, v in res["count_roles"].items()},
        res_symbol=_compile(res["symbol"]),
        res_votes={k: _compile(v) for k, v in res["votes"].items()},
        hard_boundary=re.compile(rf"\s(?:{_words(g['subordinate'])})\s"),
        clause_end=re.compile(rf"{_PUNCT_BOUNDARY}|\s(?:{_words(g['relative'])})\s"),
        dative=re.compile(rf"{_B}(?:{_words(g['dative'])})\s?$"),
        # "Israel and the United States", "la Russie et la Chine": an article may follow the link.
        coordination=re.compile(rf"^\s*(?:{_words(g['coordination'])})?\s*(?:the|le|la|les|l')?\s*$"),
        including=re.compile(rf"^\W*(?:{_words(g['including'])})\W*$"),
        res_anaphor=_compile(res["anaphor"]),
        speaker_titles=_compile(lx["speaker_titles"]),
        res_demands=_compile(res["demands"]),
        res_by_majority=_compile(res["by_majority"]),
        res_generic=_compile(res["generic"]),
        res_prior=_compile(res["prior_act"]),
        res_other=_compile(res["other_text"]),
        res_not_vetoed=_compile(res["not_vetoed"]),
        backed_by=re.compile(rf"(?:{_words(g['backed_by'])})\s?$"),
        against=re.compile(rf"{_B}(?:{_words(g['against'])})\s?$"),
        generic_army=_compile(lx["generic_army"]),
        flag_of=_compile_anywhere(lx["flag_of"]),
        quote_speaker=_compile_anywhere(lx["quote_speaker"]),
    )


BODY_TYPES = {"igo_body", "legislature", "igo"}
_BOUNDARY = re.compile(_PUNCT_BOUNDARY)


def _words(words: list[str]) -> str:
    return "|".join(re.escape(fold_pattern(w)) for w in sorted(words, key=len, reverse=True))


class _Spans:
    """Mentions indexed by start offset: those inside a span in O(log n + found), not a scan of all.

    ``within`` gives what ``[m for m in mentions if start <= m.start and m.end <= end]`` gives, in the
    same order, so a long article costs each sentence only its own mentions.
    """

    def __init__(self, mentions: list[Mention]) -> None:
        self.mentions = mentions
        # Stable: mentions with one start keep their order. The matchers give them sorted already.
        self._order = sorted(range(len(mentions)), key=lambda i: mentions[i].start)
        self._starts = [mentions[i].start for i in self._order]
        self._sorted = all(i == k for k, i in enumerate(self._order))

    def within(self, start: int, end: int) -> list[Mention]:
        lo, hi = bisect_left(self._starts, start), bisect_right(self._starts, end)
        found = [i for i in self._order[lo:hi] if self.mentions[i].end <= end]
        return [self.mentions[i] for i in (found if self._sorted else sorted(found))]


@dataclass
class _Ctx:
    article: Article
    folded: Folded
    gaz: Gazetteer
    actors: _Spans
    places: _Spans
    conflict: str | None
    embargo_claim: bool
    bodies: Counter  # bodies named in the article, by how often
    state_at_war: bool = False  # the war's own state is a side: foreign sides named, no local one


def _is_party(actor: Actor, conflict: str | None) -> bool:
    return bool(conflict and conflict in actor.party_in)


def _state_at_war(actors: list[Mention], conflict: str | None) -> bool:
    """Whether the article tells its war as the conflict's state against foreign sides: one of
    those named, and none of the war's local sides (the GNA, the RSF) but the state itself."""
    sides = [m.entry for m in actors if _is_party(m.entry, conflict)]
    return any(a.iso3 != conflict for a in sides) and not any(
        a.iso3 == conflict and a.type != "state" for a in sides
    )


def conflict_country(actors: list[Mention], places: list[Mention], gaz: Gazetteer) -> str | None:
    """The conflict country the article is about: the most mentioned one among known conflicts."""
    score: Counter[str] = Counter()
    for m in actors:
        a = m.entry
        if a.type == "state" and a.iso3 in gaz.conflicts:
            score[a.iso3] += 2
        for c in a.party_in:
            # A local armed group says more about where the war is than a state fighting abroad.
            score[c] += 1 if a.type == "state" else 2
    for m in places:
        if m.entry.country in gaz.conflicts:
            score[m.entry.country] += 1
    return score.most_common(1)[0][0] if score else None


def _subsume(mentions: list[Mention]) -> list[Mention]:
    """Drop a state mention when an official of that state is named too (the title's adjective)."""
    officials = {m.entry.iso3 for m in mentions if m.entry.type == "official" and m.entry.iso3}
    bodies = {m.entry.body for m in mentions if m.entry.type == "official" and m.entry.body}
    out, seen = [], set()
    for m in mentions:
        a = m.entry
        if a.type == "state" and a.iso3 in officials:
            continue
        if a.name in bodies:
            continue  # "the UN envoy Ghassan Salame": the envoy, not the UN
        if a.name in seen:
            continue
        seen.add(a.name)
        out.append(m)
    return out


def _nearest_group(text: str, mentions: list[Mention]) -> list[Mention]:
    """The mention nearest the trigger (the last one) and those coordinated with it ("X and Y")."""
    if not mentions:
        return []
    group = [mentions[-1]]
    for m in reversed(mentions[:-1]):
        if lexicon().coordination.match(text[m.end : group[-1].start]) or m.end >= group[-1].start:
            group.append(m)
        else:
            break
    return group[::-1]


def _role(mention: Mention, role: str) -> dict:
    a: Actor = mention.entry
    return {"role": role, "name": a.name, "actor_type": a.type, "iso3": a.iso3, "known": True}


def _clause_start(fs: str, pos: int, floor: int = 0) -> int:
    last = floor
    for m in _BOUNDARY.finditer(fs, floor, pos):
        last = m.end()
    return last


def _clause_end(fs: str, pos: int) -> int:
    m = lexicon().clause_end.search(fs, pos)
    return m.start() if m else len(fs)


def _first(pattern: re.Pattern, fs: str, start: int = 0, end: int | None = None) -> re.Match | None:
    return pattern.search(fs, start, len(fs) if end is None else end)


def _place_after(ctx: _Ctx, fstart: int, fend: int, after: int) -> Place | None:
    """The first place named after a position; an ambiguous name goes to the conflict's country."""
    for m in ctx.places.within(fstart, fend):
        if m.start >= after:
            same_name = ctx.gaz.place_index.get(name_key(ctx.folded.text[m.start : m.end])) or [m.entry]
            return next((p for p in same_name if p.country == ctx.conflict), m.entry)
    return None


def _base(
    ctx: _Ctx,
    event_type: str,
    status: str,
    sent: tuple[int, int],
    fsent: tuple[int, int],
    anchor: int,
    cue: bool = True,
) -> dict:
    s, e = sent
    text = ctx.article.text
    date, precision = resolve_date(text[s:e], ctx.article.published, anchor - fsent[0])
    return {
        "event_type": event_type,
        "status": status,
        "actors": [],
        "date": date,
        "date_precision": precision,
        "location": None,
        "country": None,
        "conflict_country": ctx.conflict,
        "evidence": [{"article_id": ctx.article.article_id, "quote": text[s:e], "start": s, "end": e}],
        # A status read from an explicit cue is surer than a default one; merge.combine relies on it.
        "confidence": 0.7 if cue else 0.5,
        "extractor": NAME,
    }


# --- the three event types ----------------------------------------------------------


def _ceasefire(ctx: _Ctx, sent, fsent, fs: str, ms: list[Mention], lx: Lexicon) -> dict | None:
    term = _first(lx.cf_term, fs)
    if not term:
        return None
    demands = _first(lx.res_demands, fs)
    call = _first(lx.cf_call, fs)
    agreed = _first(lx.cf_agreed, fs)
    proposed = _first(lx.cf_proposed, fs)
    rejected = _first(lx.cf_rejected, fs)
    if agreed and (
        _first(lx.cf_need, fs, agreed.start(), term.end() + 1) or (call and call.start() < agreed.start())
    ):
        agreed = None  # "agreed on the need for a ceasefire", "urged X to agree to a truce": calls
    cue = agreed or rejected or proposed or call
    if not cue:
        return None
    if demands and demands.start() < term.start() and (not call or demands.start() <= call.start()):
        return None  # a resolution demanding a ceasefire is a resolution, not a call
    if call and not agreed and _first(lx.res_by_majority, fs, 0, term.start()):
        return None  # "the Assembly called by an overwhelming majority for a truce": its resolution
    veto = _first(lx.res_status["vetoed"], fs, 0, term.start())
    if veto and call and veto.start() < call.start() and _clause_start(fs, call.start()) <= veto.start():
        return None  # "Russia vetoes UN demand for a ceasefire": the demand of a vetoed text, not a call
    if agreed and rejected and rejected.start() < agreed.start():
        agreed = None  # "refused to sign the ceasefire agreement"
    status = (
        "agreed"
        if agreed
        else "rejected"
        if rejected and rejected.start() < term.start()
        else "proposed"
        if proposed
        else "called"
    )
    trigger = min(m.start() for m in (agreed, rejected, proposed, call, term) if m)
    hard = max((m.end() for m in lx.hard_boundary.finditer(fs, 0, trigger + 1)), default=0)
    floor = max(_clause_start(fs, trigger), hard)
    cands = [m for m in ms if not (m.entry.type == "state" and m.entry.iso3 == ctx.conflict)]
    parties = [m for m in cands if _is_party(m.entry, ctx.conflict)]
    others = [m for m in cands if m not in parties]
    before = [m for m in others if fsent[0] + floor <= m.start < fsent[0] + trigger]
    agent = _first(lx.cf_agent, fs, term.end())
    if agent and agent.start() - term.end() < 20:
        after = [
            m for m in others if fsent[0] + agent.end() <= m.start < fsent[0] + _clause_end(fs, agent.end())
        ]
        before = _nearest_group(ctx.folded.text, after[::-1])[::-1] if after else before
    # In "rejected (or welcomed) the Assembly's call for a truce" the actor after the cue made that call.
    welcomed = status == "agreed" and lx.cf_welcome.match(fs, agreed.start())
    inner = [] if status == "rejected" or welcomed else others
    callers = (
        _nearest_group(ctx.folded.text, before)
        or [m for m in inner if fsent[0] + trigger <= m.start < fsent[0] + term.start()]
        or _nearest_group(
            ctx.folded.text, [m for m in inner if fsent[0] + hard <= m.start < fsent[0] + term.start()]
        )
        or _quote_speaker(ctx, fs, fsent, term.end(), lx)
    )
    if not callers and welcomed and not parties:
        # "Sudan's government welcomed the UN call" (رحبت الحكومة السودانية بدعوة): the state at war
        # itself agrees; it is named before the call, before or after the verb.
        callers = [
            m
            for m in ms
            if m.entry.type == "state"
            and m.entry.iso3 == ctx.conflict
            and fsent[0] + floor <= m.start < fsent[0] + term.start()
        ][:1]
    window = (fsent[0] + floor, fsent[0] + _clause_end(fs, term.end()))
    addressees = [m for m in parties if window[0] <= m.start < window[1]]
    if not callers and parties:
        # Only parties named: the one nearest before the trigger speaks (Hamas calls, the RSF agrees).
        head = [m for m in parties if fsent[0] + floor <= m.start < fsent[0] + trigger] or [
            m for m in parties if m.start >= fsent[0] + floor
        ]
        if not head:
            return None
        callers = _nearest_group(ctx.folded.text, head[:1] if head[0].start > fsent[0] + trigger else head)
        addressees = [m for m in addressees if m not in callers]
    if status == "agreed" and parties:
        # The parties accept the truce together; mediators and venues are not parties to it.
        callers, addressees = parties, []
    unknown = None
    if not callers and status == "agreed" and _first(lx.cf_unnamed_parties, fs, floor, term.start()):
        # "Yemen's warring parties agreed to a ceasefire": an agreement whose parties are not named.
        ev = _base(ctx, "ceasefire_call", status, sent, fsent, fsent[0] + trigger, cue=True)
        ev["actors"] = []
        return ev
    if not callers and status in {"called", "proposed"}:
        unknown = _unknown_speaker(ctx, fs, fsent, floor, trigger, lx) or _unknown_speaker(
            ctx, fs, fsent, hard, trigger, lx
        )
    if not callers and not unknown:
        return None
    ev = _base(ctx, "ceasefire_call", status, sent, fsent, fsent[0] + trigger, cue=status != "called")
    # "The UN" calling in a story about its Council (the headline's "UN urges ceasefire"): the Council.
    callers = [replace(m, entry=_specific_body(m.entry, ctx.bodies)) for m in callers]
    ev["actors"] = [_role(m, "caller") for m in _subsume(callers)] + [
        _role(m, "addressee") for m in _subsume(addressees)
    ]
    if unknown:
        ev["actors"].insert(0, unknown)
    for m in callers:
        seat = ctx.gaz.seat(m.entry) if m.entry.type in {"igo_body", "igo"} else None
        if seat:
            ev["location"], ev["country"] = seat.name, seat.country
            break
    else:
        place = _place_after(ctx, *fsent, fsent[0])
        if place and place.country != ctx.conflict:
            ev["location"], ev["country"] = place.name, place.country
    return ev


def _quote_speaker(ctx: _Ctx, fs: str, fsent, after: int, lx: Lexicon) -> list[Mention]:
    """The actor named as the speaker of a quotation that closes after ``after``: '"..." X said'."""
    said = lx.quote_speaker.search(fs, after)
    if not said:
        return []
    end = fsent[0] + _clause_end(fs, said.end())
    named = list(ctx.actors.within(fsent[0] + said.start(), end))
    return _nearest_group(ctx.folded.text, named)


def _unknown_speaker(ctx: _Ctx, fs: str, fsent, floor: int, trigger: int, lx: Lexicon) -> dict | None:
    """The title phrase of a speaker the dictionary does not know, as an unknown caller."""
    found = [m for m in lx.speaker_titles.finditer(fs, floor, trigger + 1) if m.end() <= trigger + 1]
    if not found:
        return None
    m = found[-1]
    s, e = ctx.folded.span(fsent[0] + m.start(), fsent[0] + m.end())
    surface = ctx.article.text[s:e].strip()
    return {
        "role": "caller",
        "name": surface,
        "surface": surface,
        "actor_type": None,
        "iso3": None,
        "known": False,
    }


def _nearest_role(
    fs: str,
    m: Mention,
    fsent0: int,
    cues: dict[str, list[tuple[int, int]]],
    counts: dict[str, list[tuple[int, int]]],
) -> str | None:
    """The role of the cue nearest to member ``m`` (within 80 characters), unless ``m`` is listed
    right after a vote count ("10 against, including Israel"): that count's role."""
    best, best_d = None, 80
    including = lexicon().including
    for role, spans in cues.items():
        for s, e in spans:
            inside = s <= m.start - fsent0 and m.end - fsent0 <= e  # "وامتنعت بريطانيا عن التصويت"
            d = 0 if inside else min(abs(m.start - fsent0 - e), abs(s - (m.end - fsent0)))
            if d < best_d:
                best, best_d = role, d
    for role, spans in counts.items():
        for _, e in spans:
            # "10 against, including Israel": the member listed after its count's "including".
            if 0 <= m.start - fsent0 - e < 20 and including.match(fs[e : m.start - fsent0]):
                return role
    return best


def _specific_body(actor: Actor, article_bodies: Counter) -> Actor:
    """ "The UN" voted: the UN organ this article is about (the Security Council, the Assembly)."""
    if actor.type != "igo":
        return actor
    organs = [
        (n, a)
        for a, n in article_bodies.items()
        if a.type == "igo_body" and (a.body == actor.name or a.name.startswith(actor.name))
    ]
    return max(organs, key=lambda x: x[0])[1] if organs else actor


def _prior_act(fs: str, lx: Lexicon) -> int | None:
    """Where a clause telling an earlier act starts, in a sentence about a text's adoption ("adopted
    resolution 2791 ... twelve days after Russia vetoed an earlier version") or about a vote ("the
    Assembly voted after the Council failed four times to act"), or None."""
    prior = _first(lx.res_prior, fs)
    if prior and (
        (lx.res_status["adopted"].search(fs, 0, prior.start()) and _first(lx.res_noun, fs, 0, prior.start()))
        or lx.res_vote.search(fs, 0, prior.start())
    ):
        return prior.start()
    return None


def _resolution(
    ctx: _Ctx,
    sent,
    fsent,
    fs: str,
    ms: list[Mention],
    lx: Lexicon,
    last_body: list[Actor],
    noun_known: bool = False,
) -> dict | None:
    """The resolution a sentence (or clause) states, if any; ``noun_known``: the clause continues one
    that named the text ("... after Russia vetoed an earlier version")."""
    article_bodies = ctx.bodies
    bodies = [m for m in ms if m.entry.type in BODY_TYPES and not m.demonym]
    noun = _first(lx.res_noun, fs)
    if not noun and any(m.entry.type == "legislature" for m in bodies):
        noun = _first(lx.res_leg_noun, fs)
    if not noun and not noun_known:
        return None
    noun_at = noun.start() if noun else 0
    statuses = {k: p.search(fs) for k, p in lx.res_status.items()}
    if statuses["vetoed"]:
        cast = [(m.start(), m.end()) for m in lx.res_not_vetoed.finditer(fs)]
        statuses["vetoed"] = next(
            (m for m in lx.res_status["vetoed"].finditer(fs) if not any(s <= m.start() < e for s, e in cast)),
            None,
        )
    if statuses["failed"] and not lx.res_vote.search(fs):
        statuses["blocked"] = statuses["blocked"] or statuses["failed"]
        statuses["failed"] = None
    status = next((k for k in ("vetoed", "adopted", "failed", "blocked", "drafted") if statuses[k]), None)
    if not status:
        return None
    if lx.res_generic.search(fs):
        return None
    if lx.res_background.search(fs) and status in {"drafted", "adopted"}:
        return None  # "under resolution 1973", "since resolution 2216 was adopted in 2015"
    body_actors = [_specific_body(m.entry, article_bodies) for m in bodies]
    if not body_actors and (noun_known or lx.res_anaphor.search(fs)) and (last_body or article_bodies):
        # "the council", "the draft": the body the story is about, named before or else most often.
        story_body = last_body[-1] if last_body else article_bodies.most_common(1)[0][0]
        body_actors = [_specific_body(story_body, article_bodies)]
    if not body_actors:
        return None
    # The primary body is the nearest to the resolution noun.
    body_actors.sort(
        key=lambda a: min(
            (
                abs(m.start - fsent[0] - noun_at)
                for m in bodies
                if _specific_body(m.entry, article_bodies) == a
            ),
            default=0,
        )
    )
    primary = [body_actors[0]]
    ev = _base(ctx, "resolution", status, sent, fsent, fsent[0] + noun_at)
    ev["actors"] = [
        {"role": "body", "name": a.name, "actor_type": a.type, "iso3": a.iso3, "known": True} for a in primary
    ]
    ev["actors"] += _member_roles(ctx, fs, fsent, ms, lx, body_actors)
    seat = ctx.gaz.seat(primary[0])
    if seat:
        ev["location"], ev["country"] = seat.name, seat.country
    sym = lx.res_symbol.search(fs)
    ev["symbol"] = (
        (
            sym.group(1)
            or ctx.article.text[slice(*ctx.folded.span(fsent[0] + sym.start(), fsent[0] + sym.end()))]
        )
        if sym
        else None
    )
    for key, pat in lx.res_votes.items():
        vm = pat.search(fs)
        ev[key] = int(next(g for g in vm.groups() if g)) if vm else None
    ev["topics"] = [k for k, p in lx.res_topics.items() if p.search(fs)]
    return ev


def _votes_of(ctx: _Ctx, ev: dict, sent, fsent, fs: str, ms: list[Mention], lx: Lexicon) -> bool:
    """Add to resolution ``ev`` the members' votes a sentence after it tells without naming the text
    ("Russia and China voted against, India abstained"); whether it told any."""
    if not lx.res_vote.search(fs) and not lx.res_roles["abstainer"].search(fs):
        return False
    bodies = [ctx.gaz.actor(a["name"]) for a in ev["actors"] if a["role"] == "body"]
    found = _member_roles(ctx, fs, fsent, ms, lx, [b for b in bodies if b])
    seen = {a["name"] for a in ev["actors"]}
    new = [a for a in found if a["name"] not in seen]
    if not new:
        return False
    ev["actors"] += new
    s, e = sent
    ev["evidence"].append(
        {"article_id": ctx.article.article_id, "quote": ctx.article.text[s:e], "start": s, "end": e}
    )
    for key, pat in lx.res_votes.items():
        vm = pat.search(fs) if ev.get(key) is None else None
        ev[key] = int(next(g for g in vm.groups() if g)) if vm else ev.get(key)
    return True


def _member_roles(
    ctx: _Ctx, fs: str, fsent, ms: list[Mention], lx: Lexicon, bodies: list[Actor]
) -> list[dict]:
    """The members named in a resolution's sentence (or clause) with the role its cues give them:
    sponsor, supporter, opposer, abstainer."""
    cues = {role: [(m.start(), m.end()) for m in p.finditer(fs)] for role, p in lx.res_roles.items()}
    # A cue inside a longer cue of another role is part of it ("abstained from supporting").
    spans = [(s, e, r) for r, sp in cues.items() for s, e in sp]
    cues = {
        r: [
            (s, e)
            for s, e in sp
            if not any(r2 != r and s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, r2 in spans)
        ]
        for r, sp in cues.items()
    }
    members = _subsume(
        [
            m
            for m in ms
            if m.entry not in bodies
            # Members vote, draft and object: states and their officials, not a UN official.
            and (m.entry.type == "state" or (m.entry.type == "official" and m.entry.iso3))
            and m.entry.iso3 != ctx.conflict
        ]
    )
    counts = {role: [(m.start(), m.end()) for m in p.finditer(fs)] for role, p in lx.res_count_roles.items()}
    roles = [_nearest_role(fs, m, fsent[0], cues, counts) for m in members]
    # An intergovernmental body's members are states: a minister or envoy votes, drafts and objects
    # for theirs. A parliament's motion is its president's or a party's own.
    if not any(b.type == "legislature" for b in bodies):
        members = [
            replace(m, entry=ctx.gaz.states[m.entry.iso3])
            if m.entry.type == "official" and m.entry.iso3 in ctx.gaz.states
            else m
            for m in members
        ]
    # A list takes the role of its head: "abstained: Russia, China, India and Brazil".
    for i in range(1, len(members)):
        if (
            roles[i] is None
            and roles[i - 1]
            and lx.coordination.match(ctx.folded.text[members[i - 1].end : members[i].start])
        ):
            roles[i] = roles[i - 1]
    for i in range(len(members) - 2, -1, -1):
        if (
            roles[i] is None
            and roles[i + 1]
            and lx.coordination.match(ctx.folded.text[members[i].end : members[i + 1].start])
        ):
            roles[i] = roles[i + 1]
    return [_role(m, r) for m, r in zip(members, roles, strict=True) if r]


def _delivery_clauses(fs: str, lx: Lexicon) -> list[tuple[int, int]]:
    """The parts of a sentence that each tell a delivery: the whole sentence, unless deliveries with
    materiel of their own are told in clauses of their own ("reports of Germany sending tanks
    surfaced, US officials said Biden is poised to approve sending Abrams tanks"): cut between them."""
    verbs = [v for v in lx.arms_delivery.finditer(fs)]
    if len(verbs) < 2:
        return [(0, len(fs))]
    materiel = [m.start() for p in lx.arms_materiel.values() for m in p.finditer(fs)]
    starts = sorted(
        {_clause_start(fs, v.start()) for v in verbs if any(0 <= m - v.end() <= 30 for m in materiel)}
    )
    if len(starts) < 2:
        return [(0, len(fs))]
    cuts = [0, *starts[1:], len(fs)]
    return list(zip(cuts, cuts[1:], strict=False))


def _arms(ctx: _Ctx, sent, fsent, fs: str, ms: list[Mention], lx: Lexicon) -> dict | None:
    sales = list(lx.arms_sale.finditer(fs))
    verbs = list(lx.arms_delivery.finditer(fs)) + sales
    if not verbs:
        return None  # most sentences: no materiel search needed
    blocked = [(m.start(), m.end()) for m in lx.arms_not.finditer(fs)]
    # "an embargo on supplying X ... with weapons": the supplying is what the embargo forbids.
    verbs = [v for v in verbs if not any(s <= v.start() < e for s, e in blocked)]
    # "قوات الدعم السريع", "Rapid Support Forces": a name, not materiel.
    blocked += [(m.start - fsent[0], m.end - fsent[0]) for m in ms]
    found: list[tuple[str, re.Match]] = []
    for label, pat in lx.arms_materiel.items():
        for m in pat.finditer(fs):
            if not any(s <= m.start() < e for s, e in blocked):
                found.append((label, m))
    pairs = [
        (v, lab, m)
        for v in verbs
        for lab, m in found
        if abs(m.start() - v.end()) <= 60 or abs(v.start() - m.end()) <= 30
    ]
    if not pairs:
        return None
    verb = min(pairs, key=lambda p: abs(p[2].start() - p[0].end()))[0]
    labels = sorted({lab for v, lab, m in pairs if v is verb}, key=list(lx.arms_materiel).index)
    cands = [m for m in ms if m.entry.type not in {"official"} and not m.demonym or m.entry.type == "state"]
    cands = [m for m in cands if m.entry.type not in BODY_TYPES]
    vpos = fsent[0] + verb.start()
    recipients, suppliers = [], []
    clause = (fsent[0] + _clause_start(fs, verb.start()), fsent[0] + _clause_end(fs, verb.end()))
    for m in cands:
        before = ctx.folded.text[max(fsent[0], m.start - 12) : m.start]
        dative = m.start > vpos and lx.dative.search(before)
        # "weapons to Libya": the destination, not an actor; but in a war told as one against a
        # foreign side, with no local side named ("tanks to Ukraine" against Russia's invasion, "Mali
        # denied any deployment of Wagner's mercenaries"), the state is itself the side.
        home = m.entry.type == "state" and m.entry.iso3 == ctx.conflict
        if home and not ctx.state_at_war:
            continue
        if lx.against.search(before):
            continue  # the side the recipient fights
        if dative or (_is_party(m.entry, ctx.conflict) and clause[0] <= m.start < clause[1]):
            recipients.append(m)
        elif not _is_party(m.entry, ctx.conflict):
            suppliers.append(m)
    # A backer is not a supplier ("the SDF, backed by the United States").
    suppliers = [
        m
        for m in suppliers
        if not lx.backed_by.search(ctx.folded.text[max(fsent[0], m.start - 16) : m.start])
    ]
    # A speaker or accuser is not the supplier ("Egypt condemned the sending of troops").
    speech = [(m.start(), m.end()) for m in lx.third_party.finditer(fs)]
    suppliers = [
        m
        for m in suppliers
        if not any(0 <= m.start - fsent[0] - e <= 3 or 0 <= s - (m.end - fsent[0]) <= 3 for s, e in speech)
    ]
    if verb in sales and not recipients:
        return None  # a sale between states that are not parties to this conflict
    # Keep the supplier nearest the delivery verb and those coordinated with it.
    if suppliers:
        near = min(suppliers, key=lambda m: abs(m.start - vpos))
        suppliers = [
            m for m in suppliers if m is near or abs(m.start - near.end) <= 6 or abs(near.start - m.end) <= 6
        ]
    legislature = next((m.entry for m in ms if m.entry.type == "legislature"), None)
    if not suppliers and legislature and legislature.iso3 in ctx.gaz.states:
        supplier_actor = ctx.gaz.states[legislature.iso3]
        suppliers = [Mention(supplier_actor, vpos, vpos)]
    if (
        not suppliers
        and not any(
            m.start > vpos and lx.dative.search(ctx.folded.text[max(fsent[0], m.start - 12) : m.start])
            for m in recipients
        )
        # A ship found carrying materiel in breach of the embargo is a shipment, its sides unknown;
        # weapons "flowing in", or a ship that brought a party its own reinforcements, are not.
        and not (lx.arms_violation.search(fs) and lx.arms_vessel.search(fs))
    ):
        return None  # no supplier and no marked recipient: weapons "flowing in", a redeployment
    st = {k: p.search(fs) for k, p in lx.arms_status.items()}
    status = (
        "denied"
        if st["denied"]
        else "authorised"
        if st["authorised"]
        else "confirmed"
        if st["confirmed"]
        else "alleged"
        if st["alleged"]
        else "confirmed"
    )
    ev = _base(ctx, "arms_delivery", status, sent, fsent, vpos, cue=any(st.values()))
    ev["actors"] = [_role(m, "supplier") for m in _subsume(suppliers)] + [
        _role(m, "recipient") for m in _subsume(recipients)
    ]
    place = _place_after(ctx, *fsent, vpos)
    if place:
        ev["location"], ev["country"] = place.name, place.country
    else:
        # No place named: the destination country, the recipient's own when it is a state.
        states = [m.entry.iso3 for m in recipients if m.entry.type == "state" and m.entry.iso3]
        ev["country"] = states[0] if states else ctx.conflict
    ev["materiel"] = " and ".join(", ".join(labels).rsplit(", ", 1)) if labels else None
    ev["mode"] = next((k for k, p in lx.arms_modes.items() if p.search(fs)), "unknown")
    ev["embargo_violation_claimed"] = ctx.embargo_claim
    return ev


def warm_up() -> None:
    """Load and compile the lexicon, the dictionaries and the date patterns once, in this process:
    worker processes forked after it share them instead of each building its own."""
    extract(
        Article(
            "warm-up",
            "warm-up",
            "Egypt called for a ceasefire in Gaza on 3 March 2024.\n\n"
            "دعت مصر يوم الأحد إلى وقف إطلاق النار في غزة.",
            published="2024-03-04",
        )
    )


def _flag(text: str, m: Mention, lx: Lexicon) -> bool:
    """Whether a state is named as a ship's flag ("flying the flag of Moldova", "Moldovan-flagged")."""
    if m.entry.type != "state":
        return False
    return bool(lx.flag_of.search(text, max(0, m.start - 40), m.start)) or text.startswith("-flag", m.end)


@cache
def _surname_pattern(surname: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(surname)}(?!\w)")


def _with_surnames(text: str, actors: list[Mention]) -> list[Mention]:
    """``actors`` (sorted, in ``text``) with a person named in full and later by surname alone
    ("Eli Cohen ... Cohen wrote") found again at the surname."""
    found: list[Mention] = []
    spans = [(m.start, m.end) for m in actors]
    for m in actors:
        words = text[m.start : m.end].split()
        if m.entry.type != "official" or len(words) < 2 or len(words[-1]) < 4:
            continue
        for hit in _surname_pattern(words[-1]).finditer(text, m.end):
            if not any(s < hit.end() and hit.start() < e for s, e in spans):
                found.append(Mention(m.entry, hit.start(), hit.end()))
                spans.append((hit.start(), hit.end()))
    return sorted(actors + found, key=lambda m: (m.start, -m.end)) if found else actors


def _with_generic_army(
    text: str, actors: list[Mention], conflict: str | None, gaz: Gazetteer, lx: Lexicon
) -> list[Mention]:
    """``actors`` (sorted, in ``text``) with "the army" of a story about ``conflict``'s war as that
    country's army, where no other actor is named at that spot."""
    army = gaz.national_army(conflict) if conflict else None
    if army is None:
        return actors
    spans = [(m.start, m.end) for m in actors]
    found = [
        Mention(army, m.start(), m.end())
        for m in lx.generic_army.finditer(text)
        if not any(s < m.end() and m.start() < e for s, e in spans)
    ]
    return sorted(actors + found, key=lambda m: (m.start, -m.end)) if found else actors


# A dateline: where a wire story was written, not who acted ("Cairo, Egypt (Reuters) --",
# "دبي، الإمارات العربية المتحدة (CNN)--", "Tripoli (AFP) -"), at the start of a paragraph.
_DATELINE = re.compile(r"(?:^|(?<=\n))[^\n.]{2,60}?\([^()\n]{2,30}\)\s?(?:--?|–|—|:)")


def _fold_unnamed_calls(events: list[dict]) -> list[dict]:
    """A ceasefire call, or agreement, whose caller is not named or only by a title the dictionary
    does not know ("the warring parties agreed", "he told the bloc's foreign ministers") is the
    article's one call of that status with a known caller, when there is exactly one."""
    out = list(events)
    for status in ("called", "agreed", "proposed"):
        calls = [e for e in out if e["event_type"] == "ceasefire_call" and e["status"] == status]
        known = [e for e in calls if any(a.get("known", True) for a in e["actors"])]
        if len(known) != 1:
            continue
        for ev in calls:
            if ev is known[0] or any(a.get("known", True) for a in ev["actors"]):
                continue
            if ev["date"] and known[0]["date"] and ev["date"] != known[0]["date"]:
                continue  # another day's call
            out = [e for e in out if e is not ev]
            i = next(i for i, e in enumerate(out) if e is known[0])
            # Its title phrase is no second caller: the known one is who it was.
            out[i] = known[0] = combine(known[0], {**ev, "actors": []})
    return out


def extract(article: Article, gaz: Gazetteer | None = None) -> list[dict]:
    """Candidate events of one article, mentions of the same event merged."""
    gaz = gaz or gazetteer()
    lx = lexicon()
    folded = fold(article.text)
    actors = gaz.find_actors(folded)
    places = gaz.find_places(folded)
    conflict = conflict_country(actors, places, gaz)
    actors = _with_generic_army(folded.text, actors, conflict, gaz, lx)
    actors = _with_surnames(folded.text, actors)
    actors = [m for m in actors if not _flag(folded.text, m, lx)]
    datelines = [(m.start(), m.end()) for m in _DATELINE.finditer(folded.text)]
    actors = [m for m in actors if not any(s <= m.start < e for s, e in datelines)]
    ctx = _Ctx(
        article,
        folded,
        gaz,
        _Spans(actors),
        _Spans(places),
        conflict,
        bool(lx.arms_violation.search(folded.text)),
        Counter(m.entry for m in actors if m.entry.type in BODY_TYPES and not m.demonym),
        _state_at_war(actors, conflict),
    )
    events: list[dict] = []
    other_texts: set[int] = set()  # resolutions of another text than the story's: never merged into it
    last_body: list[Actor] = []
    previous: dict | None = None  # the resolution the sentence before told, for its votes told next
    for s, e in sentences(article.text):
        before = len(events)
        res = None
        fs0, fe0 = bisect_left(folded.offsets, s), bisect_left(folded.offsets, e)
        fs = folded.text[fs0:fe0]
        ms = ctx.actors.within(fs0, fe0)
        cut = _prior_act(fs, lx)
        other = _first(lx.res_other, fs) if cut is None else None
        if other and _first(lx.res_noun, fs, 0, other.start()):
            # "... the Gulf draft, in the face of another draft put forward by Russia": two texts.
            mid = folded.offsets[fs0 + other.start()]
            head = [m for m in ms if m.start < fs0 + other.start()]
            res = _resolution(
                ctx, (s, mid), (fs0, fs0 + other.start()), fs[: other.start()], head, lx, last_body
            )
            events += [res] if res else []
            tail = [m for m in ms if m.start >= fs0 + other.start()]
            res = _resolution(
                ctx, (mid, e), (fs0 + other.start(), fe0), fs[other.start() :], tail, lx, last_body
            )
            other_texts.update([id(res)] if res else [])
            events += [res] if res else []
        elif cut is None:
            res = _resolution(ctx, (s, e), (fs0, fe0), fs, ms, lx, last_body)
            other_texts.update([id(res)] if res and other else [])
            events += [res] if res else []
            if not res and previous and _votes_of(ctx, previous, (s, e), (fs0, fe0), fs, ms, lx):
                res = previous  # "Russia and China voted against": the votes of the text just told
        else:
            # Two acts in one sentence: the later one before the marker, the earlier one after it.
            mid = folded.offsets[fs0 + cut]
            for (a, b), (fa, fb), known in (
                ((s, mid), (fs0, fs0 + cut), False),
                ((mid, e), (fs0 + cut, fe0), True),
            ):
                part = [m for m in ms if fa <= m.start < fb]
                res = _resolution(ctx, (a, b), (fa, fb), folded.text[fa:fb], part, lx, last_body, known)
                events += [res] if res else []
                last_body.extend(m.entry for m in part if m.entry.type in BODY_TYPES and not m.demonym)
        previous = res
        cf = _ceasefire(ctx, (s, e), (fs0, fe0), fs, ms, lx)
        if cf:
            events.append(cf)
        parts = _delivery_clauses(fs, lx)
        # Cut only between suppliers of their own: each part names a state or actor not at war here.
        if len(parts) > 1 and not all(
            any(fs0 + a <= m.start < fs0 + b and not _is_party(m.entry, ctx.conflict) for m in ms)
            for a, b in parts
        ):
            parts = [(0, len(fs))]
        for a, b in parts:
            part = [m for m in ms if fs0 + a <= m.start < fs0 + b]
            span = (s if a == 0 else folded.offsets[fs0 + a], e if b == len(fs) else folded.offsets[fs0 + b])
            arms = _arms(ctx, span, (fs0 + a, fs0 + b), fs[a:b], part, lx)
            if arms:
                events.append(arms)
        last_body.extend(m.entry for m in ms if m.entry.type in BODY_TYPES and not m.demonym)
        dated = [ev for ev in events[:before] if ev["date"]]
        if dated and any(not ev["date"] for ev in events[before:]) and same_day(article.text[s:e]):
            for ev in events[before:]:  # "Minutes later the Council adopted ...": the day told before
                if not ev["date"]:
                    ev["date"], ev["date_precision"] = dated[-1]["date"], dated[-1]["date_precision"]
    mentions = events
    events = coreference([ev for ev in events if id(ev) not in other_texts])
    events = _fold_unnamed_calls(events)
    for ev in (ev for ev in mentions if id(ev) in other_texts):
        # Another text is another event, but for a mention of that same text's same outcome.
        same = next(
            (i for i, x in enumerate(events) if x["status"] == ev["status"] and same_event(x, ev)), None
        )
        if same is None:
            events.append(ev)
        else:
            events[same] = combine(events[same], ev)
    # A body's ceasefire demand that is the text of its own resolution is that resolution, not a call.
    # The dates of those resolutions by body, so each call is checked in one look-up, not a scan.
    resolution_dates: dict[str, set] = {}
    for r in events:
        if r["event_type"] == "resolution" and "ceasefire" in r.get("topics", []):
            for name in {a["name"] for a in r["actors"] if a["role"] == "body"}:
                resolution_dates.setdefault(name, set()).add(r["date"] or None)

    def restates_resolution(call: dict) -> bool:
        callers = {a["name"] for a in call["actors"] if a["role"] == "caller"}
        for name in callers & resolution_dates.keys():
            dates = resolution_dates[name]
            if not call["date"] or None in dates or call["date"] in dates:
                return True
        return False

    return [e for e in events if not (e["event_type"] == "ceasefire_call" and restates_resolution(e))]
