"""Throughput and memory of the offline path: ingest + rules extraction + validation + publication.

Makes N distinct articles from the built-in sample corpus (``benchmarks.corpus``: each with its own
headline and a paragraph of its own, so none is a duplicate or a near-duplicate), then times each
stage with the project's own functions and reports articles per second and the peak resident memory. Usage:

    .venv/bin/python benchmarks/build_throughput.py [N] [--dagster]

--dagster also times the whole `eventbuilder build` path (Dagster in process) on the same files.
--incremental then adds 20 new files and builds the same output again: only they are extracted.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import make_corpus
from pipelines.extract import extract_all, get_extractor
from pipelines.ingest import ingest
from pipelines.normalize import normalize_events
from pipelines.publish import publish, store_batch
from pipelines.validate import validate_all


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "500"))
    tmp = Path(tempfile.mkdtemp(prefix="eb-bench-"))
    try:
        inp = tmp / "in"
        inp.mkdir()
        make_corpus(inp, n)
        chars = sum(p.stat().st_size for p in inp.iterdir())
        t = {}
        t0 = time.perf_counter()
        ingested = ingest([inp])
        t["ingest"] = time.perf_counter() - t0
        ex = get_extractor("rules")
        ex.extract(ingested.articles[0])  # load lexicons and the actor dictionary once, outside the timing
        t0 = time.perf_counter()
        extraction = extract_all(ingested.articles, ex)
        t["extract"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        validated = validate_all(ingested.articles, extraction.events)
        t["validate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        normalized = normalize_events(validated.events, ingested.articles)
        t["normalize"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = store_batch(tmp / "out", ingested, extraction, validated, normalized, "bench")
        t["store"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        published = publish(tmp / "out", [summary], "bench", extractor=extraction.extractor)
        t["publish"] = time.perf_counter() - t0
        total = sum(t.values())
        n_events = len(published.events)
        print(f"articles: {len(ingested.articles)} ({chars / 1e6:.1f} MB of text), events: {n_events}")
        for stage, secs in t.items():
            print(f"  {stage:<9} {secs:7.2f} s  {len(ingested.articles) / secs:9.1f} articles/s")
        print(f"  {'total':<9} {total:7.2f} s  {len(ingested.articles) / total:9.1f} articles/s")
        print(f"peak RSS: {peak_rss_mb():.0f} MB")
        if "--dagster" in sys.argv:
            from pipelines.build import build

            t0 = time.perf_counter()
            result = build([inp], tmp / "out2", extractor="rules")
            secs = time.perf_counter() - t0
            print(f"eventbuilder build (Dagster in process): {secs:.2f} s, checks {result.checks}")
            if "--incremental" in sys.argv:
                make_corpus(inp, 20, start=n)
                t0 = time.perf_counter()
                again = build([inp], tmp / "out2", extractor="rules")
                secs = time.perf_counter() - t0
                run = again.published.run
                print(
                    f"the same build after adding 20 files: {secs:.2f} s, {run['extracted']} extracted, "
                    f"{run['unchanged']} unchanged; the dataset holds {again.published.n_articles}"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
