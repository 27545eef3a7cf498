"""Streamlit side of Trends: which history a session sees (the store's snapshots, else the bundled sample's weeks),
their summaries and the diff, cached per process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import streamlit as st

from analytics.dataset import Dataset
from analytics.history import bundled_summaries, compute_summaries, load_week, sample_weeks
from analytics.metrics import Filters
from analytics.programme import load_programme
from analytics.store import Store
from analytics.trends import change_rows, filter_changes, snapshot_trend, summarised, summary_trend
from ui import datasets

MAX_SNAPSHOTS = 12  # the newest this many snapshots are drawn


def snapshots() -> tuple[list[str], bool]:
    """The ids Trends compares, oldest first, and whether they are the bundled sample's weeks (fewer than two
    snapshots are published)."""
    published = sorted(s.id for s in datasets.store().list())[-MAX_SNAPSHOTS:]
    if len(published) >= 2:
        return published, False
    return [w.id for w in sample_weeks()], True


@st.cache_data(show_spinner=False, max_entries=64)
def _store_summaries(store_path: str, ids: tuple[str, ...]) -> list[tuple[str, dt.datetime, pa.Table]]:
    store = Store(store_path)
    programme = load_programme()
    found = []
    for snapshot_id in ids:
        snapshot = store.get(snapshot_id)
        found.append((snapshot_id, dt.datetime.fromisoformat(snapshot.created), store.summary(snapshot, programme)))
    return found


@st.cache_resource(show_spinner=False)
def _sample_summaries() -> list[tuple[str, dt.datetime, pa.Table]]:
    return bundled_summaries() or compute_summaries()


@st.cache_resource(show_spinner=False, max_entries=8)
def _sample_week(week_id: str) -> Dataset:
    week = next(w for w in sample_weeks() if w.id == week_id)
    return load_week(week)


def dataset(snapshot_id: str, sample: bool) -> Dataset:
    if not sample:
        return datasets.snapshot_dataset(str(datasets.store().path), snapshot_id)
    if snapshot_id == sample_weeks()[-1].id:
        return datasets.sample_dataset()  # the latest week is the bundled sample the other pages show
    return _sample_week(snapshot_id)


@st.cache_data(show_spinner=False, max_entries=64)
def trend(ids: tuple[str, ...], sample: bool, countries: tuple, segments: tuple, partner: str) -> pd.DataFrame:
    """One headline row per snapshot and country: from the summaries when they answer the filter, else from each
    snapshot's roll-ups (analytics/trends.py)."""
    filters = Filters(countries, segments, partner)
    if summarised(filters):
        found = _sample_summaries() if sample else _store_summaries(str(datasets.store().path), ids)
        return summary_trend(found, filters)
    return snapshot_trend([dataset(i, sample) for i in ids], filters)


DIFF_ROWS = 2_000  # rows per kind of change the page holds; the counts and the download have them all


@st.cache_resource(show_spinner=False, max_entries=16)
def _change_rows(store_path: str, new: str, old: str, sample: bool) -> pa.Table:
    """Every change from `old` to `new` with where it shows (small): the file a publish kept for a published
    pair, the two weeks compared for the sample's."""
    if sample:
        return change_rows(dataset(new, sample), dataset(old, sample))
    return Store(store_path).change_rows(new, old, load_programme())


@st.cache_data(show_spinner=False, max_entries=64)
def diff(new: str, old: str, sample: bool, countries: tuple, segments: tuple, partner: str) -> pd.DataFrame:
    """The changes from snapshot `old` to `new`: exact counts (`of_kind`), the first DIFF_ROWS rows of each kind."""
    rows = _change_rows(str(datasets.store().path), new, old, sample)
    return filter_changes(rows, Filters(countries, segments, partner), DIFF_ROWS)


def every_change(
    new: str, old: str, sample: bool, countries: tuple, segments: tuple, partner: str
) -> Callable[[], pd.DataFrame]:
    """Every change, for a download that runs on the click (outside the script run: the rows are taken now)."""
    rows = _change_rows(str(datasets.store().path), new, old, sample)
    filters = Filters(countries, segments, partner)
    return lambda: filter_changes(rows, filters)
