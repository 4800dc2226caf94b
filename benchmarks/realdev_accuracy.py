"""Accuracy of an extractor on the real development corpus, per split, language and type.

In: the folder of restored texts (argument or ``EVENTBUILDER_REALDEV_TEXTS``; see
``tests/realdev/restore.py``). Out: printed P/R/F1 per event type and per language on the development
two thirds and on the held-out third, with status accuracy and actor F1.

    python benchmarks/realdev_accuracy.py TEXTS [--extractor rules] [--split dev|test|all]

Tune on ``dev`` only: the ``test`` third is measured once, at the end of a round of work.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from pipelines.evaluate import run_eval

HERE = Path(__file__).resolve().parents[1] / "tests" / "realdev"
sys.path.insert(0, str(HERE))
import restore  # noqa: E402


def _line(name: str, s: dict) -> str:
    m = s["detection"]["micro"]
    status = s["arguments"]["status"]["accuracy"]
    actors = s["arguments"]["actors"]["all"]["f1"]
    return (
        f"  {name:<15} P {m['precision']:.2f} R {m['recall']:.2f} F1 {m['f1']:.2f}"
        f" (tp {m['tp']} fp {m['fp']} fn {m['fn']}); status {status}; actor F1 {actors:.2f}"
    )


def measure(texts: Path, split: str, extractor: str = "rules") -> dict:
    rows = [r for r in restore.manifest() if split == "all" or r["split"] == split]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        restore.restore(texts, Path(tmp), split)
        for lang in ["all", *sorted({r["lang"] for r in rows})]:
            ids = {r["id"] for r in rows if lang == "all" or r["lang"] == lang}
            gold = Path(tmp) / f"gold_{lang}"
            gold.mkdir()
            for i in ids:
                (gold / f"{i}.json").write_bytes((Path(tmp) / "gold" / f"{i}.json").read_bytes())
            out[lang] = run_eval(gold, [Path(tmp) / "articles"], extractor=extractor)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts", nargs="?", default=os.environ.get("EVENTBUILDER_REALDEV_TEXTS"))
    ap.add_argument("--extractor", default="rules")
    ap.add_argument("--split", choices=["dev", "test", "all"], nargs="*", default=["dev", "test"])
    args = ap.parse_args()
    if not args.texts:
        ap.error("give the folder of restored texts (or set EVENTBUILDER_REALDEV_TEXTS)")
    for split in args.split:
        res = measure(Path(args.texts), split, args.extractor)
        print(f"{split}:")
        for lang, s in res.items():
            print(_line(lang, s))
        for t, c in res["all"]["detection"]["per_type"].items():
            print(f"  {t:<15} P {c['precision']:.2f} R {c['recall']:.2f} F1 {c['f1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
