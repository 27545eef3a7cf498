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
import zipfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from analytics.dataset import Dataset, load_files, summary
from analytics.errors import InputError
from analytics.ingest import Overrides
from analytics.metrics import Filters, rejects
from analytics.programme import DEFAULT_PATH, load_programme

D = dt.date
CUTOFF = D(2022, 7, 11)
NO_TERM_END = D(9999, 12, 31)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"

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
# fmt: off
SUBSCRIPTIONS = [
    # id, customer, country, segment, offer, seats, term end, auto renew, billing, monthly value, currency, program, status
    _sub("SUB-0001", C1, "DE", "commercial", "Microsoft 365 Business Standard", 25, D(2022, 5, 31), True, "monthly", "262.50", "EUR", "legacy", "active"),
    _sub("SUB-0002", C1, "DE", "commercial", E3, 1234, D(2022, 7, 11), True, "annual", "25420.40", "EUR", "legacy", "active"),
    _sub("SUB-0003", C2, "DE", "education", "Office 365 A1", 1500, D(2022, 9, 30), False, "annual", None, None, "legacy", "active"),
    _sub("SUB-0004", C3, "AT", "commercial", "Exchange Online (Plan 1)", 10, D(2022, 7, 10), False, "monthly", "35.70", "EUR", "legacy", "active"),
    _sub("SUB-0005", C3, "AT", "commercial", E3, 2500, D(2022, 12, 31), True, "annual", "51500", "EUR", "legacy", "active"),
    _sub("SUB-0006", C3, "AT", "commercial", "Visio Plan 2", 3, D(2023, 1, 15), None, "monthly", "40.50", "EUR", "legacy", "suspended"),
    _sub("SUB-0007", C4, "CH", "commercial", "Microsoft 365 Business Premium", 40, D(2022, 8, 1), True, "monthly", "880.00", "CHF", "legacy", "active"),
    _sub("SUB-0008", C4, "CH", "commercial", "Azure plan", 5, NO_TERM_END, None, None, None, "CHF", "legacy", "active"),
    _sub("SUB-0009", C5, "DE", "commercial", "Microsoft 365 E5", 12, D(2022, 3, 1), True, "annual", "612.36", "EUR", "legacy", "active"),
    _sub("SUB-0010", C5, "DE", "commercial", "Microsoft 365 Business Basic", 1000, D(2022, 11, 30), True, "monthly", "4200", "EUR", "legacy", "active"),
    _sub("SUB-0011", C5, "DE", "commercial", "Microsoft 365 Business Basic", 7, D(2022, 10, 15), True, "monthly", "29.40", "EUR", "nce", "active"),
    _sub("SUB-0012", C4, "CH", "commercial", "Power BI Pro", 2, D(2021, 12, 31), True, "monthly", "19.80", "CHF", "legacy", "active"),
]
# fmt: on
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
    # The July 2022 programme of config/programme.toml, whatever RADAR_PROGRAMME says.
    return load_files(files, overrides or Overrides(), load_programme(DEFAULT_PATH))


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
    stored = []
    for sub in SUBSCRIPTIONS:
        row = list(sub)
        for column in ("subscription_id", "partner_id", "customer_id"):  # ids are kept upper case
            row[SUB_INDEX[column]] = row[SUB_INDEX[column]].upper()
        row[SUB_INDEX["billing_term"]] = row[SUB_INDEX["billing_term"]] or "unknown"
        stored.append(tuple(row))
    assert data["subscriptions"] == stored
    assert data["partners"] == [tuple(p) for p in PARTNERS]
    assert data["customers"] == sorted((c[0].upper(), *c[1:]) for c in CUSTOMERS)
    # The dataset straddles the cutoff; figures computed by hand from SUBSCRIPTIONS above.
    totals = doc["totals"]
    assert totals["before_cutoff"] == {"subscriptions": 4, "seats": 25 + 10 + 12 + 2}  # 0001, 0004, 0009, 0012
    assert totals["after_cutoff"] == {"subscriptions": 4, "seats": 1234 + 2500 + 40 + 1000}  # 0002 (cutoff day)
    assert totals["subscriptions_exempt"] == 1  # the school
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 10}
    assert totals["partners_opted_out"] == 2 and totals["late_opt_outs"] == 1
    assert set(doc["by_country"]) == {"DE", "AT", "CH"}
    assert doc["projection"]  # the comparison below covers the projection too


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


def without_ingest(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "ingest"}


# ---------------------------------------------------------------- 2. rejected rows


def _row(template: list[str], header: list[str], sid: str, **changes) -> list[str]:
    row = list(template)
    row[header.index("Abonnement-ID")] = sid
    for column, value in changes.items():
        row[header.index(column)] = value
    return row


def test_bad_rows_are_rejected_one_by_one_with_file_line_column_and_reason(tmp_path, canonical):
    expected_summary, expected_tables = canonical
    subs, partners, customers = german_rows()
    header, good = subs[0], subs[1:]
    template = good[0]
    rows = [
        header,  # line 1
        good[0],  # 2
        good[1],  # 3 SUB-0002
        _row(template, header, "BAD-01", Laufzeitende="31.02.2022"),  # 4
        good[2],  # 5
        _row(template, header, "BAD-02", Laufzeitende="2022-13-01"),  # 6
        _row(template, header, "BAD-03", Laufzeitende="31.12.22"),  # 7 two-digit year
        good[3],  # 8
        good[4],  # 9 SUB-0005
        _row(template, header, "BAD-04", Lizenzen="-5"),  # 10
        _row(template, header, "BAD-05", Lizenzen="1,5"),  # 11
        good[5],  # 12
        _row(template, header, "BAD-06", Land="Atlantis"),  # 13
        _row(template, header, "BAD-07", Lizenzen=""),  # 14 a required value missing (the customer is not one)
        good[6],  # 15
        good[7],  # 16
        list(good[1]),  # 17 SUB-0002 again, same content
        _row(good[4], header, "SUB-0005", Lizenzen="2.600"),  # 18 SUB-0005 again, other seats
        good[8],  # 19
        _row(template, header, "BAD-08", Laufzeitende="30.02.2023", Land="Mordor"),  # 20 two faults, one row
        good[9],  # 21
        good[10],  # 22
        good[11],  # 23
    ]
    # Partners: an extra partner with an impossible opt-out date (line 6). Customers: C1 again, other name (line 7).
    bad_partner = list(partners[1])
    bad_partner[0], bad_partner[-1] = "4711999", "31.06.2022"
    bad_customer = list(customers[1])
    bad_customer[2] = "Bäckerei Groß & Co. GmbH"
    files = [
        (write_csv(tmp_path / "a.csv", rows, ";", "cp1252", "\r\n"), "Abos Juni.csv"),
        (write_csv(tmp_path / "b.csv", [*partners, bad_partner], ";", "cp1252", "\r\n"), "Partner.csv"),
        (write_csv(tmp_path / "c.csv", [*customers, bad_customer], ";", "cp1252", "\r\n"), "Kunden.csv"),
    ]
    assert [line.split(";")[0] for line in files[0][0].read_bytes().decode("cp1252").split("\r\n")[16:18]] == [
        "SUB-0002",
        "SUB-0005",
    ]  # physical lines 17 and 18

    ds = load(files)

    got = reject_rows(ds)
    expected = [
        # file, line, column as written, value, word the reason must contain
        ("Abos Juni.csv", 4, "Laufzeitende", "31.02.2022", "date"),
        ("Abos Juni.csv", 6, "Laufzeitende", "2022-13-01", "date"),
        ("Abos Juni.csv", 7, "Laufzeitende", "31.12.22", "date"),
        ("Abos Juni.csv", 10, "Lizenzen", "-5", "whole number"),
        ("Abos Juni.csv", 11, "Lizenzen", "1,5", "whole number"),
        ("Abos Juni.csv", 13, "Land", "Atlantis", "country"),
        ("Abos Juni.csv", 14, "Lizenzen", None, "missing"),
        ("Abos Juni.csv", 17, "Abonnement-ID", "SUB-0002", "line 3"),
        ("Abos Juni.csv", 18, "Abonnement-ID", "SUB-0005", "line 9"),
        ("Abos Juni.csv", 20, "Land", "Mordor", "country"),
        ("Abos Juni.csv", 20, "Laufzeitende", "30.02.2023", "date"),
        ("Kunden.csv", 7, "Kunden-ID", C1.upper(), "line 2"),
        ("Partner.csv", 6, "Opt-out-Datum", "31.06.2022", "date"),
    ]
    assert [(r["file"], r["line"], r["column"], r["value"]) for r in got] == [e[:4] for e in expected]
    for row, (*_, word) in zip(got, expected, strict=True):
        assert word in row["reason"], row
    by_line = {(r["file"], r["line"]): r["reason"] for r in got}
    assert "same content" in by_line[("Abos Juni.csv", 17)]
    assert "different content" in by_line[("Abos Juni.csv", 18)]
    assert "different content" in by_line[("Kunden.csv", 7)]

    # The good rows are all kept, the first of each repeated id wins: the data is exactly the canonical data.
    assert ds.result.accepted == {"subscriptions": 12, "partners": 4, "customers": 5}
    assert ds.result.rejected == 12  # rows, not faults: line 20 has two
    assert tables(ds) == expected_tables
    doc = summary(ds, Filters())
    assert without_ingest(doc) == without_ingest(expected_summary)
    assert doc["ingest"]["rejected"] == 12


# ---------------------------------------------------------------- 3. header below title lines


def _mark_bad_seats(rows: list[list[str]], index: int, value: str) -> list[list[str]]:
    rows = [list(r) for r in rows]
    rows[index][SUB_INDEX["seats"]] = value
    return rows


def test_header_below_title_lines_in_a_german_csv(tmp_path, canonical):
    expected_summary, _ = canonical
    subs, partners, customers = german_rows()
    extra = _row(subs[1], subs[0], "BAD-01", Lizenzen="viele")
    titles = "Abonnements – Export aus dem Partnerportal;;;\r\nStand: 01.06.2022;;;\r\n"
    files = [
        (write_csv(tmp_path / "a.csv", [*subs[:6], extra, *subs[6:]], ";", "cp1252", "\r\n", titles), "Abos.csv"),
        (write_csv(tmp_path / "b.csv", partners, ";", "cp1252", "\r\n", "Partnerliste\r\n\r\n"), "Partner.csv"),
        (write_csv(tmp_path / "c.csv", customers, ";", "cp1252", "\r\n"), "Kunden.csv"),
    ]
    lines = files[0][0].read_bytes().decode("cp1252").split("\r\n")
    assert lines[2].startswith("Abonnement-ID;") and lines[8].startswith("BAD-01;")  # header line 3, bad line 9

    ds = load(files)

    assert [(r["file"], r["line"], r["column"], r["value"]) for r in reject_rows(ds)] == [
        ("Abos.csv", 9, "Lizenzen", "viele")
    ]
    assert ds.result.accepted == {"subscriptions": 12, "partners": 4, "customers": 5}
    assert without_ingest(summary(ds, Filters())) == without_ingest(expected_summary)


def test_header_below_title_lines_in_a_sheet_line_numbers_are_excel_rows(tmp_path, canonical):
    expected_summary, _ = canonical
    subs, partners, customers = canonical_rows()
    subs = _mark_bad_seats(subs, 4, "-5")  # SUB-0004
    path = tmp_path / "abos.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Abonnements")
    sheet.write_string(0, 0, "NCE Migration: Abonnements")  # row 1
    sheet.write_string(1, 0, "Stand: 01.06.2022")  # row 2
    for r, row in enumerate(subs):  # header in row 3
        for c, value in enumerate(row):
            if value:
                sheet.write_string(r + 2, c, value)
    workbook.close()
    files = [
        (path, "abos.xlsx"),
        (write_csv(tmp_path / "p.csv", partners), "partners.csv"),
        (write_csv(tmp_path / "c.csv", customers), "customers.csv"),
    ]

    ds = load(files)

    # Data row 4 of the table is Excel row 2 (titles) + 1 (header) + 4 = 7.
    assert [(r["file"], r["line"], r["column"], r["value"]) for r in reject_rows(ds)] == [
        ("abos.xlsx [Abonnements]", 7, "seats", "-5")
    ]
    assert ds.result.accepted == {"subscriptions": 11, "partners": 4, "customers": 5}


# ---------------------------------------------------------------- line numbers are physical lines


def test_line_numbers_count_a_line_break_inside_a_quoted_value(tmp_path):
    """A cell with Alt+Enter in Excel becomes a quoted value over two lines; later lines must still match."""
    subs, partners, customers = canonical_rows()
    subs = _mark_bad_seats(subs, 5, "-5")  # SUB-0005, record 6
    subs[2][SUB_INDEX["offer_name"]] = "Office 365 E3\nJahresvertrag"  # SUB-0002 spans lines 3 and 4
    path = write_csv(tmp_path / "subs.csv", subs)
    physical = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("SUB-0005,")]
    assert physical == [7]

    ds = load([(path, "subs.csv"), *write_three(tmp_path, ([], partners, customers))[1:]])

    assert [(r["line"], r["column"], r["value"]) for r in reject_rows(ds)] == [(7, "seats", "-5")]
    offer = ds.cursor().execute("SELECT offer_name FROM subscriptions WHERE subscription_id = 'SUB-0002'").fetchone()
    assert offer == ("Office 365 E3\nJahresvertrag",)


def test_line_numbers_count_blank_lines(tmp_path):
    subs, partners, customers = canonical_rows()
    subs = _mark_bad_seats(subs, 7, "-40")  # SUB-0007, line 8 without the blank line
    lines = write_csv(tmp_path / "x.csv", subs).read_text().splitlines(keepends=True)
    path = tmp_path / "subs.csv"
    path.write_text("".join([*lines[:4], "\n", *lines[4:]]))  # a blank line 5
    physical = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("SUB-0007,")]
    assert physical == [9]

    ds = load([(path, "subs.csv"), *write_three(tmp_path, ([], partners, customers))[1:]])

    assert [(r["line"], r["column"], r["value"]) for r in reject_rows(ds)] == [(9, "seats", "-40")]
    assert ds.result.accepted["subscriptions"] == 11


# ---------------------------------------------------------------- 4. mapping overrides


def test_mapping_file_maps_an_unrecognised_header(tmp_path, canonical):
    expected_summary, expected_tables = canonical
    subs, partners, customers = canonical_rows()
    subs = [list(r) for r in subs]
    subs[0][SUB_INDEX["seats"]] = "Anzahl Plätze XYZ"
    files = write_three(tmp_path, (subs, partners, customers))
    with pytest.raises(InputError, match="seats"):
        load(files)  # without the mapping file the column is not found

    ds = load(files, Overrides.load(FIXTURES / "mapping_seats.toml"))

    mapping = ds.result.mapping_table()
    seats = mapping[(mapping["file"] == "subscriptions.csv") & (mapping["column"] == "seats")]
    assert seats["source_column"].tolist() == ["Anzahl Plätze XYZ"]
    assert summary(ds, Filters()) == expected_summary
    assert tables(ds) == expected_tables


@pytest.mark.parametrize("variant", ["xlsx_german_sheets", "parquet"])
def test_a_decimal_comma_option_leaves_typed_numbers_of_workbooks_and_parquet_alone(variant, tmp_path, canonical):
    """`[options] decimal = ","` is about how numbers are written as text; an Excel or Parquet number has no
    decimal separator, so the option must not change it (262.50 must not become 2625 or 26250)."""
    _, expected_tables = canonical
    files = VARIANTS[variant](tmp_path)
    mapping_path = tmp_path / "mapping.toml"
    mapping_path.write_text('[options]\ndecimal = ","\n', encoding="utf-8")

    ds = load(files, Overrides.load(mapping_path))

    values = dict(ds.cursor().execute("SELECT subscription_id, monthly_value FROM subscriptions").fetchall())
    assert values["SUB-0001"] == Decimal("262.50")
    assert tables(ds) == expected_tables


# ---------------------------------------------------------------- number formats


def test_german_unicode_text_export_tab_utf16_with_german_numbers(tmp_path, canonical):
    """Excel's "Unicode text" on a German Windows: UTF-16, tab-delimited, German numbers and dates.
    PRODUCT.md section 3: any delimiter, German or English number formats."""
    _, expected_tables = canonical
    files = write_three(tmp_path, german_rows(), suffix=".txt", delimiter="\t", encoding="utf-16", newline="\r\n")

    ds = load(files)

    assert reject_rows(ds) == []  # "1.234" seats are 1234 and "1.000" is 1000, not 1
    assert tables(ds) == expected_tables  # "262,50" is 262.50, not 26250


@pytest.mark.parametrize(
    ("delimiter", "written"),
    [(";", "262.50"), (",", "262,50"), ("\t", "262,50"), ("|", "262,50")],
    ids=["semicolon_point", "comma_quoted_comma", "tab_comma", "pipe_comma"],
)
def test_a_decimal_value_is_never_scaled_by_a_misread_separator(delimiter, written, tmp_path):
    """262.50 and 262,50 each have one reading (a thousands separator groups three digits): the value is
    262.50, or the row is rejected; it is never taken as 26250."""
    subs, partners, customers = canonical_rows()
    subs = [list(r) for r in subs]
    subs[1][SUB_INDEX["monthly_value"]] = written  # SUB-0001
    files = write_three(tmp_path, (subs, partners, customers), delimiter=delimiter)

    ds = load(files)

    value = ds.cursor().execute("SELECT monthly_value FROM subscriptions WHERE subscription_id = 'SUB-0001'").fetchall()
    rejected = [(r["line"], r["value"]) for r in reject_rows(ds)]
    assert (value == [(Decimal("262.50"),)] and rejected == []) or (value == [] and rejected == [(2, written)])


# ---------------------------------------------------------------- 5. files refused as a whole


def _refusal_files(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """case -> (path, display name, a word the message must contain besides the name)."""
    subs, _, _ = canonical_rows()
    no_seats = [[v for i, v in enumerate(r) if i != SUB_INDEX["seats"]] for r in subs]
    empty = tmp_path / "upload1.csv"
    empty.write_bytes(b"")
    notes = tmp_path / "upload2.csv"
    notes.write_text("Besprechung;Datum\nMigration NCE;01.06.2022\nOffene Punkte;keine\n", encoding="utf-8")
    not_zip = tmp_path / "upload4.xlsx"
    not_zip.write_text("subscription_id,seats\nSUB-1,3\n", encoding="utf-8")  # a CSV renamed to .xlsx
    zip_not_workbook = tmp_path / "upload5.xlsx"
    with zipfile.ZipFile(zip_not_workbook, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    broken_parquet = tmp_path / "upload6.parquet"
    broken_parquet.write_bytes(b"PAR1 this is not really parquet PAR1")
    return {
        "empty file": (empty, "Leere Datei.csv", "empty"),
        "no recognisable header": (notes, "Besprechungsnotizen.csv", "header"),
        "subscriptions without seats": (write_csv(tmp_path / "upload3.csv", no_seats), "Abos ohne Menge.csv", "seats"),
        "xlsx that is not a zip": (not_zip, "Abos Mai.xlsx", "zip"),
        "zip that is not a workbook": (zip_not_workbook, "Abos Juni.xlsx", "workbook"),
        "broken parquet": (broken_parquet, "abos.parquet", "parquet"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty file",
        "no recognisable header",
        "subscriptions without seats",
        "xlsx that is not a zip",
        "zip that is not a workbook",
        "broken parquet",
    ],
)
def test_an_unreadable_file_is_refused_with_its_name(case, tmp_path):
    path, name, word = _refusal_files(tmp_path)[case]
    _, partners, customers = canonical_rows()
    others = [
        (write_csv(tmp_path / "p.csv", partners), "partners.csv"),
        (write_csv(tmp_path / "c.csv", customers), "customers.csv"),
    ]

    with pytest.raises(InputError) as refused:
        load([(path, name), *others])

    message = str(refused.value)
    assert name in message
    assert word.lower() in message.lower()
    assert path.name not in message  # the user's name for the file, not the temporary path


# ---------------------------------------------------------------- 6. no segment column


def test_missing_segment_column_warns_and_counts_everything_as_commercial(tmp_path, canonical):
    expected_summary, _ = canonical
    subs, partners, customers = canonical_rows()
    no_segment = [[v for i, v in enumerate(r) if i != SUB_INDEX["segment"]] for r in subs]
    files = [
        (write_csv(tmp_path / "s.csv", no_segment), "Abos ohne Segment.csv"),
        (write_csv(tmp_path / "p.csv", partners), "partners.csv"),
        (write_csv(tmp_path / "c.csv", customers), "customers.csv"),
    ]

    ds = load(files)

    assert len(ds.result.warnings) == 1
    warning = ds.result.warnings[0]
    assert "Abos ohne Segment.csv" in warning and "segment" in warning and "commercial" in warning
    assert ds.cursor().execute("SELECT DISTINCT segment FROM subscriptions").fetchall() == [("commercial",)]
    doc = summary(ds, Filters())
    assert doc["ingest"] == expected_summary["ingest"]
    totals, before = doc["totals"], expected_summary["totals"]
    # The school's subscription (SUB-0003, 1500 seats, ends 2022-09-30) is no longer exempt but exposed.
    assert totals["subscriptions_exempt"] == 0
    assert totals["subscriptions_in_scope"] == before["subscriptions_in_scope"] + 1
    assert totals["after_cutoff"] == {
        "subscriptions": before["after_cutoff"]["subscriptions"] + 1,
        "seats": before["after_cutoff"]["seats"] + 1500,
    }
    assert totals["before_cutoff"] == before["before_cutoff"]
