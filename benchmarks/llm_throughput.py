"""LLM extraction throughput against a local OpenAI-compatible server with a fixed latency.

Starts the test server (tests/llm_server.py) on 127.0.0.1, sends N distinct articles through the
real LLM extractor (litellm, retries, parsing, cache disabled) and compares the wall time with the
ideal calls x latency / concurrency (short articles share a call). Also reports what is sent:
prompt characters against article characters. Usage (from the repository root):

    .venv/bin/python -m benchmarks.llm_throughput [N] [LATENCY_S] [CONCURRENCY]
"""

from __future__ import annotations

import json
import math
import sys
import time

from pipelines.extract import extract_all
from pipelines.extract.llm import LLMConfig, LLMExtractor
from pipelines.extract.prompt import characters_sent
from pipelines.ingest import Article, article_id
from tests.llm_server import LLMServer, Script


def main() -> None:
    args = [a for a in sys.argv[1:]]
    n = int(args[0]) if len(args) > 0 else 200
    latency = float(args[1]) if len(args) > 1 else 0.5
    concurrency = int(args[2]) if len(args) > 2 else 16
    arts = []
    for i in range(n):
        text = f"Dispatch {i}\n\nOn Monday, Egypt called for an immediate ceasefire in Libya (report {i})."
        arts.append(Article(article_id(text), f"{i}.txt", text, published="2024-03-15"))
    reply = {
        "events": [
            {
                "event_type": "ceasefire_call",
                "status": "called",
                "actors": [{"role": "caller", "name": "Egypt"}],
                "date": "2024-03-11",
                "date_precision": "day",
                "evidence": [{"quote": "Egypt called for an immediate ceasefire"}],
            }
        ]
    }
    script = Script(default={"content": json.dumps(reply)}, latency=latency)
    with LLMServer(script) as srv:
        cfg = LLMConfig(
            model="openai/bench-model",
            api_base=srv.api_base,
            api_key="bench-key-000000",
            concurrency=concurrency,
            cache_dir=None,
        )
        ex = LLMExtractor(cfg)
        extract_all(arts[:1], ex)  # import litellm and warm up outside the timing
        script.calls.clear()
        t0 = time.perf_counter()
        result = extract_all(arts, ex)
        wall = time.perf_counter() - t0
    ideal = math.ceil(len(script.calls) / concurrency) * latency  # short articles share calls
    print(
        f"{n} articles, latency {latency:.2f} s, concurrency {concurrency}: "
        f"wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {wall / ideal:.3f}"
    )
    print(
        f"calls {len(script.calls)}, failed {len(result.failed)}, events {len(result.events)}, "
        f"max in flight {script.max_inflight}"
    )
    sent = sum(characters_sent(c["body"]["messages"], "json_object") for c in script.calls)
    chars = sum(len(a.text) for a in arts)
    print(
        f"articles sent {script.articles_sent}; characters sent / article characters {sent / chars:.2f} "
        "(json_object mode; benchmarks/prompt_size.py measures json_schema mode on real text)"
    )


if __name__ == "__main__":
    main()
