"""Untrusted text shown as text: escaping for Streamlit's Markdown and for Plotly's HTML subset.

Every value from a URL, a file (names, sheet names, headers, cells), a config file or a request header goes
through `md()` before it meets Markdown (st.markdown, st.caption, st.toast, alerts, widget labels and help) and
through `plot()` before it meets a Plotly figure (categories, trace names, tick text, hover, text). Catalog
texts (locales/*.toml) are ours and stay Markdown; the values formatted into them are escaped first.
"""

from __future__ import annotations

import html
import re
import string

import pandas as pd

# CommonMark lets every ASCII punctuation character be backslash-escaped; escaping them all leaves no syntax:
# links, images, emphasis, code, headings, lists, tables, raw HTML, entities, directives (:red[...]), LaTeX ($).
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# Line breaks (and other vertical white space) would start new blocks: a heading, a list, a quote.
_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029\t]+")
# Streamlit and GitHub Markdown also rewrite *text* after parsing, where escapes no longer count: shortcodes
# (:smile:, :material_icon:, :streamlit:) and bare links (https://…, www.…, name@host). An invisible word
# joiner after the colon, the "www" or the at sign breaks those patterns and changes nothing on screen.
_JOINER = "\u2060"
_TEXT_PATTERNS = re.compile(r"(?<=:)(?=[\w+\-/])|(?<=@)(?=[\w\-])|(?i:(?<=www)(?=\.))")


def md(value: object) -> str:
    """`value` as Markdown that renders exactly as its text, on one line."""
    if value is None:
        return ""
    text = _BREAKS.sub(" ", str(value))
    text = _TEXT_PATTERNS.sub(_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def plot(value: object) -> object:
    """`value` for a Plotly figure: `&`, `<` and `>` as entities, so Plotly's tags (<a href>, <span style>,
    <br>) show as text. Missing values and numbers pass unchanged."""
    if not isinstance(value, str):
        return value
    return html.escape(value, quote=False)


def plot_all(values) -> list:
    """`plot()` of every value of a column (a Series, list or index), for a figure's x, y, text or customdata."""
    return [plot(v) for v in values]


def plot_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell through `plot()` (for customdata that a hover template shows)."""
    text = [name for name in frame.columns if pd.api.types.is_string_dtype(frame[name]) or frame[name].dtype == object]
    return frame.assign(**{name: frame[name].map(plot) for name in text})
