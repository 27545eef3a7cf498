"""The interface language: message catalogs (locales/*.toml) and Babel formatting for the active locale.

Every text a user sees comes from `t(key)`; numbers, percentages, dates and months from the `fmt_*` helpers.
The language is chosen in the sidebar, kept in the URL (`?lang=de`) and defaults to the browser's language.
`?lang=qps` is a pseudo-locale for tests: every catalog text wrapped in ⟦…⟧, so untranslated text stands out.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from pathlib import Path

import pandas as pd
import streamlit as st
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from ui.text import md

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"en": "English", "de": "Deutsch"}
PSEUDO = "qps"
BABEL_LOCALE = {"en": "en_GB", "de": "de_DE", PSEUDO: "en_GB"}


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == PSEUDO:
        return {k: f"⟦{v}⟧" for k, v in catalog("en").items()}
    with open(LOCALES / f"{lang}.toml", "rb") as handle:
        return _flatten(tomllib.load(handle))


def _from_browser() -> str:
    try:
        locale = (st.context.locale or "").lower()
    except Exception:  # outside a browser session (bare mode)
        locale = ""
    return "de" if locale.startswith("de") else "en"


def lang() -> str:
    """The active language: the session's choice, else ?lang= in the URL, else the browser's language."""
    chosen = st.session_state.get("_lang")
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
            return t(f"error.{code}", **{k: md(v) for k, v in getattr(exc, "params", {}).items()})
        except (KeyError, IndexError):
            pass
    return md(exc)


def _reason_patterns() -> list[tuple[str, str]]:
    from analytics.ingest import REASONS

    english = {text: key for key, text in REASONS.items()}
    return [(text, "missing" if key == "missing" else key) for text, key in english.items()] + [
        ("more fields than the header", "extra")
    ]


def reason_text(reason: str) -> str:
    """A reject reason from analytics (English) in the active language."""
    import re

    if lang() == "en" or not isinstance(reason, str):
        return reason
    for text, key in _reason_patterns():
        if reason == text:
            return t(f"reason.{key}")
    same = re.fullmatch(r"duplicate of (.+) \(same content, ignored\)", reason)
    if same:
        return t("reason.duplicate_same", ref=same.group(1).replace("line", t("col.line").lower()))
    different = re.fullmatch(r"duplicate (\w+) with different content; (.+) is kept", reason)
    if different:
        return t(
            "reason.duplicate_different",
            key=different.group(1),
            ref=different.group(2).replace("line", t("col.line").lower()),
        )
    return reason
