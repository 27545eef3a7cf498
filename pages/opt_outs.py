"""Opt-outs: which exposed partners told the distributor not to migrate them, when, and how much volume."""

import plotly.graph_objects as go
import streamlit as st

from ui import state

state.ensure_frame()

from ui.widgets import COLOURS, DATE, INT, PCT, chart, date_lines, empty, kpi, style, table  # noqa: E402

filters = state.get_filters()
programme = state.current().programme
st.title("Opt-outs")
st.caption(
    f"Opt-out forms of exposed partners; on time if received on or before "
    f"{programme.opt_out_deadline:%d %B %Y} · showing {state.describe(filters)}"
)

head = state.query("headline", filters)
if head.empty or int(head.iloc[0]["partners_exposed"]) == 0:
    empty("No exposed partners (none with a subscription ending on or after the cutoff) in this selection.")
    st.stop()
row = head.iloc[0]
base = state.query("headline", state.Filters()).iloc[0] if state.is_filtered(filters) else None


def total(key):
    return None if base is None else base[key]


cols = st.columns(5)
kpi(cols[0], "Exposed partners", row["partners_exposed"], total("partners_exposed"))
kpi(cols[1], "Opted out", row["partners_opted_out"], total("partners_opted_out"))
kpi(cols[2], "Opt-out rate (partners)", row["opt_out_rate"], total("opt_out_rate"), pct=True)
kpi(
    cols[3],
    "Opt-out rate (seats)",
    row["opt_out_seat_rate"],
    total("opt_out_seat_rate"),
    pct=True,
    help="After-cutoff seats of opted-out partners ÷ all after-cutoff seats.",
)
kpi(
    cols[4],
    "Late opt-outs",
    row["late_opt_outs"],
    total("late_opt_outs"),
    help=f"Received after the deadline of {programme.opt_out_deadline:%d %b %Y}.",
)

by_country = head[head["country"].notna()][
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
    fig = go.Figure()
    fig.add_bar(
        x=by_country["country"],
        y=by_country["opt_out_rate"],
        name="Share of partners",
        marker_color=COLOURS["opted_out"],
        hovertemplate="%{x}: %{y:.1%} of exposed partners<extra></extra>",
    )
    fig.add_bar(
        x=by_country["country"],
        y=by_country["opt_out_seat_rate"],
        name="Share of after-cutoff seats",
        marker_color="#D4A6C8",
        hovertemplate="%{x}: %{y:.1%} of after-cutoff seats<extra></extra>",
    )
    fig.update_yaxes(tickformat=".0%")
    chart(style(fig, "Opt-out rate by country"), "rate_chart")
    table(
        by_country,
        "opt_outs_by_country",
        column_config={"opt_out_rate": PCT, "opt_out_seat_rate": PCT, "after_seats": INT, "opted_out_seats": INT},
    )
with right:
    timeline = state.query("opt_outs_over_time", filters)
    if timeline.empty:
        empty("No dated opt-outs in this selection.")
    else:
        fig = go.Figure()
        fig.add_scatter(
            x=timeline["opt_out_date"],
            y=timeline["cumulative"],
            mode="lines+markers",
            line_shape="hv",
            name="Opt-outs received (running total)",
            marker_color=COLOURS["opted_out"],
            hovertemplate="%{x|%d %b %Y}: %{y:,} in total<extra></extra>",
        )
        late = timeline[timeline["late"]]
        fig.add_scatter(
            x=late["opt_out_date"],
            y=late["cumulative"],
            mode="markers",
            name="Late",
            marker={"color": COLOURS["late"], "size": 11, "symbol": "x"},
            hovertemplate="%{x|%d %b %Y}: late<extra></extra>",
        )
        chart(
            date_lines(style(fig, "Opt-outs over time against the deadline", y_title="partners"), programme),
            "timeline_chart",
        )
        table(timeline, "opt_outs_over_time", column_config={"opt_out_date": DATE})

st.subheader("Opted-out partners and their after-cutoff volume")
opted = state.query("opted_out_partners", filters)
shown = opted[
    [
        "partner_id",
        "partner_name",
        "countries",
        "opt_out_date",
        "late_opt_out",
        "after_subscriptions",
        "after_seats",
        "has_partner_row",
    ]
]
table(
    shown,
    "opted_out_partners",
    column_config={"opt_out_date": DATE, "after_seats": INT, "late_opt_out": st.column_config.CheckboxColumn("late")},
    caption=f"{len(shown):,} partners, {int(shown['after_seats'].sum()):,} after-cutoff seats stay on legacy terms",
)
