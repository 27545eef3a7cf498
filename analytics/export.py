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


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet; strings are never turned into formulas."""
    buffer = io.BytesIO()
    safe = _safe(_lists_to_text(frame))
    for column in safe.columns:
        if isinstance(safe[column].dtype, pd.DatetimeTZDtype):
            safe[column] = safe[column].dt.tz_localize(None)
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        # in_memory: no temporary files (a notice ZIP writes hundreds of small workbooks).
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True}},
    ) as writer:
        safe.to_excel(writer, sheet_name=sheet[:31], index=False)
        worksheet = writer.sheets[sheet[:31]]
        for i, column in enumerate(safe.columns):
            lengths = safe[column].dropna().astype(str).str.len()
            typical = int(lengths.quantile(0.9)) if len(lengths) else 0
            worksheet.set_column(i, i, min(60, max(10, len(str(column)) + 2, typical + 2)))
        worksheet.freeze_panes(1, 0)
    return buffer.getvalue()
