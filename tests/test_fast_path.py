"""The fast ways of the ingest give what the careful ways give (Hypothesis): on random dirty files, the same
rejects on the same physical lines with the same reasons and values, and the same accepted rows in the same
order.

The fast ways (analytics/ingest.py `_fast_sql`, analytics/readers.py `_lines_from_gaps`) read the plain
spelling of a value with a cast and number the lines from a byte scan; the careful ways (`ingest(...,
careful=True)`) check every value with the full rules and find each rejected record's line by reading the file
again with Python's csv module.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given, note
from hypothesis import strategies as st

from analytics.dataset import connect
from analytics.ingest import ingest

HEADER = ("subscription_id", "partner_id", "customer_id", "country", "seats", "term_end_date", "monthly_value")

# Spellings that the fast guards must tell apart from plain ones: signs, separators, blanks, other digits.
IDS = st.one_of(
    st.sampled_from(["S1", "s1", "S2", "S-3", " S4", "S4 ", "-", "", "Ｓ５", "S\u200b6", "ß7", "S 8", "0", "-1"]),
    st.from_regex(r"[!-~]{1,6}", fullmatch=True).filter(lambda v: '"' not in v and "," not in v),
)
SEATS = st.sampled_from(
    ["0", "7", "0007", "9999999", "10000000", "12345678", "+5", "-3", " 5", "5 ", "1,5", "1.5", "1.234", "1,234",
     "1 234", "1'234", "18.0", "18,00", "1e3", "0x10", "1_000", "５", "-", "", "abc"]
)  # fmt: skip
DATES = st.one_of(
    st.sampled_from(
        ["2022-07-11", "2022-02-30", "1899-12-31", "1900-01-01", "9999-12-31", "0022-01-01", "2022-1-5",
         " 2022-01-05", "2022-01-05 ", "2022-01-05T00:00:00Z", "2022-01-05 10:22:15", "11.07.2022", "7/11/2022",
         "7/11/2022 12:00:00 AM", "2022/01/05", "+022-01-05", "２０２２-01-05", "2022-13-01", "-", ""]
    ),
    st.dates().map(lambda d: d.isoformat()),
)  # fmt: skip
VALUES = st.sampled_from(
    ["65.58", "0.00", "-1.5", "1234.5", "1,5", "1.234,56", "1,234.56", "1.234", "12345678901234.99", "+3", ".5",
     "5.", "1e2", "12.345", " 7.1", "-", ""]
)  # fmt: skip
COUNTRIES = st.sampled_from(["DE", "de", "Germany", "Deutschland", "XX", "", "-", " AT"])


@st.composite
def dirty_files(draw):
    """A CSV subscription list with dirty values and dirty structure: blank lines, rows of delimiters only,
    rows with too many or too few fields, quoted line breaks, title lines, CR LF, a byte order mark."""
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row = [
            draw(IDS),
            draw(IDS),
            draw(IDS),
            draw(COUNTRIES),
            draw(SEATS),
            draw(DATES),
            draw(VALUES),
        ]
        shape = draw(st.sampled_from(["plain"] * 6 + ["blank", "delimiters", "longer", "shorter", "break"]))
        if shape == "blank":
            rows.append("")
            continue
        if shape == "delimiters":
            rows.append("," * (len(HEADER) - 1))
            continue
        if shape == "longer":
            row += ["surplus"]
        elif shape == "shorter":
            row = row[: draw(st.integers(1, len(HEADER) - 1))]
        elif shape == "break":
            row[3] = "D\nE"
        rows.append(",".join(f'"{v}"' if "\n" in v or "," in v or v.startswith(" ") else v for v in row))
    titles = draw(st.sampled_from(["", "Subscriptions export\n", "Report;x\n\n"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    text = bom + titles + newline.join([",".join(HEADER), *rows]) + draw(st.sampled_from(["", newline]))
    if newline == "\r\n":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text


def _ingest(path: Path, careful: bool):
    con = connect()
    result = ingest(con, [(path, "dirty.csv")], careful=careful)
    tables = {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in ("subscriptions", "partners", "customers")}
    rejects = con.execute("SELECT * FROM rejects ORDER BY ALL").fetchall()
    return result.accepted, result.rejected, tables, rejects


@given(text=dirty_files())
@example(text="subscription_id,seats,term_end_date\nS1,1,2022-01-01\n\nS2,1,2022-02-30\n,,\nS2,x,2022-01-01\n")
@example(text='subscription_id,seats,term_end_date\nS1,1,"2022-\n01-01"\n\nS2,+5,2022-01-01\n')
def test_the_fast_path_rejects_the_same_values_on_the_same_lines_as_the_careful_path(text):
    note(repr(text))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dirty.csv"
        path.write_bytes(text.encode("utf-8"))
        try:
            fast = _ingest(path, careful=False)
        except Exception as exc:  # a refused file must be refused the careful way too, with the same words
            try:
                _ingest(path, careful=True)
            except Exception as careful_exc:
                assert (type(careful_exc), str(careful_exc)) == (type(exc), str(exc))
                return
            raise
        careful = _ingest(path, careful=True)
    assert fast[3] == careful[3]  # rejects: file, physical line, column, reason, value, what it repeats
    assert fast[:3] == careful[:3]  # counts and every accepted row, in order
