"""Opt-outs: which exposed partners told the distributor not to migrate them, when, and how much volume."""

import plotly.graph_objects as go
import streamlit as st

from analytics import metrics
from ui import datasets, frame
from ui.filters import describe, selected
from ui.i18n import fmt_int, fmt_long_date, plotly_date_format, t
from ui.text import plot_all
from ui.widgets import (
    COLOURS,
    MAX_SCREEN_ROWS,
    chart,
    date_lines,
    empty,
    kpi,
    list_size,
    style,
    table,
    with_country_names,
)

frame.ensure()

filters = selected()
programme = datasets.current().programme
deadline = fmt_long_date(programme.opt_out_deadline)
st.title(t("opt_outs.title"))
st.caption(t("opt_outs.caption", deadline=deadline, showing=describe(filters)))
datasets.note_missing_partner_data()

head, row, total = datasets.with_totals(metrics.headline, filters)
if int(row["partners_exposed"]) == 0:
    empty(t("opt_outs.empty"))
    st.stop()
cols = st.columns(5)
kpi(cols[0], t("opt_outs.exposed"), row["partners_exposed"], total("partners_exposed"))
kpi(cols[1], t("opt_outs.opted_out"), row["partners_opted_out"], total("partners_opted_out"))
kpi(cols[2], t("opt_outs.rate"), row["opt_out_rate"], total("opt_out_rate"), pct=True)
kpi(
    cols[3],
    t("opt_outs.seat_rate"),
    row["opt_out_seat_rate"],
    total("opt_out_seat_rate"),
    pct=True,
    help=t("opt_outs.seat_rate_help"),
)
kpi(
    cols[4],
    t("opt_outs.late"),
    row["late_opt_outs"],
    total("late_opt_outs"),
    help=t("opt_outs.late_help", deadline=deadline),
)

by_country = with_country_names(head[head["country"].notna()])[
    [
        "country",
        "partners_exposed",
        "partners_opted_out",
        "opt_out_rate",
        "after_seats",
        "opted_out_seats",
        "opt_out_seat_rate",
        "late_opt_outs",
    ]
]
left, right = st.columns(2)
with left:
    countries = plot_all(by_country["country"])
    fig = go.Figure()
    fig.add_bar(
        x=countries,
        y=by_country["opt_out_rate"],
        name=t("opt_outs.share_partners"),
        marker_color=COLOURS["opted_out"],
        hovertemplate="%{x}: %{y:.1%} " + t("opt_outs.hover_share_partners") + "<extra></extra>",
    )
    fig.add_bar(
        x=countries,
        y=by_country["opt_out_seat_rate"],
        name=t("opt_outs.share_seats"),
        marker_color="#D4A6C8",
        hovertemplate="%{x}: %{y:.1%} " + t("opt_outs.hover_share_seats") + "<extra></extra>",
    )
    fig.update_yaxes(tickformat=".0%")
    chart(style(fig, t("opt_outs.chart_rate")), "rate_chart")
    table(by_country, "opt_outs_by_country")
with right:
    timeline = datasets.query(metrics.opt_outs_over_time, filters)
    if timeline.empty:
        empty(t("opt_outs.no_dates"))
    else:
        day = "%{x|" + plotly_date_format() + "}"
        fig = go.Figure()
        fig.add_scatter(
            x=timeline["opt_out_date"],
            y=timeline["cumulative"],
            mode="lines+markers",
            line_shape="hv",
            name=t("opt_outs.running_total"),
            marker_color=COLOURS["opted_out"],
            hovertemplate=day + ": %{y:,} " + t("opt_outs.hover_total") + "<extra></extra>",
        )
        late = timeline[timeline["late"]]
        fig.add_scatter(
            x=late["opt_out_date"],
            y=late["cumulative"],
            mode="markers",
            name=t("opt_outs.late_marker"),
            marker={"color": COLOURS["late"], "size": 11, "symbol": "x"},
            hovertemplate=day + ": " + t("opt_outs.late_marker") + "<extra></extra>",
        )
        chart(
            date_lines(style(fig, t("opt_outs.chart_timeline"), y_title=t("opt_outs.axis_partners")), programme),
            "timeline_chart",
        )
        table(timeline, "opt_outs_over_time")

st.subheader(t("opt_outs.list_title"))
opted = with_country_names(datasets.query(metrics.opted_out_partners, filters, limit=MAX_SCREEN_ROWS))
columns = [
    "partner_id",
    "partner_name",
    "countries",
    "opt_out_date",
    "late_opt_out",
    "after_subscriptions",
    "after_seats",
    "has_partner_row",
]
count, seats = list_size(opted)
table(
    opted[columns],
    "opted_out_partners",
    caption=t("opt_outs.list_caption", count=fmt_int(count), seats=fmt_int(seats)),
    total_rows=count,
    full=datasets.whole(metrics.opted_out_partners, filters, lambda frame: frame[columns]),
)
