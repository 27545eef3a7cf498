"""NCE projection: how much volume moves to NCE per month and country, ready or at risk, with a what-if."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import state

state.ensure_frame()

from ui.widgets import COLOURS, INT, chart, date_lines, empty, kpi, style, table  # noqa: E402

filters = state.get_filters()
programme = state.current().programme
st.title("NCE projection")
st.caption(
    f"Subscriptions the distributor migrates to NCE: after-cutoff ones at their term end month, and before-cutoff "
    f"ones with auto-renew on at the first renewed end date on or after {programme.cutoff:%d %b %Y} (monthly terms "
    "+1 month, annual or unknown +12 months). Partners that opted out are left out; auto-renew unknown is not "
    f"projected · showing {state.describe(filters)}"
)

head = state.query("headline", filters)
if head.empty or int(head.iloc[0]["projected_subscriptions"]) == 0:
    empty("Nothing is projected to migrate in this selection.")
    st.stop()
row = head.iloc[0]
base = state.query("headline", state.Filters()).iloc[0] if state.is_filtered(filters) else None


def total(key):
    return None if base is None else base[key]


cols = st.columns(5)
kpi(cols[0], "Projected subscriptions", row["projected_subscriptions"], total("projected_subscriptions"))
kpi(cols[1], "Projected seats", row["projected_seats"], total("projected_seats"))
kpi(
    cols[2],
    "Ready seats",
    row["projected_ready_seats"],
    total("projected_ready_seats"),
    help="Seats of partners that completed all four readiness steps.",
)
kpi(
    cols[3],
    "At-risk seats",
    row["projected_at_risk_seats"],
    total("projected_at_risk_seats"),
    help="Seats of partners missing at least one readiness step.",
)
kpi(
    cols[4],
    "Migration progress",
    row["migration_progress"],
    total("migration_progress"),
    pct=True,
    help="NCE seats ÷ (NCE seats + in-scope legacy seats); empty without NCE rows in the data.",
)

st.subheader("What if")
share = (
    st.slider(
        "Share of at-risk volume expected to become ready before it migrates",
        0,
        100,
        0,
        5,
        format="%d%%",
        key="what_if",
    )
    / 100
)
st.caption(
    "Assumes the at-risk seats of each month convert at this rate, evenly across partners and months; "
    "the total projected volume does not change, only its split."
)
monthly = state.query("projection_what_if", filters, share=share)
months = pd.to_datetime(monthly["month"] + "-15")  # bars centred in their month on a date axis
fig = go.Figure()
fig.add_bar(
    x=monthly["month"],
    y=monthly["ready_seats"],
    name="Ready",
    marker_color=COLOURS["ready"],
    hovertemplate="%{x|%b %Y}: %{y:,} seats ready<extra></extra>",
)
if share > 0:
    fig.add_bar(
        x=monthly["month"],
        y=monthly["expected_ready_seats"],
        name=f"Expected to become ready ({share:.0%})",
        marker_color=COLOURS["expected_ready"],
        hovertemplate="%{x|%b %Y}: %{y:,} seats<extra></extra>",
    )
fig.add_bar(
    x=monthly["month"],
    y=monthly["remaining_at_risk_seats"],
    name="At risk",
    marker_color=COLOURS["at_risk"],
    hovertemplate="%{x|%b %Y}: %{y:,} seats at risk<extra></extra>",
)
fig.update_layout(barmode="stack")
fig.update_xaxes(dtick="M1", tickformat="%b %Y")
date_lines(fig, programme)
chart(style(fig, "Projected NCE seats per migration month", y_title="seats"), "monthly")
table(monthly, "projection_by_month", column_config={c: INT for c in monthly.columns if c != "month"})

st.subheader("By country and month")
measure = st.segmented_control("Measure", ["seats", "subscriptions"], default="seats", key="proj_measure") or "seats"
by_cm = state.query("projection", filters)
pivot = by_cm.pivot_table(index="country", columns="month", values=measure, aggfunc="sum", fill_value=0)
fig = go.Figure(
    go.Heatmap(
        z=pivot.values,
        x=list(pivot.columns),
        y=list(pivot.index),
        colorscale="Blues",
        hovertemplate="%{y} · %{x}: %{z:,} " + measure + "<extra></extra>",
    )
)
fig.update_xaxes(type="category")
fig.update_layout(hovermode="closest")
chart(style(fig, f"Projected {measure} by country and month", height=max(320, 30 * len(pivot) + 140)), "heat")
table(
    by_cm, "projection_by_country_month", column_config={c: INT for c in by_cm.columns if c not in ("country", "month")}
)
