"""Hostile and broken uploads (tests/data/bad/, one line per case in its README.md).

Every case has one outcome class, asserted exactly:
- refused: InputError whose message names the file (its display name, never a server path) and says why;
- partly rejected: the good rows are kept (accepted counts), each bad row is listed with its physical line,
  the column header as written in the file, a reason and the value;
- accepted: the values are read correctly.
Text from a file (values, header names, sheet and file names) is only ever data, downloads neutralise
formulas, and a refused upload never touches the published snapshot.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from analytics.dataset import Dataset, load_files, summary
from analytics.errors import InputError
from analytics.export import to_csv, to_xlsx
from analytics.ingest import Overrides
from analytics.metrics import Filters, rejects
from analytics.settings import settings
from analytics.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "bad"
_spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)
HOSTILE = make_corpus.HOSTILE
BEYOND = "(beyond the last column)"  # the column a surplus field is listed under


def display(name: str) -> str:
    """The name a user's browser sends: not the path on the server."""
    return f"Export {name}"


def load(*names: str, overrides: Overrides | None = None) -> Dataset:
    return load_files([(CORPUS / n, display(n)) for n in names], overrides)


def refusal(path: Path, name: str) -> str:
    with pytest.raises(InputError) as refused:
        load_files([(path, name)])
    message = str(refused.value)
    assert name in message, message
    assert str(path.parent) not in message, message  # no server path
    return message


def reject_rows(ds: Dataset) -> list[tuple]:
    """(file, line, column, reason, value) in the order the app lists them."""
    return [
        (r.file, int(r.line), r.column, r.reason, r.value if isinstance(r.value, str) else None)
        for r in rejects(ds.cursor()).itertuples()
    ]


def column(ds: Dataset, sql: str) -> dict:
    return dict(ds.cursor().execute(sql).fetchall())


# ---------------------------------------------------------------- the corpus itself


def test_the_stored_corpus_is_exactly_what_make_corpus_writes(tmp_path):
    written = {p.name: p.read_bytes() for p in make_corpus.write_corpus(tmp_path)}
    stored = {p.name: p.read_bytes() for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert sorted(written) == sorted(stored)
    for name, data in written.items():
        assert data == stored[name], f"{name} differs: run python tests/data/bad/make_corpus.py"
    assert sum(len(d) for d in stored.values()) < 100_000  # commit-size friendly


def test_the_readme_has_one_line_per_case():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    generated = ["nul_late.csv", "long_field.csv", "zip_bomb.xlsx", "zip_bomb_lying.xlsx", "oversized.csv"]
    for name in [*make_corpus.corpus(), *generated]:
        assert len([line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]) == 1, name


# ---------------------------------------------------------------- refused as a whole

REFUSED = {
    # file: what the message must say besides the file's name
    "empty.csv": r"empty",
    "empty.xlsx": r"empty",
    "header_only.csv": r"no (data )?rows",
    "header_only.xlsx": r"no (data )?rows",
    "header_empty_rows.csv": r"no (data )?rows",  # Excel's ",,,,,,," lines are no data
    "binary_garbage.csv": r"not a text",
    "binary_no_nul.csv": r"no header row",
    "not_a_zip.xlsx": r"zip",
    "zip_bomb_declared.xlsx": r"zip bomb",
    "xml_entity_bomb.xlsx": r"cannot be read|entity",
    "nul_byte.csv": r"line 3\b.*NUL",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_broken_file_is_refused_with_its_name_and_the_reason(name):
    started = time.monotonic()
    message = refusal(CORPUS / name, display(name))
    assert re.search(REFUSED[name], message, re.IGNORECASE), message
    assert time.monotonic() - started < 10  # the entity bomb is never expanded


def test_a_partner_column_with_one_value_on_every_row_is_no_partner_and_the_warning_says_why():
    # Since only id, seats and end date are required (PRODUCT.md section 3), such a file is read with the
    # partner unknown, not refused; the warning says why the column was not taken.
    ds = load_files([(CORPUS / "constant_partner_id.csv", "constant_partner_id.csv")])
    assert ds.result.accepted["subscriptions"] == 2
    assert any("same value on every row" in w for w in ds.result.warnings)
    assert ds.result.unknown["partner"] == 2
    assert ds.cursor().execute("SELECT count(*) FROM subscriptions WHERE partner_id IS NULL").fetchone()[0] == 2


def test_a_nul_byte_past_the_first_256_kib_is_refused_like_one_near_the_start(tmp_path):
    """The NUL check looks at the sniffing window only; the same byte past the first 256 KiB must not slip
    through into partner_name."""
    path = tmp_path / "nul_late.csv"
    line = make_corpus.nul_after_sniff_window(path)
    assert path.stat().st_size > make_corpus.SNIFF_WINDOW
    message = refusal(path, "Abos Juni.csv")
    assert re.search(rf"line {line}\b.*NUL", message), message


@pytest.mark.parametrize("lie", [False, True], ids=["declared_300MB", "declares_4kB_inflates_300MB"])
def test_a_zip_bomb_workbook_is_refused_quickly(tmp_path, lie):
    path = tmp_path / ("zip_bomb_lying.xlsx" if lie else "zip_bomb.xlsx")
    real = make_corpus.zip_bomb(path, megabytes=300, lie=lie)
    assert path.stat().st_size < 2_000_000 and real > 300_000_000
    started = time.monotonic()
    message = refusal(path, "Abos.xlsx")
    assert re.search(r"zip bomb|expand|declared", message), message
    assert time.monotonic() - started < 10  # refused before (or while) inflating, not after 300 MB


def test_a_library_error_keeps_its_words(tmp_path):
    """Paths are cut out of library errors, but "I/O error" is no path: it must not become "I<file> error"."""
    path = tmp_path / "zip_bomb_lying.xlsx"
    make_corpus.zip_bomb(path, megabytes=20, lie=True)
    message = refusal(path, "Abos.xlsx")
    assert "<file>" not in message, message


# ---------------------------------------------------------------- the upload size limit


def _limits() -> tuple[int, float]:
    streamlit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = tomllib.loads((ROOT / "config" / "server.toml").read_text(encoding="utf-8"))
    return streamlit["server"]["maxUploadSize"], server["upload"]["max_file_mb"]


def test_the_analytics_file_limit_is_the_web_upload_limit():
    upload_mb, max_file_mb = _limits()
    assert max_file_mb == upload_mb
    assert settings().max_file_bytes == upload_mb * 1024 * 1024


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "oversized.csv"
    make_corpus.oversized(path, settings().max_file_bytes + 1)  # sparse: no disk space, no time
    started = time.monotonic()
    message = refusal(path, "Abos 2022.csv")
    assert "too large" in message
    assert time.monotonic() - started < 10  # not read


def test_the_too_large_message_states_the_configured_limit(tmp_path):
    """The uploader says "Limit 500MB" and config says 500: the refusal must say 500 too, and not claim that a
    file is too large for a limit it rounds to the file's own size ("524 MB; the limit is 524 MB")."""
    upload_mb, _ = _limits()
    path = tmp_path / "oversized.csv"
    make_corpus.oversized(path, settings().max_file_bytes + 1)
    message = refusal(path, "Abos 2022.csv")
    assert f"{upload_mb} MB" in message, message


@pytest.fixture
def small_limit(tmp_path, monkeypatch):
    """A server config with a 1,048-byte file limit (max_file_mb = 0.001), through RADAR_CONFIG."""
    config = tmp_path / "server.toml"
    config.write_text("[upload]\nmax_file_mb = 0.001\n", encoding="utf-8")
    monkeypatch.setenv("RADAR_CONFIG", str(config))
    settings.cache_clear()
    yield settings().max_file_bytes
    monkeypatch.delenv("RADAR_CONFIG")
    settings.cache_clear()


def test_the_file_limit_is_configurable_and_exact(tmp_path, small_limit):
    assert small_limit == 1048
    rows = [make_corpus.HEADER, make_corpus.sub(1), make_corpus.sub(2)]
    base = len(make_corpus.csv_bytes(rows))
    rows[-1][2] += "x" * (small_limit - base)  # pad a partner name to the exact limit
    at_limit = tmp_path / "at_limit.csv"
    at_limit.write_bytes(make_corpus.csv_bytes(rows))
    assert at_limit.stat().st_size == small_limit
    assert load_files([(at_limit, "at_limit.csv")]).result.accepted["subscriptions"] == 2

    over = tmp_path / "over.csv"
    over.write_bytes(at_limit.read_bytes() + b"\n")
    assert "too large" in refusal(over, "over.csv")


# ---------------------------------------------------------------- partly rejected

PARTLY = {
    # file: (accepted subscriptions, [(line, column as written, reason pattern, value)])
    "ragged_rows.csv": (
        2,
        [
            (3, "term_end_date", "missing|fewer fields", None),
            (4, BEYOND, "more fields", "surplus"),
            (5, BEYOND, "more fields", "x"),
            (6, "seats", "missing|fewer fields", None),
            (6, "term_end_date", "missing|fewer fields", None),
        ],
    ),
    "title_lines.csv": (2, [(6, "seats", "whole number", "-1")]),
    "quoted_fields.csv": (3, [(5, "seats", "whole number", "-5"), (8, "seats", "whole number", "zehn")]),
    "mixed_line_endings.csv": (4, [(4, "seats", "whole number", "-1"), (6, "seats", "whole number", "-2")]),
    "trailing_delimiters.csv": (3, [(4, "seats", "whole number", "-3")]),
    "thousands_semicolon.csv": (3, [(5, "seats", "whole number", "1,5")]),
    "impossible_dates.csv": (
        2,
        [
            (2, "term_end_date", "date", "31.02.2022"),
            (3, "term_end_date", "date", "2022-13-01"),
            (4, "term_end_date", "date", "2022-02-29"),
            (5, "term_end_date", "date", "13/31/2022"),
            (6, "term_end_date", "date", "31.06.2022"),
        ],
    ),
    "two_digit_years.csv": (
        1,
        [
            (2, "term_end_date", "four-digit year", "11.07.22"),
            (3, "term_end_date", "four-digit year", "7/11/22"),
            (4, "term_end_date", "four-digit year", "22-07-11"),
            (5, "term_end_date", "four-digit year", "1.7.22"),
        ],
    ),
    "bad_seats.csv": (
        2,
        [
            (2, "seats", "whole number", "-5"),
            (3, "seats", "whole number", "2.5"),
            (4, "seats", "whole number", "1,5"),
            (5, "seats", "whole number", "1e3"),
            (6, "seats", "whole number", "zehn"),
            (7, "seats", "missing", None),
        ],
    ),
    "unknown_codes.csv": (
        2,
        [
            (2, "country", "unknown country", "Atlantis"),
            (3, "country", "unknown country", "XX"),
            (4, "segment", "unknown segment", "military"),
        ],
    ),
    "duplicate_ids.csv": (
        3,
        [
            (4, "subscription_id", r"duplicate of line 2 \(same content", "S-001"),
            (5, "subscription_id", r"different content; line 3 is kept", "S-002"),
            (6, "subscription_id", r"duplicate of line 2 \(same content", "S-001"),
        ],
    ),
    "all_rows_rejected.csv": (0, [(2, "seats", "whole number", "-5"), (3, "term_end_date", "date", "31.02.2022")]),
}


@pytest.mark.parametrize("name", list(PARTLY))
def test_bad_rows_are_rejected_one_by_one_and_the_good_rows_kept(name):
    accepted, expected = PARTLY[name]
    ds = load(name)
    got = reject_rows(ds)
    assert [(line, col, value) for _, line, col, _, value in got] == [(e[0], e[1], e[3]) for e in expected]
    for row, (*_, pattern, _) in zip(got, expected, strict=True):
        assert row[0] == display(name)
        assert re.search(pattern, row[3]), row
    assert ds.result.accepted["subscriptions"] == accepted
    assert ds.result.rejected == len({e[0] for e in expected})


KEPT = {
    # file: (SQL giving (subscription_id, value) pairs, the expected values)
    "thousands_semicolon.csv": ("seats", {"S-001": 1234, "S-002": 12345, "S-003": 1234567}),
    "bad_seats.csv": ("seats", {"S-007": 0, "S-008": 7}),
    "duplicate_ids.csv": ("seats", {"S-001": 10, "S-002": 5, "S-003": 10}),  # the first row of an id wins
    "impossible_dates.csv": ("CAST(term_end_date AS VARCHAR)", {"S-006": "2024-02-29", "S-007": "2022-07-11"}),
    "unknown_codes.csv": ("country || '/' || segment", {"S-004": "DE/education", "S-005": "GB/government"}),
    "trailing_delimiters.csv": (
        "CAST(term_end_date AS VARCHAR)",
        {"S-001": "2022-08-01", "S-002": "2022-08-01", "S-004": "2022-08-01"},
    ),
    "quoted_fields.csv": (
        "partner_name",
        {"S-001": 'Müller "Cloud"\nGmbH & Co, KG', "S-002": 'He said ""hi""', "S-005": "Partner 5"},
    ),
    # After a bare \r line ending the next record must keep its first character ("S-006", not "-006").
    "mixed_line_endings.csv": ("partner_id", {"S-001": "P-001", "S-002": "P-002", "S-004": "P-004", "S-006": "P-006"}),
}


@pytest.mark.parametrize("name", list(KEPT))
def test_kept_rows_have_their_values(name):
    expression, expected = KEPT[name]
    assert column(load(name), f"SELECT subscription_id, {expression} FROM subscriptions") == expected


def test_thousands_separators_in_a_comma_file():
    ds = load("thousands_comma.csv")
    seats = column(ds, "SELECT subscription_id, seats FROM subscriptions")
    assert seats["S-001"] == 1234 and seats["S-002"] == 1234567


def test_point_grouped_seats_in_a_comma_file_are_thousands_as_the_readme_says():
    """README "Numbers": digits grouped by threes can only be thousands for a seat count, in any file."""
    ds = load("thousands_comma.csv")
    assert reject_rows(ds) == []
    assert ds.result.accepted["subscriptions"] == 3


@pytest.mark.parametrize("name", ["trailing_empty_rows.csv", "blank_rows.xlsx"])
def test_empty_rows_are_skipped_like_blank_lines(name):
    """Excel writes a formatted but empty row as ",,,,,,," (CSV) or keeps it in the sheet's range: that is no
    subscription with six missing values, it is nothing."""
    ds = load(name)
    assert reject_rows(ds) == []
    assert ds.result.accepted["subscriptions"] == (2 if name.endswith(".csv") else 3)


# ---------------------------------------------------------------- accepted


def test_a_repeated_header_uses_the_first_column_and_warns():
    ds = load("duplicate_headers.csv")
    assert reject_rows(ds) == []
    rows = ds.cursor().execute("SELECT subscription_id, seats, country FROM subscriptions").fetchall()
    assert rows == [("S-001", 10, "DE"), ("S-002", 5, "AT")]
    warnings = " | ".join(ds.result.warnings)
    assert "'seats' appears twice" in warnings and "'Country' appears twice" in warnings


@pytest.mark.parametrize("name", ["bom_utf8.csv", "bom_utf16le.csv", "bom_utf16be.csv"])
def test_a_byte_order_mark_is_not_part_of_the_first_header(name):
    ds = load(name)
    assert reject_rows(ds) == []
    mapping = ds.result.mapping_table()
    assert mapping.loc[mapping["column"] == "subscription_id", "source_column"].tolist() == ["subscription_id"]
    names = column(ds, "SELECT subscription_id, partner_name FROM subscriptions")
    assert names == {
        "S-001": "Müller & Söhne IT GmbH",
        "S-002": "Straßen-IT Weiß KG",
        "S-003": "Zürcher Systemhaus AG",
    }


def test_partner_ids_differing_by_case_or_spaces_are_one_partner():
    ds = load("partner_id_variants.csv", "partner_id_variants_partners.csv")
    cur = ds.cursor()
    assert reject_rows(ds) == []
    assert cur.execute("SELECT partner_id, count(*) FROM subscriptions GROUP BY 1 ORDER BY 1").fetchall() == [
        ("P-001", 3),
        ("P-002", 1),
    ]
    assert cur.execute("SELECT partner_id FROM partners ORDER BY 1").fetchall() == [("P-001",), ("P-002",)]
    assert cur.execute("SELECT count(*) FROM subscriptions JOIN partners USING (partner_id)").fetchone() == (4,)
    totals = summary(ds, Filters())["totals"]
    assert totals["partners_exposed"] == 2 and totals["partners_opted_out"] == 1


def test_a_100000_character_field_is_read_without_a_crash(tmp_path):
    path = tmp_path / "long_field.csv"
    make_corpus.long_field(path)
    ds = load_files([(path, "long_field.csv")])
    assert ds.result.accepted["subscriptions"] == 2
    name, customer = ds.cursor().execute("SELECT partner_name, customer_name FROM subscriptions LIMIT 1").fetchone()
    assert name and set(name) == {"A"} and len(name) <= make_corpus.LONG  # kept or cut, never garbage
    assert customer and set(customer) == {"K"} and len(customer) <= make_corpus.LONG
    [(file, line, col, reason, value)] = reject_rows(ds)
    assert (file, line, col) == ("long_field.csv", 3, "seats") and "whole number" in reason
    assert value and set(value) == {"9"}
    frame = ds.cursor().execute("SELECT subscription_id, partner_name, customer_name, seats FROM subscriptions").df()
    assert to_csv(frame) and to_xlsx(frame)


def test_downloads_of_a_table_with_an_empty_column(tmp_path):
    """good.csv has no auto_renew, offer or value columns: the subscriptions table has columns with no value
    at all, which the Excel download must write as empty cells."""
    frame = load("good.csv").cursor().execute("SELECT * FROM subscriptions ORDER BY subscription_id").df()
    assert to_csv(frame).decode("utf-8-sig").splitlines()[1].startswith("S-001,P-001,Partner 1,C-001,,DE,")
    path = tmp_path / "subscriptions.xlsx"
    path.write_bytes(to_xlsx(frame))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[1][:6] == ["S-001", "P-001", "Partner 1", "C-001", "", "DE"]


# ---------------------------------------------------------------- hostile text is only ever text

TABLES = {"subscriptions", "partners", "customers", "rejects"}


def table_names(ds: Dataset) -> set[str]:
    return {r[0] for r in ds.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_hostile_values_and_header_names_are_stored_verbatim_and_drop_nothing():
    ds = load("hostile_values.csv")
    cur = ds.cursor()
    assert table_names(ds) >= TABLES
    rows = cur.execute("SELECT partner_name, customer_name FROM subscriptions ORDER BY subscription_id").fetchall()
    assert rows == [(h, h) for h in HOSTILE]
    assert [r[1:3] + r[4:] for r in reject_rows(ds)] == [(len(HOSTILE) + 2, "seats", "-5")]
    # Unknown hostile headers map to nothing; the mapped ones are the plain canonical headers.
    mapping = ds.result.mapping_table()
    assert set(mapping["source_column"]) == {*make_corpus.HEADER, "customer_name"}
    assert cur.execute("SELECT count(*) FROM subscriptions").fetchone() == (len(HOSTILE),)


def test_hostile_header_names_mapped_by_a_mapping_file_are_plain_text():
    overrides = Overrides(
        columns={"partner_name": HOSTILE[0], "customer_name": HOSTILE[5], "seats": HOSTILE[1], "offer_name": HOSTILE[3]}
    )
    ds = load("hostile_headers.csv", overrides=overrides)
    assert table_names(ds) >= TABLES
    rows = ds.cursor().execute("SELECT partner_name, customer_name, seats, offer_name FROM subscriptions").fetchall()
    assert rows == [("Alpha IT", "Kunde 1", 10, "E3")]
    assert [r[1:3] + r[4:] for r in reject_rows(ds)] == [(3, HOSTILE[1], "-5")]  # the header as written
    mapping = ds.result.mapping_table().set_index("column")["source_column"]
    assert mapping["seats"] == HOSTILE[1] and mapping["customer_name"] == HOSTILE[5]


def test_a_hostile_sheet_name_and_file_name_are_plain_text():
    name = '=HYPERLINK("http://x","y") \'; DROP TABLE rejects; --.xlsx'
    ds = load_files([(CORPUS / "hostile.xlsx", name)])
    assert table_names(ds) >= TABLES
    names = [r[0] for r in ds.cursor().execute("SELECT partner_name FROM subscriptions ORDER BY 1").fetchall()]
    assert sorted(names) == sorted(HOSTILE)
    [(file, line, col, reason, value)] = reject_rows(ds)
    assert (file, line, col, value) == (f"{name} [DROP TABLE subscriptions; --]", len(HOSTILE) + 2, "seats", "-5")
    assert "whole number" in reason


def _formula(text: str) -> bool:
    return text.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.fixture(scope="module")
def hostile_frame():
    ds = load("hostile_values.csv")
    frame = (
        ds.cursor()
        .execute("SELECT partner_name, customer_name, seats, -seats AS negative FROM subscriptions ORDER BY seats")
        .df()
    )
    for header in make_corpus.FORMULAS:
        frame[header] = frame["partner_name"]
    return frame


def test_csv_download_neutralises_formulas_and_keeps_numbers(hostile_frame):
    rows = list(csv.reader(io.StringIO(to_csv(hostile_frame).decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header == ["partner_name", "customer_name", "seats", "negative", *("'" + f for f in make_corpus.FORMULAS)]
    assert len(body) == len(HOSTILE)
    for row, value, seats in zip(body, HOSTILE, range(1, len(HOSTILE) + 1), strict=True):
        expected = "'" + value if _formula(value) else value
        assert row[0] == row[1] == expected and all(cell == expected for cell in row[4:]), row
        assert row[2:4] == [str(seats), str(-seats)]  # numbers, not "'-5"


def test_xlsx_download_neutralises_formulas_and_keeps_numbers(hostile_frame, tmp_path):
    path = tmp_path / "download.xlsx"
    path.write_bytes(to_xlsx(hostile_frame))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["partner_name", "customer_name", "seats", "negative", *("'" + f for f in make_corpus.FORMULAS)]
    for row, value, seats in zip(rows[1:], HOSTILE, range(1, len(HOSTILE) + 1), strict=True):
        expected = "'" + value if _formula(value) else value
        assert isinstance(row[0], str) and row[0] == row[1] == expected, row
        assert all(cell == expected for cell in row[4:]), row
        assert isinstance(row[3], float | int) and row[3] == -seats  # -5 stays the number -5
    negative_five = [r[3] for r in rows[1:] if r[2] == 5]
    assert negative_five == [-5]


def test_downloads_of_mapping_and_rejects_neutralise_hostile_headers():
    overrides = Overrides(columns={"customer_name": HOSTILE[5], "seats": "+cmd|' /C calc'!A0"})
    ds = load("hostile_headers.csv", overrides=overrides)
    mapping = to_csv(ds.result.mapping_table()).decode("utf-8-sig")
    assert "'" + HOSTILE[5].replace('"', '""') in mapping
    listed = to_csv(rejects(ds.cursor())).decode("utf-8-sig")
    assert "'+cmd|' /C calc'!A0" in listed


# ---------------------------------------------------------------- a refused upload never touches published data


CLI_REFUSED = [*REFUSED, "nul_late.csv", "zip_bomb.xlsx", "zip_bomb_lying.xlsx", "oversized.csv"]
NOTHING_VALID = ["all_rows_rejected.csv"]  # readable, but publishing it would replace everyone's data by nothing


def _generated(folder: Path) -> dict[str, Path]:
    paths = {name: CORPUS / name for name in [*REFUSED, *NOTHING_VALID]}
    paths["nul_late.csv"] = folder / "nul_late.csv"
    make_corpus.nul_after_sniff_window(paths["nul_late.csv"])
    paths["zip_bomb.xlsx"] = folder / "zip_bomb.xlsx"
    make_corpus.zip_bomb(paths["zip_bomb.xlsx"])
    paths["zip_bomb_lying.xlsx"] = folder / "zip_bomb_lying.xlsx"
    make_corpus.zip_bomb(paths["zip_bomb_lying.xlsx"], lie=True)
    paths["oversized.csv"] = folder / "oversized.csv"
    make_corpus.oversized(paths["oversized.csv"], settings().max_file_bytes + 1)
    return paths


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A store with good.csv published, and `ingest FILE --publish` run on a copy of it for every bad file."""
    base = tmp_path_factory.mktemp("published")
    store = Store(base / "store")
    good = CORPUS / "good.csv"
    snapshot = store.publish(load_files([(good, "good.csv")]), [("good.csv", good.stat().st_size)])
    before = {
        "current": snapshot,
        "ids": [s.id for s in store.list()],
        "figures": summary(store.load(snapshot), Filters()),
    }
    files = _generated(base)
    runs, pending = {}, []
    for name in [*CLI_REFUSED, *NOTHING_VALID]:
        copy = base / f"store-{name}"
        shutil.copytree(store.path, copy)
        env = {**os.environ, "RADAR_STORE": str(copy)}
        env.pop("RADAR_CONFIG", None)
        out, err = base / f"{name}.stdout", base / f"{name}.stderr"
        with out.open("w") as stdout, err.open("w") as stderr:  # files, not pipes: no child blocks on output
            command = [sys.executable, "-m", "analytics", "ingest", str(files[name]), "--publish"]
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        pending.append((name, copy, out, err, process))
        while len([p for *_, p in pending if p.poll() is None]) >= max(2, os.cpu_count() or 2):
            time.sleep(0.05)
    for name, copy, out, err, process in pending:
        process.wait(timeout=120)
        runs[name] = (process.returncode, out.read_text(), err.read_text(), Store(copy), files[name].name)
    return before, runs


@pytest.mark.parametrize("name", [*CLI_REFUSED, *NOTHING_VALID])
def test_a_failed_upload_never_touches_the_published_snapshot(published, name):
    before, runs = published
    code, out, err, store, file_name = runs[name]
    assert code != 0, f"exit 0; stdout: {out}"
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert file_name in err, err
    assert store.current_id() == before["current"]
    assert [s.id for s in store.list()] == before["ids"]  # no new snapshot listed
    assert summary(store.load(before["current"]), Filters()) == before["figures"]
