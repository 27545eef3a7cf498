"""Ingestion: every accepted upload shape gives the same dataset; bad rows and bad files are reported exactly.

One small canonical dataset is defined below; each test writes it in the shape it needs into tmp_path
(canonical CSV, German Excel CSV, flat CSV, .xlsx, Parquet, UTF-16, other delimiters, a distributor's
Partner Center export) and checks that ingestion gives the same summary and the same tables as the
canonical CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from analytics.dataset import Dataset, load_files, summary
from analytics.ingest import Overrides
from analytics.metrics import Filters, rejects

D = dt.date
CUTOFF = D(2022, 7, 11)
NO_TERM_END = D(9999, 12, 31)

# ---------------------------------------------------------------- the canonical dataset

PARTNER_COLUMNS = (
    "partner_id",
    "partner_name",
    "country",
    "mpa_signed",
    "indirect_provider_confirmed",
    "mpn_id_updated",
    "mca_all_customers",
    "opted_out",
    "opt_out_date",
)
CUSTOMER_COLUMNS = ("customer_id", "partner_id", "customer_name", "mca_accepted")
SUBSCRIPTION_COLUMNS = (
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

P1, P2, P3, P4 = "4711001", "4711002", "4711003", "4711004"
PARTNERS = [
    # partner_id, name, country, mpa, indirect provider, mpn id, mca all customers, opted_out, opt_out_date
    (P1, "Müller & Söhne IT GmbH", "DE", True, True, True, None, False, None),
    (P2, "Alpen€Cloud GmbH", "AT", True, False, None, False, True, D(2022, 6, 15)),
    (P3, "Zürcher Systemhaus AG", "CH", True, True, True, True, True, D(2022, 7, 5)),  # a late opt-out
    (P4, "Straßen-IT Weiß KG", "DE", False, None, False, None, False, None),
]
C1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
C2 = "9b2c7a10-1d3e-4c55-8f00-0a1b2c3d4e02"
C3 = "5d6e7f80-2a3b-4c5d-9e0f-1a2b3c4d5e03"
C4 = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e04"
C5 = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c05"
CUSTOMERS = [
    # customer_id, partner_id, name, mca_accepted
    (C1, P1, "Bäckerei Groß GmbH", True),
    (C2, P1, "Gymnasium Süd, München", False),
    (C3, P2, "Hotel Alpenblick GmbH", True),
    (C4, P3, "Uhren Schäfer AG", None),
    (C5, P4, "Praxis Dr. Weiß", True),
]
_CUSTOMER = {c[0]: c for c in CUSTOMERS}
_PARTNER = {p[0]: p for p in PARTNERS}


def _sub(sid, customer, country, segment, offer, seats, end, auto, billing, value, currency, program, status):
    partner = _CUSTOMER[customer][1]
    return (
        sid,
        partner,
        _PARTNER[partner][1],
        customer,
        _CUSTOMER[customer][2],
        country,
        segment,
        offer,
        seats,
        end,
        auto,
        billing,
        None if value is None else Decimal(value),
        currency,
        program,
        status,
    )


E3 = "Office 365 E3 (20,60 € / Monat)"
SUBSCRIPTIONS = [
    _sub(
        "SUB-0001",
        C1,
        "DE",
        "commercial",
        "Microsoft 365 Business Standard",
        25,
        D(2022, 5, 31),
        True,
        "monthly",
        "262.50",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0002",
        C1,
        "DE",
        "commercial",
        E3,
        1234,
        D(2022, 7, 11),
        True,
        "annual",
        "25420.40",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0003",
        C2,
        "DE",
        "education",
        "Office 365 A1",
        1500,
        D(2022, 9, 30),
        False,
        "annual",
        None,
        None,
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0004",
        C3,
        "AT",
        "commercial",
        "Exchange Online (Plan 1)",
        10,
        D(2022, 7, 10),
        False,
        "monthly",
        "35.70",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0005",
        C3,
        "AT",
        "commercial",
        E3,
        2500,
        D(2022, 12, 31),
        True,
        "annual",
        "51500",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0006",
        C3,
        "AT",
        "commercial",
        "Visio Plan 2",
        3,
        D(2023, 1, 15),
        None,
        "monthly",
        "40.50",
        "EUR",
        "legacy",
        "suspended",
    ),  # noqa: E501
    _sub(
        "SUB-0007",
        C4,
        "CH",
        "commercial",
        "Microsoft 365 Business Premium",
        40,
        D(2022, 8, 1),
        True,
        "monthly",
        "880.00",
        "CHF",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub("SUB-0008", C4, "CH", "commercial", "Azure plan", 5, NO_TERM_END, None, None, None, "CHF", "legacy", "active"),  # noqa: E501
    _sub(
        "SUB-0009",
        C5,
        "DE",
        "commercial",
        "Microsoft 365 E5",
        12,
        D(2022, 3, 1),
        True,
        "annual",
        "612.36",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0010",
        C5,
        "DE",
        "commercial",
        "Microsoft 365 Business Basic",
        1000,
        D(2022, 11, 30),
        True,
        "monthly",
        "4200",
        "EUR",
        "legacy",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0011",
        C5,
        "DE",
        "commercial",
        "Microsoft 365 Business Basic",
        7,
        D(2022, 10, 15),
        True,
        "monthly",
        "29.40",
        "EUR",
        "nce",
        "active",
    ),  # noqa: E501
    _sub(
        "SUB-0012",
        C4,
        "CH",
        "commercial",
        "Power BI Pro",
        2,
        D(2021, 12, 31),
        True,
        "monthly",
        "19.80",
        "CHF",
        "legacy",
        "active",
    ),  # noqa: E501
]
SUB_INDEX = {c: i for i, c in enumerate(SUBSCRIPTION_COLUMNS)}

# ---------------------------------------------------------------- value formats


def iso(value) -> str:
    return "" if value is None else value.isoformat()


def en_bool(value) -> str:
    return "" if value is None else ("true" if value else "false")


def plain(value) -> str:
    return "" if value is None else str(value)


CANONICAL = {"date": iso, "bool": en_bool, "int": plain, "decimal": plain}
KIND = {
    "seats": "int",
    "term_end_date": "date",
    "opt_out_date": "date",
    "monthly_value": "decimal",
    **dict.fromkeys(
        (
            "auto_renew",
            "mpa_signed",
            "indirect_provider_confirmed",
            "mpn_id_updated",
            "mca_all_customers",
            "opted_out",
            "mca_accepted",
        ),
        "bool",
    ),
}

GERMAN_HEADERS = {
    "subscription_id": "Abonnement-ID",
    "partner_id": "Partner-ID",
    "partner_name": "Partnername",
    "customer_id": "Kunden-ID",
    "customer_name": "Kundenname",
    "country": "Land",
    "segment": "Segment",
    "offer_name": "Produkt",
    "seats": "Lizenzen",
    "term_end_date": "Laufzeitende",
    "auto_renew": "Automatische Verlängerung",
    "billing_term": "Abrechnungszyklus",
    "monthly_value": "Monatswert",
    "currency": "Währung",
    "program": "Programm",
    "status": "Status",
    "mpa_signed": "MPA unterzeichnet",
    "indirect_provider_confirmed": "Indirekter Anbieter bestätigt",
    "mpn_id_updated": "MPN-ID aktualisiert",
    "mca_all_customers": "MCA alle Kunden",
    "opted_out": "Opt-out erhalten",
    "opt_out_date": "Opt-out-Datum",
    "mca_accepted": "MCA akzeptiert",
}
GERMAN_VALUES = {
    "country": {"DE": "Deutschland", "AT": "Österreich", "CH": "Schweiz"},
    "segment": {"commercial": "Gewerblich", "education": "Bildung"},
    "billing_term": {"monthly": "monatlich", "annual": "jährlich"},
    "status": {"active": "aktiv", "suspended": "gesperrt"},
    "program": {"legacy": "Legacy", "nce": "NCE"},
}


def de_date(value) -> str:
    return "" if value is None else f"{value.day:02d}.{value.month:02d}.{value.year}"


def de_int(value) -> str:
    return "" if value is None else f"{value:,}".replace(",", ".")


def de_decimal(value) -> str:
    return "" if value is None else f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def ja_nein(value) -> str:
    return "" if value is None else ("Ja" if value else "Nein")


def wahr_falsch(value) -> str:  # what a German Excel writes for TRUE/FALSE cells
    return "" if value is None else ("WAHR" if value else "FALSCH")


# ---------------------------------------------------------------- writers


def text_rows(columns, records, formats, headers=None, values=None) -> list[list[str]]:
    """Header + records as text cells; `formats` maps a value kind to a formatter."""
    headers = headers or {}
    values = values or {}
    rows = [[headers.get(c, c) for c in columns]]
    for record in records:
        row = []
        for column, value in zip(columns, record, strict=True):
            if column in values and value is not None:
                row.append(values[column][value])
            elif column in KIND:
                row.append(formats[KIND[column]](value))
            else:
                row.append(plain(value))
        rows.append(row)
    return rows


def write_csv(path: Path, rows, delimiter=",", encoding="utf-8", newline="\n", prefix: str = "") -> Path:
    buffer = io.StringIO()
    buffer.write(prefix)
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def canonical_rows():
    return (
        text_rows(SUBSCRIPTION_COLUMNS, SUBSCRIPTIONS, CANONICAL),
        text_rows(PARTNER_COLUMNS, PARTNERS, CANONICAL),
        text_rows(CUSTOMER_COLUMNS, CUSTOMERS, CANONICAL),
    )


def german_rows():
    """German Excel: German headers and vocabulary, dd.mm.yyyy, Ja/Nein, 1.234 and 1.234,50."""
    formats = {"date": de_date, "bool": ja_nein, "int": de_int, "decimal": de_decimal}
    partner_formats = {**formats, "bool": wahr_falsch}
    return (
        text_rows(SUBSCRIPTION_COLUMNS, SUBSCRIPTIONS, formats, GERMAN_HEADERS, GERMAN_VALUES),
        text_rows(PARTNER_COLUMNS, PARTNERS, partner_formats, GERMAN_HEADERS, GERMAN_VALUES),
        text_rows(CUSTOMER_COLUMNS, CUSTOMERS, formats, GERMAN_HEADERS, GERMAN_VALUES),
    )


def write_three(tmp: Path, rows, suffix=".csv", **kwargs) -> list[tuple[Path, str]]:
    names = ("subscriptions", "partners", "customers")
    return [(write_csv(tmp / f"{n}{suffix}", r, **kwargs), f"{n}{suffix}") for n, r in zip(names, rows, strict=True)]


def variant_canonical(tmp: Path):
    return write_three(tmp, canonical_rows())


def variant_german(tmp: Path):
    # Upload names that say nothing about the table: tables are recognised from their columns.
    files = write_three(tmp, german_rows(), delimiter=";", encoding="cp1252", newline="\r\n")
    return [(path, f"Export {i + 1}.csv") for i, (path, _) in enumerate(files)]


def variant_flat(tmp: Path):
    """One row per subscription, the partner's and the customer's columns repeated on each."""
    partner_extra = PARTNER_COLUMNS[3:]
    columns = SUBSCRIPTION_COLUMNS + partner_extra + ("mca_accepted",)
    records = [
        sub + _PARTNER[sub[1]][3:] + (_CUSTOMER[sub[3]][3],)
        for sub in SUBSCRIPTIONS  # every partner and customer has at least one subscription
    ]
    return [(write_csv(tmp / "flat.csv", text_rows(columns, records, CANONICAL)), "flat.csv")]


def variant_xlsx(tmp: Path):
    """A workbook with German sheet names and headers and typed cells (numbers, real dates, booleans)."""
    path = tmp / "NCE Daten.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    date_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    sheet = workbook.add_worksheet("Hinweise")  # a notes sheet without a table is skipped
    sheet.write(0, 0, "Stand: Juni 2022, vertraulich")
    for sheet_name, columns, records in (
        ("Abonnements", SUBSCRIPTION_COLUMNS, SUBSCRIPTIONS),
        ("Partner", PARTNER_COLUMNS, PARTNERS),
        ("Kunden", CUSTOMER_COLUMNS, CUSTOMERS),
    ):
        sheet = workbook.add_worksheet(sheet_name)
        for col, column in enumerate(columns):
            sheet.write_string(0, col, GERMAN_HEADERS[column])
        for row, record in enumerate(records, start=1):
            for col, (column, value) in enumerate(zip(columns, record, strict=True)):
                if value is None:
                    continue
                if column in GERMAN_VALUES:
                    sheet.write_string(row, col, GERMAN_VALUES[column][value])
                elif column == "partner_id" or isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                    sheet.write_number(row, col, float(value))  # Excel turns numeric ids into numbers
                elif isinstance(value, bool):
                    sheet.write_boolean(row, col, value)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), date_format)
                else:
                    sheet.write_string(row, col, value)
    workbook.close()
    return [(path, path.name)]


def variant_parquet(tmp: Path):
    types = {
        "partner_id": pa.int64(),
        "seats": pa.int64(),
        "term_end_date": pa.date32(),
        "opt_out_date": pa.date32(),
        "monthly_value": pa.decimal128(18, 2),
        **{c: pa.bool_() for c, k in KIND.items() if k == "bool"},
    }
    files = []
    for name, columns, records in (
        ("subscriptions", SUBSCRIPTION_COLUMNS, SUBSCRIPTIONS),
        ("partners", PARTNER_COLUMNS, PARTNERS),
        ("customers", CUSTOMER_COLUMNS, CUSTOMERS),
    ):
        data = {}
        for i, column in enumerate(columns):
            values = [r[i] for r in records]
            if column == "partner_id":
                values = [int(v) for v in values]
            data[column] = pa.array(values, type=types.get(column, pa.string()))
        path = tmp / f"{name}.parquet"
        pq.write_table(pa.table(data), path)
        files.append((path, path.name))
    return files


def variant_utf16(tmp: Path):
    # Excel's "Unicode text": UTF-16 little endian with a byte order mark, tab-delimited, CRLF.
    return write_three(tmp, canonical_rows(), suffix=".txt", delimiter="\t", encoding="utf-16", newline="\r\n")


def variant_utf8_bom(tmp: Path):
    return write_three(tmp, canonical_rows(), encoding="utf-8-sig", newline="\r\n")


def variant_tab(tmp: Path):
    return write_three(tmp, canonical_rows(), suffix=".tsv", delimiter="\t")


def variant_pipe(tmp: Path):
    return write_three(tmp, canonical_rows(), delimiter="|")


DISTRIBUTOR_MPN = "5123456"
DISTRIBUTOR_TENANT = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
PC_COLUMNS = (
    ("SubscriptionId", "subscription_id"),
    ("MpnId", None),
    ("PartnerId", None),
    ("Tier2MpnId", "partner_id"),
    ("ResellerName", "partner_name"),
    ("CustomerTenantId", "customer_id"),
    ("CustomerCompanyName", "customer_name"),
    ("CustomerCountry", "country"),
    ("CustomerSegment", "segment"),
    ("OfferName", "offer_name"),
    ("Quantity", "seats"),
    ("CommitmentEndDate", "term_end_date"),
    ("AutoRenewEnabled", "auto_renew"),
    ("BillingCycle", "billing_term"),
    ("MRR", "monthly_value"),
    ("CurrencyCode", "currency"),
    ("CommerceType", "program"),
    ("Status", "status"),
)


def pc_date(value: dt.date, n: int) -> str:
    """Partner Center dates: m/d/yyyy, m/d/yyyy h:mm, or now and then an ISO timestamp."""
    if n % 3 == 0:
        return f"{value.month}/{value.day}/{value.year}"
    if n % 3 == 1:
        return f"{value.month}/{value.day}/{value.year} 0:00"
    return f"{value.isoformat()}T00:00:00Z"


def variant_distributor(tmp: Path):
    """An indirect provider's Partner Center export: MpnId/PartnerId are the distributor on every row."""
    rows = [[header for header, _ in PC_COLUMNS]]
    for n, sub in enumerate(SUBSCRIPTIONS):
        row = []
        for header, column in PC_COLUMNS:
            value = sub[SUB_INDEX[column]] if column else None
            if header == "MpnId":
                row.append(DISTRIBUTOR_MPN)
            elif header == "PartnerId":
                row.append(DISTRIBUTOR_TENANT)
            elif column == "term_end_date":
                row.append(pc_date(value, n))
            elif column == "auto_renew":
                row.append("" if value is None else str(value))  # True / False
            elif column == "billing_term":
                row.append("None" if value is None else value.capitalize())  # Monthly / Annual / None
            elif column in ("segment", "status"):
                row.append(value.capitalize())
            elif column == "program":
                row.append({"legacy": "Legacy", "nce": "NCE"}[value])
            else:
                row.append(plain(value))
        rows.append(row)
    _, partners, customers = canonical_rows()
    return [
        (write_csv(tmp / "pc_subscriptions.csv", rows, newline="\r\n"), "Subscriptions_2022-06-01.csv"),
        (write_csv(tmp / "p.csv", partners), "partner_readiness.csv"),
        (write_csv(tmp / "c.csv", customers), "customers.csv"),
    ]


VARIANTS = {
    "german_excel_csv": variant_german,
    "flat_csv": variant_flat,
    "xlsx_german_sheets": variant_xlsx,
    "parquet": variant_parquet,
    "utf16_tab": variant_utf16,
    "utf8_bom": variant_utf8_bom,
    "tab": variant_tab,
    "pipe": variant_pipe,
    "partner_center_distributor": variant_distributor,
}

# ---------------------------------------------------------------- helpers


def load(files, overrides: Overrides | None = None) -> Dataset:
    return load_files(files, overrides or Overrides())


def tables(ds: Dataset) -> dict[str, list[tuple]]:
    cur = ds.cursor()
    out = {}
    for table, columns, key in (
        ("subscriptions", SUBSCRIPTION_COLUMNS, "subscription_id"),
        ("partners", PARTNER_COLUMNS, "partner_id"),
        ("customers", CUSTOMER_COLUMNS, "customer_id"),
    ):
        out[table] = cur.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
    return out


def reject_rows(ds: Dataset) -> list[dict]:
    rows = rejects(ds.cursor()).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if value is None or isinstance(value, float) and math.isnan(value):
                row[key] = None
    return rows


@pytest.fixture(scope="module")
def canonical(tmp_path_factory) -> tuple[dict, dict[str, list[tuple]]]:
    ds = load(variant_canonical(tmp_path_factory.mktemp("canonical")))
    return summary(ds, Filters()), tables(ds)


# ---------------------------------------------------------------- 1. every shape gives the same data


def test_canonical_csv_reads_the_dataset_as_written(canonical):
    doc, data = canonical
    assert doc["ingest"] == {"accepted": {"subscriptions": 12, "partners": 4, "customers": 5}, "rejected": 0}
    expected_subs = [(*s[:8], s[8], s[9], s[10], s[11] or "unknown", s[12], s[13], s[14], s[15]) for s in SUBSCRIPTIONS]
    assert data["subscriptions"] == [
        tuple(v.upper() if i in (0, 1, 3) else v for i, v in enumerate(s)) for s in expected_subs
    ]
    assert data["partners"] == [(p[0], *p[1:]) for p in PARTNERS]
    assert data["customers"] == sorted((c[0].upper(), *c[1:]) for c in CUSTOMERS)
    # The dataset straddles the cutoff; figures computed by hand from SUBSCRIPTIONS above.
    totals = doc["totals"]
    assert totals["before_cutoff"] == {"subscriptions": 4, "seats": 25 + 10 + 12 + 2}  # 0001, 0004, 0009, 0012
    assert totals["after_cutoff"] == {"subscriptions": 4, "seats": 1234 + 2500 + 40 + 1000}  # 0002 (cutoff day)
    assert totals["subscriptions_exempt"] == 1  # the school
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 10}
    assert totals["partners_opted_out"] == 2 and totals["late_opt_outs"] == 1
    assert set(doc["by_country"]) == {"DE", "AT", "CH"}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_upload_shape_gives_the_canonical_summary(variant, tmp_path, canonical):
    expected_summary, expected_tables = canonical
    ds = load(VARIANTS[variant](tmp_path))
    assert reject_rows(ds) == []
    assert ds.result.warnings == []
    assert summary(ds, Filters()) == expected_summary
    got = tables(ds)
    if variant == "flat_csv":
        # A flat file has no partner country (its country column is the customer's): compare the rest.
        got["partners"] = [p[:2] + p[3:] for p in got["partners"]]
        expected_tables = {**expected_tables, "partners": [p[:2] + p[3:] for p in expected_tables["partners"]]}
    assert got == expected_tables


def test_german_csv_is_really_cp1252_semicolon_with_german_formats(tmp_path):
    """Guard the fixture itself: the German variant must exercise what it claims to."""
    (subs, _), (partners, _), _ = variant_german(tmp_path)
    raw = subs.read_bytes()
    assert b"\x80" in raw  # the euro sign in cp1252
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    header = text.splitlines()[0].split(";")
    assert header[:3] == ["Abonnement-ID", "Partner-ID", "Partnername"]
    assert "Automatische Verlängerung" in header and "Laufzeitende" in header
    assert ";1.234;11.07.2022;Ja;jährlich;25.420,40;" in text
    assert "Österreich" in text and "Schweiz" in text and "Bildung" in text and "\r\n" in text
    assert "WAHR" in partners.read_bytes().decode("cp1252")


def test_mapping_of_the_distributor_export_takes_the_reseller_as_partner(tmp_path):
    ds = load(variant_distributor(tmp_path))
    mapping = ds.result.mapping_table()
    subs = mapping[mapping["file"] == "Subscriptions_2022-06-01.csv"]
    by_column = dict(zip(subs["column"], subs["source_column"], strict=True))
    assert by_column["partner_id"] == "Tier2MpnId"
    assert by_column["customer_id"] == "CustomerTenantId"
    assert by_column["seats"] == "Quantity"
    assert by_column["term_end_date"] == "CommitmentEndDate"
    partner_ids = {r[0] for r in ds.cursor().execute("SELECT DISTINCT partner_id FROM subscriptions").fetchall()}
    assert partner_ids == {P1, P2, P3, P4}
