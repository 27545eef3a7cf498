"""Partner readiness: the four steps before migration, where partners stand, and whom to call first."""

import plotly.graph_objects as go
import streamlit as st

from ui import state

state.ensure_frame()

from ui.widgets import (  # noqa: E402
    COLOURS,
    DATE,
    INT,
    PCT,
    STEP_LABELS,
    chart,
    empty,
    kpi,
    style,
    table,
)

filters = state.get_filters()
programme = state.current().programme
st.title("Partner readiness")
st.caption(
    f"Exposed partners that did not opt out, against the four steps due by "
    f"{programme.readiness_deadline:%d %B %Y} · a step without data counts as not done · "
    f"showing {state.describe(filters)}"
)

head = state.query("headline", filters)
if head.empty or int(head.iloc[0]["partners_assessed"]) == 0:
    empty("No exposed partner without an opt-out in this selection, so there is no readiness to show.")
    st.stop()
row = head.iloc[0]
base = state.query("headline", state.Filters()).iloc[0] if state.is_filtered(filters) else None


def total(key):
    return None if base is None else base[key]


cols = st.columns(4)
kpi(
    cols[0],
    "Partners assessed",
    row["partners_assessed"],
    total("partners_assessed"),
    help="Exposed partners (a subscription ending on/after the cutoff) that did not opt out.",
)
kpi(cols[1], "Fully ready", row["partners_fully_ready"], total("partners_fully_ready"), help="All four steps done.")
kpi(cols[2], "Completion rate", row["readiness_rate"], total("readiness_rate"), pct=True)
kpi(
    cols[3],
    "Not ready",
    row["partners_assessed"] - row["partners_fully_ready"],
    None if base is None else base["partners_assessed"] - base["partners_fully_ready"],
    help="The call list below.",
)

left, right = st.columns(2)
with left:
    funnel = state.query("readiness_funnel", filters)
    labels = ["Assessed partners"] + [STEP_LABELS[s] for s in funnel["step"][1:]]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=funnel["partners"],
            textinfo="value+percent initial",
            marker={"color": [COLOURS["after"]] + [COLOURS["ready"]] * 4},
            hovertemplate="%{y}: %{x:,} partners (%{percentInitial:.1%})<extra></extra>",
        )
    )
    chart(style(fig, "Completion funnel: partners with this step and every step before it"), "funnel")
    steps = state.query("step_completion", filters)
    table(
        steps.assign(step=steps["step"].map(STEP_LABELS)),
        "readiness_steps",
        column_config={"rate": PCT},
        caption="Per step, in any order",
    )
with right:
    by_country = head[head["country"].notna()][
        ["country", "partners_assessed", "partners_fully_ready", "readiness_rate"]
    ].sort_values("readiness_rate")
    fig = go.Figure(
        go.Bar(
            x=by_country["readiness_rate"],
            y=by_country["country"],
            orientation="h",
            marker_color=COLOURS["ready"],
            customdata=by_country[["partners_fully_ready", "partners_assessed"]],
            hovertemplate="%{y}: %{x:.1%} (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>",
        )
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_layout(hovermode="closest")
    chart(style(fig, "Fully ready by country", height=max(300, 28 * len(by_country) + 120)), "country_ready")
    table(by_country, "readiness_by_country", column_config={"readiness_rate": PCT})

st.subheader("Call list: not ready, not opted out, largest exposure first")
calls = state.query("call_list", filters)
calls = calls.assign(missing=calls["missing_steps"].map(lambda steps: ", ".join(STEP_LABELS[s][4:] for s in steps)))
shown = calls[
    [
        "partner_id",
        "partner_name",
        "countries",
        "after_seats",
        "after_subscriptions",
        "first_after_cutoff_end",
        "steps_done",
        "missing",
        "mpa_signed",
        "indirect_provider_confirmed",
        "mpn_id_updated",
        "mca_all_customers",
        "has_partner_row",
    ]
]
table(
    shown,
    "call_list",
    height=420,
    column_config={
        "after_seats": st.column_config.ProgressColumn(
            "after-cutoff seats", format="%d", min_value=0, max_value=int(shown["after_seats"].max() or 1)
        ),
        "after_subscriptions": INT,
        "first_after_cutoff_end": DATE,
        "steps_done": st.column_config.NumberColumn("steps done", format="%d / 4"),
        "missing": st.column_config.TextColumn("missing steps", width="large"),
        "has_partner_row": st.column_config.CheckboxColumn("in partner data"),
    },
    caption=f"{len(shown):,} partners to call · {int(shown['after_seats'].sum()):,} after-cutoff seats at risk",
)

st.subheader("Partner × step")
matrix = state.query("exposed_partners", filters)
matrix = matrix[~matrix["opted_out"]].head(40)
steps_order = list(STEP_LABELS)
fig = go.Figure(
    go.Heatmap(
        z=matrix[steps_order].astype(int).values,
        x=[STEP_LABELS[s] for s in steps_order],
        y=matrix["partner_name"],
        colorscale=[[0, COLOURS["at_risk"]], [1, COLOURS["ready"]]],
        zmin=0,
        zmax=1,
        showscale=False,
        xgap=2,
        ygap=2,
        hovertemplate="%{y}<br>%{x}: %{z}<extra>1 = done, 0 = not done</extra>",
    )
)
fig.update_yaxes(autorange="reversed")
fig.update_layout(hovermode="closest")
chart(
    style(
        fig,
        "The 40 largest exposed partners (by after-cutoff seats): green done, red not done",
        height=max(360, 22 * len(matrix) + 120),
    ),
    "matrix",
)
table(
    matrix[["partner_id", "partner_name", "after_seats", *steps_order]],
    "partner_step_matrix",
    column_config={"after_seats": INT},
)
