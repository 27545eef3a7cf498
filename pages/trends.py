"""Trends: how exposure, opt-outs, readiness and projected volume moved from snapshot to snapshot."""

import plotly.graph_objects as go
import streamlit as st

from ui import frame, history
from ui.filters import describe, selected
from ui.i18n import fmt_int, t
from ui.widgets import COLOURS, chart, empty, style, table

frame.ensure()

filters = selected()
st.title(t("trends.title"))
ids, sample = history.snapshots()
st.caption(t("trends.caption", showing=describe(filters)))
if len(ids) < 2:
    empty(t("trends.empty"))
    st.stop()
if sample:
    st.info(t("trends.sample", weeks=len(ids)), icon=":material/info:")

key = (filters.countries, filters.segments, filters.partner)
with st.spinner(t("trends.comparing")):
    frame = history.trend(tuple(ids), sample, *key)
totals = frame[frame["country"].isna()]
left, right = st.columns(2)
with left:
    fig = go.Figure()
    for column, name, colour in (
        ("after_seats", t("trends.after_seats"), COLOURS["after"]),
        ("projected_seats", t("trends.projected_seats"), COLOURS["ready"]),
        ("projected_at_risk_seats", t("trends.at_risk"), COLOURS["at_risk"]),
    ):
        fig.add_scatter(x=totals["created"], y=totals[column], name=name, mode="lines+markers", marker_color=colour)
    fig = style(fig, t("trends.chart_volume"), y_title=t("col.seats"))
    chart(fig.update_layout(legend={"y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left"}), "trend_volume")
with right:
    fig = go.Figure()
    fig.add_scatter(
        x=totals["created"],
        y=totals["opt_out_rate"],
        name=t("trends.opt_out_rate"),
        mode="lines+markers",
        marker_color=COLOURS["opted_out"],
    )
    fig.add_scatter(
        x=totals["created"],
        y=totals["readiness_rate"],
        name=t("trends.ready_rate"),
        mode="lines+markers",
        marker_color=COLOURS["ready"],
    )
    fig.update_yaxes(tickformat=".0%")
    fig = style(fig, t("trends.chart_rates"))
    chart(fig.update_layout(legend={"y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left"}), "trend_rates")
table(frame.assign(country=frame["country"].fillna(t("trends.total"))), "snapshot_trends")

newest, previous = ids[-1], ids[-2]
st.subheader(t("trends.changed", new=newest, old=previous))
with st.spinner(t("trends.comparing")):
    changed = history.diff(newest, previous, sample, *key)
labels = {code: t(f"trends.{code}") for code in ("became_ready", "new_opt_out", "appeared", "vanished")}
counts = changed.groupby("change")["of_kind"].first()
for col, (code, label) in zip(st.columns(4), labels.items(), strict=True):
    col.metric(label, fmt_int(int(counts.get(code, 0))), border=True)


def shown(frame):
    return frame.drop(columns="of_kind").assign(change=frame["change"].map(labels))


every = history.every_change(newest, previous, sample, *key)
table(shown(changed), "snapshot_changes", total_rows=int(counts.sum()), full=lambda: shown(every()))
