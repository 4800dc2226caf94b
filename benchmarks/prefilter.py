"""What the LLM prefilter saves and what recall it can cost, measured without a model.

For each gold folder: article characters sent with and without --prefilter, and the share of gold
events with at least one anchor inside what is sent (an upper bound on recall: a model cannot find
an event it is not shown). Usage:

    .venv/bin/python -m benchmarks.prefilter GOLD_DIR ARTICLES_DIR [GOLD_DIR ARTICLES_DIR ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.evaluate import load_gold
from pipelines.extract.llm import chunks
from pipelines.ingest import ingest
from pipelines.textnorm import fold, ground, spans_overlap


def measure(gold_dir: Path, articles_dir: Path) -> None:
    gold = load_gold(gold_dir)
    arts = {Path(a.source).name: a for a in ingest([articles_dir]).articles}
    full = pre = events = covered = 0
    for doc in gold:
        art = arts[Path(doc["article"]).name]
        all_spans = chunks(art.text, 10**9)
        pre_spans = chunks(art.text, 10**9, prefilter=True)
        full += sum(e - s for s, e in all_spans)
        pre += sum(e - s for s, e in pre_spans)
        ft = fold(art.text)
        for ev in doc["events"]:
            events += 1
            anchors = [s for a in ev["anchors"] if (s := ground(a, art.text, ft))]
            covered += any(spans_overlap(a, p) for a in anchors for p in pre_spans)
    print(
        f"{gold_dir}: {len(gold)} articles; characters sent {full} -> {pre} with the prefilter "
        f"({1 - pre / full:.1%} fewer); gold events still visible {covered}/{events} ({covered / events:.1%})"
    )


def main() -> None:
    args = sys.argv[1:]
    for gold_dir, articles_dir in zip(args[0::2], args[1::2], strict=True):
        measure(Path(gold_dir), Path(articles_dir))


if __name__ == "__main__":
    main()
