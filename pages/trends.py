"""Trends: how exposure, opt-outs, readiness and projected volume moved from snapshot to snapshot."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import state

state.ensure_frame()

from analytics.trends import changes, snapshot_trend  # noqa: E402
from ui.widgets import COLOURS, PCT, chart, empty, style, table  # noqa: E402

filters = state.get_filters()
st.title("Trends")
st.caption(f"Published snapshots, oldest to newest · showing {state.describe(filters)}")

history = sorted(state.store().list(), key=lambda s: s.id)[-12:]
if len(history) < 2:
    empty("Trends need at least two published snapshots. Publish the weekly export on the Data page.")
    st.stop()
path = str(state.store().path)


@st.cache_data(show_spinner="Comparing snapshots…", max_entries=64)
def trend(ids: tuple, countries: tuple, segments: tuple, partner: str) -> pd.DataFrame:
    datasets = [state.snapshot_dataset(path, i) for i in ids]
    return snapshot_trend(datasets, state.Filters(countries, segments, partner))


@st.cache_data(show_spinner=False, max_entries=64)
def diff(new: str, old: str, countries: tuple, segments: tuple, partner: str) -> pd.DataFrame:
    return changes(
        state.snapshot_dataset(path, new),
        state.snapshot_dataset(path, old),
        state.Filters(countries, segments, partner),
    )


key = (filters.countries, filters.segments, filters.partner)
frame = trend(tuple(s.id for s in history), *key)
totals = frame[frame["country"].isna()]
left, right = st.columns(2)
with left:
    fig = go.Figure()
    fig.add_scatter(
        x=totals["created"],
        y=totals["after_seats"],
        name="After-cutoff seats",
        mode="lines+markers",
        marker_color=COLOURS["after"],
    )
    fig.add_scatter(
        x=totals["created"],
        y=totals["projected_seats"],
        name="Projected NCE seats",
        mode="lines+markers",
        marker_color=COLOURS["ready"],
    )
    fig.add_scatter(
        x=totals["created"],
        y=totals["projected_at_risk_seats"],
        name="of which at risk",
        mode="lines+markers",
        marker_color=COLOURS["at_risk"],
    )
    chart(style(fig, "Exposure and projected volume per snapshot", y_title="seats"), "trend_volume")
with right:
    fig = go.Figure()
    fig.add_scatter(
        x=totals["created"],
        y=totals["opt_out_rate"],
        name="Opt-out rate",
        mode="lines+markers",
        marker_color=COLOURS["opted_out"],
    )
    fig.add_scatter(
        x=totals["created"],
        y=totals["readiness_rate"],
        name="Fully ready",
        mode="lines+markers",
        marker_color=COLOURS["ready"],
    )
    fig.update_yaxes(tickformat=".0%")
    chart(style(fig, "Opt-out and readiness completion per snapshot"), "trend_rates")
table(frame, "snapshot_trends", column_config={"opt_out_rate": PCT, "readiness_rate": PCT})

newest, previous = history[-1], history[-2]
st.subheader(f"What changed: {newest.id} against {previous.id}")
changed = diff(newest.id, previous.id, *key)
labels = {
    "became_ready": "Became fully ready",
    "new_opt_out": "New opt-outs",
    "appeared": "Subscriptions that appeared",
    "vanished": "Subscriptions that vanished",
}
cols = st.columns(4)
for col, (code, label) in zip(cols, labels.items(), strict=True):
    col.metric(label, f"{int((changed['change'] == code).sum()):,}", border=True)
table(changed.assign(change=changed["change"].map(labels)), "snapshot_changes")
