"""Check candidate events before publication: grounding first, then the JSON Schema.

In: articles and the candidate events extracted from them. Out: the events that
pass (every evidence quote re-anchored so that ``text[start:end] == quote``) and
a quarantine row for each one that does not, with its reason. A quote that is
not in its article, even after orthographic folding, rejects the whole event:
it is never repaired or published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipelines.ingest import Article
from pipelines.schema import validation_errors
from pipelines.textnorm import fold, ground


@dataclass
class Validated:
    events: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)


def ground_evidence(event: dict, articles: dict[str, Article], folded_cache: dict | None = None) -> list[str]:
    """Re-anchor every quote in its article; return the problems (empty when all are grounded)."""
    problems = []
    folded_cache = {} if folded_cache is None else folded_cache
    for i, ev in enumerate(event.get("evidence") or []):
        art = articles.get(ev.get("article_id"))
        if art is None:
            problems.append(f"evidence/{i}: unknown article_id {ev.get('article_id')!r}")
            continue
        quote = ev.get("quote") or ""
        start, end = ev.get("start"), ev.get("end")
        if isinstance(start, int) and isinstance(end, int) and art.text[start:end] == quote and quote:
            continue
        if art.article_id not in folded_cache:
            folded_cache[art.article_id] = fold(art.text)
        ft = folded_cache[art.article_id]
        span = ground(quote, art.text, ft)
        if span is None:
            problems.append(f"evidence/{i}: quote not found in article: {quote[:120]!r}")
            continue
        ev["start"], ev["end"] = span
        ev["quote"] = art.text[span[0] : span[1]]
    return problems


def validate_all(articles: list[Article], candidates: list[dict]) -> Validated:
    by_id = {a.article_id: a for a in articles}
    folded: dict = {}
    out = Validated()
    for cand in candidates:
        source_id = (cand.get("evidence") or [{}])[0].get("article_id")
        source = by_id[source_id].source if source_id in by_id else "?"
        problems = ground_evidence(cand, by_id, folded)
        if problems:
            reason = "ungrounded_quote" if any("quote not found" in p for p in problems) else "bad_evidence"
        else:
            problems = validation_errors(cand)
            reason = "schema_invalid"
        if problems:
            out.quarantine.append(
                {
                    "kind": "event",
                    "article_id": source_id,
                    "source": source,
                    "reason": reason,
                    "detail": "; ".join(problems),
                    "candidate": json.dumps(cand, ensure_ascii=False, default=str),
                    "extractor": cand.get("extractor"),
                }
            )
        else:
            out.events.append(cand)
    return out
