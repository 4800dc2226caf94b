"""eventbuilder export: every format read back as its users read it (pandas, openpyxl)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.build import build
from pipelines.export import ACLED_COLUMNS, FLAT_COLUMNS, interaction

from .conftest import run_cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert build([], out, extractor="rules").error is None
    return out


def _export(dataset, fmt, path):
    done = run_cli("export", "--dataset", dataset, "--format", fmt, "--output", path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_acled_csv_has_acleds_columns_order_and_types(dataset, tmp_path):
    printed = _export(dataset, "acled-csv", tmp_path / "acled.csv")
    df = pd.read_csv(tmp_path / "acled.csv", keep_default_na=False, na_values=[""])
    assert list(df.columns) == ACLED_COLUMNS and len(ACLED_COLUMNS) == 31
    events = pd.read_parquet(dataset / "events")
    undated = events["date"].isna() & events["first_reported"].isna()
    assert len(df) == len(events) - undated.sum() > 20
    assert f"left out {undated.sum()} event(s): no date and no publication date" in printed
    for col in (
        "year",
        "time_precision",
        "inter1",
        "inter2",
        "interaction",
        "iso",
        "geo_precision",
        "fatalities",
        "timestamp",
    ):
        assert pd.api.types.is_integer_dtype(df[col]), (col, df[col].dtype)
    assert set(df["time_precision"]) <= {1, 2, 3} and set(df["geo_precision"]) <= {1, 2, 3}
    dates = pd.to_datetime(df["event_date"], format="%Y-%m-%d")
    assert (dates.dt.year == df["year"]).all()
    for col in ("event_date", "location", "latitude", "longitude", "inter1", "interaction"):
        assert df[col].notna().all(), col
    assert pd.api.types.is_float_dtype(df["latitude"])
    assert set(df["event_type"]) == {"Strategic developments"}
    assert set(df["sub_event_type"]) <= {"Agreement", "Other"}
    libya = df[df["country"] == "Libya"]
    assert len(libya) and set(libya["iso"]) == {434} and set(libya["region"]) == {"Northern Africa"}
    assert "LBY" not in set(df["country"])
    # Our type and status travel in tags; every row has a note.
    assert df["tags"].str.contains("eventbuilder type: ").all() and df["notes"].str.len().gt(20).all()


def test_acled_dates_and_places_follow_the_documented_rules(dataset, tmp_path):
    _export(dataset, "acled-csv", tmp_path / "acled.csv")
    df = pd.read_csv(tmp_path / "acled.csv", keep_default_na=False, na_values=[""])
    events = pd.read_parquet(dataset / "events").set_index("event_id")
    for _, row in df.iterrows():
        ev = events.loc[row["event_id_cnty"][3:]]
        if pd.isna(ev["date"]):  # the earliest source's publication date, said in tags
            assert row["event_date"] == ev["first_reported"] and row["time_precision"] == 3
            assert "publication date of the earliest source" in row["tags"]
        elif len(ev["date"]) == 7:
            assert row["event_date"] == f"{ev['date']}-15" and row["time_precision"] == 3
        else:
            assert row["event_date"] == ev["date"] and row["time_precision"] == 1
        if (
            not pd.isna(ev["location"])
            and ev["country"] == ev["conflict_country"]
            and not pd.isna(ev["latitude"])
        ):
            assert row["location"] == ev["location"]
        else:  # a vote in New York about Sudan is coded to Sudan at country level
            assert row["geo_precision"] == 3 and "country level" in row["tags"]
            assert row["event_id_cnty"].startswith(ev["conflict_country"] or ev["country"])


def test_interaction_codes_put_the_lower_type_first():
    assert interaction(8, 1) == 18 and interaction(1, 2) == 12 and interaction(8, 0) == 80


def test_flat_csv_opens_in_excel_with_real_dates_and_text_lists(dataset, tmp_path):
    _export(dataset, "csv", tmp_path / "events.csv")
    raw = (tmp_path / "events.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8 Arabic
    df = pd.read_csv(tmp_path / "events.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    assert list(df.columns) == FLAT_COLUMNS
    events = pd.read_parquet(dataset / "events")
    assert len(df) == len(events)
    dated = df["event_date"].dropna()
    assert len(dated) == events["date"].notna().sum()
    pd.to_datetime(dated, format="%Y-%m-%d")  # every one a real date
    assert pd.api.types.is_integer_dtype(df["source_count"])
    assert df["actors"].str.contains(r"^\w+: ", regex=True).all()
    assert set(df["review_status"]) == {"unreviewed"}
    quotes = {q for ev in events["evidence"] for q in [ev[0]["quote"]]}
    assert set(df["quote"]) == quotes and any("\u0600" <= ch <= "\u06ff" for q in quotes for ch in q)


def test_xlsx_has_a_frozen_header_filters_and_date_cells(dataset, tmp_path):
    from openpyxl import load_workbook

    _export(dataset, "xlsx", tmp_path / "events.xlsx")
    ws = load_workbook(tmp_path / "events.xlsx").active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    assert header == FLAT_COLUMNS
    col = header.index("event_date")
    dates = [r[col].value for r in ws.iter_rows(min_row=2) if r[col].value is not None]
    assert dates and all(isinstance(d, dt.datetime | dt.date) for d in dates)
    counts = [r[header.index("source_count")].value for r in ws.iter_rows(min_row=2)]
    assert all(isinstance(n, int) for n in counts)


def test_the_events_table_has_a_date_column_and_ints_with_the_pyarrow_backend(dataset):
    schema = pq.read_schema(next((dataset / "events").rglob("*.parquet")))
    assert str(schema.field("event_date").type) == "date32[day]"
    df = pd.read_parquet(dataset / "events", dtype_backend="pyarrow")
    assert str(df["inter2"].dtype) == "int64[pyarrow]" and df["inter2"].isna().any()
    assert str(df["event_date"].dtype) == "date32[day][pyarrow]"


def test_export_errors_are_one_line(dataset, tmp_path):
    done = run_cli("export", "--dataset", tmp_path / "none", "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and "no published dataset there" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = run_cli("export", "--dataset", dataset, "--format", "pdf", "--output", tmp_path / "x.pdf")
    assert done.returncode == 2 and "--format pdf" in done.stderr
    assert not (tmp_path / "x.csv").exists() and json.loads((dataset / "_manifest.json").read_text())
