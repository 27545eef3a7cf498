"""Both languages: the catalogs agree, no visible text bypasses them, and German pages format as Germans write."""

from __future__ import annotations

import json
import re
import string

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, open_app_page
from ui.i18n import catalog

PAGES = ["exposure", "opt_outs", "readiness", "projection", "trends", "data"]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_catalog_key_exists_in_both_languages_with_the_same_placeholders():
    english, german = catalog("en"), catalog("de")
    assert set(english) == set(german)
    for key in english:
        assert placeholders(english[key]) == placeholders(german[key]), key
        assert german[key].strip(), key


def run(page: str, **params) -> AppTest:
    return open_app_page(page, **params)


def visible_texts(at: AppTest) -> list[str]:
    """The texts a user reads: headings, captions, markdown, KPI labels, widget labels, alerts."""
    texts = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success"):
        texts += [e.value for e in at.get(kind)]
    texts += [m.label for m in at.metric]
    texts += [m.delta for m in at.metric if m.delta]
    for kind in ("multiselect", "text_input", "slider", "selectbox", "button", "segmented_control", "expander"):
        texts += [getattr(e, "label", "") or e.proto.label for e in at.get(kind)]
    return [t for t in texts if t]


# Text that is data or an identifier, not interface text (ids, file names, a programme name from config).
DATA = re.compile(r"^(\s*[`_*]?[A-Z]{2}[`_*]?\s*)$")


@pytest.mark.parametrize("page", PAGES)
def test_no_visible_text_bypasses_the_catalog_under_a_pseudo_locale(page):
    at = run(page, lang="qps")
    untranslated = [t for t in visible_texts(at) if "⟦" not in t and not DATA.match(t)]
    assert untranslated == []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        assert "⟦" in title, title


def test_exposure_in_german_uses_german_words_and_number_format():
    at = run("exposure", lang="de", country="DE")
    assert at.title[0].value == "Betroffenheit"
    cards = {m.label: m.value for m in at.metric}
    assert "Betroffene Abonnements" in cards and "Verfallsrisiko" in cards
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*", cards["Betroffene Lizenzen"])  # 20.270, not 20,270
    assert "." in cards["Betroffene Lizenzen"]
    assert any("11. Juli 2022" in c.value for c in at.caption)


def test_opt_outs_in_german_writes_percentages_with_a_decimal_comma():
    at = run("opt_outs", lang="de")
    cards = {m.label: m.value for m in at.metric}
    assert re.fullmatch(r"\d+,\d\s%", cards["Opt-out-Quote (Partner)"])
    assert at.sidebar.multiselect[0].label == "Land"


def test_language_choice_survives_a_page_switch():
    at = run("exposure", lang="de")
    at.switch_page("pages/readiness.py").run()
    assert at.title[0].value == "Partnerbereitschaft"


def test_every_error_code_raised_by_analytics_has_a_catalog_text():
    codes = set()
    for path in (ROOT / "analytics").glob("*.py"):
        codes |= set(re.findall(r'code="(\w+)"', path.read_text(encoding="utf-8")))
    assert codes, "analytics raises no coded errors any more?"
    assert {f"error.{c}" for c in codes} <= set(catalog("en"))


def test_reject_reasons_from_analytics_all_have_a_catalog_text():
    from analytics.ingest import REASONS

    assert {f"reason.{key}" for key in REASONS} <= set(catalog("en"))


def test_a_german_table_writes_percentages_and_numbers_as_the_cards_do():
    """The Opt-outs table per country said `8.22%` beside a card saying `10,1 %`: its cells are now written as the
    cards write them, in the interface language (whatever the browser's locale)."""
    import pyarrow as pa

    at = run("opt_outs", lang="de")
    table = next(d for d in at.dataframe if "opt_out_rate" in d.value.columns)
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()
    data = table.value
    assert re.fullmatch(r"\d+,\d\s%", shown["opt_out_rate"].iloc[0])
    assert shown["opt_out_rate"].iloc[0].replace("\xa0", " ") == f"{data['opt_out_rate'].iloc[0]:.1%}".replace(
        ".", ","
    ).replace("%", " %")
    seats = int(data["after_seats"].iloc[0])
    assert seats >= 1000 and shown["after_seats"].iloc[0] == f"{seats:,}".replace(",", ".")
