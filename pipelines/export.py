"""Exports of a published dataset for people who do not read Parquet: ACLED's CSV, flat CSV and xlsx.

In: a dataset folder (a build's output: its current ``events``, ``articles`` and ``_manifest.json``).
Out: ``acled_rows`` (ACLED's 31 columns in ACLED's order and types) and ``flat_rows`` (one row per
event, every list spelled out as text), and ``write`` for the three file formats. How our events meet
ACLED's codebook is in ``pipelines/data/acled_export.yaml`` and the README's "Exports" section:

- dates: ``time_precision`` 1 for a day, 3 for a month or a year known only, the date being the middle
  of the period (``event_date``); an event with no date takes its earliest source's publication date
  with ``time_precision`` 3 and says so in ``tags``; one with neither is left out (counted);
- places: an event placed in its conflict's country keeps its place; one placed elsewhere (a vote in
  New York, a call from Geneva) or nowhere is coded at country level, as ACLED does for national
  events: the conflict country's capital with ``geo_precision`` 3, the reported place in ``tags``;
  one with no country at all is left out (counted).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.checks import read_table
from pipelines.data import acled_countries, load_yaml

ACLED_COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
]  # fmt: skip

FLAT_COLUMNS = [
    "event_id", "event_date", "date_precision", "event_type", "status", "actor1", "assoc_actor_1",
    "actor2", "assoc_actor_2", "actors", "country", "country_name", "conflict_country", "location",
    "admin1", "latitude", "longitude", "geo_precision", "notes", "sources", "urls", "quote",
    "source_count", "confidence", "review_status",
]  # fmt: skip

FORMATS = ("acled-csv", "csv", "xlsx")


@dataclass
class Export:
    """Rows of one export and the events left out of it, by reason."""

    columns: list[str]
    rows: list[dict]
    left_out: dict[str, int] = field(default_factory=dict)


def _dataset(folder: Path) -> tuple[list[dict], dict[str, dict], dict]:
    folder = Path(folder)
    manifest_path = folder / "_manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{folder}: no published dataset there (no _manifest.json): give a build's output"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    events = read_table(folder, "events").to_pylist()
    meta = read_table(folder, "articles", ["article_id", "outlet", "url", "published"]).to_pylist()
    articles = {a["article_id"]: a for a in meta}
    events.sort(key=lambda e: (str(e.get("event_date") or ""), e["event_type"], e["event_id"]))
    return events, articles, manifest


def _capital(iso3: str):
    from pipelines.normalize.gazetteer import gazetteer

    return gazetteer().capitals.get(iso3)


def _country(iso3: str | None) -> dict | None:
    if not iso3:
        return None
    known = acled_countries().get(iso3)
    if known:
        return known
    import pycountry

    c = pycountry.countries.get(alpha_3=iso3)
    if c is None:
        return None
    return {"iso": int(c.numeric), "country": getattr(c, "common_name", None) or c.name, "region": ""}


def interaction(inter1: int, inter2: int | None) -> int:
    """ACLED's interaction code: the two actor types, lower first (a lone actor's type times ten)."""
    if not inter2:
        return inter1 * 10
    low, high = sorted((inter1, inter2))
    return low * 10 + high


def _outlets(event: dict, articles: dict[str, dict]) -> list[str]:
    ids = dict.fromkeys(x["article_id"] for x in event.get("evidence") or [])
    outlets = event.get("outlets") or [
        articles[a]["outlet"] for a in ids if articles.get(a, {}).get("outlet")
    ]
    return list(dict.fromkeys(outlets))


def acled_rows(folder: Path) -> Export:
    """The dataset as ACLED's export: its 31 columns, one row per event with a date and a country."""
    events, articles, manifest = _dataset(folder)
    rules = load_yaml("acled_export.yaml")
    created = manifest.get("created")
    stamp = int(dt.datetime.fromisoformat(created).timestamp()) if created else None
    out = Export(ACLED_COLUMNS, [])
    for ev in events:
        tags = [f"eventbuilder type: {ev['event_type']}", f"status: {ev.get('status')}"]
        date, precision = ev.get("event_date"), rules["time_precision"].get(ev.get("date_precision"))
        if ev.get("date_precision") == "year":
            tags.append("date: year only, coded to 1 July")
        if date is None:
            pub = ev.get("first_reported")
            if not pub:
                out.left_out["no date and no publication date"] = (
                    out.left_out.get("no date and no publication date", 0) + 1
                )
                continue
            date, precision = dt.date.fromisoformat(pub[:10]), 3
            tags.append("date: not reported, publication date of the earliest source")
        conflict = ev.get("conflict_country")
        placed = ev.get("location") and ev.get("latitude") is not None
        if placed and (not conflict or ev.get("country") == conflict):
            iso3, location, admin1 = ev.get("country"), ev["location"], ev.get("admin1")
            lat, lon, geo = ev["latitude"], ev["longitude"], ev.get("geo_precision") or 1
        else:
            iso3 = conflict or ev.get("country")
            capital = _capital(iso3) if iso3 else None
            if capital is None:
                out.left_out["no country"] = out.left_out.get("no country", 0) + 1
                continue
            location, admin1, lat, lon, geo = capital.name, capital.admin1, capital.lat, capital.lon, 3
            reported = f", reported place: {ev['location']}" if ev.get("location") else ""
            tags.append(f"location: country level (capital){reported}")
        country = _country(iso3) or {"iso": None, "country": iso3, "region": ""}
        inter1 = ev.get("inter1")
        if inter1 is None:
            inter1 = 8
            tags.append("inter1: actor type unknown, coded 8")
        inter2 = ev.get("inter2") or 0
        sub = rules["sub_event_type"][ev["event_type"]]
        out.rows.append(
            {
                "event_id_cnty": f"{iso3}{ev['event_id']}",
                "event_date": date,
                "year": date.year,
                "time_precision": precision or 3,
                "disorder_type": rules["disorder_type"],
                "event_type": rules["event_type"],
                "sub_event_type": sub.get(ev.get("status"), sub["default"]),
                "actor1": ev.get("actor1") or "",
                "assoc_actor_1": ev.get("assoc_actor_1"),
                "inter1": inter1,
                "actor2": ev.get("actor2"),
                "assoc_actor_2": ev.get("assoc_actor_2"),
                "inter2": inter2,
                "interaction": interaction(inter1, inter2),
                "civilian_targeting": None,
                "iso": country["iso"],
                "region": country["region"],
                "country": country["country"],
                "admin1": admin1,
                "admin2": None,
                "admin3": None,
                "location": location,
                "latitude": lat,
                "longitude": lon,
                "geo_precision": geo,
                "source": "; ".join(_outlets(ev, articles)),
                "source_scale": None,
                "notes": ev.get("notes"),
                "fatalities": 0,
                "tags": "; ".join(tags),
                "timestamp": stamp,
            }
        )
    out.rows.sort(key=lambda r: (r["event_date"], r["event_id_cnty"]))
    return out


def flat_rows(folder: Path) -> Export:
    """One row per event, every list as text: for spreadsheets and BI tools."""
    events, articles, _ = _dataset(folder)
    names = {k: v["country"] for k, v in acled_countries().items()}
    rows = []
    for ev in events:
        ids = list(dict.fromkeys(x["article_id"] for x in ev.get("evidence") or []))
        urls = [articles[a]["url"] for a in ids if articles.get(a, {}).get("url")]
        evidence = ev.get("evidence") or [{}]
        rows.append(
            {
                "event_id": ev["event_id"],
                "event_date": ev.get("event_date"),
                "date_precision": ev.get("date_precision"),
                "event_type": ev["event_type"],
                "status": ev.get("status"),
                "actor1": ev.get("actor1"),
                "assoc_actor_1": ev.get("assoc_actor_1"),
                "actor2": ev.get("actor2"),
                "assoc_actor_2": ev.get("assoc_actor_2"),
                "actors": "; ".join(f"{a['role']}: {a['name']}" for a in ev.get("actors") or []),
                "country": ev.get("country"),
                "country_name": names.get(ev.get("country") or "")
                or (_country(ev.get("country")) or {}).get("country"),
                "conflict_country": ev.get("conflict_country"),
                "location": ev.get("location"),
                "admin1": ev.get("admin1"),
                "latitude": ev.get("latitude"),
                "longitude": ev.get("longitude"),
                "geo_precision": ev.get("geo_precision"),
                "notes": ev.get("notes"),
                "sources": "; ".join(_outlets(ev, articles)),
                "urls": "; ".join(dict.fromkeys(urls)),
                "quote": evidence[0].get("quote"),
                "source_count": ev.get("source_count"),
                "confidence": ev.get("confidence"),
                "review_status": ev.get("review_status") or "unreviewed",
            }
        )
    return Export(FLAT_COLUMNS, rows)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write(folder: Path, fmt: str, target: Path) -> Export:
    """Write the export ``fmt`` (acled-csv, csv, xlsx) of dataset ``folder`` to ``target``, whole or
    not at all (written beside it, then renamed)."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
    export = acled_rows(folder) if fmt == "acled-csv" else flat_rows(folder)
    target = Path(target)
    tmp = target.with_name(f".{target.name}.partial")
    if fmt == "xlsx":
        _write_xlsx(export, tmp)
    else:
        # ACLED's own files are plain UTF-8; ours carry a BOM so Excel opens Arabic names correctly.
        encoding = "utf-8" if fmt == "acled-csv" else "utf-8-sig"
        with tmp.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(export.columns)
            w.writerows([_cell(r[c]) for c in export.columns] for r in export.rows)
    tmp.replace(target)
    return export


def _write_xlsx(export: Export, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "events"
    ws.append(export.columns)
    for r in export.rows:
        ws.append([r[c] for c in export.columns])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(export.columns))}{len(export.rows) + 1}"
    date_col = export.columns.index("event_date") + 1
    for (cell,) in ws.iter_rows(min_row=2, min_col=date_col, max_col=date_col):
        cell.number_format = "yyyy-mm-dd"
    wb.save(path)
