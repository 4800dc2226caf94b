"""The LLM extractor: any model litellm reaches, answers validated, repaired, grounded and cached.

In: articles and an ``LLMConfig`` (model, endpoint, concurrency, budget, cache folder).
Out: an ``Extraction``: candidate events (quotes grounded later by ``validate``),
quarantine rows for answers that stay invalid after the repair rounds, the reason
of every article that failed (retryable: nothing of it is cached as done), and
per-article usage (model, prompt version, tokens, cost, latency, calls, attempts).

Short articles share a call (up to ``articles_per_call`` and ``chars_per_call`` article characters;
each event names its article by the key of its marker and is grounded in that article only), so the
fixed prefix of instructions and example is paid once for them; a shared call whose answer is cut
off or stays invalid is asked again in halves. Long articles are sent in chunks. An article with
nothing to send (the prefilter found no possible event) gets no call and says why.

Calls run concurrently (asyncio, bounded by ``concurrency``) and are retried with
exponential backoff and jitter on 429/5xx/timeouts, honouring Retry-After. Each
valid answer is cached on disk under a key of (model, prompt version, schema
version, article hash, chunk), written atomically, so a re-run or a run after a
crash makes no call for what was already answered. litellm is imported only here,
with its price map read locally (no network at import).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.extract import Extraction, possible_event
from pipelines.extract.prompt import (
    ARTICLE_KEY,
    article_key,
    messages,
    prompt_version,
    repair_message,
    response_format,
    response_schema,
)
from pipelines.ingest import Article
from pipelines.merge import merge_chunk_duplicates
from pipelines.schema import schema_version
from pipelines.textnorm import fold, ground

MODES = ("json_schema", "json_object", "plain")
_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"EVENTBUILDER_{name}", default)


@dataclass
class LLMConfig:
    model: str
    api_base: str | None = None
    api_key: str | None = None  # else the provider's usual variable (OPENAI_API_KEY, ...)
    concurrency: int = 8
    max_calls: int | None = None  # per-run budget of model calls
    max_tokens_budget: int | None = None  # per-run budget of prompt + completion tokens
    timeout: float = 120.0
    retries: int = 5
    repair_rounds: int = 2
    chunk_chars: int = 12000
    # Short articles share a call (the fixed prefix is paid once for them): up to this many, with
    # this many article characters in all; an article of more than half of it is sent alone.
    articles_per_call: int = 10
    chars_per_call: int = 10000
    prefilter: bool = False
    cache_dir: Path | None = None
    response_format: str = "auto"
    temperature: float = 0.0
    max_output_tokens: int = 4096
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # A litellm proxy config (model_list, router_settings): ``model`` then names one of its groups.
    router: Path | None = None

    @classmethod
    def from_env(cls, **overrides) -> LLMConfig:
        """Settings from EVENTBUILDER_* variables; explicit, non-empty overrides win."""

        def num(name, kind):
            raw = _env(name)
            return kind(raw) if raw else None

        values = {
            "model": _env("MODEL"),
            "api_base": _env("API_BASE") or None,
            "api_key": _env("API_KEY") or None,
            "concurrency": num("CONCURRENCY", int),
            "max_calls": num("MAX_CALLS", int),
            "max_tokens_budget": num("MAX_TOKENS", int),
            "timeout": num("TIMEOUT", float),
            "retries": num("RETRIES", int),
            "articles_per_call": num("ARTICLES_PER_CALL", int),
            "chars_per_call": num("CHARS_PER_CALL", int),
            "prefilter": _env("PREFILTER").lower() in {"1", "true", "yes"} or None,
            "cache_dir": Path(_env("CACHE_DIR")) if _env("CACHE_DIR") else None,
            "response_format": _env("RESPONSE_FORMAT") or None,
            "router": Path(_env("ROUTER")) if _env("ROUTER") else None,
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        if values.get("router"):
            from pipelines.extract.router import load

            routes = load(values["router"])
            values["router"] = Path(values["router"])
            values["model"] = values.get("model") or routes.groups[0]
            routes.deployment_model(values["model"])  # a group the file has, or an error naming it
        if not values.get("model"):
            raise ValueError("no model configured: pass --model or set EVENTBUILDER_MODEL")
        return cls(**{k: v for k, v in values.items() if v is not None})


class BudgetExhausted(RuntimeError):
    pass


class ExtractionFailed(RuntimeError):
    pass


# --- secrets ------------------------------------------------------------------------


def secrets(config: LLMConfig) -> list[str]:
    found = [config.api_key] if config.api_key else []
    if config.router:
        from pipelines.extract.router import load

        found += load(config.router).api_keys()
    found += [
        v for k, v in os.environ.items() if ("KEY" in k or "TOKEN" in k or "SECRET" in k) and len(v) >= 8
    ]
    return sorted({s for s in found if s}, key=len, reverse=True)


def redact(text: str, config: LLMConfig) -> str:
    """The text with every API key (configured or in the environment) replaced."""
    for s in secrets(config):
        text = text.replace(s, "***")
    return re.sub(r"(?i)(bearer\s+|api[_-]?key[\"'=:\s]+)[A-Za-z0-9._\-]{8,}", r"\1***", text)


# --- chunks -------------------------------------------------------------------------


def paragraphs(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for block in re.split(r"(\n\s*\n|\n)", text):
        if block.strip():
            spans.append((pos, pos + len(block)))
        pos += len(block)
    return spans


def prefiltered(text: str, paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Paragraphs where the embedded lexicon sees a possible trigger, with their neighbours."""
    keep = set()
    for i, (s, e) in enumerate(paras):
        if possible_event(text[s:e]):
            keep.update({i - 1, i, i + 1})
    return [p for i, p in enumerate(paras) if i in keep]


def chunks(text: str, max_chars: int, prefilter: bool = False) -> list[tuple[int, int]]:
    """Spans of the text to send: whole paragraphs up to ``max_chars``, one paragraph of overlap.

    Chunks with fewer than 40 letters (debris) are not sent.
    """
    paras = paragraphs(text)
    if prefilter:
        paras = prefiltered(text, paras)
    out: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for p in paras:
        size = p[1] - current[0][0] if current else p[1] - p[0]
        if current and size > max_chars:
            out.append(current)
            current = [current[-1]] if current[-1][1] - current[-1][0] < max_chars // 2 else []
        current.append(p)
    if current:
        out.append(current)
    spans = []
    for group in out:
        # Contiguous paragraphs form one span; a prefiltered gap starts a new one.
        start, end = group[0][0], group[0][1]
        for s, e in group[1:]:
            if s - end > 2:
                spans.append((start, end))
                start = s
            end = e
        spans.append((start, end))
    return [s for s in dict.fromkeys(spans) if sum(c.isalpha() for c in text[s[0] : s[1]]) >= 40]


# --- cache --------------------------------------------------------------------------


class Cache:
    """One JSON file per answered chunk, written atomically (safe when a run is killed)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder else None

    @staticmethod
    def key(model: str, article_text: str, chunk_text: str) -> str:
        material = json.dumps([model, prompt_version(), schema_version(), article_text, chunk_text])
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> dict | None:
        if not self.folder:
            return None
        path = self.folder / key[:2] / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: dict) -> None:
        if not self.folder:
            return
        path = self.folder / key[:2] / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


# --- answers ------------------------------------------------------------------------


def parse_answer(content: str, keys: tuple[str, ...] = ("A1",)) -> tuple[dict | None, list[str]]:
    """The JSON object in a model answer (code fences and prose around it tolerated), and errors.

    ``keys`` are the article keys of the call: an event naming another is an error. When the call
    had one article, events that name none are taken to be in it.
    """
    from jsonschema import Draft202012Validator

    text = (content or "").strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        i, j = text.find("{"), text.rfind("}")
        text = text[i : j + 1] if i >= 0 and j > i else text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"]
    if isinstance(data, list):
        data = {"events": data}
    if len(keys) == 1 and isinstance(data, dict) and isinstance(data.get("events"), list):
        for ev in data["events"]:
            if isinstance(ev, dict):
                ev.setdefault(ARTICLE_KEY, keys[0])
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in Draft202012Validator(response_schema()).iter_errors(data)
    ]
    if not errors:
        from pipelines.schema import validation_errors

        for i, ev in enumerate(data["events"]):
            if ev[ARTICLE_KEY] not in keys:
                errors.append(
                    f"events/{i}/{ARTICLE_KEY}: {ev[ARTICLE_KEY]!r} is not an article of this request "
                    f"(its keys: {', '.join(keys)})"
                )
            probe = {
                **{k: v for k, v in ev.items() if k != ARTICLE_KEY},
                "evidence": [
                    {"article_id": "a", "quote": q["quote"], "start": 0, "end": 1}
                    for q in ev.get("evidence", [])
                ],
            }
            errors += [f"events/{i}/{err}" for err in validation_errors(probe)]
    return (data if not errors else None), errors


def to_candidates(answer: dict, article: Article, model: str, folded=None) -> list[dict]:
    """Model events as candidate records; quotes are grounded in the whole article.

    A grounded quote is replaced by the article's own text at its offsets; one that is not in the
    article keeps the model's words and empty offsets, and validation quarantines its event.
    """
    ft = folded or fold(article.text)
    out = []
    for ev in answer.get("events", []):
        cand = {k: v for k, v in ev.items() if k not in ("evidence", ARTICLE_KEY)}
        cand["evidence"] = []
        for q in ev.get("evidence", []):
            span = ground(q["quote"], article.text, ft)
            start, end = span if span else (0, 0)
            quote = article.text[start:end] if span else q["quote"]
            cand["evidence"].append(
                {"article_id": article.article_id, "quote": quote, "start": start, "end": end}
            )
        cand["actors"] = [{"role": a["role"], "name": a["name"]} for a in ev.get("actors", [])]
        cand["extractor"] = f"llm:{model}"
        out.append(cand)
    return out


# --- calls --------------------------------------------------------------------------


@dataclass
class Usage:
    calls: int = 0
    cached: int = 0
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0  # prompt tokens the provider served from its prefix cache
    cost: float = 0.0
    latency: float = 0.0

    def add(self, other: Usage) -> None:
        for f in (
            "calls",
            "cached",
            "attempts",
            "tokens_in",
            "tokens_out",
            "cached_tokens",
            "cost",
            "latency",
        ):
            setattr(self, f, getattr(self, f) + getattr(other, f))


@dataclass
class _Run:
    config: LLMConfig
    sem: asyncio.Semaphore
    cache: Cache
    mode: str
    router: object | None = None  # a litellm.Router when the config names a router file
    totals: Usage = field(default_factory=Usage)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _import_litellm():
    # Without this, importing litellm tries to download a price map (seconds of retries offline).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def detect_mode(model: str, requested: str = "auto") -> str:
    """json_schema where the provider supports it, else JSON mode, else plain instructions."""
    if requested in MODES:
        return requested
    litellm = _import_litellm()
    try:
        if litellm.supports_response_schema(model=model):
            return "json_schema"
        if "response_format" in (litellm.get_supported_openai_params(model=model) or []):
            return "json_object"
    except Exception:  # an unknown model: be conservative
        pass
    return "plain"


def _retry_after(exc: Exception) -> float | None:
    for headers in (
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
        getattr(exc, "litellm_response_headers", None),
    ):
        if headers:
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value:
                try:
                    return max(0.0, float(value))
                except ValueError:
                    return None
    return None


def _status(exc: Exception) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def _transient(exc: Exception) -> bool:
    """Whether a failed request may succeed when sent again unchanged (rate limits, 5xx, timeouts)."""
    litellm = _import_litellm()
    return _status(exc) in _RETRYABLE_STATUS or isinstance(
        exc, (litellm.Timeout, litellm.APIConnectionError, asyncio.TimeoutError)
    )


async def _call(run: _Run, msgs: list[dict], usage: Usage) -> tuple[str, str | None, str | None]:
    """One chat completion with retries. Returns (content, finish_reason, refusal)."""
    litellm = _import_litellm()
    cfg = run.config
    kwargs: dict = {
        "model": cfg.model,
        "messages": msgs,
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_output_tokens,
        "timeout": cfg.timeout,
    }
    # The router's own retries move a failed request to another deployment (its file sets them);
    # a plain call has none, the loop below retries it.
    client = run.router or litellm
    if run.router is None:  # with a router, endpoints, keys and retries are its file's
        kwargs["num_retries"] = 0
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key
        elif cfg.api_base and not os.environ.get(f"{cfg.model.split('/')[0].upper()}_API_KEY"):
            # A local server (Ollama, vLLM, llama.cpp) needs no key, but the OpenAI client insists on one.
            kwargs["api_key"] = "no-key"
    fmt = response_format(run.mode)
    if fmt:
        kwargs["response_format"] = fmt
    last: Exception | None = None
    for attempt in range(cfg.retries + 1):
        async with run.lock:
            if cfg.max_calls is not None and run.totals.calls >= cfg.max_calls:
                raise BudgetExhausted(f"call budget of {cfg.max_calls} reached")
            spent = run.totals.tokens_in + run.totals.tokens_out
            if cfg.max_tokens_budget is not None and spent >= cfg.max_tokens_budget:
                raise BudgetExhausted(f"token budget of {cfg.max_tokens_budget} reached")
            run.totals.calls += 1  # the budget counts every request sent
        usage.attempts += 1
        t0 = time.perf_counter()
        try:
            async with run.sem:
                resp = await client.acompletion(**kwargs)
        except Exception as exc:
            usage.latency += time.perf_counter() - t0
            if not _transient(exc) or attempt == cfg.retries:
                raise
            last = exc
            wait = _retry_after(exc)
            if wait is None:
                wait = min(cfg.backoff_cap, cfg.backoff_base * 2**attempt) * random.uniform(0.5, 1.5)
            await asyncio.sleep(min(wait, cfg.backoff_cap))
            continue
        usage.latency += time.perf_counter() - t0
        usage.calls += 1  # answered calls; attempts also count the failed ones
        u = getattr(resp, "usage", None)
        usage.tokens_in += getattr(u, "prompt_tokens", 0) or 0
        usage.tokens_out += getattr(u, "completion_tokens", 0) or 0
        usage.cached_tokens += getattr(getattr(u, "prompt_tokens_details", None), "cached_tokens", 0) or 0
        async with run.lock:
            run.totals.tokens_in += getattr(u, "prompt_tokens", 0) or 0
            run.totals.tokens_out += getattr(u, "completion_tokens", 0) or 0
        try:
            usage.cost += float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # the model has no known price
            pass
        choice = resp.choices[0]
        message = choice.message
        return (message.content or ""), choice.finish_reason, getattr(message, "refusal", None)
    raise last or RuntimeError("no attempt made")


@dataclass
class _Piece:
    """One span of one article, as sent to the model (alone, or with other short articles)."""

    article: Article
    span: tuple[int, int]
    part: str  # "part 2 of 3" when the article is sent in several chunks
    key: str  # its cache key

    @property
    def text(self) -> str:
        return self.article.text[self.span[0] : self.span[1]]


class _Truncated(ExtractionFailed):
    pass


def batches(pieces: list[_Piece], max_articles: int, max_chars: int) -> list[list[_Piece]]:
    """Calls for ``pieces``: each alone, except short whole articles, packed in input order up to
    ``max_articles`` and ``max_chars`` article characters a call."""
    out: list[list[_Piece]] = []
    open_batch: list[_Piece] = []
    for p in pieces:
        size = p.span[1] - p.span[0]
        if max_articles <= 1 or p.part or size > max_chars // 2:
            out.append([p])
            continue
        if open_batch and (
            len(open_batch) >= max_articles
            or sum(q.span[1] - q.span[0] for q in open_batch) + size > max_chars
        ):
            out.append(open_batch)
            open_batch = []
        open_batch.append(p)
    if open_batch:
        out.append(open_batch)
    return out


async def _ask(run: _Run, pieces: list[_Piece], usage: Usage) -> tuple[list[dict] | None, dict | None]:
    """The valid answer for one call, split per piece (events without their article key); or the
    raw answer and its errors when it stays invalid after the repair rounds. A cut-off answer for
    several articles raises ``_Truncated`` so the caller can ask again for fewer."""
    keys = tuple(article_key(i) for i in range(len(pieces)))
    msgs = messages([(p.text, p.article.published, p.part) for p in pieces], run.mode)
    raw, errors = "", []
    for _round in range(run.config.repair_rounds + 1):
        content, finish, refusal = await _call(run, msgs, usage)
        if refusal:
            raise ExtractionFailed(f"model refused: {refusal[:200]}")
        if not content.strip():
            raise ExtractionFailed(f"empty answer (finish_reason={finish})")
        raw = content
        answer, errors = parse_answer(content, keys)
        if finish == "length":
            if len(pieces) > 1:
                raise _Truncated("answer cut off (finish_reason=length)")
            errors = [
                "the answer was cut off (finish_reason=length): return fewer events with shorter quotes"
            ]
            answer = None
        if answer is not None:
            split = [
                {
                    "events": [
                        {k: v for k, v in ev.items() if k != ARTICLE_KEY}
                        for ev in answer["events"]
                        if ev[ARTICLE_KEY] == key
                    ]
                }
                for key in keys
            ]
            for p, part in zip(pieces, split, strict=True):
                run.cache.put(
                    p.key, {"answer": part, "model": run.config.model, "prompt_version": prompt_version()}
                )
            return split, None
        msgs = [*msgs, {"role": "assistant", "content": content}, repair_message(errors)]
    if errors and errors[0].startswith("the answer was cut off"):
        raise ExtractionFailed("truncated answer (finish_reason=length) after repair rounds")
    return None, {"raw": raw, "errors": errors}


def _share(usage: Usage, pieces: list[_Piece], into: dict[str, Usage]) -> None:
    """A call's usage shared among the articles it carried: tokens and cost by their characters,
    the call itself counted once (on the first), the wait counted for each."""
    sizes = [max(1, p.span[1] - p.span[0]) for p in pieces]
    total = sum(sizes)
    for i, (p, size) in enumerate(zip(pieces, sizes, strict=True)):
        u = into.setdefault(p.article.article_id, Usage())
        share = size / total
        u.tokens_in += round(usage.tokens_in * share)
        u.tokens_out += round(usage.tokens_out * share)
        u.cached_tokens += round(usage.cached_tokens * share)
        u.cost += usage.cost * share
        u.latency += usage.latency
        if i == 0:
            u.calls += usage.calls
            u.attempts += usage.attempts


async def _unit(run: _Run, pieces: list[_Piece], usage: dict[str, Usage]) -> dict[int, tuple]:
    """Results of one call by piece index: ("answer", events) | ("invalid", bad) | ("error", reason).

    A call for several articles whose answer is cut off, stays invalid after its repair rounds, or is
    refused by the provider for what it carries (a 400 of a content filter, say), is asked again in
    two halves: one article the model cannot answer for does not fail the others. Transient errors
    that outlasted the retries and an exhausted budget are not split: that would only multiply calls.
    """
    call = Usage()

    async def halves():
        half = len(pieces) // 2
        left, right = await asyncio.gather(_unit(run, pieces[:half], usage), _unit(run, pieces[half:], usage))
        return {**left, **{half + i: r for i, r in right.items()}}

    try:
        answers, bad = await _ask(run, pieces, call)
    except _Truncated:
        _share(call, pieces, usage)
        return await halves()
    except Exception as exc:
        _share(call, pieces, usage)
        if len(pieces) > 1 and not isinstance(exc, BudgetExhausted) and not _transient(exc):
            return await halves()
        reason = redact(f"{type(exc).__name__}: {exc}", run.config)[:1000]
        return dict.fromkeys(range(len(pieces)), ("error", reason))
    _share(call, pieces, usage)
    if answers is None and len(pieces) > 1:
        return await halves()
    if answers is None:
        return dict.fromkeys(range(len(pieces)), ("invalid", bad))
    return {i: ("answer", a) for i, a in enumerate(answers)}


class LLMExtractor:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.name = f"llm:{config.model}"
        self.version = f"llm:{config.model}:{prompt_version()}:{config.prefilter}"

    def extract(self, article: Article) -> list[dict]:
        result = self.extract_many([article])
        if result.failed:
            raise ExtractionFailed(result.failed[article.article_id])
        return result.events

    def extract_many(
        self, articles: list[Article], progress: Callable[[Article], None] | None = None
    ) -> Extraction:
        return asyncio.run(self._extract_many(articles, progress))

    def plan(self, articles: list[Article]) -> tuple[dict[str, list[_Piece]], dict[str, str]]:
        """Each article's pieces to send, and why an article gets no call (nothing to send)."""
        cfg = self.config
        pieces, unsent = {}, {}
        for art in articles:
            spans = chunks(art.text, cfg.chunk_chars, cfg.prefilter)
            n = len(spans)
            pieces[art.article_id] = [
                _Piece(
                    art,
                    span,
                    f"part {i + 1} of {n}" if n > 1 else "",
                    Cache.key(cfg.model, art.text, art.text[span[0] : span[1]]),
                )
                for i, span in enumerate(spans)
            ]
            if not spans:
                unsent[art.article_id] = (
                    "not_sent: the prefilter found no possible event"
                    if cfg.prefilter and chunks(art.text, cfg.chunk_chars)
                    else "not_sent: fewer than 40 letters of text"
                )
        return pieces, unsent

    async def _extract_many(self, articles, progress) -> Extraction:
        cfg = self.config
        router = None
        deployment = cfg.model
        if cfg.router:
            from pipelines.extract.router import load, make_router

            routes = load(cfg.router)
            router, deployment = make_router(routes), routes.deployment_model(cfg.model)
        run = _Run(
            cfg,
            asyncio.Semaphore(max(1, cfg.concurrency)),
            Cache(cfg.cache_dir),
            detect_mode(deployment, cfg.response_format),
            router,
        )
        out = Extraction(self.name)
        pieces, out.unsent = self.plan(articles)
        usage: dict[str, Usage] = {a.article_id: Usage() for a in articles}
        results: dict[tuple[str, int], tuple] = {}
        to_send = []
        for art in articles:
            for i, p in enumerate(pieces[art.article_id]):
                hit = run.cache.get(p.key)
                if hit is not None:
                    usage[art.article_id].cached += 1
                    results[(art.article_id, i)] = ("answer", hit["answer"])
                else:
                    to_send.append((art.article_id, i, p))
        left = dict.fromkeys(usage, 0)
        for aid, _, _ in to_send:
            left[aid] += 1
        by_id = {a.article_id: a for a in articles}
        if progress:
            for a in articles:
                if not left[a.article_id]:
                    progress(a)

        async def one(group):
            found = await _unit(run, [p for _, _, p in group], usage)
            return [(aid, i, found[j]) for j, (aid, i, _) in enumerate(group)]

        index = {id(p): (aid, i) for aid, i, p in to_send}
        groups = [
            [(*index[id(p)], p) for p in b]
            for b in batches([p for *_, p in to_send], cfg.articles_per_call, cfg.chars_per_call)
        ]
        for fut in asyncio.as_completed([asyncio.create_task(one(g)) for g in groups]):
            for aid, i, res in await fut:
                results[(aid, i)] = res
                left[aid] -= 1
                if progress and left[aid] == 0:
                    progress(by_id[aid])
        # Results in input order, whatever order the calls finished in: re-runs publish the same.
        for art in articles:
            aid = art.article_id
            got = [results[(aid, i)] for i in range(len(pieces[aid]))]
            errors = [r[1] for r in got if r[0] == "error"]
            invalid = [r[1] for r in got if r[0] == "invalid"]
            for bad in invalid:
                # The raw answer is quarantined; an answer that stayed invalid fails the article
                # (retried next run).
                out.rejected.append(
                    {
                        "kind": "event",
                        "article_id": aid,
                        "source": art.source,
                        "reason": "invalid_answer",
                        "detail": redact("; ".join(bad["errors"])[:2000], cfg),
                        "candidate": redact(bad["raw"][:20000], cfg),
                        "extractor": f"llm:{cfg.model}",
                    }
                )
            if errors:
                out.failed[aid] = errors[0]
            elif invalid:
                out.failed[aid] = f"invalid answer after {cfg.repair_rounds} repair rounds"
            else:
                folded = fold(art.text)
                # Overlapping chunks see the same event twice: merge it across chunks, never within one.
                out.events.extend(
                    merge_chunk_duplicates([to_candidates(r[1], art, cfg.model, folded) for r in got])
                )
            u = usage[aid]
            out.usage[aid] = {
                "model": cfg.model,
                "prompt_version": prompt_version(),
                "tokens_in": u.tokens_in,
                "tokens_out": u.tokens_out,
                "cached_tokens": u.cached_tokens,
                "cost_usd": round(u.cost, 6),
                "latency_s": round(u.latency, 3),
                "llm_calls": u.calls,
                "cached_calls": u.cached,
                "attempts": u.attempts,
            }
        return out
