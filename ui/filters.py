"""The filters every page shares (countries, segments, partner search): three sidebar widgets mirrored to the URL.

One source of truth: the widgets' own session keys (`country`, `segment`, `partner`), kept across page switches by
`persist_state="session"`. The URL (`?country=DE&country=AT&segment=corporate&partner=acme`, a public interface:
bookmarks and shared links) seeds them on a session's first run and is rewritten from them on every run.
`reset()` clears them from anywhere in a run; the widgets take the cleared values on the next run, before they
are drawn (a drawn widget's value cannot be set in the same run).

Why not Streamlit's `bind="query-params"`, which does this sync itself? Measured on Streamlit 1.67: a bound
multiselect writes and accepts the *formatted* option in the URL (`format_func`'s "DE · Germany", and the
segment's name in the interface language), and drops a bookmarked value the data lacks instead of showing it as
"no data". Our URLs carry codes, the same in every language, so the sync stays ours (tests/test_pages.py,
tests/test_browser.py).
"""

from __future__ import annotations

import streamlit as st

from analytics.metrics import Filters
from analytics.programme import SEGMENTS
from analytics.schema import country_name
from ui import i18n
from ui.i18n import t
from ui.text import md

KEYS = ("country", "segment", "partner")
_RESET = "filters_reset"  # session key: reset() asked for a reset, applied before the widgets are drawn


def _normalise(key: str, values: list[str]) -> list[str]:
    return [v.upper() for v in values] if key == "country" else [v.lower() for v in values]


def _from_url() -> dict:
    params = st.query_params
    return {
        "country": _normalise("country", params.get_all("country")),
        "segment": _normalise("segment", params.get_all("segment")),
        "partner": params.get("partner", ""),
    }


def selected() -> Filters:
    """The session's filters: the widgets' values once they are drawn (every run draws them before the page),
    else the URL's."""
    state = st.session_state
    if all(key in state for key in KEYS):
        return Filters(tuple(state["country"]), tuple(state["segment"]), state["partner"] or "")
    url = _from_url()
    return Filters(tuple(url["country"]), tuple(url["segment"]), url["partner"])


def reset() -> None:
    """Clear every filter; the widgets show it from the next run on (call st.rerun() after)."""
    st.session_state[_RESET] = True


def _prepare() -> dict:
    """Before the widgets are drawn: seed them from the URL on the session's first run, apply a pending reset.
    Returns the values the options must keep (a bookmark's value the data lacks stays, so the view says "no
    data")."""
    state = st.session_state
    url = _from_url()
    for key in KEYS:
        state.setdefault(key, url[key])
    if state.pop(_RESET, False):
        state.update(country=[], segment=[], partner="")
    return {key: list(state[key]) for key in ("country", "segment")}


def _sync_url() -> None:
    """Write the filters to the URL on every run, so reloads and shared links keep them."""
    state = st.session_state
    for key in KEYS:
        value = list(state[key]) if key != "partner" else (state[key] or "")
        now = st.query_params.get_all(key) if key != "partner" else st.query_params.get(key, "")
        if value and now != value:
            st.query_params[key] = value
        elif not value and key in st.query_params:
            del st.query_params[key]


def draw(countries: list[str], segments: list[str], language: str) -> Filters:
    """The three filter widgets (inside `with st.sidebar:`); `countries` and `segments` are the data's."""
    wanted = _prepare()
    country_options = list(countries) + [c for c in wanted["country"] if c not in countries]
    segment_options = list(segments) + [s for s in wanted["segment"] if s not in segments]
    st.multiselect(
        t("sidebar.country"),
        country_options,
        key="country",
        persist_state="session",
        format_func=lambda c: f"{c} · {country_name(c, 'de' if language == 'de' else 'en')}",
        placeholder=t("sidebar.country_placeholder"),
        help=t("sidebar.country_help"),
        # Prefix matching: typing "DE" + Enter picks Germany, not "select 3 matches" (DE, DK, SE).
        filter_mode="prefix",
    )
    st.text_input(
        t("sidebar.partner"),
        key="partner",
        persist_state="session",
        placeholder=t("sidebar.partner_placeholder"),
        help=t("sidebar.partner_help"),
    )
    st.multiselect(
        t("sidebar.segment"),
        segment_options,
        key="segment",
        persist_state="session",
        format_func=lambda v: t(f"segment.{v}") if v in SEGMENTS else v,
        placeholder=t("sidebar.segment_placeholder"),
    )
    _sync_url()
    return selected()


def describe(filters: Filters) -> str:
    """What the view is narrowed to, for page captions ("showing DE, AT · partner contains …"), as Markdown: the
    filter values come from the URL, so they are escaped."""
    return filters.human_clause(i18n.lang(), escape=md)


def is_filtered(filters: Filters) -> bool:
    return bool(filters.countries or filters.segments or filters.partner)
