"""Partner readiness: the four steps before migration, where partners stand, and whom to call first."""

import plotly.graph_objects as go
import streamlit as st

from analytics import metrics
from analytics.touchpoints import touched_within_days
from ui import champion, datasets, frame
from ui.filters import describe, selected
from ui.i18n import fmt_int, fmt_long_date, t
from ui.text import plot_all
from ui.widgets import (
    COLOURS,
    MAX_SCREEN_ROWS,
    chart,
    empty,
    kpi,
    list_size,
    step_label,
    style,
    table,
    with_country_names,
)

frame.ensure()

filters = selected()
programme = datasets.current().programme
STEPS = list(programme.readiness_steps)
st.title(t("readiness.title"))
st.caption(t("readiness.caption", deadline=fmt_long_date(programme.readiness_deadline), showing=describe(filters)))
datasets.note_missing_partner_data()

head, row, total = datasets.with_totals(metrics.headline, filters)
if int(row["partners_assessed"]) == 0:
    empty(t("readiness.empty"))
    st.stop()
cols = st.columns(4)
kpi(
    cols[0],
    t("readiness.assessed"),
    row["partners_assessed"],
    total("partners_assessed"),
    help=t("readiness.assessed_help"),
)
kpi(
    cols[1],
    t("readiness.ready"),
    row["partners_fully_ready"],
    total("partners_fully_ready"),
    help=t("readiness.ready_help"),
)
kpi(cols[2], t("readiness.rate"), row["readiness_rate"], total("readiness_rate"), pct=True)
kpi(
    cols[3],
    t("readiness.not_ready"),
    row["partners_assessed"] - row["partners_fully_ready"],
    None if total("partners_assessed") is None else total("partners_assessed") - total("partners_fully_ready"),
    help=t("readiness.not_ready_help"),
)

left, right = st.columns(2)
with left:
    funnel = datasets.query(metrics.readiness_funnel, filters)
    fig = go.Figure(
        go.Funnel(
            y=[step_label(s) for s in funnel["step"]],
            x=funnel["partners"],
            textinfo="value+percent initial",
            marker={"color": [COLOURS["after"]] + [COLOURS["ready"]] * len(STEPS)},
            hovertemplate="%{y}: %{x:,} " + t("readiness.hover_funnel") + " (%{percentInitial:.1%})<extra></extra>",
        )
    )
    chart(style(fig, t("readiness.chart_funnel")), "funnel")
    steps = datasets.query(metrics.step_completion, filters)
    table(steps.assign(step=steps["step"].map(step_label)), "readiness_steps", caption=t("readiness.steps_caption"))
with right:
    by_country = with_country_names(head[head["country"].notna()])[
        ["country", "partners_assessed", "partners_fully_ready", "readiness_rate"]
    ].sort_values("readiness_rate")
    hover = t("readiness.hover_country", ready="%{customdata[0]:,}", assessed="%{customdata[1]:,}")
    fig = go.Figure(
        go.Bar(
            x=by_country["readiness_rate"],
            y=plot_all(by_country["country"]),
            orientation="h",
            marker_color=COLOURS["ready"],
            customdata=by_country[["partners_fully_ready", "partners_assessed"]],
            hovertemplate="%{y}: %{x:.1%} (" + hover + ")<extra></extra>",
        )
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_layout(hovermode="closest")
    chart(style(fig, t("readiness.chart_country"), height=max(300, 28 * len(by_country) + 120)), "country_ready")
    table(by_country, "readiness_by_country")

st.subheader(t("readiness.call_title"))
days = st.columns([1, 2])[0].number_input(
    t("readiness.not_touched"), min_value=0, max_value=3650, value=0, step=1, key="not_touched_days",
    help=t("readiness.not_touched_help"),
)  # fmt: skip
untouched = touched_within_days(champion.touch_log(), int(days))  # those touched lately, left out of the list
calls = with_country_names(datasets.query(metrics.call_list, filters, limit=MAX_SCREEN_ROWS, exclude=untouched))
columns = [
    "partner_id",
    "partner_name",
    "countries",
    "after_seats",
    "last_touch",
    "last_touch_kind",
    "last_outcome",
    "after_subscriptions",
    "first_after_cutoff_end",
    "steps_done",
    "missing",
    *STEPS,
    "has_partner_row",
]
short = {step: step_label(step, short=True) for step in STEPS}  # taken now: a download runs outside the session
touches = champion.last_touch_labels()  # likewise


def call_rows(frame, short=short, touches=touches):
    """The call list as shown and downloaded: the missing steps named in the session's language, each partner's
    last touch and the outcome of its last call (touchpoint log)."""
    frame = touches(frame)
    return frame.assign(missing=frame["missing_steps"].map(lambda steps: ", ".join(short[s] for s in steps)))[columns]


shown = call_rows(calls)
count, seats = list_size(calls)
table(
    shown,
    "call_list",
    height=420,
    column_config_overrides={
        "after_seats": st.column_config.ProgressColumn(
            t("col.after_seats"),
            format="localized",
            min_value=0,
            max_value=max(int(shown["after_seats"].max()) if len(shown) else 0, 1),
        ),
        "steps_done": st.column_config.NumberColumn(t("col.steps_done"), format=f"%d / {len(STEPS)}"),
        "missing": st.column_config.TextColumn(t("col.missing"), width="large"),
        **champion.time_columns(),
    },
    caption=t("readiness.call_caption", count=fmt_int(count), seats=fmt_int(seats))
    + (t("readiness.call_untouched", days=fmt_int(days)) if days else ""),
    total_rows=count,
    full=datasets.whole(metrics.call_list, filters, call_rows, exclude=untouched),
)

st.subheader(t("readiness.matrix_title"))
matrix = datasets.query(metrics.exposed_partners, filters, limit=40, opted_out=False)
done, not_done = t("readiness.done"), t("readiness.not_done")
fig = go.Figure(
    go.Heatmap(
        z=matrix[STEPS].astype(int).values,
        x=[step_label(s) for s in STEPS],
        y=plot_all(matrix["partner_name"]),
        colorscale=[[0, COLOURS["at_risk"]], [1, COLOURS["ready"]]],
        zmin=0,
        zmax=1,
        showscale=False,
        xgap=2,
        ygap=2,
        text=[[done if v else not_done for v in r] for r in matrix[STEPS].values],
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
    )
)
fig.update_yaxes(autorange="reversed")
fig.update_layout(hovermode="closest")
chart(style(fig, t("readiness.chart_matrix", count=len(matrix)), height=max(360, 22 * len(matrix) + 120)), "matrix")
table(matrix[["partner_id", "partner_name", "after_seats", *STEPS]], "partner_step_matrix")
