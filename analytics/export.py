"""Downloads: CSV and Excel bytes of a table, with spreadsheet formula injection neutralised."""

from __future__ import annotations

import io

import pandas as pd

# A cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix text that a spreadsheet would run as a formula with a quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.map(lambda v: neutralise(", ".join(map(str, v)) if isinstance(v, list) else v))
        elif series.map(lambda v: isinstance(v, (list, tuple))).any():
            out[column] = series.map(lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return out


def _lists_to_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
            out[column] = out[column].map(
                lambda v: ", ".join(map(str, v)) if hasattr(v, "__len__") and not isinstance(v, str) else v
            )
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel opens umlauts correctly), comma separated."""
    return _safe(_lists_to_text(frame)).to_csv(index=False).encode("utf-8-sig")


# Excel's sheet holds 1,048,576 rows, the header included (the interface says so at its Excel buttons).
EXCEL_MAX_ROWS = 1_048_575
# Column widths are judged from this many rows: enough for a typical width, far fewer than a long list.
WIDTH_SAMPLE_ROWS = 1000


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet; strings are never turned into formulas or links.

    Written by rustpy-xlsxwriter (Rust), which writes every text as an inline string, with no formula and no
    hyperlink: 60,000 rows take about as long as their CSV (bench/ANALYSIS.md), where XlsxWriter through
    pandas took fifteen times as long. More rows than an Excel sheet holds are refused with a ValueError; the
    interface offers no Excel download for them."""
    import rustpy_xlsxwriter

    if len(frame) > EXCEL_MAX_ROWS:
        raise ValueError(f"{len(frame):,} rows: more than an Excel sheet holds ({EXCEL_MAX_ROWS:,})")
    safe = _safe(_lists_to_text(frame))
    for column in safe.columns:
        if isinstance(safe[column].dtype, pd.DatetimeTZDtype):
            safe[column] = safe[column].dt.tz_localize(None)
    head = safe.head(WIDTH_SAMPLE_ROWS)
    widths = []
    for column in safe.columns:
        lengths = head[column].dropna().astype(str).str.len()
        typical = int(lengths.quantile(0.9)) if len(lengths) else 0
        widths.append(float(min(60, max(10, len(str(column)) + 2, typical + 2))))
    buffer = io.BytesIO()
    rustpy_xlsxwriter.write_worksheet(safe, buffer, sheet_name=sheet[:31], freeze_row=1, column_widths=widths)
    return buffer.getvalue()
