"""Drawing helpers shared by the pages: KPI cards, Plotly styling, date lines, tables with downloads."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

# Imported with the app, not on the first table: its import (jinja2 and its templates) takes a fifth of a second.
from pandas.io.formats.style import Styler

from analytics.export import EXCEL_MAX_ROWS, to_csv, to_xlsx
from analytics.figures import SCREEN_ROWS
from analytics.programme import Programme
from ui.i18n import catalog, date_column_format, fmt_date, fmt_int, fmt_pct, plotly_separators, t, table_formats

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


STYLED_ROWS = 200  # the longest table whose numbers are written in the interface language (table())
MAX_SCREEN_ROWS = SCREEN_ROWS  # analytics/figures.py: the rows a page asks for and draws


def with_country_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose `country` (and `countries` list) say "Unknown"/"Unbekannt" for the unknown
    country (ZZ); ISO codes stay codes, as everywhere in the interface."""
    from analytics.schema import UNKNOWN_COUNTRY

    unknown = t("country.unknown")
    frame = frame.copy()
    if "country" in frame.columns:
        frame["country"] = frame["country"].map(lambda c: unknown if c == UNKNOWN_COUNTRY else c)
    if "countries" in frame.columns:
        frame["countries"] = frame["countries"].map(
            lambda text: (
                ", ".join(unknown if c == UNKNOWN_COUNTRY else c for c in text.split(", "))
                if isinstance(text, str)
                else text
            )
        )
    return frame


def side_label(side: str) -> str:
    return t(f"side.{side}")


def step_label(step: str, short: bool = False) -> str:
    """A readiness step in the interface language; a step the catalog does not know (a programme's own) by its
    name ("tax_id_checked" -> "Tax id checked")."""
    key = f"step.short_{step}" if short else f"step.{step}"
    return t(key) if key in catalog("en") else step.replace("_", " ").capitalize()


def kpi(column, label: str, value, total=None, *, pct: bool = False, help: str | None = None) -> None:
    """A KPI card; under a filter the delta shows the unfiltered total for comparison."""
    text = fmt_pct(value) if pct else fmt_int(value)
    delta = None
    if total is not None:
        delta = t("kpi.of_total", value=fmt_pct(total) if pct else fmt_int(total))
    column.metric(label, text, delta=delta, delta_color="off", delta_arrow="off", help=help, border=True)


def style(fig: go.Figure, title: str, *, y_title: str = "", x_title: str = "", height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 16}},
        height=height,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
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
    fig.update_layout(separators=plotly_separators())
    return fig


def date_lines(fig: go.Figure, programme: Programme, *, deadlines: bool = True) -> go.Figure:
    """The cutoff (and the deadlines) as labelled vertical lines on a date axis."""
    lines = [(programme.cutoff, t("lines.cutoff", date=fmt_date(programme.cutoff)), "#D62728", "solid")]
    if deadlines:
        if programme.readiness_deadline != programme.opt_out_deadline:
            lines.append(
                (
                    programme.opt_out_deadline,
                    t("lines.opt_out", date=fmt_date(programme.opt_out_deadline)),
                    "#7F7F7F",
                    "dash",
                )
            )
            lines.append(
                (
                    programme.readiness_deadline,
                    t("lines.readiness", date=fmt_date(programme.readiness_deadline)),
                    "#7F7F7F",
                    "dot",
                )
            )
        else:
            lines.append(
                (
                    programme.opt_out_deadline,
                    t("lines.both", date=fmt_date(programme.opt_out_deadline)),
                    "#7F7F7F",
                    "dash",
                )
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
        # Labels sit just above the plot so they never cover bars: the cutoff to the right of its line, the
        # deadlines (days before it) to the left of theirs.
        fig.add_annotation(
            x=x,
            y=1,
            yref="paper",
            yanchor="bottom",
            text=label,
            showarrow=False,
            xanchor="left" if i == 0 else "right",
            font={"color": colour, "size": 11},
        )
    return fig


def chart(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def column_config(frame: pd.DataFrame, overrides: dict | None = None, styled: bool = False) -> dict:
    """Headers from the catalog (col.<name>) and a type per column: percentages, dates, checkboxes, numbers
    (`styled`: the numbers come written by `cell_formats`)."""
    config = {}
    for name in frame.columns:
        label = t(f"col.{name}") if f"col.{name}" in catalog("en") else name
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            config[name] = st.column_config.CheckboxColumn(label)
        elif pd.api.types.is_datetime64_any_dtype(series) or (
            len(series) and isinstance(series.dropna().iloc[0] if series.notna().any() else None, dt.date)
        ):
            config[name] = st.column_config.DateColumn(label, format=date_column_format())
        elif pd.api.types.is_numeric_dtype(series) and styled:
            # Drawn as `cell_formats` writes them (the interface language, as the KPI cards), sorted as numbers.
            config[name] = st.column_config.NumberColumn(label)
        elif _is_rate(name):
            config[name] = st.column_config.NumberColumn(label, format="percent")
        elif pd.api.types.is_numeric_dtype(series):
            config[name] = st.column_config.NumberColumn(label, format="localized")
        else:
            config[name] = st.column_config.TextColumn(label)
    config.update(overrides or {})
    return config


def _is_rate(name: str) -> bool:
    return name.endswith("rate")


def cell_formats(frame: pd.DataFrame) -> dict[str, Callable]:
    """How each number column of a table is written: percentages (`*rate`) and numbers in the interface language,
    as the KPI cards write them (the grid's own number formats follow the browser's locale instead)."""
    whole, number, share = table_formats()
    formats = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        if _is_rate(name):
            formats[name] = share
        elif pd.api.types.is_integer_dtype(series) or bool((series.dropna() % 1 == 0).all()):
            formats[name] = whole
        else:
            formats[name] = number
    return formats


def _headers(frame: pd.DataFrame) -> dict[str, str]:
    """The on-screen headers of the table's columns, in the session's language (for the downloads)."""
    return {c: t(f"col.{c}") for c in frame.columns if f"col.{c}" in catalog("en")}


def for_download(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as downloaded: the same headers as on screen."""
    return frame.rename(columns=_headers(frame))


def list_size(frame: pd.DataFrame) -> tuple[int, int]:
    """The length and after-cutoff seats of a whole partner list, from the first rows a query with a limit
    returned (analytics.metrics: list_partners, list_after_seats); an empty list is (0, 0)."""
    if frame.empty:
        return 0, 0
    return int(frame["list_partners"].iloc[0]), int(frame["list_after_seats"].iloc[0])


def _download_file(rows: Callable[[], pd.DataFrame], headers: dict[str, str], build: Callable, *args) -> bytes:
    return build(rows().rename(columns=headers), *args)


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    column_config_overrides: dict | None = None,
    height: int | str = "auto",
    caption: str | None = None,
    total_rows: int | None = None,
    full: Callable[[], pd.DataFrame] | None = None,
    partner_links: bool = True,
) -> None:
    """The table behind a chart, with CSV and Excel downloads of its columns, every row of it.

    A long list comes as its first rows (`frame`, from a query with a limit), its length (`total_rows`) and
    `full`, which returns every row in the same columns: it runs only when a download is clicked, outside
    the script run (Streamlit's deferred download), so it must not read the session. With `partner_links`, a
    `partner_id` column links to the partner view.
    """
    # A browser table of tens of thousands of rows costs seconds to send and draw; the screen shows the first
    # MAX_SCREEN_ROWS (tables come sorted by what matters), the downloads always hold every row.
    shown = frame.head(MAX_SCREEN_ROWS)
    overrides = dict(column_config_overrides or {})
    if partner_links:
        # A partner list links each partner id to the partner view (the downloads keep the plain id).
        from ui.champion import link_partners

        shown, links = link_partners(shown)
        overrides = {**links, **overrides}
    # Numbers and percentages as the KPI cards write them, in the interface language. pandas' Styler writes
    # them, at about 1 ms a row: a longer list keeps the grid's own number format (the browser's locale).
    formats = cell_formats(shown) if len(shown) <= STYLED_ROWS else {}
    drawn = Styler(shown).format(formats) if formats else shown
    config = column_config(shown, overrides, styled=bool(formats))
    st.dataframe(drawn, hide_index=True, column_config=config, height=height)
    total = len(frame) if total_rows is None else int(total_rows)
    if total > len(shown):
        st.caption(t("table.first_rows", shown=fmt_int(len(shown)), total=fmt_int(total)))
    # Deferred: the file is built only when someone clicks, not on every rerun (an Excel file of a large
    # table takes seconds).
    rows = full if full is not None else (lambda: frame)
    headers = _headers(frame)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.download_button(
            t("table.csv"),
            functools.partial(_download_file, rows, headers, to_csv),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"csv_{name}",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            t("table.excel"),
            functools.partial(_download_file, rows, headers, to_xlsx, name),
            file_name=f"{name}.xlsx",
            key=f"xlsx_{name}",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:",
            on_click="ignore",
            help=t("table.excel_help", limit=fmt_int(EXCEL_MAX_ROWS)),
            disabled=total > EXCEL_MAX_ROWS,
        )
        if caption:
            st.caption(caption)


def empty(message: str) -> None:
    st.info(message, icon=":material/filter_alt_off:")


def template_xlsx() -> bytes:
    """An empty workbook with one sheet per table and the canonical column names."""
    import io

    from analytics.schema import TABLES, stored_columns

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        for name in TABLES:
            pd.DataFrame(columns=stored_columns(name)).to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
