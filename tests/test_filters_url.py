"""The shared filters and the URL (ui/filters.py), in AppTest: a bookmark seeds the sidebar's widgets, is
normalised, keeps a value the data lacks, survives a page switch, and a reset clears it on the next run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analytics.dataset import load_files, summary
from analytics.metrics import Filters
from tests.conftest import ROOT, SAMPLE, open_app_page
from ui import filters

APP = str(ROOT / "app.py")


def opened(page: str, **params) -> AppTest:
    return open_app_page(page, **params)


def widget(at: AppTest, key: str):
    return next(w for w in [*at.multiselect, *at.text_input] if w.key == key)


def url(at: AppTest, key: str) -> list[str]:
    """The URL's values of `key` (AppTest gives one value as a string)."""
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def in_scope(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Subscriptions in scope")


@pytest.fixture(scope="module")
def sample():
    return load_files(SAMPLE)


def test_a_bookmark_in_any_case_seeds_the_widgets_and_the_figures(sample):
    at = opened("exposure", country=["de"], segment=["Commercial"])
    assert widget(at, "country").value == ["DE"]
    assert widget(at, "segment").value == ["commercial"]
    expected = summary(sample, Filters(countries=("DE",), segments=("commercial",)))
    assert in_scope(at) == f"{expected['totals']['subscriptions_in_scope']:,}"
    # The URL is written back in its normal form.
    assert url(at, "country") == ["DE"] and url(at, "segment") == ["commercial"]


def test_a_bookmarked_country_the_data_lacks_stays_chosen_and_the_page_says_no_data():
    at = opened("exposure", country=["ZZ"])
    country = widget(at, "country")
    assert country.value == ["ZZ"] and "ZZ" in country.options[-1]
    assert url(at, "country") == ["ZZ"]
    assert not at.metric  # nothing in scope: the page's empty state, not the unfiltered figures


def test_a_choice_survives_a_page_switch_and_is_mirrored_to_the_url():
    at = opened("exposure")
    widget(at, "country").set_value(["AT"]).run()
    widget(at, "partner").set_value("a").run()
    assert url(at, "country") == ["AT"] and url(at, "partner") == ["a"]
    at.switch_page("pages/opt_outs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert widget(at, "country").value == ["AT"] and widget(at, "partner").value == "a"
    widget(at, "country").set_value([]).run()
    assert "country" not in at.query_params


def test_a_reset_clears_every_filter_on_the_next_run():
    at = opened("exposure", country=["DE"], partner="x")
    at.session_state[filters._RESET] = True  # what filters.reset() leaves for the next run
    at.run()
    assert widget(at, "country").value == [] and widget(at, "partner").value == ""
    assert "country" not in at.query_params and "partner" not in at.query_params
