"""The session's data: which dataset it sees (its private upload, the published snapshot or the bundled sample),
and the figures of that dataset, cached per dataset version and filters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import figures, history, metrics
from analytics.dataset import Dataset, load_files
from analytics.metrics import Filters
from analytics.programme import load_programme
from analytics.store import Store
from ui import filters as shared_filters
from ui.i18n import t

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = list(history.SAMPLE_FILES)
PRIVATE = "private_dataset"  # session key: the upload this session explores privately (set by use_private)
log = logging.getLogger("radar")


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


def published_for_warmup() -> Dataset:
    """The dataset `published()` gives a session, opened outside any session (ui/warmup.py): no spinner, and a
    failure is the caller's to log."""
    current_store = store()
    snapshot_id = current_store.current_id()
    return sample_dataset() if snapshot_id is None else snapshot_dataset(str(current_store.path), snapshot_id)


def current() -> Dataset:
    """The dataset this session shows: its private upload if it chose one, else the published one."""
    private = st.session_state.get(PRIVATE)
    return private if private is not None else published()


def use_private(dataset: Dataset | None) -> None:
    """Show this session `dataset` (a staged upload) instead of the published data; None goes back."""
    if dataset is None:
        st.session_state.pop(PRIVATE, None)
    else:
        st.session_state[PRIVATE] = dataset


def is_private() -> bool:
    return st.session_state.get(PRIVATE) is not None


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
    return _figure(current(), function, filters if filters is not None else shared_filters.selected(), extra)


def _figure(dataset: Dataset, function: Callable[..., pd.DataFrame], filters: Filters, extra: dict) -> pd.DataFrame:
    """The one way into the figure cache, for the pages (query) and the warm-up (warm), so both make one key: the
    extra arguments sorted by name, whatever order a call site writes them in."""
    name = f"{function.__module__}.{function.__qualname__}"
    arguments = tuple(sorted(extra.items()))
    return _query(
        dataset, function, name, dataset.version, filters.countries, filters.segments, filters.partner, arguments
    )


def warm(dataset: Dataset) -> int:
    """Compute every page's figures without a filter (analytics.figures.PAGES, with the arguments each page starts
    with) and the sidebar's lists into the caches the pages read, as their first request would; returns how many."""
    lists = (_countries, _segments, _row_counts)
    for cached in lists:
        cached(dataset, dataset.version)
    uses = {(use.figure, tuple(sorted(use.arguments.items()))) for page in figures.PAGES.values() for use in page}
    for name, arguments in uses:
        figure = figures.FIGURES[name]
        if figure.filtered:
            _figure(dataset, figure.function, Filters(), dict(arguments))
    return len(lists) + sum(figures.FIGURES[name].filtered for name, _ in uses)


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


def countries_and_segments() -> tuple[list[str], list[str]]:
    """The current dataset's country codes and segments, for the sidebar's filters (cached by its version)."""
    dataset = current()
    return list(_countries(dataset, dataset.version)["country"]), list(_segments(dataset, dataset.version))


def label(dataset: Dataset) -> str:
    """The dataset's name for display: the file names, or the sample's name in the active language (raw text:
    `md()` it for Markdown)."""
    # The sample is recognised by its mark, not by loading it to compare (a published snapshot never loads it).
    return t("sidebar.sample_label") if dataset.sample else dataset.label


def with_totals(function: Callable[..., pd.DataFrame], filters: Filters):
    """A figure for the filters with the same figure over all data: (all rows, the first row, total(key)).

    `total(key)` is None without a filter, so KPI cards compare against all data only when it differs.
    """
    head = query(function, filters)
    base = query(function, Filters()).iloc[0] if shared_filters.is_filtered(filters) else None

    def total(key: str):
        return None if base is None else base[key]

    return head, head.iloc[0], total
