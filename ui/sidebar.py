"""The sidebar every page shares, drawn by app.py: the language, the filters (ui/filters.py), the programme's
dates and where the data comes from."""

from __future__ import annotations

import streamlit as st

from analytics.dataset import Dataset
from analytics.metrics import Filters
from ui import datasets, filters, i18n
from ui.i18n import t
from ui.text import md

LANGUAGE = i18n.SESSION_KEY


def start_language() -> None:
    """Fix the session's language on its first run (URL, else browser), so page switches keep it."""
    st.session_state.setdefault(LANGUAGE, i18n.lang())
    if st.session_state[LANGUAGE] != i18n._from_browser() or "lang" in st.query_params:
        st.query_params["lang"] = st.session_state[LANGUAGE]


def _store_lang() -> None:
    chosen = st.session_state.get("w_lang")
    if chosen:
        st.session_state[LANGUAGE] = chosen
    else:  # a click on the selected option clears a segmented control: keep the language
        st.session_state["w_lang"] = st.session_state.get(LANGUAGE, "en")


def draw() -> Filters:
    """The sidebar; returns the filters it shows."""
    dataset = datasets.current()
    countries, segments = datasets.countries_and_segments()
    language = i18n.lang()
    with st.sidebar:
        languages = list(i18n.LANGUAGES) + ([i18n.PSEUDO] if language == i18n.PSEUDO else [])
        st.session_state.setdefault("w_lang", language)
        st.segmented_control(
            t("app.language"),
            languages,
            key="w_lang",
            format_func=lambda code: i18n.LANGUAGES.get(code, code),
            on_change=_store_lang,
        )
        chosen = filters.draw(countries, segments, language)
        st.divider()
        _programme(dataset)
        _origin(dataset)
    _announce_new_snapshot(dataset)
    return chosen


def _programme(dataset: Dataset) -> None:
    programme = dataset.programme
    st.caption(
        t(
            "sidebar.programme",
            name=md(programme.name),
            cutoff=i18n.fmt_date(programme.cutoff),
            opt_out=i18n.fmt_date(programme.opt_out_deadline),
            readiness=i18n.fmt_date(programme.readiness_deadline),
        )
    )
    for warning in programme.warnings:  # a cutoff before a deadline: allowed, said (config/programme.toml)
        st.warning(i18n.note_text(warning), icon=":material/warning:")


def _origin(dataset: Dataset) -> None:
    counts = dataset.result.accepted
    if datasets.is_private():
        origin = t("sidebar.origin_private")
    elif dataset.snapshot and dataset.published_by:
        origin = t("sidebar.origin_snapshot_by", id=dataset.snapshot, who=md(dataset.published_by))
    elif dataset.snapshot:
        origin = t("sidebar.origin_snapshot", id=dataset.snapshot)
    else:
        origin = t("sidebar.origin_sample")
    st.caption(
        t(
            "sidebar.data",
            label=md(datasets.label(dataset)),
            origin=origin,
            subscriptions=i18n.fmt_int(counts["subscriptions"]),
            partners=i18n.fmt_int(counts["partners"]),
            customers=i18n.fmt_int(counts["customers"]),
            rejected=i18n.fmt_int(dataset.result.rejected),
            when_label=t("sidebar.published") if dataset.snapshot else t("sidebar.loaded"),
            when=f"{i18n.fmt_date(dataset.loaded_at.date())} {dataset.loaded_at:%H:%M} UTC",
        )
    )


def _announce_new_snapshot(dataset: Dataset) -> None:
    """Tell a session when the published data changed under it since its last interaction."""
    seen = st.session_state.get("seen_version")
    if seen is not None and seen != dataset.version and not datasets.is_private():
        st.toast(
            t("sidebar.new_snapshot", label=md(dataset.label), id=dataset.snapshot or "sample"), icon=":material/sync:"
        )
    st.session_state["seen_version"] = dataset.version
