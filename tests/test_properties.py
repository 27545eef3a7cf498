"""Property-based tests (Hypothesis) for ingestion and the headline figures.

1. Round trip: a random subscriptions table, written in every accepted upload shape (CSV with `,` `;` tab `|`
   in UTF-8, UTF-8 with BOM, UTF-16 and cp1252; the German Excel dialect; .xlsx with typed cells; Parquet with
   typed columns), is ingested value for value; ids come back upper-cased without blanks.
2. summary() equals the figures computed here in plain Python straight from the generated rows (PRODUCT.md
   section 4 and the README's metric decisions): totals, every country, the projection, and a country filter.
3. Arbitrary bytes, damaged workbooks and Parquet files, Parquet columns of any type and CSV rows of hostile
   values: load_files either loads (and then summary() works) or raises InputError, never anything else.

Profiles: "ci" (default, bounded and derandomized) and "dev" (HYPOTHESIS_PROFILE=dev), see conftest.py.
Files are written into fresh temporary directories inside each example (function-scoped fixtures would be
shared by all examples of a test).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import functools
import io
import re
import string
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

from analytics.dataset import load_files, summary
from analytics.errors import InputError
from analytics.metrics import Filters
from analytics.programme import DEFAULT_PATH, load_programme

D = dt.date
CUTOFF = D(2022, 7, 11)
OPT_OUT_DEADLINE = D(2022, 6, 30)
EXEMPT = ("education", "government", "nonprofit")
NO_TERM_END = D(9999, 12, 31)
PROGRAMME = load_programme(DEFAULT_PATH)  # not RADAR_PROGRAMME: the expectations below use these dates

COLUMNS = (
    "subscription_id",
    "partner_id",
    "partner_name",
    "customer_id",
    "customer_name",
    "country",
    "segment",
    "offer_name",
    "seats",
    "term_end_date",
    "auto_renew",
    "billing_term",
    "monthly_value",
    "currency",
    "program",
    "status",
)

# Three spellings of the header: canonical, Partner Center / distributor names, German.
HEADERS = {
    "canonical": {c: c for c in COLUMNS},
    "upper": {c: c.upper() for c in COLUMNS},
    "partner_center": dict(
        zip(
            COLUMNS,
            (
                "SubscriptionId",
                "ResellerMpnId",
                "ResellerName",
                "CustomerTenantId",
                "Customer Name",
                "Country/Region",
                "Customer Segment",
                "OfferName",
                "Quantity",
                "CommitmentEndDate",
                "AutoRenewEnabled",
                "BillingCycle",
                "MRR",
                "Currency",
                "Program",
                "Status",
            ),
            strict=True,
        )
    ),
    "german": dict(
        zip(
            COLUMNS,
            (
                "Abonnement-ID",
                "Händler-ID",
                "Händlername",
                "Kunden-ID",
                "Kundenname",
                "Land",
                "Kundensegment",
                "Produkt",
                "Lizenzen",
                "Enddatum",
                "Automatische Verlängerung",
                "Abrechnungszyklus",
                "Monatswert",
                "Währung",
                "Programm",
                "Status",
            ),
            strict=True,
        )
    ),
}

COUNTRY_NAMES = {  # code -> (English name, German name)
    "DE": ("Germany", "Deutschland"),
    "AT": ("Austria", "Österreich"),
    "CH": ("Switzerland", "Schweiz"),
    "FR": ("France", "Frankreich"),
    "NL": ("Netherlands", "Niederlande"),
    "GB": ("United Kingdom", "Vereinigtes Königreich"),
}

# Canonical value -> spellings an export may use (English, German); matched case-insensitively.
WORDS = {
    "en": {
        "commercial": ("commercial", "Corporate", "Business"),
        "education": ("education", "Academic", "EDU"),
        "government": ("government", "Public Sector", "GOV"),
        "nonprofit": ("nonprofit", "Non-Profit", "Charity"),
        "monthly": ("monthly", "Monthly", "P1M"),
        "annual": ("annual", "Annual", "P1Y", "yearly"),
        "legacy": ("legacy", "Legacy", "CSP Legacy"),
        "nce": ("nce", "NCE", "New Commerce"),
        "active": ("active", "Active", "Enabled"),
        "suspended": ("suspended", "Suspended", "Disabled"),
        "deleted": ("deleted", "Cancelled", "Expired"),
        True: ("true", "True", "TRUE", "yes", "1", "Y"),
        False: ("false", "False", "FALSE", "no", "0", "N"),
    },
    "de": {
        "commercial": ("gewerblich", "Kommerziell", "Unternehmen"),
        "education": ("Bildung", "Schule", "Forschung"),
        "government": ("Behörde", "öffentlich", "Öffentliche Verwaltung"),
        "nonprofit": ("gemeinnützig", "Gemeinnützig"),
        "monthly": ("monatlich", "Monatlich", "1 Monat"),
        "annual": ("jährlich", "Jährlich", "12 Monate"),
        "legacy": ("Legacy", "legacy", "alt"),
        "nce": ("NCE", "neu", "New Commerce"),
        "active": ("aktiv", "Aktiv"),
        "suspended": ("gesperrt", "Ausgesetzt", "pausiert"),
        "deleted": ("gekündigt", "Gelöscht", "abgelaufen"),
        True: ("Ja", "ja", "WAHR", "Wahr", "x"),
        False: ("Nein", "nein", "FALSCH", "Falsch"),
    },
}


def pick(options, variant: int):
    return options[variant % len(options)]


def word(lang: str, value, variant: int) -> str:
    spelling = pick(WORDS[lang][value], variant)
    return pick((spelling, spelling.upper(), spelling.lower(), spelling), variant // 3)


# ---------------------------------------------------------------- generated subscriptions


@dataclass(frozen=True)
class Sub:
    sid: str  # normalised id (upper case, no blanks); the files write it decorated
    partner: str
    partner_name: str | None
    customer: str
    customer_name: str | None
    country: str  # ISO code
    segment: str
    offer_name: str | None
    seats: int
    end: dt.date
    auto_renew: bool | None
    billing: str | None  # monthly, annual or None (unknown)
    value: Decimal | None
    currency: str | None
    program: str
    status: str
    style: tuple[int, ...]  # how each value is spelled in a text file; 0 is the plainest spelling

    def expected(self) -> dict:
        """The row of the ingested `subscriptions` table."""
        return {
            "subscription_id": self.sid,
            "partner_id": self.partner,
            "partner_name": text_value(self.partner_name),
            "customer_id": self.customer,
            "customer_name": text_value(self.customer_name),
            "country": self.country,
            "segment": self.segment,
            "offer_name": text_value(self.offer_name),
            "seats": self.seats,
            "term_end_date": self.end,
            "auto_renew": self.auto_renew,
            "billing_term": self.billing or "unknown",
            "monthly_value": self.value,
            "currency": text_value(self.currency),
            "program": self.program,
            "status": self.status,
        }


def text_value(value: str | None) -> str | None:
    """A text column keeps the value without surrounding spaces (DuckDB's trim: the Unicode space separators,
    not tabs or line breaks); blank is missing."""
    if value is None:
        return None
    start, end = 0, len(value)
    while start < end and unicodedata.category(value[start]) == "Zs":
        start += 1
    while end > start and unicodedata.category(value[end - 1]) == "Zs":
        end -= 1
    return value[start:end][:1000] or None


def sub(sid: str, partner: str, **values) -> Sub:
    """A subscription for an explicit example: active legacy commercial, 0 seats, ending on the cutoff day."""
    base = {
        "partner_name": None,
        "customer": "0",
        "customer_name": None,
        "country": "AT",
        "segment": "commercial",
        "offer_name": None,
        "seats": 0,
        "end": CUTOFF,
        "auto_renew": True,
        "billing": "monthly",
        "value": None,
        "currency": None,
        "program": "legacy",
        "status": "active",
        "style": (0,) * 10,
    }
    return Sub(sid=sid, partner=partner, **{**base, **values})


ID_CHARS = string.ascii_uppercase + string.digits + "-_"
# Names: umlauts, quotes, every delimiter, the euro sign; now and then any printable character.
NAME_CHARS = string.ascii_letters + string.digits + " äöüÄÖÜßéèçñ€&.-'\"„“”’,;|\t()/"
name_text = st.text(
    st.one_of(
        st.sampled_from(NAME_CHARS),
        st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    ),
    max_size=24,
)
names = st.one_of(st.none(), name_text)
# A line break inside a value (quoted in CSV); used by the separate property with newlines.
names_with_newlines = st.one_of(
    st.none(),
    st.lists(st.one_of(name_text, st.sampled_from(["\n", "\r\n", "\r", "\n\n"])), max_size=5).map("".join),
)

END_DATES = st.one_of(
    st.dates(D(2020, 1, 1), D(2024, 12, 31)),
    st.sampled_from(
        [
            CUTOFF,
            CUTOFF - dt.timedelta(days=1),
            D(2022, 1, 31),
            D(2021, 8, 31),
            D(2020, 2, 29),
            D(2022, 6, 30),
            D(2021, 7, 11),
            D(2021, 7, 10),
            D(2022, 5, 31),
            NO_TERM_END,
        ]
    ),
)
VALUES = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=Decimal("-99999.99"), max_value=0, places=2, allow_nan=False, allow_infinity=False),
)
SEATS = st.one_of(st.integers(0, 100_000), st.sampled_from([0, 999, 1000, 1234, 100_000]))


@st.composite
def sub_rows(draw, ids: list[str], partners: list[str], customers: list[str], names_strategy) -> list[Sub]:
    rows = []
    for sid in ids:
        rows.append(
            Sub(
                sid=sid,
                partner=draw(st.sampled_from(partners)),
                partner_name=draw(names_strategy),
                customer=draw(st.sampled_from(customers)),
                customer_name=draw(names_strategy),
                country=draw(st.sampled_from(sorted(COUNTRY_NAMES))),
                segment=draw(st.sampled_from(("commercial", "commercial", *EXEMPT))),
                offer_name=draw(names_strategy),
                seats=draw(SEATS),
                end=draw(END_DATES),
                auto_renew=draw(st.sampled_from((True, False, None))),
                billing=draw(st.sampled_from(("monthly", "annual", None))),
                value=draw(VALUES),
                currency=draw(st.sampled_from((None, "EUR", "CHF", "GBP", "eur"))),
                program=draw(st.sampled_from(("legacy", "legacy", "nce"))),
                status=draw(st.sampled_from(("active", "active", "suspended", "deleted"))),
                style=tuple(draw(st.lists(st.integers(0, 11), min_size=10, max_size=10))),
            )
        )
    # A partner column holding one value on every row is taken for the distributor's (README), so a table of
    # more than one row names at least two partners.
    if len(rows) > 1 and len({r.partner for r in rows}) == 1:
        other = next(p for p in partners if p != rows[0].partner)
        rows[0] = Sub(**{**rows[0].__dict__, "partner": other})
    return rows


def id_text(max_size: int):
    """Ids as exports write them. A lone "-" is "no value", and -1 or 0 in a reseller column is "no reseller"
    (PRODUCT.md section 3), so those are not ids."""
    return st.text(ID_CHARS, min_size=1, max_size=max_size).filter(lambda v: v.strip() not in ("-", "-1", "0"))


@st.composite
def tables(draw, names_strategy=names, max_rows: int = 20) -> list[Sub]:
    ids = draw(st.lists(id_text(8), min_size=1, max_size=max_rows, unique=True))
    partners = draw(st.lists(id_text(6), min_size=2, max_size=5, unique=True))
    customers = draw(st.lists(id_text(6), min_size=1, max_size=5, unique=True))
    return draw(sub_rows(ids, partners, customers, names_strategy))


def decorate_id(base: str, variant: int) -> str:
    """The same id as an export may write it: other case, blanks around and inside."""
    half = len(base) // 2
    return pick(
        (
            base,
            base.lower(),
            f" {base} ",
            f"{base[:half]} {base[half:]}",
            f"{base.lower()}\t",
            f"{base[:half].lower()}{base[half:]}",
            f"\t{base[:half]}  {base[half:].lower()}",
        ),
        variant,
    )


# ---------------------------------------------------------------- spelling values as text


def en_seats(n: int, variant: int) -> str:
    grouped = f"{n:,}"
    return pick((str(n), grouped, f"{n}.0", grouped.replace(",", " "), grouped.replace(",", "'")), variant)


def de_seats(n: int, variant: int) -> str:
    return pick((str(n), f"{n:,}".replace(",", "."), f"{n},0"), variant)


def en_date(d: dt.date, variant: int) -> str:
    return pick(
        (
            d.isoformat(),
            f"{d.isoformat()} 00:00:00",
            f"{d.isoformat()}T08:30:00",
            f"{d.month}/{d.day}/{d.year}",
            f"{d:%m/%d/%Y}",
            f"{d.month}/{d.day}/{d.year} 0:00",
        ),
        variant,
    )


def de_date(d: dt.date, variant: int) -> str:
    return pick((f"{d:%d.%m.%Y}", f"{d.day}.{d.month}.{d.year}", f"{d:%d.%m.%Y} 00:00"), variant)


def en_value(v: Decimal, variant: int) -> str:
    plain, grouped = f"{v:.2f}", f"{v:,.2f}"
    short = plain.rstrip("0").rstrip(".") if "." in plain else plain
    return pick((plain, grouped, short, grouped.replace(",", " ")), variant)


def de_value(v: Decimal, variant: int) -> str:
    plain = f"{v:.2f}".replace(".", ",")
    grouped = f"{v:,.2f}".replace(",", "#").replace(".", ",").replace("#", ".")
    short = plain.rstrip("0").rstrip(",")
    return pick((plain, grouped, short), variant)


def country_text(code: str, variant: int) -> str:
    en, de = COUNTRY_NAMES[code]
    return pick((code, code.lower(), en, de, f" {code} ", en.upper(), de.lower()), variant)


def text_cells(sub: Sub, lang: str) -> dict[str, str]:
    """One row of a text file (CSV), each value spelled as style says; German uses German Excel's formats."""
    s = sub.style
    german = lang == "de"
    return {
        "subscription_id": decorate_id(sub.sid, s[0]),
        "partner_id": decorate_id(sub.partner, s[1]),
        "partner_name": sub.partner_name or "",
        "customer_id": decorate_id(sub.customer, s[2]),
        "customer_name": sub.customer_name or "",
        "country": country_text(sub.country, s[3]),
        "segment": word(lang, sub.segment, s[4]),
        "offer_name": sub.offer_name or "",
        "seats": de_seats(sub.seats, s[5]) if german else en_seats(sub.seats, s[5]),
        "term_end_date": de_date(sub.end, s[6]) if german else en_date(sub.end, s[6]),
        "auto_renew": "" if sub.auto_renew is None else word(lang, sub.auto_renew, s[7]),
        "billing_term": "" if sub.billing is None else word(lang, sub.billing, s[8]),
        "monthly_value": "" if sub.value is None else (de_value if german else en_value)(sub.value, s[9]),
        "currency": sub.currency or "",
        "program": word(lang, sub.program, s[4] + 1),
        "status": word(lang, sub.status, s[5] + 2),
    }


def csv_line(cells: list[str], delimiter: str, newline: str) -> str:
    """One CSV record; a value holding CR or LF is quoted whatever the file's line ending (the csv module
    quotes only the characters of its own line terminator)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + newline


def csv_text(rows: list[Sub], order: list[str], header: str, lang: str, delimiter: str, newline: str) -> str:
    lines = [csv_line([HEADERS[header][c] for c in order], delimiter, newline)]
    for sub in rows:
        cells = text_cells(sub, lang)
        lines.append(csv_line([cells[c] for c in order], delimiter, newline))
    return "".join(lines)


def encodings_for(text: str) -> list[str]:
    """The encodings a file with this text can be written in. cp1252 only when every character has a byte in
    it, and not when those bytes happen to be valid UTF-8 too (then the file *is* UTF-8 as far as anyone can
    tell; e.g. "Ã¼" in cp1252 is the UTF-8 of "ü")."""
    encodings = ["utf-8", "utf-8-sig", "utf-16"]
    try:
        raw = text.encode("cp1252")
    except UnicodeEncodeError:
        return encodings
    try:
        raw.decode("utf-8")
        ambiguous = not raw.isascii()
    except UnicodeDecodeError:
        ambiguous = False
    return encodings if ambiguous else [*encodings, "cp1252"]


# ---------------------------------------------------------------- writing workbooks and Parquet


FIXED_TIME = dt.datetime(2022, 6, 1, 12, 0)


def write_xlsx(path: Path, rows: list[Sub], order: list[str], header: str, lang: str, titles: int, fmt: int) -> None:
    """A workbook as Excel would hold the export: real dates, numbers and booleans, ids and names as text."""
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    workbook.set_properties({"created": FIXED_TIME})
    date_format = workbook.add_format({"num_format": pick(("dd.mm.yyyy", "yyyy-mm-dd", "m/d/yyyy"), fmt)})
    sheet = workbook.add_worksheet(pick(("Abonnements", "Subscriptions", "Tabelle1"), fmt))
    for r in range(titles):
        sheet.write_string(r, 0, pick(("NCE export", "Stand: 01.06.2022"), r))
    for col, name in enumerate(order):
        sheet.write_string(titles, col, HEADERS[header][name])
    for r, sub in enumerate(rows, start=titles + 1):
        text = text_cells(sub, lang)
        for col, name in enumerate(order):
            if name == "seats":
                sheet.write_number(r, col, sub.seats)
            elif name == "term_end_date":
                sheet.write_datetime(r, col, dt.datetime.combine(sub.end, dt.time()), date_format)
            elif name == "auto_renew":
                if sub.auto_renew is not None:
                    sheet.write_boolean(r, col, sub.auto_renew)
            elif name == "monthly_value":
                if sub.value is not None:
                    sheet.write_number(r, col, float(sub.value))
            elif text[name] != "":
                sheet.write_string(r, col, text[name])
    workbook.close()


def write_parquet(path: Path, rows: list[Sub], order: list[str], header: str, lang: str, fmt: int) -> None:
    """A Parquet file with typed columns (as pandas or Spark would write the export)."""
    text = [text_cells(sub, lang) for sub in rows]
    date_type = pick((pa.date32(), pa.timestamp("us"), pa.timestamp("ms")), fmt)
    seats_type = pick((pa.int64(), pa.int32(), pa.int64()), fmt // 3)

    def column(name: str) -> pa.Array:
        if name == "seats":
            return pa.array([s.seats for s in rows], seats_type)
        if name == "term_end_date":
            values = [s.end if date_type == pa.date32() else dt.datetime.combine(s.end, dt.time()) for s in rows]
            return pa.array(values, date_type)
        if name == "auto_renew":
            return pa.array([s.auto_renew for s in rows], pa.bool_())
        if name == "monthly_value":
            return pa.array([s.value for s in rows], pa.decimal128(12, 2))
        return pa.array([t[name] or None for t in text], pa.string())

    pq.write_table(pa.table({HEADERS[header][c]: column(c) for c in order}), path)


# ---------------------------------------------------------------- reading back


def ingested(path: Path) -> tuple[list[dict], object]:
    ds = load_files([path])
    cur = ds.cursor().execute("SELECT * FROM subscriptions ORDER BY subscription_id")
    names = [d[0] for d in cur.description]
    # fetchall, not .df(): exact Decimal and date values, and 9999-12-31 fits a Python date
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()], ds


def assert_round_trip(path: Path, rows: list[Sub], mixed_newlines: bool = False) -> None:
    """`mixed_newlines`: the file really mixes line endings (a bare CR and an LF); then, as documented in
    readers.py, every line ending is read as LF, also inside quoted values."""
    got, ds = ingested(path)
    note(f"warnings: {ds.result.warnings}")
    rejects = ds.cursor().execute("SELECT * FROM rejects").fetchall()
    assert rejects == [], rejects
    assert ds.result.accepted["subscriptions"] == len(rows)
    expected = {r.sid: r.expected() for r in rows}
    if mixed_newlines:
        for row in expected.values():
            for key, value in row.items():
                if isinstance(value, str):
                    row[key] = value.replace("\r\n", "\n").replace("\r", "\n")
    by_id = {g["subscription_id"]: g for g in got}
    assert set(by_id) == set(expected)
    for sid, row in expected.items():
        assert by_id[sid] == row, f"subscription {sid!r}"


# ---------------------------------------------------------------- 1. round trip

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]
orders = st.permutations(COLUMNS)


def write_text(path: Path, text: str, encoding: str) -> None:
    assume(encoding in encodings_for(text))  # cp1252 only for text it can hold (and tell apart from UTF-8)
    note(f"file text: {text!r}")
    path.write_bytes(text.encode(encoding))


@given(
    rows=tables(),
    order=orders,
    delimiter=st.sampled_from([",", "\t", "|"]),
    header=st.sampled_from(["canonical", "upper", "partner_center"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(ENCODINGS),
)
def test_english_csv_round_trips_every_value(rows, order, delimiter, header, newline, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        write_text(path, csv_text(rows, order, header, "en", delimiter, newline), encoding)
        assert_round_trip(path, rows)


@given(
    rows=tables(),
    order=orders,
    header=st.sampled_from(["german", "canonical"]),
    newline=st.sampled_from(["\r\n", "\n"]),
    encoding=st.sampled_from(ENCODINGS[::-1]),  # cp1252 first: what German Excel writes
)
def test_german_excel_csv_round_trips_every_value(rows, order, header, newline, encoding):
    """Semicolons, dd.mm.yyyy, Ja/Nein, decimal comma, '.' grouping thousands, German headers and words."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Abos.csv"
        write_text(path, csv_text(rows, order, header, "de", ";", newline), encoding)
        assert_round_trip(path, rows)


@given(
    rows=tables(),
    order=orders,
    header=st.sampled_from(list(HEADERS)),
    lang=st.sampled_from(["en", "de"]),
    titles=st.integers(0, 2),
    fmt=st.integers(0, 5),
)
def test_xlsx_with_typed_cells_round_trips_every_value(rows, order, header, lang, titles, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xlsx"
        write_xlsx(path, rows, order, header, lang, titles, fmt)
        assert_round_trip(path, rows)


@given(
    rows=tables(),
    order=orders,
    header=st.sampled_from(list(HEADERS)),
    lang=st.sampled_from(["en", "de"]),
    fmt=st.integers(0, 8),
)
def test_parquet_with_typed_columns_round_trips_every_value(rows, order, header, lang, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.parquet"
        write_parquet(path, rows, order, header, lang, fmt)
        assert_round_trip(path, rows)


# (Partner ids 01 and 02: a lone 0 in a reseller column means "no reseller", PRODUCT.md section 3.)
LINE_BREAK_ROWS = [sub("0", "01"), sub("00", "02", offer_name="\r\n")]


@given(
    rows=tables(names_strategy=names_with_newlines, max_rows=8),
    order=orders,
    fmt=st.sampled_from(["csv-en", "csv-de", "xlsx"]),
    delimiter=st.sampled_from([",", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(ENCODINGS),
)
@example(  # Hypothesis's minimal example: CR LF line endings, a quoted CR LF inside a name, UTF-8
    rows=LINE_BREAK_ROWS,
    order=COLUMNS,
    fmt="csv-en",
    delimiter=",",
    newline="\r\n",
    encoding="utf-8",
)
@example(  # the same with LF line endings in UTF-16
    rows=LINE_BREAK_ROWS,
    order=COLUMNS,
    fmt="csv-de",
    delimiter=";",
    newline="\n",
    encoding="utf-16",
)
def test_names_with_line_breaks_round_trip(rows, order, fmt, delimiter, newline, encoding):
    """Quoted line breaks inside names (CSV) and multi-line cells (.xlsx) keep every row and value. Only a file
    that really mixes line endings (a bare CR and an LF) reads every line ending as LF, inside values too
    (readers.py: DuckDB mis-reads such files otherwise)."""
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "xlsx":
            path = Path(tmp) / "export.xlsx"
            write_xlsx(path, rows, order, "canonical", "en", 0, 0)
            assert_round_trip(path, rows)
            return
        lang = fmt[-2:]
        text = csv_text(
            rows, order, "german" if lang == "de" else "canonical", lang, ";" if lang == "de" else delimiter, newline
        )
        path = Path(tmp) / "export.csv"
        write_text(path, text, encoding)
        assert_round_trip(path, rows, mixed_newlines="\n" in text and re.search("\r(?!\n)", text) is not None)


# ---------------------------------------------------------------- 2. summary equals a direct computation


@dataclass(frozen=True)
class PartnerRow:
    partner: str
    opted_out: bool | None
    opt_out_date: dt.date | None
    steps: tuple[bool | None, bool | None, bool | None, bool | None]  # the four readiness steps


PARTNER_POOL = ("P01", "P02", "P03", "P04", "P05")
CUSTOMER_POOL = ("C01", "C02", "C03", "C04")
COUNTRIES = ("DE", "AT", "CH", "FR")
maybe_bool = st.sampled_from((True, False, None))


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 25))
    ids = [f"S{i:03d}" for i in range(n)]
    subs = draw(sub_rows(ids, list(PARTNER_POOL), list(CUSTOMER_POOL), st.none()))
    subs = [Sub(**{**s.__dict__, "country": draw(st.sampled_from(COUNTRIES))}) for s in subs]
    partner_ids = draw(st.lists(st.sampled_from((*PARTNER_POOL, "P99")), unique=True))
    partners = [
        PartnerRow(
            partner=p,
            opted_out=draw(maybe_bool),
            opt_out_date=draw(st.one_of(st.none(), st.dates(D(2022, 5, 1), D(2022, 8, 31)), st.just(OPT_OUT_DEADLINE))),
            steps=tuple(draw(st.lists(maybe_bool, min_size=4, max_size=4))),
        )
        for p in partner_ids
    ]
    customer_ids = draw(st.lists(st.sampled_from(CUSTOMER_POOL), unique=True))
    customers = {c: draw(maybe_bool) for c in customer_ids}
    countries = tuple(draw(st.lists(st.sampled_from((*COUNTRIES, "IT")), unique=True, max_size=3)))
    return subs, partners, customers, countries


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, the day clamped to the end of a shorter month (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return D(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def migration_date(row: Sub, side: str | None) -> dt.date | None:
    if side == "after":
        return row.end
    if side == "before" and row.auto_renew is True:
        term = 1 if row.billing == "monthly" else 12  # annual or unknown: 12 months
        k = 1
        while add_months(row.end, k * term) < CUTOFF:  # counted from the original end date, term after term
            k += 1
        return add_months(row.end, k * term)
    return None


def scope(row: Sub) -> str:
    if row.status != "active":
        return "inactive"
    if row.program == "nce":
        return "nce"
    if row.end >= D(9000, 1, 1):
        return "no_term_end"
    if row.segment in EXEMPT:
        return "exempt"
    return "in_scope"


def partner_facts(subs: list[Sub], partners: list[PartnerRow], customers: dict[str, bool | None]) -> dict:
    rows = {p.partner: p for p in partners}
    facts = {}
    for pid in {s.partner for s in subs} | set(rows):
        row = rows.get(pid)
        if row is None:
            opted_out, date, steps = False, None, [None, None, None, None]
        else:
            opted_out = row.opted_out if row.opted_out is not None else row.opt_out_date is not None
            date, steps = row.opt_out_date, list(row.steps)
        if steps[3] is None:  # step 4 derived: every customer of the partner's in-scope subscriptions accepted
            own = [customers.get(s.customer) is True for s in subs if s.partner == pid and scope(s) == "in_scope"]
            steps[3] = all(own) if own else None
        done = [bool(step) for step in steps]
        facts[pid] = {
            "opted_out": opted_out,
            "late": bool(opted_out and date is not None and date > OPT_OUT_DEADLINE),
            "steps": done,
            "ready": all(done),
        }
    return facts


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else float(Fraction(numerator, denominator))


def expected_block(subs: list[Sub], facts: dict) -> dict:
    sides = {s.sid: (("before" if s.end < CUTOFF else "after") if scope(s) == "in_scope" else None) for s in subs}
    in_scope = [s for s in subs if scope(s) == "in_scope"]
    before = [s for s in subs if sides[s.sid] == "before"]
    after = [s for s in subs if sides[s.sid] == "after"]
    lapse = [s for s in before if s.auto_renew is False]
    exposed = {s.partner for s in after}
    opted = {p for p in exposed if facts[p]["opted_out"]}
    assessed = exposed - opted
    projected = [s for s in subs if migration_date(s, sides[s.sid]) and not facts[s.partner]["opted_out"]]
    ready = [s for s in projected if facts[s.partner]["ready"]]
    at_risk = [s for s in projected if not facts[s.partner]["ready"]]
    after_seats = sum(s.seats for s in after)
    steps = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")
    return {
        "subscriptions_in_scope": len(in_scope),
        "seats_in_scope": sum(s.seats for s in in_scope),
        "subscriptions_exempt": sum(1 for s in subs if scope(s) == "exempt"),
        "before_cutoff": {"subscriptions": len(before), "seats": sum(s.seats for s in before)},
        "after_cutoff": {"subscriptions": len(after), "seats": after_seats},
        "lapse_risk": {"subscriptions": len(lapse), "seats": sum(s.seats for s in lapse)},
        "partners_exposed": len(exposed),
        "partners_opted_out": len(opted),
        "opt_out_rate": rate(len(opted), len(exposed)),
        "opt_out_seat_rate": rate(sum(s.seats for s in after if s.partner in opted), after_seats),
        "late_opt_outs": sum(1 for p in opted if facts[p]["late"]),
        "partners_assessed": len(assessed),
        "partners_fully_ready": sum(1 for p in assessed if facts[p]["ready"]),
        "readiness_rate": rate(sum(1 for p in assessed if facts[p]["ready"]), len(assessed)),
        "step_rates": {
            step: rate(sum(1 for p in assessed if facts[p]["steps"][i]), len(assessed)) for i, step in enumerate(steps)
        },
        "projected": {
            "subscriptions": len(projected),
            "seats": sum(s.seats for s in projected),
            "ready_subscriptions": len(ready),
            "at_risk_subscriptions": len(at_risk),
            "ready_seats": sum(s.seats for s in ready),
            "at_risk_seats": sum(s.seats for s in at_risk),
        },
    }


def expected_summary(subs, partners, customers, countries: tuple[str, ...]) -> dict:
    facts = partner_facts(subs, partners, customers)  # partner properties never change with the filter
    shown = [s for s in subs if not countries or s.country in countries]
    by_country = {c: expected_block([s for s in shown if s.country == c], facts) for c in {s.country for s in shown}}
    order = sorted(by_country, key=lambda c: (-by_country[c]["after_cutoff"]["seats"], c))
    cells: dict[tuple[str, str], dict] = {}
    for s in shown:
        side = ("before" if s.end < CUTOFF else "after") if scope(s) == "in_scope" else None
        month = migration_date(s, side)
        if month is None or facts[s.partner]["opted_out"]:
            continue
        cell = cells.setdefault(
            (s.country, f"{month:%Y-%m}"),
            {"subscriptions": 0, "seats": 0, "ready_subscriptions": 0, "at_risk_subscriptions": 0},
        )
        cell["subscriptions"] += 1
        cell["seats"] += s.seats
        cell["ready_subscriptions" if facts[s.partner]["ready"] else "at_risk_subscriptions"] += 1
    return {
        "totals": expected_block(shown, facts),
        "by_country": {c: by_country[c] for c in order},
        "projection": [{"country": c, "month": m, **cells[(c, m)]} for c, m in sorted(cells)],
    }


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def write_scenario(tmp: Path, subs, partners, customers) -> list[Path]:
    def write(name: str, header: list[str], rows: list[list[str]]) -> Path:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
        path = tmp / name
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return path

    files = [
        write(
            "subscriptions.csv",
            [c for c in COLUMNS if c not in ("partner_name", "customer_name", "offer_name", "currency")],
            [
                [
                    s.sid,
                    s.partner,
                    s.customer,
                    s.country,
                    s.segment,
                    str(s.seats),
                    s.end.isoformat(),
                    yes_no(s.auto_renew),
                    s.billing or "",
                    "" if s.value is None else str(s.value),
                    s.program,
                    s.status,
                ]
                for s in subs
            ],
        )
    ]
    if partners:
        files.append(
            write(
                "partners.csv",
                [
                    "partner_id",
                    "opted_out",
                    "opt_out_date",
                    "mpa_signed",
                    "indirect_provider_confirmed",
                    "mpn_id_updated",
                    "mca_all_customers",
                ],
                [
                    [p.partner, yes_no(p.opted_out), p.opt_out_date.isoformat() if p.opt_out_date else ""]
                    + [yes_no(step) for step in p.steps]
                    for p in partners
                ],
            )
        )
    if customers:
        files.append(
            write("customers.csv", ["customer_id", "mca_accepted"], [[c, yes_no(v)] for c, v in customers.items()])
        )
    return files


def test_the_properties_assume_the_default_programme():
    assert (PROGRAMME.cutoff, PROGRAMME.opt_out_deadline, PROGRAMME.exempt_segments) == (
        CUTOFF,
        OPT_OUT_DEADLINE,
        EXEMPT,
    )


@given(scenario=scenarios())
@example(  # a partner with opt-out date but no opted_out value, month-end roll-forward, an unknown billing term
    scenario=(
        [
            sub("S000", "P01", customer="C01", country="DE", seats=5, end=D(2022, 1, 31)),
            sub("S001", "P02", customer="C01", seats=7, end=D(2020, 2, 29), billing=None),
            sub("S002", "P01", customer="C02", country="DE", seats=11, auto_renew=False, billing="annual"),
        ],
        [PartnerRow("P02", None, D(2022, 7, 1), (True, True, True, None))],
        {"C01": True},
        ("DE",),
    )
)
def test_summary_equals_a_direct_computation(scenario):
    subs, partners, customers, countries = scenario
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_files(write_scenario(Path(tmp), subs, partners, customers), programme=PROGRAMME)
        assert ds.result.rejected == 0, ds.cursor().execute("SELECT * FROM rejects").fetchall()
        assert ds.result.accepted == {
            "subscriptions": len(subs),
            "partners": len(partners),
            "customers": len(customers),
        }
        for shown in dict.fromkeys(((), countries)):  # no filter, then the drawn one (when it differs)
            got = summary(ds, Filters(countries=shown))
            want = expected_summary(subs, partners, customers, shown)
            note(f"filter {shown}")
            assert got["totals"] == want["totals"]
            assert list(got["by_country"]) == list(want["by_country"])  # largest after-cutoff seats first
            for country, block in want["by_country"].items():
                assert got["by_country"][country] == block, country
            assert got["projection"] == want["projection"]


# ---------------------------------------------------------------- 3. bad bytes: loaded or refused, never a crash


def loads_or_refuses(path: Path) -> None:
    """load_files either gives a dataset whose summary works, or raises InputError; nothing else."""
    try:
        ds = load_files([path], programme=PROGRAMME)
    except InputError:
        return
    summary(ds, Filters())


HEADER_LINES = {
    "none": b"",
    "utf-8": (",".join(COLUMNS) + "\n").encode(),
    "cp1252 ;": (";".join(HEADERS["german"].values()) + "\r\n").encode("cp1252"),
    "utf-16 tab": ("\t".join(COLUMNS) + "\r\n").encode("utf-16"),
}


@given(
    payload=st.binary(max_size=3000),
    header=st.sampled_from(sorted(HEADER_LINES)),
    suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ".txt"]),
)
def test_arbitrary_bytes_are_loaded_or_refused(payload, header, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(HEADER_LINES[header] + payload)
        loads_or_refuses(path)


# Cells a broken or hostile export may hold: numbers of any length and grouping, impossible dates, quotes.
hostile_cell = st.one_of(
    st.from_regex(r"-?[0-9]{1,22}([.,][0-9]{0,4})?", fullmatch=True),
    st.builds(  # digits grouped by threes with one separator, of any length: "12.345.678", "1 234,5"
        lambda lead, groups, separator, tail: separator.join([str(lead), *groups]) + tail,
        st.integers(1, 999),
        st.lists(st.integers(0, 999).map("{:03d}".format), min_size=1, max_size=8),
        st.sampled_from([".", ",", " ", "'", "\u00a0"]),
        st.sampled_from(["", ",5", ".00", ",0"]),
    ),
    st.from_regex(r"[0-9]{1,4}[-./][0-9]{1,2}[-./][0-9]{1,5}([ T][0-9:]{0,8})?", fullmatch=True),
    st.sampled_from(
        [
            "",
            " ",
            '"',
            "=1+1",
            "ja",
            "NaN",
            "-inf",
            "1e400",
            "0000-01-01",
            "9999-12-31",
            "31.12.9999",
            "00.00.0000",
            "2022-02-30",
            "99/99/9999",
            "\x00",
            "\ufeff",
        ]
    ),
    st.text(max_size=12),
)


@given(
    rows=st.lists(st.lists(hostile_cell, min_size=6, max_size=7), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]),
)
@example(  # Hypothesis's minimal example: seats grouped by threes beyond BIGINT (the first four cells are not used)
    rows=[["", "0", "0", "", "10.000.000.000.000.000.000", "0"]], delimiter=",", encoding="utf-8"
)
def test_csv_rows_of_hostile_values_are_loaded_or_refused(rows, delimiter, encoding):
    header = ["subscription_id", "partner_id", "customer_id", "country", "seats", "term_end_date"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    # Fixed ids and a valid country keep the rows alive, so hostile seats and end dates (and now and then one
    # field too many) reach the parser.
    for n, cells in enumerate(rows):
        writer.writerow([f"S{n}", f"P{n % 2}", "C1", "DE", *cells[4:]])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        note(f"file text: {buffer.getvalue()!r}")
        loads_or_refuses(path)


# Parquet columns of any type under the required headers (a typed export the reader has to turn into text).
ARROW_COLUMNS = st.one_of(
    st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=2).map(
        lambda v: pa.array(v, pa.int32()).cast(pa.date32())
    ),
    st.lists(st.integers(-(2**62), 2**62), min_size=2, max_size=2).map(
        lambda v: pa.array(v, pa.int64()).cast(pa.timestamp("us"))
    ),
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=2).map(lambda v: pa.array(v, pa.int64())),
    st.lists(st.floats(), min_size=2, max_size=2).map(lambda v: pa.array(v, pa.float64())),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=2, max_size=2).map(lambda v: pa.array(v, pa.bool_())),
    st.lists(st.binary(max_size=6), min_size=2, max_size=2).map(lambda v: pa.array(v, pa.binary())),
    st.lists(st.lists(st.integers(0, 9), max_size=2), min_size=2, max_size=2).map(pa.array),
    st.lists(st.text(max_size=8), min_size=2, max_size=2).map(lambda v: pa.array(v, pa.string())),
)


@given(columns=st.lists(ARROW_COLUMNS, min_size=6, max_size=6))
@example(  # Hypothesis's minimal example: a date32 one day before 0001-01-01
    columns=[pa.array([0, 0], pa.int32()).cast(pa.date32())] * 5
    + [pa.array([0, -719163], pa.int32()).cast(pa.date32())],
)
def test_parquet_columns_of_any_type_are_loaded_or_refused(columns):
    header = ["subscription_id", "partner_id", "customer_id", "country", "seats", "term_end_date"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.parquet"
        pq.write_table(pa.table(dict(zip(header, columns, strict=True))), path)
        note(f"columns: {[c.type for c in columns]}")
        loads_or_refuses(path)


@functools.cache
def valid_upload(kind: str) -> bytes:
    """A small valid upload (deterministic bytes) that the damage tests below corrupt."""
    rows = [
        sub("S1", "P1", partner_name="Müller", customer="C1", country="DE", seats=3, end=D(2022, 8, 1),
            billing="annual", value=Decimal("12.50"), currency="EUR"),
        sub("S2", "P2", partner_name="Alpen", customer="C2", segment="education", seats=5, end=D(2021, 1, 31),
            auto_renew=None),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"valid.{kind}"
        if kind == "xlsx":
            write_xlsx(path, rows, list(COLUMNS), "canonical", "en", 0, 0)
        else:
            write_parquet(path, rows, list(COLUMNS), "canonical", "en", 0)
        return path.read_bytes()


def edits_on(kind: str):
    """Edits (position, new byte) of valid_upload(kind), many of them in its last kilobyte or in the fields of a
    zip's central directory headers (a Parquet footer holds the schema), where damage gets past the first
    checks."""
    data = valid_upload(kind)
    size = len(data)
    where = st.one_of(st.integers(max(0, size - 1024), size - 1), st.integers(0, size - 1))
    headers = [i for i in range(size) if data.startswith(b"PK\x01\x02", i)]  # a zip's central directory entries
    if headers:  # version needed, flags, method, sizes, name length: the fields zipfile checks first
        where = st.one_of(where, st.sampled_from(headers).flatmap(lambda i: st.integers(i + 4, i + 45)))
    return st.lists(st.tuples(where, st.integers(0, 255)), min_size=1, max_size=4)


def edit_at(kind: str, needle: bytes, value: int = 0x80) -> list[tuple[int, int]]:
    """The edit that overwrites the first byte of `needle`'s first occurrence (for an explicit example)."""
    return [(valid_upload(kind).index(needle), value)]


def load_damaged(kind: str, edits: list[tuple[int, int]]) -> None:
    data = bytearray(valid_upload(kind))
    for position, value in edits:
        data[position] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{kind}"
        path.write_bytes(bytes(data))
        loads_or_refuses(path)


@given(edits=edits_on("xlsx"))
@example(edits=[(valid_upload("xlsx").index(b"PK\x01\x02") + 6, 64)])  # central directory: "needs zip version 6.4"
def test_damaged_workbooks_are_loaded_or_refused(edits):
    load_damaged("xlsx", edits)


@given(edits=edits_on("parquet"))
@example(edits=edit_at("parquet", "Müller".encode()))  # a string value that is not UTF-8
@example(edits=edit_at("parquet", b"country"))  # a column name that is not UTF-8
def test_damaged_parquet_files_are_loaded_or_refused(edits):
    load_damaged("parquet", edits)
