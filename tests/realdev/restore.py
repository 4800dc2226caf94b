"""Restore the real development corpus into a folder ``eventbuilder eval`` reads.

The repository keeps no published text: ``manifest.csv`` holds each excerpt's URL, length and sha256,
and ``gold/`` its events with every anchor as character offsets plus the anchor's sha256. Given a
folder of the restored texts (``<id>.txt``, exactly as recorded), this checks every hash and writes
``OUT/articles/<id>.txt`` and ``OUT/gold/<id>.json`` with the anchors as text:

    python tests/realdev/restore.py TEXTS OUT [--split dev|test|all]
    eventbuilder eval --gold OUT/gold OUT/articles

``--from-gold DIR`` does the opposite for a maintainer: gold written with anchor text over the texts
in TEXTS becomes the offset form kept here (``gold/``), and the manifest's lengths and hashes are
checked against the texts.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest() -> list[dict]:
    with open(HERE / "manifest.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_text(texts: Path, row: dict) -> str:
    """The excerpt's text, checked against its recorded length and sha256 (ValueError if not it)."""
    path = texts / f"{row['id']}.txt"
    text = path.read_text(encoding="utf-8")
    if len(text) != int(row["length"]) or sha(text) != row["sha256"]:
        raise ValueError(f"{path}: not the recorded text (length {len(text)}, want {row['length']})")
    return text


def restore(texts: Path, out: Path, split: str = "all") -> list[str]:
    """Write the articles and anchor-text gold of ``split`` under ``out``; returns the ids written."""
    (out / "articles").mkdir(parents=True, exist_ok=True)
    (out / "gold").mkdir(parents=True, exist_ok=True)
    done = []
    for row in manifest():
        if split != "all" and row["split"] != split:
            continue
        text = read_text(texts, row)
        gold = json.loads((HERE / "gold" / f"{row['id']}.json").read_text(encoding="utf-8"))
        for ev in gold["events"]:
            anchors = []
            for a in ev["anchors"]:
                piece = text[a["start"] : a["end"]]
                if sha(piece) != a["sha256"]:
                    raise ValueError(f"{row['id']}: anchor {a['start']}-{a['end']} does not match its hash")
                anchors.append(piece)
            ev["anchors"] = anchors
        (out / "articles" / f"{row['id']}.txt").write_text(text, encoding="utf-8")
        (out / "gold" / f"{row['id']}.json").write_text(
            json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        done.append(row["id"])
    return done


def to_offsets(texts: Path, gold_dir: Path) -> None:
    """Gold with anchor text (over ``texts``) into the offset form kept in ``gold/``: the excerpts of
    the manifest that have a file in ``gold_dir`` (new ones added, the others left as they are)."""
    (HERE / "gold").mkdir(exist_ok=True)
    for row in manifest():
        source = gold_dir / f"{row['id']}.json"
        if not source.exists():
            continue
        text = read_text(texts, row)
        gold = json.loads(source.read_text(encoding="utf-8"))
        gold["article"] = f"{row['id']}.txt"
        for ev in gold["events"]:
            spans = []
            for a in ev["anchors"]:
                at = text.find(a)
                if at < 0:
                    raise ValueError(f"{row['id']}: anchor not in its text: {a[:60]!r}")
                spans.append({"start": at, "end": at + len(a), "sha256": sha(a)})
            ev["anchors"] = spans
        (HERE / "gold" / f"{row['id']}.json").write_text(
            json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts", type=Path, help="folder of restored texts, <id>.txt")
    ap.add_argument("out", type=Path, nargs="?", help="where to write articles/ and gold/")
    ap.add_argument("--split", choices=["dev", "test", "all"], default="all")
    ap.add_argument("--from-gold", type=Path, help="(maintainers) anchor-text gold to store as offsets")
    args = ap.parse_args(argv)
    try:
        if args.from_gold:
            to_offsets(args.texts, args.from_gold)
            return 0
        if args.out is None:
            ap.error("OUT is required")
        ids = restore(args.texts, args.out, args.split)
    except (OSError, ValueError) as e:
        print(f"restore: {e}", file=sys.stderr)
        return 1
    print(f"restored {len(ids)} excerpt(s) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
