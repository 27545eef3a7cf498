"""Streamlit side of the data: which dataset a session sees, cached queries, and the shared filters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import history, metrics
from analytics.dataset import Dataset, load_files
from analytics.metrics import Filters
from analytics.programme import SEGMENTS, load_programme
from analytics.schema import country_name
from analytics.store import Store
from ui import i18n
from ui.i18n import t
from ui.text import md

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = list(history.SAMPLE_FILES)
_frame = threading.local()
log = logging.getLogger("radar")


# ---------------------------------------------------------------- the frame guard (see docs/ARCHITECTURE.md)


def enter_frame() -> None:
    _frame.active = True


def leave_frame() -> None:
    _frame.active = False


def ensure_frame() -> None:
    """Run the entry script instead when Streamlit started a page file on its own (legacy pages/ mode).

    On a fresh server the first request for /some_page runs pages/some_page.py alone, without app.py's
    navigation and sidebar; running app.py here turns on st.navigation and draws the page in its frame.
    """
    if getattr(_frame, "active", False):
        return
    import runpy

    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
    st.stop()


# ---------------------------------------------------------------- datasets


@st.cache_resource(show_spinner=False)
def sample_dataset() -> Dataset:
    dataset = load_files(SAMPLE_FILES, programme=load_programme(), label="Bundled sample")
    dataset.sample = True
    return dataset


@st.cache_resource(show_spinner=False, max_entries=32)
def snapshot_dataset(store_path: str, snapshot_id: str) -> Dataset:
    """A published snapshot, opened once per process and shared by every session (read through cursors). Cheap
    to keep: its data stays in its file, read through the process's one DuckDB instance (analytics/catalog.py)."""
    return Store(store_path).load(snapshot_id, load_programme())


def store() -> Store:
    return Store()


def published() -> Dataset:
    """The current published snapshot; the bundled sample when the store has none.

    The pointer file is read on every run, so each session sees a new publish on its next interaction.
    """
    current_store = store()
    snapshot_id = current_store.current_id()
    if snapshot_id is None:
        return sample_dataset()
    try:
        with st.spinner(t("sidebar.loading_snapshot", id=snapshot_id)):
            return snapshot_dataset(str(current_store.path), snapshot_id)
    except Exception:  # a damaged snapshot must not take the dashboard down
        log.exception("cannot load snapshot %s", snapshot_id)
        st.toast(t("sidebar.snapshot_failed"), icon=":material/error:")
        return sample_dataset()


def current() -> Dataset:
    """The dataset this session shows: its private upload if it chose one, else the published one."""
    private = st.session_state.get("private_dataset")
    return private if private is not None else published()


def is_private() -> bool:
    return st.session_state.get("private_dataset") is not None


@st.cache_data(show_spinner=False, max_entries=512)
def _query(
    _dataset: Dataset,
    _function: Callable[..., pd.DataFrame],
    name: str,
    version: str,
    countries: tuple,
    segments: tuple,
    partner: str,
    extra: tuple,
) -> pd.DataFrame:
    # Keyed by the function's qualified name, the dataset version (snapshot id or content hash) and the filters;
    # neither the dataset nor the function is hashed.
    return _function(_dataset.cursor(), Filters(countries, segments, partner), **dict(extra))


def query(function: Callable[..., pd.DataFrame], filters: Filters | None = None, **extra) -> pd.DataFrame:
    """A figure (a query function of analytics.metrics) for the current dataset, cached by the function's
    qualified name, the dataset version and the filters."""
    dataset = current()
    filters = filters if filters is not None else get_filters()
    name = f"{function.__module__}.{function.__qualname__}"
    return _query(
        dataset,
        function,
        name,
        dataset.version,
        filters.countries,
        filters.segments,
        filters.partner,
        tuple(extra.items()),
    )


def whole(
    function: Callable[..., pd.DataFrame],
    filters: Filters,
    shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    **extra,
) -> Callable[[], pd.DataFrame]:
    """Every row of a figure (then `shape`d as the page shows it), for a download that runs on the click: the
    dataset is taken now, since the click is served outside the script run (no session there); not cached."""
    dataset = current()

    def rows() -> pd.DataFrame:
        frame = function(dataset.cursor(), filters, **extra)
        return shape(frame) if shape is not None else frame

    return rows


@st.cache_data(show_spinner=False, max_entries=64)
def _countries(_dataset: Dataset, version: str) -> pd.DataFrame:
    return metrics.countries(_dataset.cursor())


@st.cache_data(show_spinner=False, max_entries=64)
def _row_counts(_dataset: Dataset, version: str) -> dict:
    return metrics.row_counts(_dataset.cursor())


def row_counts() -> dict:
    """Rows per table of the current dataset (cached by its version)."""
    dataset = current()
    return _row_counts(dataset, dataset.version)


def note_missing_partner_data() -> None:
    """Say plainly when the data has no partner rows, so opt-outs and readiness read as 'no data', not 'none'."""
    if row_counts()["partners"] == 0:
        st.info(t("sidebar.no_partner_data"), icon=":material/info:")


@st.cache_data(show_spinner=False, max_entries=64)
def _segments(_dataset: Dataset, version: str) -> list[str]:
    return metrics.segments(_dataset.cursor())


# ---------------------------------------------------------------- filters (URL <-> session <-> widgets)

FILTER_KEYS = ("country", "segment", "partner")


def _from_url() -> dict:
    params = st.query_params
    return {
        "country": [c.upper() for c in params.get_all("country")],
        "segment": [s.lower() for s in params.get_all("segment")],
        "partner": params.get("partner", ""),
    }


def get_filters() -> Filters:
    state = st.session_state.get("_filters") or _from_url()
    return Filters(tuple(state["country"]), tuple(state["segment"]), state["partner"])


def _store(key: str) -> None:
    state = st.session_state.setdefault("_filters", _from_url())
    state[key] = st.session_state[f"w_{key}"]


def sidebar() -> Filters:
    """The filters every page shares; their state lives in the session and is mirrored to the URL."""
    dataset = current()
    state = st.session_state.setdefault("_filters", _from_url())
    countries = _countries(dataset, dataset.version)
    options = list(countries["country"])
    # Keep values from a bookmark even when the current data lacks them, so the view says "no data".
    for code in state["country"]:
        if code not in options:
            options.append(code)
    segments = _segments(dataset, dataset.version)
    for segment in state["segment"]:
        if segment not in segments:
            segments.append(segment)
    for key in FILTER_KEYS:
        st.session_state.setdefault(f"w_{key}", state[key])
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
        st.multiselect(
            t("sidebar.country"),
            options,
            key="w_country",
            format_func=lambda c: f"{c} · {country_name(c, 'de' if language == 'de' else 'en')}",
            on_change=_store,
            args=("country",),
            placeholder=t("sidebar.country_placeholder"),
            help=t("sidebar.country_help"),
            # Prefix matching: typing "DE" + Enter picks Germany, not "select 3 matches" (DE, DK, SE).
            filter_mode="prefix",
        )
        st.text_input(
            t("sidebar.partner"),
            key="w_partner",
            on_change=_store,
            args=("partner",),
            placeholder=t("sidebar.partner_placeholder"),
            help=t("sidebar.partner_help"),
        )
        st.multiselect(
            t("sidebar.segment"),
            segments,
            key="w_segment",
            on_change=_store,
            args=("segment",),
            format_func=lambda v: t(f"segment.{v}") if v in SEGMENTS else v,
            placeholder=t("sidebar.segment_placeholder"),
        )
        _sync_url(state)
        st.divider()
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
        counts = dataset.result.accepted
        if is_private():
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
                label=md(label(dataset)),
                origin=origin,
                subscriptions=i18n.fmt_int(counts["subscriptions"]),
                partners=i18n.fmt_int(counts["partners"]),
                customers=i18n.fmt_int(counts["customers"]),
                rejected=i18n.fmt_int(dataset.result.rejected),
                when_label=t("sidebar.published") if dataset.snapshot else t("sidebar.loaded"),
                when=f"{i18n.fmt_date(dataset.loaded_at.date())} {dataset.loaded_at:%H:%M} UTC",
            )
        )
    _announce_new_snapshot(dataset)
    return get_filters()


def label(dataset: Dataset) -> str:
    """The dataset's name for display: the file names, or the sample's name in the active language (raw text:
    `md()` it for Markdown)."""
    # The sample is recognised by its mark, not by loading it to compare (a published snapshot never loads it).
    return t("sidebar.sample_label") if dataset.sample else dataset.label


def _store_lang() -> None:
    chosen = st.session_state.get("w_lang")
    if chosen:
        st.session_state["_lang"] = chosen
    else:  # a click on the selected option clears a segmented control: keep the language
        st.session_state["w_lang"] = st.session_state.get("_lang", "en")


def start_language() -> None:
    """Fix the session's language on its first run (URL, else browser), so page switches keep it."""
    st.session_state.setdefault("_lang", i18n.lang())
    if st.session_state["_lang"] != i18n._from_browser() or "lang" in st.query_params:
        st.query_params["lang"] = st.session_state["_lang"]


def _announce_new_snapshot(dataset: Dataset) -> None:
    """Tell a session when the published data changed under it since its last interaction."""
    seen = st.session_state.get("seen_version")
    if seen is not None and seen != dataset.version and not is_private():
        st.toast(
            t("sidebar.new_snapshot", label=md(dataset.label), id=dataset.snapshot or "sample"), icon=":material/sync:"
        )
    st.session_state["seen_version"] = dataset.version


def _sync_url(state: dict) -> None:
    """Write the filters to the URL on every run, so page switches and reloads keep them."""
    wanted = {"country": list(state["country"]), "segment": list(state["segment"]), "partner": state["partner"]}
    for key, value in wanted.items():
        current_value = st.query_params.get_all(key) if isinstance(value, list) else st.query_params.get(key, "")
        if value and current_value != value:
            st.query_params[key] = value
        elif not value and key in st.query_params:
            del st.query_params[key]


def describe(filters: Filters) -> str:
    """What the view is narrowed to, for page captions ("showing DE, AT · partner contains …"), as Markdown: the
    filter values come from the URL, so they are escaped."""
    return filters.human_clause(i18n.lang(), escape=md)


def with_totals(function: Callable[..., pd.DataFrame], filters: Filters):
    """A figure for the filters with the same figure over all data: (all rows, the first row, total(key)).

    `total(key)` is None without a filter, so KPI cards compare against all data only when it differs.
    """
    head = query(function, filters)
    base = query(function, Filters()).iloc[0] if is_filtered(filters) else None

    def total(key: str):
        return None if base is None else base[key]

    return head, head.iloc[0], total


def is_filtered(filters: Filters) -> bool:
    return bool(filters.countries or filters.segments or filters.partner)
