"""NCE projection: how much volume moves to NCE per month and country, ready or at risk, with a what-if."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import metrics
from ui import datasets, frame
from ui.filters import describe, selected
from ui.i18n import fmt_long_date, fmt_month, fmt_pct, t
from ui.text import plot_all
from ui.widgets import COLOURS, chart, date_lines, empty, kpi, style, table, with_country_names

frame.ensure()

filters = selected()
programme = datasets.current().programme
st.title(t("projection.title"))
st.caption(t("projection.caption", cutoff=fmt_long_date(programme.cutoff), showing=describe(filters)))

head, row, total = datasets.with_totals(metrics.headline, filters)
if int(row["projected_subscriptions"]) == 0:
    empty(t("projection.empty"))
    st.stop()
cols = st.columns(5)
kpi(cols[0], t("projection.subscriptions"), row["projected_subscriptions"], total("projected_subscriptions"))
kpi(cols[1], t("projection.seats"), row["projected_seats"], total("projected_seats"))
kpi(
    cols[2],
    t("projection.ready"),
    row["projected_ready_seats"],
    total("projected_ready_seats"),
    help=t("projection.ready_help"),
)
kpi(
    cols[3],
    t("projection.at_risk"),
    row["projected_at_risk_seats"],
    total("projected_at_risk_seats"),
    help=t("projection.at_risk_help"),
)
kpi(
    cols[4],
    t("projection.progress"),
    row["migration_progress"],
    total("migration_progress"),
    pct=True,
    help=t("projection.progress_help"),
)

st.subheader(t("projection.what_if"))
share = st.slider(t("projection.share"), 0, 100, 0, 5, format="%d%%", key="what_if") / 100
st.caption(t("projection.assumes"))
monthly = datasets.query(metrics.projection_what_if, filters, share=share)
months = pd.to_datetime(monthly["month"] + "-15")  # bars centred in their month on a date axis
labels = monthly["month"].map(fmt_month)
fig = go.Figure()
series = [("ready_seats", t("projection.series_ready"), COLOURS["ready"])]
if share > 0:
    series.append(
        ("expected_ready_seats", t("projection.series_expected", share=fmt_pct(share)), COLOURS["expected_ready"])
    )
series.append(("remaining_at_risk_seats", t("projection.series_at_risk"), COLOURS["at_risk"]))
for column, name, colour in series:
    fig.add_bar(
        x=months,
        y=monthly[column],
        name=name,
        marker_color=colour,
        customdata=labels,
        hovertemplate="%{customdata}: %{y:,}<extra>%{fullData.name}</extra>",
    )
fig.update_layout(barmode="stack")
fig.update_xaxes(dtick="M1", tickformat="%m/%Y")
date_lines(fig, programme)
chart(style(fig, t("projection.chart_monthly"), y_title=t("projection.axis_seats")), "monthly")
table(monthly, "projection_by_month")

st.subheader(t("projection.by_country"))
measures = {"seats": t("col.seats"), "subscriptions": t("col.subscriptions")}
measure = (
    st.segmented_control(
        t("exposure.measure"), list(measures), format_func=measures.get, default="seats", key="proj_measure"
    )
    or "seats"
)
by_cm = with_country_names(datasets.query(metrics.projection, filters))
pivot = by_cm.pivot_table(index="country", columns="month", values=measure, aggfunc="sum", fill_value=0)
fig = go.Figure(
    go.Heatmap(
        z=pivot.values,
        x=[fmt_month(m) for m in pivot.columns],
        y=plot_all(pivot.index),
        colorscale="Blues",
        hovertemplate="%{y} · %{x}: %{z:,} " + measures[measure] + "<extra></extra>",
    )
)
fig.update_xaxes(type="category")
fig.update_layout(hovermode="closest")
chart(style(fig, t("projection.chart_heat", measure=measures[measure]), height=max(320, 30 * len(pivot) + 140)), "heat")
table(by_cm, "projection_by_country_month")
