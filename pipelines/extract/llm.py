"""The LLM extractor: any model litellm reaches, answers validated, repaired, grounded and cached.

In: articles and an ``LLMConfig`` (model, endpoint, concurrency, budget, cache folder).
Out: an ``Extraction``: candidate events (quotes grounded later by ``validate``),
quarantine rows for answers that stay invalid after the repair rounds, the reason
of every article that failed (retryable: nothing of it is cached as done), and
per-article usage (model, prompt version, tokens, cost, latency, calls, attempts).

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
from pipelines.extract.prompt import messages, prompt_version, repair_message, response_schema
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
    prefilter: bool = False
    cache_dir: Path | None = None
    response_format: str = "auto"
    temperature: float = 0.0
    max_output_tokens: int = 4096
    backoff_base: float = 1.0
    backoff_cap: float = 60.0

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
            "prefilter": _env("PREFILTER").lower() in {"1", "true", "yes"} or None,
            "cache_dir": Path(_env("CACHE_DIR")) if _env("CACHE_DIR") else None,
            "response_format": _env("RESPONSE_FORMAT") or None,
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
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


def parse_answer(content: str) -> tuple[dict | None, list[str]]:
    """The JSON object in a model answer (code fences and prose around it tolerated), and errors."""
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
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in Draft202012Validator(response_schema()).iter_errors(data)
    ]
    if not errors:
        from pipelines.schema import validation_errors

        for i, ev in enumerate(data["events"]):
            probe = {
                **ev,
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
        cand = {k: v for k, v in ev.items() if k != "evidence"}
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
    cost: float = 0.0
    latency: float = 0.0

    def add(self, other: Usage) -> None:
        for f in ("calls", "cached", "attempts", "tokens_in", "tokens_out", "cost", "latency"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


@dataclass
class _Run:
    config: LLMConfig
    sem: asyncio.Semaphore
    cache: Cache
    mode: str
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
        "num_retries": 0,
    }
    if cfg.api_base:
        kwargs["api_base"] = cfg.api_base
    if cfg.api_key:
        kwargs["api_key"] = cfg.api_key
    elif cfg.api_base and not os.environ.get(f"{cfg.model.split('/')[0].upper()}_API_KEY"):
        # A local server (Ollama, vLLM, llama.cpp) needs no key, but the OpenAI client insists on one.
        kwargs["api_key"] = "no-key"
    if run.mode == "json_schema":
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "events", "schema": response_schema(), "strict": False},
        }
    elif run.mode == "json_object":
        kwargs["response_format"] = {"type": "json_object"}
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
                resp = await litellm.acompletion(**kwargs)
        except Exception as exc:
            usage.latency += time.perf_counter() - t0
            status = _status(exc)
            transient = status in _RETRYABLE_STATUS or isinstance(
                exc, (litellm.Timeout, litellm.APIConnectionError, asyncio.TimeoutError)
            )
            if not transient or attempt == cfg.retries:
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


async def _chunk(run: _Run, article: Article, span: tuple[int, int], part: str, usage: Usage):
    """The valid answer for one chunk: from the cache, or from the model with repair rounds."""
    text = article.text[span[0] : span[1]]
    key = Cache.key(run.config.model, article.text, text)
    hit = run.cache.get(key)
    if hit is not None:
        usage.cached += 1
        return hit["answer"], None
    msgs = messages(text, article.published, run.mode, part)
    raw, errors = "", []
    for _round in range(run.config.repair_rounds + 1):
        content, finish, refusal = await _call(run, msgs, usage)
        if refusal:
            raise ExtractionFailed(f"model refused: {refusal[:200]}")
        if not content.strip():
            raise ExtractionFailed(f"empty answer (finish_reason={finish})")
        raw = content
        answer, errors = parse_answer(content)
        if finish == "length":
            errors = [
                "the answer was cut off (finish_reason=length): return fewer events with shorter quotes"
            ]
            answer = None
        if answer is not None:
            run.cache.put(
                key, {"answer": answer, "model": run.config.model, "prompt_version": prompt_version()}
            )
            return answer, None
        msgs = [*msgs, {"role": "assistant", "content": content}, repair_message(errors)]
    if errors and errors[0].startswith("the answer was cut off"):
        raise ExtractionFailed("truncated answer (finish_reason=length) after repair rounds")
    return None, {"raw": raw, "errors": errors}


async def _article(run: _Run, article: Article) -> tuple[list[dict], list[dict], Usage, str | None]:
    usage = Usage()
    spans = chunks(article.text, run.config.chunk_chars, run.config.prefilter)
    per_chunk, rejected = [], []
    folded = fold(article.text)
    for i, span in enumerate(spans):
        part = f" (part {i + 1} of {len(spans)})" if len(spans) > 1 else ""
        answer, bad = await _chunk(run, article, span, part, usage)
        if answer is not None:
            per_chunk.append(to_candidates(answer, article, run.config.model, folded))
        else:
            rejected.append(
                {
                    "kind": "event",
                    "article_id": article.article_id,
                    "source": article.source,
                    "reason": "invalid_answer",
                    "detail": redact("; ".join(bad["errors"])[:2000], run.config),
                    "candidate": redact(bad["raw"][:20000], run.config),
                    "extractor": f"llm:{run.config.model}",
                }
            )
    # An answer that stayed invalid fails the article (retried next run); its raw answer is quarantined.
    failure = f"invalid answer after {run.config.repair_rounds} repair rounds" if rejected else None
    # Overlapping chunks see the same event twice: merge it across chunks, never within one answer.
    return merge_chunk_duplicates(per_chunk), rejected, usage, failure


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

    async def _extract_many(self, articles, progress) -> Extraction:
        cfg = self.config
        run = _Run(
            cfg,
            asyncio.Semaphore(max(1, cfg.concurrency)),
            Cache(cfg.cache_dir),
            detect_mode(cfg.model, cfg.response_format),
        )
        out = Extraction(self.name)

        async def one(art: Article):
            try:
                return art, await _article(run, art), None
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                return art, None, redact(reason, cfg)[:1000]

        tasks = [asyncio.create_task(one(a)) for a in articles]
        if progress:
            for fut in asyncio.as_completed(tasks):
                progress((await fut)[0])
        # Results in input order, whatever order the calls finished in: re-runs publish the same.
        for art, result, error in await asyncio.gather(*tasks):
            if error is not None:
                out.failed[art.article_id] = error
                continue
            events, rejected, usage, failure = result
            out.rejected.extend(rejected)
            if failure:
                out.failed[art.article_id] = failure
            else:
                out.events.extend(events)
            out.usage[art.article_id] = {
                "model": cfg.model,
                "prompt_version": prompt_version(),
                "tokens_in": usage.tokens_in,
                "tokens_out": usage.tokens_out,
                "cost_usd": round(usage.cost, 6),
                "latency_s": round(usage.latency, 3),
                "llm_calls": usage.calls,
                "cached_calls": usage.cached,
                "attempts": usage.attempts,
            }
        return out
