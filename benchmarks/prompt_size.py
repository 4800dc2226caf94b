"""What the LLM extractor sends: characters of every request (messages and response format) ÷
characters of the articles, in one pass over a folder, through the real extractor and a scripted
OpenAI-compatible server on 127.0.0.1 that records the requests.

Usage (from the repository root):

    .venv/bin/python -m benchmarks.prompt_size [FOLDER] [--mode json_schema] [--articles-per-call N]

FOLDER defaults to tests/data/holdout/articles; the real-news excerpts of tests/realdev, restored
into a folder, are the figure the README gives. --prefilter leaves out articles with no possible
event (counted).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pipelines.extract import extract_all
from pipelines.extract.llm import LLMConfig, LLMExtractor
from pipelines.extract.prompt import characters_sent, examples, model_schema, system_prompt
from pipelines.ingest import ingest
from tests.llm_server import LLMServer, Script

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "tests" / "data" / "holdout" / "articles"))
    ap.add_argument("--mode", default="json_schema", choices=["json_schema", "json_object", "plain"])
    ap.add_argument("--articles-per-call", type=int, default=None)
    ap.add_argument("--prefilter", action="store_true")
    a = ap.parse_args()
    arts = ingest([Path(a.folder)]).articles
    chars = sum(len(x.text) for x in arts)
    script = Script()
    with LLMServer(script) as srv, tempfile.TemporaryDirectory() as tmp:
        cfg = LLMConfig(
            model="openai/bench-model",
            api_base=srv.api_base,
            api_key="bench-key-000000",
            response_format=a.mode,
            cache_dir=Path(tmp),
            prefilter=a.prefilter,
        )
        if a.articles_per_call:
            cfg.articles_per_call = a.articles_per_call
        result = extract_all(arts, LLMExtractor(cfg))
    sent = sum(characters_sent(c["body"]["messages"], a.mode) for c in script.calls)
    prefix = len(system_prompt()) + sum(len(m["content"]) for m in examples())
    print(
        f"{len(arts)} articles, {chars} characters (mean {chars / max(1, len(arts)):.0f}); mode {a.mode}, "
        f"up to {cfg.articles_per_call} articles and {cfg.chars_per_call} characters a call"
    )
    print(
        f"fixed prefix {prefix} characters (instructions and type guide {len(system_prompt())}), "
        f"schema {len(str(model_schema()))}"
    )
    print(
        f"calls {len(script.calls)}, articles sent {script.articles_sent}, not sent {len(result.unsent)}, "
        f"failed {len(result.failed)}"
    )
    print(f"characters sent {sent}; sent / article characters = {sent / max(1, chars):.2f}")


if __name__ == "__main__":
    main()
