"""AppTest of every page on the sample: the KPI values shown equal `python -m analytics summary --json`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLE

APP = str(ROOT / "app.py")


def cli_summary(*countries: str) -> dict:
    args = [sys.executable, "-m", "analytics", "summary", *map(str, SAMPLE), "--json"]
    for country in countries:
        args += ["--country", country]
    return json.loads(subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="module")
def expected():
    return {None: cli_summary(), "DE": cli_summary("DE")}


def run_page(page: str, country: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if country:
        at.query_params["country"] = [country]
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics_of(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def n(value: int) -> str:
    return f"{value:,}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


@pytest.mark.parametrize("country", [None, "DE"])
def test_exposure_kpis_equal_the_command_line(expected, country):
    block = expected[country]["totals"]
    shown = metrics_of(run_page("exposure", country))
    assert shown["Subscriptions in scope"] == n(block["subscriptions_in_scope"])
    assert shown["Seats in scope"] == n(block["seats_in_scope"])
    assert shown["Before cutoff"] == n(block["before_cutoff"]["subscriptions"])
    assert shown["After cutoff"] == n(block["after_cutoff"]["subscriptions"])
    assert shown["Lapse risk"] == n(block["lapse_risk"]["subscriptions"])
    assert shown["Exempt"] == n(block["subscriptions_exempt"])


@pytest.mark.parametrize("country", [None, "DE"])
def test_opt_out_kpis_equal_the_command_line(expected, country):
    block = expected[country]["totals"]
    shown = metrics_of(run_page("opt_outs", country))
    assert shown["Exposed partners"] == n(block["partners_exposed"])
    assert shown["Opted out"] == n(block["partners_opted_out"])
    assert shown["Opt-out rate (partners)"] == pct(block["opt_out_rate"])
    assert shown["Opt-out rate (seats)"] == pct(block["opt_out_seat_rate"])
    assert shown["Late opt-outs"] == n(block["late_opt_outs"])


@pytest.mark.parametrize("country", [None, "DE"])
def test_readiness_kpis_equal_the_command_line(expected, country):
    block = expected[country]["totals"]
    shown = metrics_of(run_page("readiness", country))
    assert shown["Partners assessed"] == n(block["partners_assessed"])
    assert shown["Fully ready"] == n(block["partners_fully_ready"])
    assert shown["Completion rate"] == pct(block["readiness_rate"])
    assert shown["Not ready"] == n(block["partners_assessed"] - block["partners_fully_ready"])


@pytest.mark.parametrize("country", [None, "DE"])
def test_projection_kpis_equal_the_command_line(expected, country):
    projected = expected[country]["totals"]["projected"]
    shown = metrics_of(run_page("projection", country))
    assert shown["Projected subscriptions"] == n(projected["subscriptions"])
    assert shown["Projected seats"] == n(projected["seats"])
    assert shown["Ready seats"] == n(projected["ready_seats"])
    assert shown["At-risk seats"] == n(projected["at_risk_seats"])


def test_filtered_kpi_shows_the_unfiltered_total_for_comparison(expected):
    at = run_page("exposure", "DE")
    card = next(m for m in at.metric if m.label == "Subscriptions in scope")
    assert card.delta == f"of {n(expected[None]['totals']['subscriptions_in_scope'])} in all data"


@pytest.mark.parametrize(
    ("page", "marker", "size"),
    [
        ("readiness", "missing", lambda b: b["partners_assessed"] - b["partners_fully_ready"]),
        ("exposure", "lapse_risk_subscriptions", lambda b: b["partners_exposed"]),
        ("opt_outs", "opt_out_date", lambda b: b["partners_opted_out"]),
    ],
)
def test_a_long_partner_list_shows_its_first_rows_and_says_how_many_there_are(
    expected, monkeypatch, page, marker, size
):
    """The lists come from a query with a limit (ui.widgets.MAX_SCREEN_ROWS); the caption tells the whole size,
    which must equal the command line's count, not the number of rows drawn."""
    import ui.widgets

    monkeypatch.setattr(ui.widgets, "MAX_SCREEN_ROWS", 7)
    whole = size(expected[None]["totals"])
    assert whole > 7
    at = run_page(page)
    listed = next(d.value for d in at.dataframe if marker in d.value.columns)
    assert len(listed) == 7
    captions = [c.value for c in at.caption]
    assert f"Showing the first 7 of {n(whole)} rows; the downloads hold them all." in captions
    assert "list_partners" not in listed.columns


def test_page_started_alone_runs_inside_the_frame_with_the_url_filter():
    # AppTest resets Streamlit's navigation flag, like the first request after a restart (docs/ARCHITECTURE.md).
    at = run_page("readiness", "DE")
    assert [ms.label for ms in at.sidebar.multiselect][0] == "Country"
    assert at.sidebar.multiselect[0].value == ["DE"]
    assert at.query_params["country"] in ("DE", ["DE"])  # AppTest reports a single value unwrapped
    at.switch_page("pages/opt_outs.py").run()
    assert not at.exception
    assert at.sidebar.multiselect[0].value == ["DE"]
    assert at.title[0].value == "Opt-outs"


def test_data_page_shows_the_loaded_dataset_and_its_mapping(expected):
    at = run_page("data")
    captions = " ".join(c.value for c in at.caption)
    accepted = expected[None]["ingest"]["accepted"]
    assert f"{n(accepted['subscriptions'])} subscriptions" in captions
    mapping = at.dataframe[0].value
    assert {"subscription_id", "seats", "term_end_date"} <= set(mapping["column"])


def test_a_selection_without_data_explains_instead_of_failing():
    at = run_page("opt_outs", "FR")
    at.sidebar.text_input[0].set_value("no partner has this name").run()
    assert not at.exception
    assert any("No exposed partners" in i.value for i in at.info)
    assert not at.metric


def test_readiness_with_every_assessed_partner_ready_shows_an_empty_call_list():
    """A search that leaves only fully ready partners: assessed > 0, nobody to call. The call list is empty and
    says so; nothing fails on the empty list."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["partner"] = "P-0106"  # Böhm EDV-Beratung e.K.: exposed in DE, all four steps done
    at.switch_page("pages/readiness.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = metrics_of(at)
    assert shown["Partners assessed"] == "1"
    assert shown["Fully ready"] == "1"
    calls = next(d.value for d in at.dataframe if "missing" in d.value.columns)
    assert calls.empty
    assert "0 partners to call · 0 after-cutoff seats at risk" in [c.value for c in at.caption]


def test_data_without_partner_rows_explains_what_is_missing(tmp_path, monkeypatch):
    from analytics.dataset import load_files
    from analytics.store import Store

    upload = tmp_path / "subs_only.csv"
    upload.write_text(
        "subscription_id,partner_id,customer_id,country,seats,term_end_date,auto_renew\nS1,P1,C1,DE,10,2022-08-01,true\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "store")
    store.publish(load_files([upload]), [(upload.name, 1)])
    monkeypatch.setenv("RADAR_STORE", str(store.path))
    at = run_page("readiness")
    assert any("no partner table" in i.value for i in at.info)
    assert {m.label: m.value for m in at.metric}["Fully ready"] == "0"


def test_a_programme_whose_cutoff_comes_before_a_deadline_is_warned_about_in_the_sidebar(tmp_path, monkeypatch):
    import streamlit as st

    programme = tmp_path / "early.toml"
    programme.write_text(
        'name = "Early cutoff"\ncutoff = 2022-06-01\nopt_out_deadline = 2022-06-30\nreadiness_deadline = 2022-05-31\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RADAR_PROGRAMME", str(programme))
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["lang"] = "de"
        at.run()
        assert not at.exception
        warned = [w.value.replace("\\", "") for w in at.sidebar.warning]  # values are escaped Markdown
        assert len(warned) == 1 and "liegt vor der Opt-out-Frist 2022-06-30" in warned[0]
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
