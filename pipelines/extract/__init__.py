"""Choose an extractor and run it over articles.

In: articles and an extractor choice (``auto``, ``rules`` or ``llm``). Out: an
``Extraction``: the candidate events of every article, and for each article
whose extraction raised an error the reason (it is then recorded as ``failed``,
never as ``no_events``). ``auto`` picks the LLM when a model is configured
(``EVENTBUILDER_MODEL``), else the embedded rules extractor.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.ingest import Article

CHOICES = ("auto", "rules", "llm")


class Extractor(Protocol):
    """Extracts candidate events from one article; may also offer ``extract_many`` (concurrent)."""

    name: str
    version: str  # changes whenever its answers for the same article may change

    def extract(self, article: Article) -> list[dict]: ...


class RulesExtractor:
    name = "rules"
    # The languages its lexicons and dictionaries read; an article in another finds nothing and says why.
    languages = frozenset({"ar", "en", "fr"})

    @property
    def version(self) -> str:
        from pipelines.store import rules_version

        return rules_version()

    def extract(self, article: Article) -> list[dict]:
        from pipelines.extract import rules

        return rules.extract(article)

    def extract_many(
        self, articles: list[Article], progress: Callable[[Article], None] | None = None
    ) -> Extraction:
        """Every article; in worker processes when there are many (see ``pipelines.workers``).

        The lexicons and dictionaries are loaded here first, so forked workers share them instead of
        each loading its own.
        """
        from pipelines.extract import rules
        from pipelines.workers import MIN_PER_WORKER, map_chunks, worker_count

        if worker_count() > 1 and len(articles) >= 2 * MIN_PER_WORKER:
            rules.warm_up()
        out = Extraction(self.name)
        step = (lambda chunk: [progress(a) for a in chunk]) if progress else None
        for article_id, found, error in map_chunks(_extract_batch, articles, progress=step):
            if error is not None:
                out.failed[article_id] = error
            else:
                out.events.extend(found)
        return out


def _extract_one(article: Article, extractor: Extractor) -> tuple[list[dict] | None, str | None]:
    try:
        found = extractor.extract(article)
    except Exception as e:  # one bad article must not lose the others
        return None, f"{type(e).__name__}: {e}"
    for ev in found:
        ev.setdefault("extractor", extractor.name)
    return found, None


def _extract_batch(articles: list[Article]) -> list[tuple[str, list[dict] | None, str | None]]:
    extractor = RulesExtractor()
    return [(a.article_id, *_extract_one(a, extractor)) for a in articles]


def possible_event(text: str) -> bool:
    """Whether the embedded lexicon sees a possible event trigger in ``text`` (any language it reads)."""
    from pipelines.extract.rules import lexicon
    from pipelines.textnorm import fold

    fs = fold(text).text
    lx = lexicon()
    return bool(
        lx.cf_term.search(fs)
        or lx.res_noun.search(fs)
        or lx.res_leg_noun.search(fs)
        or lx.arms_delivery.search(fs)
        or any(p.search(fs) for p in lx.arms_materiel.values())
    )


class ExtractorUnavailable(RuntimeError):
    pass


def resolve_choice(choice: str, model: str | None = None, router=None) -> str:
    """``auto`` is the LLM when a model or a router file is configured, else the rules."""
    if choice not in CHOICES:
        raise ValueError(f"unknown extractor {choice!r}: choose one of {', '.join(CHOICES)}")
    model = model or os.environ.get("EVENTBUILDER_MODEL") or router or os.environ.get("EVENTBUILDER_ROUTER")
    if choice == "auto":
        return "llm" if model else "rules"
    return choice


def get_extractor(choice: str = "auto", model: str | None = None, **llm_settings) -> Extractor:
    """The extractor for a choice; ``llm_settings`` are LLMConfig fields (api_base, concurrency...)."""
    kind = resolve_choice(choice, model, llm_settings.get("router"))
    if kind == "rules":
        return RulesExtractor()
    from pipelines.extract.llm import LLMConfig, LLMExtractor

    try:
        config = LLMConfig.from_env(model=model, **llm_settings)
    except ValueError as e:  # RouterConfigError included: a bad router file, named
        raise ExtractorUnavailable(str(e)) from None
    return LLMExtractor(config)


def not_covered(extractor: str, language: str | None) -> str | None:
    """Why ``extractor`` found nothing in an article in ``language`` when it cannot read that language:
    ``language_not_covered: fa`` (``und`` when the language could not be told); None when it can."""
    if extractor != RulesExtractor.name:
        return None  # a model reads any language
    lang = (language or "und").replace("_", "-").split("-")[0].lower()
    return None if lang in RulesExtractor.languages else f"language_not_covered: {lang}"


@dataclass
class Extraction:
    extractor: str
    events: list[dict] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # article_id -> reason
    rejected: list[dict] = field(default_factory=list)  # quarantine rows (answers that stayed invalid)
    usage: dict[str, dict] = field(default_factory=dict)  # article_id -> model, tokens, cost, calls...
    keys: dict[str, str] = field(default_factory=dict)  # article_id -> extraction key (see store.py)
    unsent: dict[str, str] = field(default_factory=dict)  # article_id -> why no call was made for it
    reused: set[str] = field(default_factory=set)  # article ids unchanged since stored: not extracted again
    duplicates: dict[str, str] = field(default_factory=dict)  # article_id -> source already holding its text
    copies: dict[str, str] = field(default_factory=dict)  # near-duplicate's article_id -> its original's
    signatures: dict[str, bytes] = field(default_factory=dict)  # article_id -> MinHash signature (neardup)
    near_keys: dict[str, list[int]] = field(default_factory=dict)  # article_id -> its band keys (neardup)


def extract_all(
    articles: list[Article], extractor: Extractor, progress: Callable[[Article], None] | None = None
) -> Extraction:
    many = getattr(extractor, "extract_many", None)
    if many is not None:
        return many(articles, progress)
    return _extract_serially(articles, extractor, progress)


def extract_linked(
    articles: list[Article],
    extractor: Extractor,
    links,
    progress: Callable[[Article], None] | None = None,
) -> Extraction:
    """Extract ``articles`` once per story: each near-duplicate (``links``, from ``neardup.link``) gets
    its original's events re-anchored in its own text instead of an extraction; one whose original
    failed now is extracted itself."""
    from pipelines.neardup import copy_events

    copies = [a for a in articles if a.article_id in links.copy_of]
    out = extract_all([a for a in articles if a.article_id not in links.copy_of], extractor, progress)
    by_article: dict[str, list[dict]] = {}
    for ev in out.events:
        by_article.setdefault((ev.get("evidence") or [{}])[0].get("article_id"), []).append(ev)
    alone = []
    for a in copies:
        original = links.copy_of[a.article_id]
        if original in out.failed:
            alone.append(a)
            continue
        out.events += copy_events(links.stored.get(original, by_article.get(original, [])), a)
        out.copies[a.article_id] = original
        if progress:
            progress(a)
    if alone:
        more = extract_all(alone, extractor, progress)
        out.events += more.events
        out.failed.update(more.failed)
        out.rejected += more.rejected
        out.usage.update(more.usage)
        out.unsent.update(more.unsent)
    out.signatures, out.near_keys = dict(links.signatures), dict(links.keys)
    return out


def _extract_serially(
    articles: list[Article], extractor: Extractor, progress: Callable[[Article], None] | None = None
) -> Extraction:
    out = Extraction(extractor.name)
    for art in articles:
        found, error = _extract_one(art, extractor)
        if error is not None:
            out.failed[art.article_id] = error
        else:
            out.events.extend(found)
        if progress:
            progress(art)
    return out
