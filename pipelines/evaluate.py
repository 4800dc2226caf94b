"""Score extracted events against gold annotations (the annotation guide's "Scoring").

In: a folder of gold JSON files (one per article, same stem as the article file)
and either the articles (extracted here with the chosen extractor, through the same
ingest/extract/validate functions as the pipeline) or a published dataset.
Out: a report dict: detection P/R/F1 per type and micro (one-to-one matching:
same type and an evidence quote overlapping a gold anchor), argument scores on
matched pairs (actor F1 per role with names folded through the actor dictionary,
status/date/country accuracy), the grounding rate, and every false positive and
miss with its article and quote; where gold events carry a ``cluster`` (the same id for the same
real event in every article that reports it), merge scores across articles (``merge_scores``).
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path

from pipelines.ingest import Article, ingest
from pipelines.schema import event_types
from pipelines.textnorm import fold, ground, normalize, spans_overlap

# --- gold ---------------------------------------------------------------------------


def load_gold(folder: Path) -> list[dict]:
    docs = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
        if not isinstance(doc, dict) or "events" not in doc:
            raise ValueError(f"{path}: not a gold file (no 'events')")
        doc.setdefault("article", path.with_suffix(".txt").name)
        docs.append(doc)
    if not docs:
        raise FileNotFoundError(f"{folder}: no gold .json files")
    return docs


def _find_articles(gold: list[dict], gold_dir: Path, paths: list[Path]) -> dict[str, Article]:
    """Articles named by the gold files, by file name, from PATHS (default: around the gold folder)."""
    wanted = {Path(d["article"]).name for d in gold}
    roots = paths or [Path(gold_dir).resolve().parent]
    files = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root)
        else:
            files.extend(p for p in root.rglob("*") if p.is_file() and p.name in wanted)
    result = ingest(sorted(set(files)))
    by_name = {Path(a.source).name: a for a in result.articles}
    missing = sorted(wanted - set(by_name))
    if missing:
        raise FileNotFoundError(
            f"articles named by the gold files not found under {', '.join(map(str, roots))}: "
            f"{', '.join(missing[:5])}"
        )
    return by_name


# --- matching -----------------------------------------------------------------------


def _spans(quotes: list[str], text: str) -> list[tuple[int, int]]:
    ft = fold(text)
    return [s for q in quotes if (s := ground(q, text, ft))]


def _overlaps(pred_spans, gold_spans) -> bool:
    return any(spans_overlap(p, g) for p in pred_spans for g in gold_spans)


def match(preds: list[dict], golds: list[dict], text: str) -> list[tuple[int, int]]:
    """One-to-one pairs (pred index, gold index): same type, overlapping quote and anchor.

    Maximum bipartite matching, so two predictions for one gold event give one match.
    """
    pspans = [
        [(e["start"], e["end"]) for e in p.get("evidence", []) if isinstance(e.get("start"), int)]
        or _spans([e["quote"] for e in p.get("evidence", [])], text)
        for p in preds
    ]
    gspans = [_spans(g.get("anchors", []), text) for g in golds]
    edges = {
        i: [
            j
            for j, g in enumerate(golds)
            if g["event_type"] == p["event_type"] and _overlaps(pspans[i], gspans[j])
        ]
        for i, p in enumerate(preds)
    }
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in edges:
        augment(i, set())
    return sorted((i, j) for j, i in owner.items())


# --- scores -------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _canon(name: str) -> str:
    from pipelines.normalize.gazetteer import gazetteer

    return normalize(gazetteer().canonical(name))


def _pred_roles(ev: dict) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = defaultdict(set)
    for a in ev.get("actors") or []:
        roles[a["role"]].add(_canon(a["name"]))
    return roles


def _gold_roles(ev: dict) -> dict[str, set[str]]:
    return {role: {_canon(n) for n in names} for role, names in (ev.get("actors") or {}).items()}


def score(pairs: list[tuple[dict, list[dict], list[dict], str]]) -> dict:
    """pairs: (gold doc, predicted events, raw candidates, article text) per article."""
    types = event_types()
    counts = {t: [0, 0, 0] for t in types}
    actor_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    acc = {k: [0, 0] for k in ("status", "date", "country")}
    fps, misses = [], []
    linked: list[tuple[str, int, str, str | None]] = []  # article, gold index, cluster, predicted id
    quotes = grounded = 0
    for doc, preds, raw, text in pairs:
        for cand in raw:
            for e in cand.get("evidence") or []:
                quotes += 1
                q = e.get("quote") or ""
                grounded += bool(q) and q in text
        golds = doc["events"]
        matched = match(preds, golds, text)
        mp, mg = {i for i, _ in matched}, {j for _, j in matched}
        for i, p in enumerate(preds):
            if p["event_type"] in counts:
                counts[p["event_type"]][0 if i in mp else 1] += 1
            if i not in mp:
                fps.append(
                    {
                        "article": doc["article"],
                        "event_type": p["event_type"],
                        "status": p.get("status"),
                        "quote": (p.get("evidence") or [{}])[0].get("quote"),
                    }
                )
        for j, g in enumerate(golds):
            if j not in mg:
                counts.setdefault(g["event_type"], [0, 0, 0])[2] += 1
                misses.append(
                    {
                        "article": doc["article"],
                        "event_type": g["event_type"],
                        "status": g.get("status"),
                        "anchor": (g.get("anchors") or [None])[0],
                    }
                )
        for i, j in matched:
            p, g = preds[i], golds[j]
            if g.get("cluster") is not None:
                linked.append((doc["article"], j, g["cluster"], p.get("event_id")))
            pr, gr = _pred_roles(p), _gold_roles(g)
            for role in set(pr) | set(gr):
                ps, gs = pr.get(role, set()), gr.get(role, set())
                c = actor_counts[role]
                c[0] += len(ps & gs)
                c[1] += len(ps - gs)
                c[2] += len(gs - ps)
            acc["status"][0] += p.get("status") == g.get("status")
            acc["status"][1] += 1
            if g.get("date"):
                acc["date"][0] += p.get("date") == g.get("date")
                acc["date"][1] += 1
            if "country" in g:
                acc["country"][0] += p.get("country") == g.get("country")
                acc["country"][1] += 1
    per_type = {t: prf(*c) for t, c in counts.items()}
    micro = prf(*(sum(c[k] for c in counts.values()) for k in range(3)))
    actors = {role: prf(*c) for role, c in sorted(actor_counts.items()) if any(c)}
    actors["all"] = prf(*(sum(c[k] for c in actor_counts.values()) for k in range(3)))
    return {
        "articles": len(pairs),
        "detection": {"per_type": per_type, "micro": micro},
        "arguments": {
            "actors": actors,
            **{
                k: {"correct": c, "total": n, "accuracy": round(c / n, 4) if n else None}
                for k, (c, n) in acc.items()
            },
        },
        "grounding": {
            "quotes": quotes,
            "grounded": grounded,
            "rate": round(grounded / quotes, 4) if quotes else None,
        },
        "false_positives": fps,
        "misses": misses,
        "merge": merge_scores(linked) if linked else None,
    }


def merge_scores(linked: list[tuple[str, int, str, str | None]]) -> dict:
    """How well mentions of one real event were merged across articles, on the matched gold events
    that carry a ``cluster``: pairwise precision, recall and F1 of same-event links (a link: two gold
    events whose predicted rows have one event id), B-cubed F1, and the pairs wrongly fused (one id,
    two clusters) and wrongly split (one cluster, two ids)."""
    items = [(f"{a}#{j}", c, e or f"unmerged:{a}#{j}") for a, j, c, e in linked]
    tp = fp = fn = 0
    fused, split = [], []
    for x in range(len(items)):
        for y in range(x + 1, len(items)):
            (na, ca, ea), (nb, cb, eb) = items[x], items[y]
            same_gold, same_pred = ca == cb, ea == eb
            tp += same_gold and same_pred
            if same_pred and not same_gold:
                fp += 1
                fused.append({"a": na, "b": nb, "clusters": [ca, cb], "event_id": ea})
            elif same_gold and not same_pred:
                fn += 1
                split.append({"a": na, "b": nb, "cluster": ca, "event_ids": [ea, eb]})
    gold_of: dict[str, set[str]] = defaultdict(set)
    pred_of: dict[str, set[str]] = defaultdict(set)
    for name, c, e in items:
        gold_of[c].add(name)
        pred_of[e].add(name)
    bp = br = 0.0
    for _name, c, e in items:
        both = len(gold_of[c] & pred_of[e])
        bp += both / len(pred_of[e])
        br += both / len(gold_of[c])
    bp, br = bp / len(items), br / len(items)
    return {
        "events": len(items),
        "clusters": len(gold_of),
        "pairwise": prf(tp, fp, fn),
        "bcubed": {
            "precision": round(bp, 4),
            "recall": round(br, 4),
            "f1": round(2 * bp * br / (bp + br), 4) if bp + br else 0.0,
        },
        "wrongly_fused": fused,
        "wrongly_split": split,
    }


# --- running ------------------------------------------------------------------------


def _dataset_events(dataset: Path) -> tuple[dict[str, list[dict]], dict[str, str]]:
    from pipelines.checks import read_table

    arts = read_table(dataset, "articles", ["article_id", "source", "text"]).to_pylist()
    by_name = {Path(a["source"]).name: a for a in arts if a.get("text") is not None}
    events: dict[str, list[dict]] = defaultdict(list)
    for row in read_table(dataset, "events").to_pylist():
        for aid in {e["article_id"] for e in row["evidence"]}:
            ev = dict(row)
            ev["evidence"] = [e for e in row["evidence"] if e["article_id"] == aid]
            events[aid].append(ev)
    return events, by_name


def run_eval(
    gold_dir: Path,
    paths: list[Path],
    extractor: str = "rules",
    model: str = "",
    dataset: Path | None = None,
    **llm_settings,
) -> dict:
    gold = load_gold(gold_dir)
    pairs = []
    failed: dict[str, str] = {}
    if dataset is not None:
        events, by_name = _dataset_events(dataset)
        for doc in gold:
            art = by_name.get(Path(doc["article"]).name)
            if art is None:
                raise FileNotFoundError(f"{dataset}: the dataset has no article {doc['article']}")
            evs = events.get(art["article_id"], [])
            pairs.append((doc, evs, evs, art["text"]))
        name = f"dataset:{dataset}"
    else:
        from pipelines.extract import extract_all, get_extractor
        from pipelines.normalize import normalize_events
        from pipelines.validate import validate_all

        by_name = _find_articles(gold, gold_dir, paths)
        ex = get_extractor(
            extractor, model or None, **{k: v for k, v in llm_settings.items() if v is not None}
        )
        arts = []
        for doc in gold:
            art = by_name[Path(doc["article"]).name]
            if doc.get("published") and not art.published:
                art.published = doc["published"]
            arts.append(art)
        extraction = extract_all(arts, ex)
        raw = [json.loads(json.dumps(e)) for e in extraction.events]
        valid = validate_all(arts, extraction.events)
        normalized = normalize_events(valid.events, arts)
        failed = {
            Path(a.source).name: extraction.failed[a.article_id]
            for a in arts
            if a.article_id in extraction.failed
        }
        # Merged across articles as publication merges them: each mention carries its event's id. On
        # copies: merging combines the mentions' lists, and the mentions scored stay as extracted.
        from pipelines.merge import merge_sources

        published = {a.article_id: a.published for a in arts}
        merged_id = {
            (x["article_id"], x["start"], x["end"], ev["event_type"]): ev["event_id"]
            for ev in merge_sources(copy.deepcopy(normalized), published)
            for x in ev["evidence"]
        }
        for e in normalized:
            x = e["evidence"][0]
            e["event_id"] = merged_id.get((x["article_id"], x["start"], x["end"], e["event_type"]))
        for doc, art in zip(gold, arts, strict=True):
            mine = [e for e in normalized if e["evidence"][0]["article_id"] == art.article_id]
            mine_raw = [e for e in raw if (e.get("evidence") or [{}])[0].get("article_id") == art.article_id]
            pairs.append((doc, mine, mine_raw, art.text))
        name = ex.name
    report = score(pairs)
    report["failed_articles"] = failed
    report["extractor"] = name
    report["gold"] = str(gold_dir)
    return report


def print_report(report: dict, show: int = 50) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    t = Table(title=f"Event detection ({report['extractor']}, {report['articles']} articles)")
    for col in ("type", "tp", "fp", "fn", "precision", "recall", "f1"):
        t.add_column(col, justify="left" if col == "type" else "right")
    rows = list(report["detection"]["per_type"].items()) + [("micro", report["detection"]["micro"])]
    for name, r in rows:
        t.add_row(
            name,
            *(str(r[k]) for k in ("tp", "fp", "fn")),
            *(f"{r[k]:.3f}" for k in ("precision", "recall", "f1")),
        )
    con.print(t)
    a = Table(title="Arguments on matched events")
    for col in ("measure", "value", "detail"):
        a.add_column(col)
    for role, r in report["arguments"]["actors"].items():
        a.add_row(f"actor F1 ({role})", f"{r['f1']:.3f}", f"P {r['precision']:.3f} R {r['recall']:.3f}")
    for k in ("status", "date", "country"):
        r = report["arguments"][k]
        a.add_row(
            f"{k} accuracy",
            "n/a" if r["accuracy"] is None else f"{r['accuracy']:.3f}",
            f"{r['correct']}/{r['total']}",
        )
    g = report["grounding"]
    a.add_row(
        "grounding rate",
        "n/a" if g["rate"] is None else f"{g['rate']:.3f}",
        f"{g['grounded']}/{g['quotes']} quotes",
    )
    con.print(a)
    m = report.get("merge")
    if m:
        pw, b3 = m["pairwise"], m["bcubed"]
        con.print(
            f"[bold]Merge across articles[/bold] ({m['events']} matched events in {m['clusters']} clusters): "
            f"pairwise P {pw['precision']:.3f} R {pw['recall']:.3f} F1 {pw['f1']:.3f}; "
            f"B-cubed F1 {b3['f1']:.3f}"
        )
        for pair in m["wrongly_fused"][:show]:
            con.print(f"  fused: {pair['a']} + {pair['b']} ({' / '.join(pair['clusters'])})", markup=False)
        for pair in m["wrongly_split"][:show]:
            con.print(f"  split: {pair['a']} + {pair['b']} ({pair['cluster']})", markup=False)
    for title, key, field in (
        ("False positives", "false_positives", "quote"),
        ("Misses", "misses", "anchor"),
    ):
        items = report[key]
        con.print(f"[bold]{title}[/bold] ({len(items)})")
        for it in items[:show]:
            con.print(
                f"  {it['article']}  {it['event_type']}/{it['status']}: {(it[field] or '')[:160]}",
                markup=False,
            )


def write_json(report: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
