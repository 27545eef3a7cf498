"""The interface language: message catalogs (locales/*.toml) and Babel formatting for the active locale.

Every text a user sees comes from `t(key)`; numbers, percentages, dates and months from the `fmt_*` helpers.
The language is chosen in the sidebar, kept in the URL (`?lang=de`) and defaults to the browser's language.
`?lang=qps` is a pseudo-locale for tests: every catalog text wrapped in ⟦…⟧, so untranslated text stands out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol

from analytics import words
from ui.text import md

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"en": "English", "de": "Deutsch"}
PSEUDO = "qps"
BABEL_LOCALE = {"en": "en_GB", "de": "de_DE", PSEUDO: "en_GB"}


def catalog(lang: str) -> dict[str, str]:
    """Every text of a language (analytics.words reads the catalogs; the command line uses it too)."""
    return words.catalog(lang)


def _from_browser() -> str:
    try:
        locale = (st.context.locale or "").lower()
    except Exception:  # outside a browser session (bare mode)
        locale = ""
    return "de" if locale.startswith("de") else "en"


SESSION_KEY = "_lang"  # session key: the session's language, fixed on its first run (ui/sidebar.py)


def lang() -> str:
    """The active language: the session's choice, else ?lang= in the URL, else the browser's language."""
    chosen = st.session_state.get(SESSION_KEY)
    if chosen in LANGUAGES or chosen == PSEUDO:
        return chosen
    wanted = str(st.query_params.get("lang", "")).lower()
    if wanted in LANGUAGES or wanted == PSEUDO:
        return wanted
    return _from_browser()


def t(key: str, **values) -> str:
    """The text of `key` in the active language, with {placeholders} filled in."""
    text = catalog(lang()).get(key)
    if text is None:
        text = catalog("en")[key]  # a missing key is a bug the catalog test catches; English keeps the page up
    return text.format(**values) if values else text


def locale() -> str:
    return BABEL_LOCALE[lang()]


def fmt_int(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return format_decimal(int(value), format="#,##0", locale=locale())


def fmt_num(value, digits: int = 2) -> str:
    if value is None or pd.isna(value):
        return "–"
    return format_decimal(value, format="#,##0." + "0" * digits, locale=locale())


def fmt_pct(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    # The locale's own pattern ("#,##0 %" in German, "#,##0%" in English) with one decimal.
    pattern = Locale.parse(locale()).percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
    return format_percent(float(value), format=pattern, locale=locale())


def table_formats() -> tuple[Callable[[object], str], Callable[[object], str], Callable[[object], str]]:
    """Formatters for the cells of a table, in the active locale and as the KPI cards write them: (whole number,
    number with two decimals, percentage with one decimal). Built once per table: a table has thousands of cells,
    and Babel's formatting per cell would cost seconds."""
    group, decimal = get_group_symbol(locale()), get_decimal_symbol(locale())
    percent = Locale.parse(locale()).percent_formats[None].pattern  # "#,##0 %" in German, "#,##0%" in English

    def marks(text: str) -> str:  # Python's "1,234.5" in the locale's marks
        return text.replace(",", "\0").replace(".", decimal).replace("\0", group)

    def whole(value) -> str:
        return "–" if value is None or pd.isna(value) else marks(f"{round(float(value)):,}")

    def number(value) -> str:
        return "–" if value is None or pd.isna(value) else marks(f"{float(value):,.2f}")

    def share(value) -> str:
        return "–" if value is None or pd.isna(value) else percent.replace("#,##0", marks(f"{float(value) * 100:,.1f}"))

    return whole, number, share


def fmt_date(value: dt.date | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    if lang() == "de":
        return format_date(value, format="dd.MM.yyyy", locale="de_DE")
    return value.strftime("%Y-%m-%d")


def fmt_long_date(value: dt.date) -> str:
    return format_date(value, format="d MMMM y" if lang() != "de" else "d. MMMM y", locale=locale())


def fmt_month(value: str | dt.date) -> str:
    """A month as the locale writes it: 'July 2022' / 'Juli 2022'."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value + "-01")
    return format_date(value, format="LLLL y", locale=locale())


def date_column_format() -> str:
    return "DD.MM.YYYY" if lang() == "de" else "YYYY-MM-DD"


def plotly_date_format() -> str:
    return "%d.%m.%Y" if lang() == "de" else "%Y-%m-%d"


def plotly_separators() -> str:
    """Plotly's decimal and thousands marks for the active locale."""
    return ",." if lang() == "de" else ".,"


def error_text(exc: Exception) -> str:
    """An InputError in the active language when the catalog knows its code; its English text otherwise. Markdown
    for an alert: the file names, headers and values in it are escaped (ui.text.md)."""
    code = getattr(exc, "code", None)
    if code and f"error.{code}" in catalog("en"):
        try:
            return t(f"error.{code}", **{k: _param(k, v) for k, v in getattr(exc, "params", {}).items()})
        except (KeyError, IndexError):
            pass
    return md(exc)


def _param(name: str, value) -> str:
    """A parameter of a coded message, escaped; `facts` (canonical names) said in words."""
    if name == "facts" and isinstance(value, (tuple, list)):
        return t("error.and").join(t(f"fact.{fact}") for fact in value)
    if name == "files" and isinstance(value, (tuple, list)):  # (file, kind) pairs
        return ", ".join(f"{md(file)} ({t(f'kind.{kind}')})" for file, kind in value)
    return md(value)


def note_text(note) -> str:
    """A warning of an upload (analytics.errors.Note) in the active language, its values escaped."""
    code = getattr(note, "code", None)
    if code and f"note.{code}" in catalog("en"):
        params = {k: fmt_int(v) if isinstance(v, int) else md(v) for k, v in getattr(note, "params", {}).items()}
        return t(f"note.{code}", **params)
    return md(note)


def rejects(cursor, limit: int | None = None) -> pd.DataFrame:
    """The rejected rows, their reasons said in the active language (analytics carries them as codes)."""
    from analytics import metrics

    frame = metrics.rejects(cursor, limit=limit, lang="en" if lang() == PSEUDO else lang())
    return frame.drop(columns=["code"])
