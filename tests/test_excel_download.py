"""Excel downloads (analytics/export.py): text stays text in the workbook itself, not only as a reader shows it,
and a table longer than an Excel sheet is refused instead of cut."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from analytics.export import EXCEL_MAX_ROWS, to_xlsx

HOSTILE = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "http://example.com", '=HYPERLINK("x")']


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_the_excel_download_has_no_formula_and_no_link_in_its_sheet():
    xml = sheet_xml(to_xlsx(pd.DataFrame({"name": HOSTILE, "seats": range(len(HOSTILE))})))
    assert "<f>" not in xml and "<f " not in xml  # no cell holds a formula
    assert "hyperlink" not in xml  # and none is a link
    assert "'=1+1" in xml and "'@SUM(A1)" in xml


def test_a_table_longer_than_an_excel_sheet_is_refused_not_cut(monkeypatch):
    import analytics.export as export

    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 3)
    assert to_xlsx(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="more than an Excel sheet holds"):
        to_xlsx(pd.DataFrame({"a": [1, 2, 3, 4]}))


def test_the_stated_excel_limit_is_excels():
    assert EXCEL_MAX_ROWS + 1 == 2**20  # 1,048,576 rows, the header one of them
