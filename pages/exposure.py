"""Exposure: how much legacy volume ends before and after the cutoff, where, and with which partners."""

import plotly.graph_objects as go
import streamlit as st

from analytics import metrics
from ui import datasets, frame
from ui.filters import describe, selected
from ui.i18n import fmt_int, fmt_long_date, t
from ui.text import plot_all, plot_frame
from ui.widgets import (
    COLOURS,
    MAX_SCREEN_ROWS,
    chart,
    date_lines,
    empty,
    kpi,
    list_size,
    side_label,
    style,
    table,
    with_country_names,
)

frame.ensure()

filters = selected()
programme = datasets.current().programme
cutoff = fmt_long_date(programme.cutoff)
st.title(t("exposure.title"))
st.caption(t("exposure.caption", cutoff=cutoff, showing=describe(filters)))

head, row, total = datasets.with_totals(metrics.headline, filters)
if int(row["subscriptions_in_scope"]) + int(row["subscriptions_exempt"]) == 0:
    empty(t("exposure.empty"))
    st.stop()
cols = st.columns(3) + st.columns(3)
kpi(
    cols[0],
    t("exposure.in_scope"),
    row["subscriptions_in_scope"],
    total("subscriptions_in_scope"),
    help=t("exposure.in_scope_help"),
)
kpi(cols[1], t("exposure.seats_in_scope"), row["seats_in_scope"], total("seats_in_scope"))
kpi(
    cols[2],
    t("exposure.before"),
    row["before_subscriptions"],
    total("before_subscriptions"),
    help=t("exposure.before_help", cutoff=cutoff),
)
kpi(
    cols[3],
    t("exposure.after"),
    row["after_subscriptions"],
    total("after_subscriptions"),
    help=t("exposure.after_help", cutoff=cutoff),
)
kpi(
    cols[4],
    t("exposure.lapse"),
    row["lapse_risk_subscriptions"],
    total("lapse_risk_subscriptions"),
    help=t("exposure.lapse_help"),
)
kpi(
    cols[5],
    t("exposure.exempt"),
    row["subscriptions_exempt"],
    total("subscriptions_exempt"),
    help=t("exposure.exempt_help", segments=", ".join(t(f"segment.{s}") for s in programme.exempt_segments)),
)
st.caption(
    t(
        "exposure.facts",
        after=fmt_int(row["after_seats"]),
        lapse=fmt_int(row["lapse_risk_seats"]),
        no_term=fmt_int(row["subscriptions_no_term_end"]),
        inactive=fmt_int(row["subscriptions_inactive"]),
    )
)

grains = {"month": t("exposure.grain_month"), "week": t("exposure.grain_week")}
measures = {"seats": t("col.seats"), "subscriptions": t("col.subscriptions")}
controls = st.columns([1, 1, 3])
grain = (
    controls[0].segmented_control(
        t("exposure.grain"), list(grains), format_func=grains.get, default="month", key="grain"
    )
    or "month"
)
measure = (
    controls[1].segmented_control(
        t("exposure.measure"), list(measures), format_func=measures.get, default="seats", key="measure"
    )
    or "seats"
)
exp = datasets.query(metrics.expirations, filters, grain=grain)
fig = go.Figure()
for side in ("before", "after"):
    part = exp[exp["side"] == side]
    hover = t("exposure.hover_expirations", subs="%{customdata[0]:,}", seats="%{customdata[1]:,}")
    # Each bar spans its month (or week), so the cutoff line falls inside the bar it belongs to.
    fig.add_bar(
        x=part["period"],
        y=part[measure],
        xperiod="M1" if grain == "month" else 7 * 24 * 3600 * 1000,
        xperiodalignment="middle",
        name=side_label(side),
        marker_color=COLOURS[side],
        customdata=part[["subscriptions", "seats"]],
        hovertemplate=hover + "<extra>%{fullData.name}</extra>",
    )
fig.update_layout(barmode="stack")
title = t("exposure.chart_expirations", measure=measures[measure], grain=grains[grain])
chart(date_lines(style(fig, title, y_title=measures[measure]), programme), "exp_chart")
with st.expander(t("exposure.table_expirations"), expanded=False):
    table(exp.assign(side=exp["side"].map(side_label)), "expirations")

left, right = st.columns(2)
with left:
    by_country = with_country_names(head[head["country"].notna()])[
        ["country", "before_subscriptions", "before_seats", "after_subscriptions", "after_seats", "lapse_risk_seats"]
    ]
    fig = go.Figure()
    for side in ("before", "after"):
        fig.add_bar(
            y=plot_all(by_country["country"]),
            x=by_country[f"{side}_{measure}"],
            name=side_label(side),
            orientation="h",
            marker_color=COLOURS[side],
            hovertemplate="%{y}: %{x:,}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(barmode="stack", hovermode="y unified")
    fig.update_yaxes(autorange="reversed")
    chart(
        style(fig, t("exposure.chart_country", measure=measures[measure]), height=max(300, 28 * len(by_country) + 120)),
        "country_chart",
    )
    table(by_country, "exposure_by_country")
with right:
    partners = with_country_names(datasets.query(metrics.exposed_partners, filters, limit=MAX_SCREEN_ROWS))
    top = partners.head(15)
    hover = t("exposure.hover_partner", seats="%{x:,}", subs="%{customdata[1]:,}")
    fig = go.Figure(
        go.Bar(
            y=plot_all(top["partner_name"]),
            x=top["after_seats"],
            orientation="h",
            marker_color=COLOURS["after"],
            customdata=plot_frame(top[["partner_id", "after_subscriptions", "countries"]]),
            hovertemplate="%{y} (%{customdata[0]}, %{customdata[2]})<br>" + hover + "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    chart(style(fig, t("exposure.chart_partners"), height=max(300, 28 * len(top) + 120)), "partner_chart")
    columns = [
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
    exposed, _ = list_size(partners)  # the whole list's length, as the other partner lists
    table(
        partners[columns],
        "exposed_partners",
        height=360,
        caption=t("exposure.partners_count", count=fmt_int(exposed)),
        total_rows=exposed,
        full=datasets.whole(metrics.exposed_partners, filters, lambda frame: with_country_names(frame)[columns]),
    )
    if int(row["no_partner_subscriptions"]):
        # PRODUCT.md section 4: an unknown partner is on no list; its volume is said here.
        st.caption(
            t(
                "exposure.no_partner",
                subscriptions=fmt_int(row["no_partner_subscriptions"]),
                seats=fmt_int(row["no_partner_seats"]),
            )
        )
