"""The registry of figures (analytics/figures.py) says what each page asks for; the bench times exactly that. These
tests run each page and compare what it really asked for with the registry, so neither can drift from the other."""

from __future__ import annotations

import functools

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analytics import metrics
from analytics.figures import FIGURES, PAGES, Use
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def asked(monkeypatch):
    """The names of the figures the app runs, in order (each registered query function wrapped to record it)."""
    names: list[str] = []
    for name, figure in FIGURES.items():

        @functools.wraps(figure.function)
        def recording(*args, name=name, run=figure.function, **kwargs):
            names.append(name)
            return run(*args, **kwargs)

        monkeypatch.setattr(metrics, name, recording)
    st.cache_data.clear()  # a cached figure is not run again
    yield names
    st.cache_data.clear()


@pytest.mark.parametrize("page", [p for p in PAGES if p != "sidebar"])
def test_a_page_asks_for_exactly_the_figures_the_registry_lists_for_it(asked, page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    registered = {use.figure for use in PAGES[page] + PAGES["sidebar"]}
    assert set(asked) == registered


def test_every_figure_is_a_query_function_of_analytics_metrics_under_its_own_name():
    for name, figure in FIGURES.items():
        assert figure.function.__module__ == "analytics.metrics"
        assert getattr(metrics, name) is figure.function


def test_a_page_cannot_list_a_figure_the_registry_does_not_name():
    with pytest.raises(ValueError):
        Use("no_such_figure")


@pytest.mark.parametrize("page", [p for p in PAGES if p != "sidebar"])
def test_after_the_servers_warm_up_a_page_opened_without_filters_runs_no_query(asked, page):
    """serve.py warms a starting server (ui/warmup.py) by computing the registry's figures into the caches the pages
    read; a page's first request then finds every one of them there, so its keys must be exactly the page's."""
    from ui import warmup

    done = warmup.run()
    assert not done.get("failed") and done["figures"] > len(PAGES[page])
    assert {"countries", "segments", "row_counts"} <= set(asked)  # the sidebar's lists call metrics directly
    asked.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [name for name in asked if name != "rejects"] == []  # the Data page reads rejects in the user's language
