"""Exposure: how much legacy volume ends before and after the cutoff, where, and with which partners."""

import plotly.graph_objects as go
import streamlit as st

from ui import state

state.ensure_frame()

from ui.widgets import COLOURS, DATE, INT, SIDE_LABELS, chart, date_lines, empty, kpi, style, table  # noqa: E402

filters = state.get_filters()
programme = state.current().programme
st.title("Exposure")
st.caption(
    f"Legacy commercial subscriptions by term end against the cutoff of {programme.cutoff:%d %B %Y} "
    f"· showing {state.describe(filters)}"
)

head = state.query("headline", filters)
if head.empty or int(head.iloc[0]["subscriptions_in_scope"]) + int(head.iloc[0]["subscriptions_exempt"]) == 0:
    empty("No subscriptions match this selection. Widen the country, segment or partner filter in the sidebar.")
    st.stop()
row = head.iloc[0]
base = state.query("headline", state.Filters()).iloc[0] if state.is_filtered(filters) else None


def total(key):
    return None if base is None else base[key]


cols = st.columns(6)
kpi(
    cols[0],
    "Subscriptions in scope",
    row["subscriptions_in_scope"],
    total("subscriptions_in_scope"),
    help="Active legacy subscriptions of non-exempt segments with a term end.",
)
kpi(cols[1], "Seats in scope", row["seats_in_scope"], total("seats_in_scope"))
kpi(
    cols[2],
    "Before cutoff",
    row["before_subscriptions"],
    total("before_subscriptions"),
    help=f"Term ends before {programme.cutoff:%d %b %Y}: renewed on legacy terms if auto-renew is on.",
)
kpi(
    cols[3],
    "After cutoff",
    row["after_subscriptions"],
    total("after_subscriptions"),
    help=f"Term ends on or after {programme.cutoff:%d %b %Y}: migrated to NCE unless the partner opted out.",
)
kpi(
    cols[4],
    "Lapse risk",
    row["lapse_risk_subscriptions"],
    total("lapse_risk_subscriptions"),
    help="Before the cutoff with auto-renew off: lapses silently, nobody is notified.",
)
kpi(
    cols[5],
    "Exempt",
    row["subscriptions_exempt"],
    total("subscriptions_exempt"),
    help=f"Segments that keep legacy CSP: {', '.join(programme.exempt_segments)}.",
)
st.caption(
    f"After-cutoff seats: **{int(row['after_seats']):,}** · lapse-risk seats: "
    f"**{int(row['lapse_risk_seats']):,}** · no term end (usage based): {int(row['subscriptions_no_term_end']):,}"
    f" · suspended or deleted: {int(row['subscriptions_inactive']):,} (counted apart)"
)

grain = st.segmented_control("Expirations per", ["month", "week"], default="month", key="grain") or "month"
measure = st.segmented_control("Measure", ["seats", "subscriptions"], default="seats", key="measure") or "seats"
exp = state.query("expirations", filters, grain=grain)
fig = go.Figure()
for side in ("before", "after"):
    part = exp[exp["side"] == side]
    fig.add_bar(
        x=part["period"],
        y=part[measure],
        name=SIDE_LABELS[side],
        marker_color=COLOURS[side],
        customdata=part[["subscriptions", "seats"]],
        hovertemplate="%{customdata[0]:,} subscriptions · %{customdata[1]:,} seats<extra>%{fullData.name}</extra>",
    )
fig.update_layout(barmode="stack")
chart(date_lines(style(fig, f"In-scope {measure} by term end ({grain})", y_title=measure), programme), "exp_chart")
with st.expander("Table: expirations", expanded=False):
    table(exp, "expirations", column_config={"period": DATE, "subscriptions": INT, "seats": INT})

left, right = st.columns(2)
with left:
    by_country = head[head["country"].notna()][
        ["country", "before_subscriptions", "before_seats", "after_subscriptions", "after_seats", "lapse_risk_seats"]
    ]
    fig = go.Figure()
    for side in ("before", "after"):
        fig.add_bar(
            y=by_country["country"],
            x=by_country[f"{side}_{measure}"],
            name=SIDE_LABELS[side],
            orientation="h",
            marker_color=COLOURS[side],
            hovertemplate="%{y}: %{x:,}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(barmode="stack", hovermode="y unified")
    fig.update_yaxes(autorange="reversed")
    chart(
        style(fig, f"Before/after cutoff by country ({measure})", height=max(300, 28 * len(by_country) + 120)),
        "country_chart",
    )
    table(by_country, "exposure_by_country", column_config={c: INT for c in by_country.columns if c != "country"})
with right:
    partners = state.query("exposed_partners", filters)
    top = partners.head(15)
    fig = go.Figure(
        go.Bar(
            y=top["partner_name"],
            x=top["after_seats"],
            orientation="h",
            marker_color=COLOURS["after"],
            customdata=top[["partner_id", "after_subscriptions", "countries"]],
            hovertemplate="%{y} (%{customdata[0]}, %{customdata[2]})<br>%{x:,} seats · "
            "%{customdata[1]:,} subscriptions after cutoff<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    chart(style(fig, "Top partners by after-cutoff seats", height=max(300, 28 * len(top) + 120)), "partner_chart")
    cols_shown = [
        "partner_id",
        "partner_name",
        "countries",
        "after_subscriptions",
        "after_seats",
        "before_subscriptions",
        "lapse_risk_subscriptions",
        "first_after_cutoff_end",
        "opted_out",
        "fully_ready",
    ]
    table(
        partners[cols_shown],
        "exposed_partners",
        height=360,
        column_config={"after_seats": INT, "after_subscriptions": INT, "first_after_cutoff_end": DATE},
        caption=f"{len(partners):,} exposed partners",
    )
