"""One self-contained HTML page of a published dataset: figures, and the evidence viewer for review.

In: a dataset folder (a build's output). Out: an HTML file with nothing fetched from the network
(inline CSS, JavaScript and SVG): the event count, totals by type and status, events per month by type
(a chart), the top actors per role, a map of geocoded events (longitude and latitude on an inline world
outline and graticule, with their table), the quarantine by reason, and the runs' extractor, model,
tokens and cost. Then every event, low confidence first, with its note, its quotes highlighted at their
offsets in its articles' text (right-to-left text shown as such, ``dir="auto"``), links between the
sources of a merged event, filters by type, status, actor, country and date, and accept / reject
buttons whose decisions download as a JSONL file for ``eventbuilder review --import``.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from pipelines.checks import read_table
from pipelines.data import data_path

CONTEXT = 400  # characters of article text shown on each side of a quote


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td dir='auto'>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(events: list[dict]) -> str:
    """Events per month, a bar per month stacked by type, as inline SVG."""
    months = Counter((str(e["event_date"])[:7], e["event_type"]) for e in events if e.get("event_date"))
    keys = sorted({m for m, _ in months})
    if not keys:
        return "<p>No dated events.</p>"
    types = sorted({t for _, t in months})
    colours = dict(zip(types, ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"], strict=False))
    top = max(sum(months[(m, t)] for t in types) for m in keys)
    width, height, bar = max(320, 24 * len(keys)), 160, 18
    parts = []
    for i, m in enumerate(keys):
        y = height
        for t in types:
            n = months[(m, t)]
            if n:
                h = n / top * (height - 20)
                y -= h
                parts.append(
                    f"<rect x='{i * 24 + 3}' y='{y:.1f}' width='{bar}' height='{h:.1f}' "
                    f"fill='{colours[t]}'><title>{_e(m)} {_e(t)}: {n}</title></rect>"
                )
        parts.append(f"<text x='{i * 24 + 3}' y='{height + 12}' font-size='8'>{_e(m[2:])}</text>")
    legend = " ".join(f"<span style='color:{colours[t]}'>&#9632; {_e(t)}</span>" for t in types)
    svg = f"<svg class='chart' viewBox='0 0 {width} {height + 16}' role='img'>{''.join(parts)}</svg>"
    return f"{svg}<p>{legend} (max {top} a month)</p>"


def _world_outline() -> str:
    # Natural Earth's 1:110m land (public domain), as x = longitude + 180, y = 90 - latitude at half
    # a degree: the same plane the dots are drawn on, small enough (about 90 KB) to inline.
    return data_path("world_outline.svgpath").read_text(encoding="ascii").strip()


def _map(events: list[dict]) -> str:
    located = [e for e in events if e.get("latitude") is not None and e.get("longitude") is not None]
    if not located:
        return "<p>No geocoded events.</p>"
    lines = "".join(f"<line x1='{x}' y1='0' x2='{x}' y2='180' />" for x in range(0, 361, 30))
    lines += "".join(f"<line x1='0' y1='{y}' x2='360' y2='{y}' />" for y in range(0, 181, 30))
    dots = "".join(
        f"<circle cx='{e['longitude'] + 180:.2f}' cy='{90 - e['latitude']:.2f}' r='2'>"
        f"<title>{_e(e.get('location'))}: {_e(e['event_type'])}</title></circle>"
        for e in located
    )
    places = Counter((e.get("location"), e.get("country"), e["latitude"], e["longitude"]) for e in located)
    rows = [[p, c, f"{la:.3f}", f"{lo:.3f}", n] for (p, c, la, lo), n in places.most_common()]
    svg = (
        "<svg class='map' viewBox='0 0 360 180' role='img'><rect width='360' height='180' fill='#eef3f8'/>"
        f"<path class='land' d='{_world_outline()}' fill='#dfe6d8' stroke='#9aa88f' stroke-width='0.2'/>"
        f"<g stroke='#c8d3de' stroke-width='0.3'>{lines}</g><g fill='#d62728'>{dots}</g></svg>"
    )
    return svg + _table(["location", "country", "latitude", "longitude", "events"], rows)


def _excerpt(text: str, spans: list[tuple[int, int]]) -> str:
    """The article text around ``spans`` (its quotes), each quote in a <mark>, exact offsets kept."""
    spans = sorted(spans)
    start, end = max(0, spans[0][0] - CONTEXT), min(len(text), spans[-1][1] + CONTEXT)
    out, at = [], start
    for s, e in spans:
        if s < at:
            continue
        out.append(_e(text[at:s]) + f"<mark data-start='{s}' data-end='{e}'>{_e(text[s:e])}</mark>")
        at = e
    out.append(_e(text[at:end]))
    return ("&hellip;" if start else "") + "".join(out) + ("&hellip;" if end < len(text) else "")


def _event_card(ev: dict, articles: dict[str, dict]) -> str:
    by_article: dict[str, list[tuple[int, int]]] = {}
    for x in ev.get("evidence") or []:
        by_article.setdefault(x["article_id"], []).append((x["start"], x["end"]))
    actors = "; ".join(f"{a['role']}: {a['name']}" for a in ev.get("actors") or [])
    names = " ".join(a["name"] for a in ev.get("actors") or [])
    links = " ".join(
        f"<a href='#src-{_e(ev['event_id'])}-{i}'>{_e(articles.get(a, {}).get('outlet') or a)}</a>"
        for i, a in enumerate(by_article)
    )
    sources = []
    for i, (aid, spans) in enumerate(by_article.items()):
        art = articles.get(aid) or {}
        title = art.get("title") or art.get("source") or aid
        url = art.get("url")
        head = f"<a href='{_e(url)}'>{_e(title)}</a>" if url else _e(title)
        sources.append(
            f"<div class='source' id='src-{_e(ev['event_id'])}-{i}'><h4 dir='auto'>{head} "
            f"<small>{_e(art.get('outlet'))} {_e(art.get('published'))}</small></h4>"
            f"<p class='text' dir='auto' lang='{_e(art.get('language'))}'>"
            f"{_excerpt(art.get('text') or '', spans)}</p></div>"
        )
    date = str(ev.get("event_date") or "")
    attrs = {
        "data-id": ev["event_id"],
        "data-type": ev["event_type"],
        "data-status": ev.get("status") or "",
        "data-country": " ".join(c for c in (ev.get("country"), ev.get("conflict_country")) if c),
        "data-actors": names.lower(),
        "data-date": date,
    }
    data = " ".join(f"{k}='{_e(v)}'" for k, v in attrs.items())
    return (
        f"<article class='event' {data}><h3>{_e(ev['event_type'])} &middot; {_e(ev.get('status'))} &middot; "
        f"{_e(ev.get('date') or 'undated')} <small>{_e(ev['event_id'])} confidence "
        f"{_e(ev.get('confidence'))} &middot; {_e(ev.get('review_status'))}</small></h3>"
        f"<p class='notes'>{_e(ev.get('notes'))}</p><p class='actors' dir='auto'>{_e(actors)}</p>"
        f"<p>{_e(ev.get('location'))} {_e(ev.get('country'))} &middot; sources: {links}</p>"
        f"<p><button class='accept'>accept</button> <button class='reject'>reject</button> "
        f"<span class='decision'></span></p>{''.join(sources)}</article>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:70em}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:.9em}mark{background:#ffe066}
.event{border:1px solid #bbb;border-radius:4px;padding:.5em 1em;margin:1em 0}.text{white-space:pre-wrap}
.chart,.map{width:100%;max-width:50em;display:block}.filters label{margin-right:1em}.hidden{display:none}
"""

_JS = """
const cards=[...document.querySelectorAll('article.event')];
function filter(){
  const v=id=>document.getElementById(id).value.trim().toLowerCase();
  const t=v('f-type'),s=v('f-status'),a=v('f-actor'),c=v('f-country'),d0=v('f-from'),d1=v('f-to');
  let shown=0;
  for(const e of cards){
    const d=e.dataset.date;
    const ok=(!t||e.dataset.type===t)&&(!s||e.dataset.status===s)&&(!a||e.dataset.actors.includes(a))
      &&(!c||e.dataset.country.toLowerCase().includes(c))&&(!d0||(d&&d>=d0))&&(!d1||(d&&d<=d1));
    e.classList.toggle('hidden',!ok); if(ok) shown++;
  }
  document.getElementById('shown').textContent=shown;
}
document.querySelectorAll('.filters select,.filters input').forEach(x=>x.addEventListener('input',filter));
document.getElementById('f-apply').addEventListener('click',filter);
const decisions={};
for(const e of cards){
  for(const kind of ['accept','reject']){
    e.querySelector('button.'+kind).addEventListener('click',()=>{
      decisions[e.dataset.id]={event_id:e.dataset.id,decision:kind,time:new Date().toISOString()};
      e.querySelector('.decision').textContent=kind+'ed';
      document.getElementById('n-decisions').textContent=Object.keys(decisions).length;
    });
  }
}
document.getElementById('download').addEventListener('click',()=>{
  const body=Object.values(decisions).map(d=>JSON.stringify(d)).join('\\n')+'\\n';
  const a=document.createElement('a');
  a.href=URL.createObjectURL(new Blob([body],{type:'application/x-ndjson'}));
  a.download='decisions.jsonl'; a.click();
});
filter();
"""


def render(folder: Path) -> str:
    """The report page of the dataset in ``folder``."""
    folder = Path(folder)
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    events = read_table(folder, "events").to_pylist()
    articles = {a["article_id"]: a for a in read_table(folder, "articles").to_pylist()}
    quarantine = read_table(folder, "quarantine", ["reason"]).to_pylist()
    # Low confidence first: what a reviewer should look at before the rest.
    events.sort(key=lambda e: (e.get("confidence") if e.get("confidence") is not None else 0, e["event_id"]))
    by_type = Counter(e["event_type"] for e in events)
    by_status = Counter((e["event_type"], e.get("status")) for e in events)
    roles = Counter((a["role"], a["name"]) for e in events for a in e.get("actors") or [])
    top: dict[str, list] = {}
    for (role, name), n in roles.most_common():
        if len(top.setdefault(role, [])) < 5:
            top[role].append(f"{name} ({n})")
    usage = Counter()
    models = Counter()
    for a in articles.values():
        for k in ("llm_calls", "tokens_in", "tokens_out", "cost_usd"):
            usage[k] += a.get(k) or 0
        if a.get("model"):
            models[a["model"]] += 1
    run_rows = [
        ["extractor", manifest.get("extractor")],
        ["models", ", ".join(f"{m} ({n} articles)" for m, n in models.most_common()) or "none (rules)"],
        ["model calls", usage["llm_calls"]],
        ["tokens in / out", f"{usage['tokens_in']} / {usage['tokens_out']}"],
        ["cost (USD)", f"{usage['cost_usd']:.4f}"],
        ["version", manifest.get("run_id")],
        ["published", manifest.get("created")],
    ]
    types = "".join(f"<option>{_e(t)}</option>" for t in sorted(by_type))
    statuses = "".join(f"<option>{_e(s)}</option>" for s in sorted({s for _, s in by_status if s}))
    filters = (
        "<div class='filters'><label>type <select id='f-type'><option value=''>all</option>"
        f"{types}</select></label><label>status <select id='f-status'><option value=''>all</option>"
        f"{statuses}</select></label><label>actor <input id='f-actor'></label>"
        "<label>country <input id='f-country' size='4'></label><label>from <input id='f-from' "
        "placeholder='YYYY-MM-DD' size='10'></label><label>to <input id='f-to' size='10'></label>"
        "<button id='f-apply'>filter</button> <span id='shown'></span> shown &middot; "
        "<span id='n-decisions'>0</span> decisions <button id='download'>download decisions</button></div>"
    )
    sections = [
        f"<h1>eventbuilder dataset</h1><p><b id='event-count'>{len(events)}</b> events, "
        f"{len(articles)} articles, {len(quarantine)} quarantined inputs.</p>",
        "<h2>By type and status</h2>"
        + _table(["type", "events"], [[t, n] for t, n in sorted(by_type.items())])
        + _table(["type", "status", "events"], [[t, s, n] for (t, s), n in sorted(by_status.items())]),
        "<h2>Events per month</h2>" + _chart(events),
        "<h2>Top actors per role</h2>"
        + _table(["role", "actors"], [[r, "; ".join(v)] for r, v in top.items()]),
        "<h2>Where</h2>" + _map(events),
        "<h2>Quarantine by reason</h2>"
        + _table(["reason", "inputs"], Counter(q["reason"] for q in quarantine).most_common()),
        "<h2>Runs</h2>" + _table(["", ""], run_rows),
        "<h2>Evidence</h2><p>Low confidence first. Accept or reject, then download the decisions and run "
        "<code>eventbuilder review --import decisions.jsonl</code>.</p>" + filters,
        "".join(_event_card(e, articles) for e in events),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>eventbuilder report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(sections)}<script>{_JS}</script></body></html>"
    )


def write(folder: Path, target: Path) -> int:
    """Write the report of ``folder`` to ``target``; returns the number of events in it."""
    page = render(folder)
    target = Path(target)
    tmp = target.with_name(f".{target.name}.partial")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return page.count("<article class='event'")
