"""Drawing helpers shared by the pages: KPI cards, Plotly styling, date lines, tables with downloads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.export import to_csv, to_xlsx
from analytics.programme import Programme

# One meaning, one colour, on every page (readable on light and dark backgrounds).
COLOURS = {
    "before": "#F28E2B",
    "after": "#4E79A7",
    "ready": "#59A14F",
    "at_risk": "#E15759",
    "expected_ready": "#9CCB86",
    "opted_out": "#B07AA1",
    "late": "#9C6B4E",
    "exempt": "#9D9D9D",
    "neutral": "#76B7B2",
}
SIDE_LABELS = {"before": "Ends before cutoff", "after": "Ends on/after cutoff"}
STEP_LABELS = {
    "mpa_signed": "1 · MPA signed",
    "indirect_provider_confirmed": "2 · Indirect provider confirmed",
    "mpn_id_updated": "3 · MPN ID updated",
    "mca_all_customers": "4 · MCA by all customers",
}


def fmt_int(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def fmt_pct(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.1%}"


def kpi(column, label: str, value, total=None, *, pct: bool = False, help: str | None = None) -> None:
    """A KPI card; under a filter the delta shows the unfiltered total for comparison."""
    text = fmt_pct(value) if pct else fmt_int(value)
    delta = None
    if total is not None:
        delta = f"of {fmt_pct(total) if pct else fmt_int(total)} in all data"
    column.metric(label, text, delta=delta, delta_color="off", delta_arrow="off", help=help, border=True)


def style(fig: go.Figure, title: str, *, y_title: str = "", x_title: str = "", height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 16}},
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 1,
            "xanchor": "right",
            "title": None,
            "traceorder": "normal",
        },
        hovermode="x unified",
        bargap=0.15,
    )
    fig.update_yaxes(title=y_title, separatethousands=True, rangemode="tozero")
    fig.update_xaxes(title=x_title)
    return fig


def date_lines(fig: go.Figure, programme: Programme, *, deadlines: bool = True) -> go.Figure:
    """The cutoff (and the deadlines) as labelled vertical lines on a date axis."""
    lines = [(programme.cutoff, f"Cutoff {programme.cutoff:%d %b %Y}", "#D62728", "solid")]
    if deadlines:
        lines.append(
            (programme.opt_out_deadline, f"Opt-out deadline {programme.opt_out_deadline:%d %b}", "#7F7F7F", "dash")
        )
        if programme.readiness_deadline != programme.opt_out_deadline:
            lines.append(
                (
                    programme.readiness_deadline,
                    f"Readiness deadline {programme.readiness_deadline:%d %b}",
                    "#7F7F7F",
                    "dot",
                )
            )
        else:
            lines[-1] = (
                programme.opt_out_deadline,
                f"Opt-out & readiness deadline {programme.opt_out_deadline:%d %b}",
                "#7F7F7F",
                "dash",
            )
    # Invisible points so the axis range always includes the lines.
    fig.add_scatter(
        x=[dt.datetime.combine(d, dt.time()) for d, *_ in lines],
        y=[0] * len(lines),
        mode="markers",
        marker={"opacity": 0},
        showlegend=False,
        hoverinfo="skip",
    )
    for i, (day, label, colour, dash) in enumerate(lines):
        x = dt.datetime.combine(day, dt.time())
        fig.add_shape(
            type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"color": colour, "dash": dash, "width": 2}
        )
        fig.add_annotation(
            x=x,
            y=1 - 0.09 * i,
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="left",
            font={"color": colour, "size": 11},
            bgcolor="rgba(255,255,255,0.6)",
        )
    return fig


def chart(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    column_config: dict | None = None,
    height: int | str = "auto",
    caption: str | None = None,
) -> None:
    """The table behind a chart, with CSV and Excel downloads of exactly what it shows."""
    st.dataframe(frame, hide_index=True, column_config=column_config or {}, height=height)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.download_button(
            "CSV",
            to_csv(frame),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"csv_{name}",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "Excel",
            to_xlsx(frame, name),
            file_name=f"{name}.xlsx",
            key=f"xlsx_{name}",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:",
            on_click="ignore",
        )
        if caption:
            st.caption(caption)


def empty(message: str) -> None:
    st.info(message, icon=":material/filter_alt_off:")


# Column configurations reused across pages.
INT = st.column_config.NumberColumn(format="localized")
PCT = st.column_config.NumberColumn(format="percent")
DATE = st.column_config.DateColumn(format="YYYY-MM-DD")
CHECK = st.column_config.CheckboxColumn()


def template_xlsx() -> bytes:
    """An empty workbook with one sheet per table and the canonical column names."""
    import io

    from analytics.schema import TABLES

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        for name, columns in TABLES.items():
            pd.DataFrame(columns=[c.name for c in columns]).to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
