"""Real exports, as they come (PRODUCT.md section 3): each layout read without a mapping file, from a file whose
header is exactly what the public tool writes (tests/fixtures/exports/make_exports.py names each source).

Every expected figure below was counted by hand from the rows of make_exports.py: which rows are charge lines or
months of one subscription, which offer ids are legacy, which end dates fall before the 2022-07-11 cutoff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.dataset import load_files, summary
from analytics.errors import InputError
from analytics.metrics import Filters, headline, rejects
from analytics.words import reason
from tests.fixtures.exports import make_exports as mk

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
ROOT = Path(__file__).resolve().parent.parent


def load(*names: str):
    return load_files([(EXPORTS / n, n) for n in names])


def subs(ds) -> dict[str, dict]:
    """The accepted subscriptions by id, with Python values (None for unknown, dates as date)."""
    cur = ds.cursor().execute("SELECT * FROM subscriptions")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def programs(ds) -> dict[tuple[str, str], int]:
    return {(p["program"], p["rule"]): p["subscriptions"] for p in ds.result.programs}


def guid(n: int) -> str:
    return mk.SUBS[n].upper()


def test_the_committed_export_files_are_what_the_generator_writes():
    for name, make in mk.FILES.items():
        assert (EXPORTS / name).read_bytes() == make(), name


# ---------------------------------------------------------------- Partner Center PowerShell


def test_powershell_subscription_list_with_type_line_and_quoted_fields_is_read_without_a_mapping():
    ds = load("pc_powershell_subscriptions.csv")
    assert ds.result.accepted["subscriptions"] == 5
    assert ds.result.files == [
        {"name": "pc_powershell_subscriptions.csv", "kind": "subscriptions", "rows": 5, "collapsed": 0}
    ]
    # Offer ids: four GUIDs (legacy), one CFQ7TTC0LH18:0001:CFQ7TTC0K971 (NCE).
    assert programs(ds) == {("legacy", "offer_id"): 4, ("nce", "offer_id"): 1}
    rows = subs(ds)
    assert set(rows) == {guid(n) for n in range(5)}  # SubscriptionId, compared case-insensitively
    first = rows[guid(0)]
    assert (first["seats"], str(first["term_end_date"]), first["auto_renew"], first["billing_term"]) == (
        25,
        "2022-05-31",
        True,
        "monthly",
    )
    assert rows[guid(4)]["status"] == "suspended"
    assert first["partner_id"] == "5462014"  # PartnerId: the reseller's MPN id in this object
    # No country, no customer anywhere: unknown, its own country "ZZ".
    doc = summary(ds, Filters())
    assert list(doc["by_country"]) == ["ZZ"]
    totals = doc["totals"]
    # In scope: the three active legacy rows; before the cutoff 5/31 and 6/30/2022, after 1/13/2023.
    assert totals["subscriptions_in_scope"] == 3
    assert totals["before_cutoff"] == {"subscriptions": 2, "seats": 35}
    assert totals["after_cutoff"] == {"subscriptions": 1, "seats": 40}
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 10}  # 6/30/2022, AutoRenewEnabled False
    assert ds.result.unknown == {"country": 5, "partner": 0, "partner_seats": 0, "customer": 5}
    assert any("5 subscriptions have no country" in w for w in ds.result.warnings)


def test_powershell_list_with_a_customers_file_takes_the_countries_from_the_customers():
    ds = load("pc_powershell_subscriptions.csv", "pc_powershell_customers.csv")
    assert [f["kind"] for f in ds.result.files] == ["subscriptions", "customers"]
    doc = summary(ds, Filters())
    assert list(doc["by_country"]) == ["DE"]
    assert doc["by_country"]["DE"]["subscriptions_in_scope"] == 3
    assert ds.result.unknown["country"] == 0
    origin = next(o for o in ds.result.origins if o["field"] == "country" and o["table"] == "subscriptions")
    assert (origin["origin"], origin["counts"]) == ("derived", {"customer": 5})
    customer = next(o for o in ds.result.origins if o["field"] == "customer_id" and o["table"] == "subscriptions")
    assert (customer["origin"], customer["detail"]) == ("derived", "single_customer")


# ---------------------------------------------------------------- reconciliation files


def test_legacy_license_based_reconciliation_collapses_charge_lines_and_takes_the_microsoft_guid():
    ds = load("pc_license_based_recon.csv")
    assert ds.result.files == [{"name": "pc_license_based_recon.csv", "kind": "charges", "rows": 5, "collapsed": 2}]
    assert ds.result.rejected == 0  # the refund line (-2) is a charge line, not a bad seat count
    rows = subs(ds)
    # SyndicationPartnerSubscriptionNumber, not the billing system's SubscriptionId (usCBM...).
    assert set(rows) == {guid(0), guid(1), guid(2)}
    # Subscription 0: charge lines ending 4/30 (20), 5/31 (25) and a refund ending 5/31 (-2): the latest period's
    # non-refund row gives the seats.
    assert rows[guid(0)]["seats"] == 25
    assert str(rows[guid(0)]["term_end_date"]) == "2022-05-31"
    assert programs(ds) == {("legacy", "offer_id"): 3}
    assert rows[guid(2)]["partner_id"] is None  # ResellerMpnId -1: no reseller
    assert {r["partner_id"] for r in rows.values()} == {"6048879", "7012345", None}
    doc = summary(ds, Filters())
    assert list(doc["by_country"]) == ["ZZ"]  # the file has no country
    totals = doc["totals"]
    assert totals["subscriptions_in_scope"] == 3
    assert totals["before_cutoff"] == {"subscriptions": 1, "seats": 25}
    assert totals["after_cutoff"] == {"subscriptions": 2, "seats": 50}
    # Exposed partners: 7012345 (after 7/31/2022); the subscription without a reseller is no partner.
    assert totals["partners_exposed"] == 1
    head = headline(ds.cursor(), Filters())
    assert int(head.iloc[0]["no_partner_subscriptions"]) == 1 and int(head.iloc[0]["no_partner_seats"]) == 40


def test_a_reseller_column_spelled_tier2mpnid_is_the_partner(tmp_path):
    path = tmp_path / "recon.csv"
    path.write_bytes((EXPORTS / "pc_license_based_recon.csv").read_bytes().replace(b"ResellerMpnId", b"Tier2MpnId"))
    ds = load_files([(path, "recon.csv")])
    assert {r["partner_id"] for r in subs(ds).values()} == {"6048879", "7012345", None}


def test_new_commerce_reconciliation_alone_is_no_exposure_and_its_seats_are_migration_progress():
    ds = load("pc_new_commerce_invoice_recon.csv")
    assert ds.result.files[0]["kind"] == "charges" and ds.result.files[0]["collapsed"] == 2
    assert ds.result.rejected == 0  # removeQuantity -2 is accepted as a charge line
    rows = subs(ds)
    assert {k: r["program"] for k, r in rows.items()} == {guid(5): "nce", guid(6): "nce"}
    # Subscription 5: cycle charges 10 (April) and 12 (May), a removal of 2 in May: 12 seats.
    assert rows[guid(5)]["seats"] == 12 and rows[guid(6)]["seats"] == 5
    doc = summary(ds, Filters())
    assert doc["totals"]["subscriptions_in_scope"] == 0
    assert doc["totals"]["after_cutoff"]["subscriptions"] == 0
    assert sorted(doc["by_country"]) == ["AT", "DE"]  # CustomerCountry
    row = headline(ds.cursor(), Filters()).iloc[0]
    assert int(row["nce_seats"]) == 17
    assert float(row["migration_progress"]) == 1.0  # 17 / (17 + 0 in-scope legacy seats)


def test_every_row_of_a_new_commerce_file_is_nce_even_without_an_offer_id(tmp_path):
    path = tmp_path / "nce.csv"
    text = (EXPORTS / "pc_new_commerce_invoice_recon.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    header = lines[0].split(",")
    # Blank the product id and the term text: only the file's own columns (AvailabilityId) say NCE.
    keep = [i for i, h in enumerate(header) if h not in ("ProductId", "TermAndBillingCycle")]
    rows = [",".join(line.split(",")[i] for i in keep) for line in lines]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_files([(path, "nce.csv")])
    assert programs(ds) == {("nce", "nce_file"): 2}


# ---------------------------------------------------------------- Insights


def test_insights_seats_subscriptions_and_revenue_collapses_months_and_reads_the_market():
    ds = load("pc_insights_seats_subscriptions_revenue.csv")
    assert ds.result.files[0] == {
        "name": "pc_insights_seats_subscriptions_revenue.csv",
        "kind": "monthly",
        "rows": 5,
        "collapsed": 1,
    }
    rows = subs(ds)
    assert rows[guid(7)]["seats"] == 32  # the May row, not April's 30
    assert rows[guid(10)]["seats"] == 12  # TotalSoldSeats "12.0"
    assert rows[guid(8)]["segment"] == "government"  # Major Public Sector
    assert rows[guid(9)]["status"] == "deleted"  # Churned
    assert (rows[guid(7)]["country"], rows[guid(8)]["country"]) == ("AT", "DE")  # CustomerMarket names
    assert rows[guid(10)]["auto_renew"] is True and rows[guid(9)]["auto_renew"] is False  # IsAutoRenew Y/N
    assert programs(ds) == {("legacy", "default"): 4}  # no offer id, no term: legacy by default
    # MpnId and PartnerName are the file owner's own (one value on every row): no reseller known.
    assert ds.result.unknown["partner"] == 4
    doc = summary(ds, Filters())
    assert {k: v["subscriptions_in_scope"] for k, v in doc["by_country"].items()} == {"AT": 1, "DE": 1}
    assert doc["totals"]["subscriptions_exempt"] == 1
    assert doc["totals"]["partners_exposed"] == 0


# ---------------------------------------------------------------- CloudBlue Connect (Ingram Micro Cloud Marketplace)


def test_cloudblue_missing_active_subscriptions_is_a_subscription_list_not_a_customer_list():
    ds = load("cloudblue_missing_ms_active_subscriptions.csv")
    assert ds.result.files[0]["kind"] == "subscriptions" and ds.result.accepted["subscriptions"] == 3
    assert programs(ds) == {("legacy", "offer_id"): 2, ("nce", "offer_id"): 1}
    rows = subs(ds)
    # Microsoft Customer ID (the tenant), not Connect's TA- account id.
    assert rows[guid(0)]["customer_id"] == mk.CUST_A.upper()
    assert rows[guid(2)]["partner_id"] is None and rows[guid(2)]["auto_renew"] is None  # "-" is no value
    assert rows[guid(2)]["status"] == "suspended"
    # Data rows have 14 values for 15 headers: padded, one warning.
    assert sum("fewer fields than the header" in w for w in ds.result.warnings) == 1
    doc = summary(ds, Filters())
    assert list(doc["by_country"]) == ["ZZ"]
    assert doc["totals"]["after_cutoff"] == {"subscriptions": 1, "seats": 25}


def test_cloudblue_audit_tool_reads_microsofts_status_and_count_and_the_marketplace_country():
    ds = load("cloudblue_ms_audit_tool.csv")
    rows = subs(ds)
    assert set(rows) == {guid(3), guid(4), guid(11)}
    assert rows[guid(3)]["seats"] == 25  # Microsoft Licenses, not Connect's 26
    assert rows[guid(11)]["status"] == "suspended"  # Microsoft Status, not Connect's "terminating"
    assert {k: r["country"] for k, r in rows.items()} == {guid(3): "DE", guid(4): "AT", guid(11): "DE"}
    # Connect item MPN CFQ7TTC0LHPG:0001_P1Y:Annual is a new-commerce product; GUIDs are legacy offers.
    assert programs(ds) == {("legacy", "offer_id"): 2, ("nce", "offer_id"): 1}
    doc = summary(ds, Filters())
    assert doc["by_country"]["DE"]["after_cutoff"] == {"subscriptions": 1, "seats": 25}


# ---------------------------------------------------------------- customer and partner lists alone


def test_partner_center_customer_export_alone_is_recognised_and_asks_for_a_subscription_list():
    with pytest.raises(InputError) as refused:
        load("pc_export_customers.csv")
    message = str(refused.value)
    assert "pc_export_customers.csv (customer list)" in message
    assert "customer or partner list" in message and "subscription list as well" in message
    assert refused.value.code == "no_subscriptions"


def test_partner_center_customer_export_with_a_subscription_list_gives_its_customers_and_domains():
    ds = load("cloudblue_missing_ms_active_subscriptions.csv", "pc_export_customers.csv")
    kinds = {f["name"]: f["kind"] for f in ds.result.files}
    assert kinds["pc_export_customers.csv"] == "customers"
    customers = ds.cursor().execute("SELECT customer_id, customer_name, domain FROM customers ORDER BY 1").fetchall()
    assert (mk.CUST_A.upper(), "Bäckerei Groß GmbH", "baeckerei.onmicrosoft.com") in customers


def test_a_subscription_list_without_seats_is_refused_naming_the_missing_fact(tmp_path):
    path = tmp_path / "no_seats.csv"
    path.write_text("SubscriptionId,CommitmentEndDate\nabc,2022-08-01\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_files([(path, "no_seats.csv")])
    assert "the number of seats" in str(refused.value)
    assert refused.value.params["facts"] == ("seats",)


# ---------------------------------------------------------------- unknown is a value


def test_unknown_country_is_filterable_and_keyed_zz_in_summary_json():
    ds = load("pc_powershell_subscriptions.csv")
    only_unknown = summary(ds, Filters(countries=("ZZ",)))
    assert only_unknown["totals"]["subscriptions_in_scope"] == 3
    assert summary(ds, Filters(countries=("DE",)))["totals"]["subscriptions_in_scope"] == 0


def test_reject_reasons_are_codes_said_in_the_callers_language(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("subscription_id,seats,term_end_date\nA,1,2022-08-01\nA,2,2022-08-01\nB,x,2022-08-01\n")
    ds = load_files([(path, "bad.csv")])
    english = rejects(ds.cursor())
    assert list(english["code"]) == ["duplicate_different", "int"]
    assert english["reason"][0] == "duplicate subscription_id with different content; line 2 is kept"
    german = rejects(ds.cursor(), lang="de")
    assert german["reason"][0] == "Duplikat von subscription_id mit anderem Inhalt; Zeile 2 wird behalten"
    assert reason("de", "int", None, None, None, "bad.csv").startswith("keine ganze Zahl")


def test_ingest_json_has_a_per_file_entry_with_name_kind_and_rows():
    out = subprocess.run(
        [sys.executable, "-m", "analytics", "ingest", "--json", str(EXPORTS / "pc_license_based_recon.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert doc["files"] == [{"name": "pc_license_based_recon.csv", "kind": "charges", "rows": 5, "collapsed": 2}]
    assert doc["programs"] == [{"program": "legacy", "rule": "offer_id", "subscriptions": 3}]
    assert doc["unknown"]["country"] == 3


# ---------------------------------------------------------------- every page shows the unknown


@pytest.fixture
def unknown_store(tmp_path, monkeypatch):
    """A published legacy reconciliation file: no country anywhere (ZZ), one subscription without a reseller."""
    import streamlit as st

    from analytics.store import Store

    monkeypatch.setenv("RADAR_STORE", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    Store(tmp_path / "store").publish(load("pc_license_based_recon.csv"), [("pc_license_based_recon.csv", 1)])
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("lang, word", [("en", "Unknown"), ("de", "Unbekannt")])
@pytest.mark.parametrize("page", ["exposure", "opt_outs", "readiness", "projection"])
def test_every_page_shows_and_filters_the_unknown_country(unknown_store, page, lang, word):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["country"] = ["ZZ"]
    at.query_params["lang"] = lang
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    country = at.sidebar.multiselect[0]
    assert country.value == ["ZZ"]
    assert any(option.endswith(f"ZZ · {word}") for option in country.options)
    shown = [df.value for df in at.dataframe]
    cells = {str(v) for frame in shown for column in ("country", "countries") if column in frame for v in frame[column]}
    if page != "opt_outs":  # nobody opted out: its country table is empty
        assert word in cells, cells
    assert "ZZ" not in cells


def test_exposure_says_the_volume_with_no_reseller_known(unknown_store):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    said = [c.value for c in at.caption if "No reseller known" in c.value]
    assert said and "1 in-scope subscriptions (40 seats)" in said[0]
    cards = {m.label: m.value for m in at.metric}
    assert cards["Subscriptions in scope"] == "3"


def test_segments_marketplaces_and_switch_words_are_read_by_their_words(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text(
        "SubscriptionId,TotalSoldSeats,SubscriptionEndDate,CustomerSegment,Marketplace Name,IsAutoRenew\n"
        "a,1,2022-08-01,Small Medium & Corporate Education,IM Germany,enabled\n"
        "b,2,2022-08-01,Major Commercial,IM - United Kingdom,disabled\n"
        "c,3,2022-08-01,Small Medium & Corporate Public Sector,Marketplace US New,Y\n"
        "d,4,2022-08-01,military,IM - Austria,N\n",
        encoding="utf-8",
    )
    ds = load_files([(path, "words.csv")])
    got = {k: (r["segment"], r["country"], r["auto_renew"]) for k, r in subs(ds).items()}
    assert got == {
        "A": ("education", "DE", True),
        "B": ("commercial", "GB", False),
        "C": ("government", "ZZ", True),  # a marketplace that names no country leaves it unknown
    }
    [row] = rejects(ds.cursor()).to_dict("records")
    assert (row["line"], row["column"], row["value"]) == (5, "CustomerSegment", "military")
