"""Agreement between two annotations of the same texts: micro F1 with one taken as gold.

In: a folder of the texts (``<id>.txt``) and two folders of gold files with anchor text (the guide's
format). Out: printed micro F1 of detection (same type, overlapping anchors: the scorer of
``eventbuilder eval``), actor F1 and status agreement on the matched events.

    python tests/realdev/agreement.py TEXTS ANNOTATION_A ANNOTATION_B
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipelines.evaluate import score


def as_prediction(ev: dict) -> dict:
    """A gold event in the shape the scorer takes for a prediction."""
    actors = [{"role": r, "name": n} for r, names in (ev.get("actors") or {}).items() for n in names]
    return {**ev, "evidence": [{"quote": a} for a in ev.get("anchors", [])], "actors": actors}


def agreement(texts: Path, a: Path, b: Path) -> dict:
    pairs = []
    for gold in sorted(a.glob("*.json")):
        doc = json.loads(gold.read_text(encoding="utf-8"))
        other = json.loads((b / gold.name).read_text(encoding="utf-8"))
        text = (texts / doc["article"]).read_text(encoding="utf-8")
        preds = [as_prediction(e) for e in other["events"]]
        pairs.append((doc, preds, [], text))
    return score(pairs)


def main(argv: list[str]) -> int:
    texts, a, b = (Path(p) for p in argv)
    s = agreement(texts, a, b)
    m, args = s["detection"]["micro"], s["arguments"]
    print(f"articles {s['articles']}: detection micro F1 {m['f1']:.3f}", end=" ")
    print(f"(P {m['precision']:.3f} R {m['recall']:.3f})")
    for t, c in s["detection"]["per_type"].items():
        print(f"  {t}: F1 {c['f1']:.3f} (tp {c['tp']} fp {c['fp']} fn {c['fn']})")
    print(f"actors F1 {args['actors']['all']['f1']:.3f}; status agreement {args['status']['accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
