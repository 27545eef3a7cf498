"""Codes into words: the message catalogs (locales/*.toml) for the edges that speak to people.

Ingest and the metrics carry codes with parameters (a reject reason, a warning); the interface renders them in
the user's language and the command line in English, both through `text`. Nothing here imports Streamlit.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"
PSEUDO = "qps"  # a pseudo-locale for tests: every English text wrapped in ⟦…⟧


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
    """Every text of one language, keyed `section.name`."""
    if lang == PSEUDO:
        return {k: f"⟦{v}⟧" for k, v in catalog("en").items()}
    with open(LOCALES / f"{lang}.toml", "rb") as handle:
        return _flatten(tomllib.load(handle))


def text(lang: str, key: str, /, **values) -> str:
    """The text of `key` in `lang` (English when that language lacks it), with {placeholders} filled in."""
    template = catalog(lang).get(key)
    if template is None:
        template = catalog("en")[key]
    return template.format(**values) if values else template


def has(key: str) -> bool:
    return key in catalog("en")


def reason(lang: str, code: str | None, ref_file: str | None, ref_line, key: str | None, file: str | None) -> str:
    """A reject reason from its code and parameters (the columns of the rejects table)."""
    if not code:
        return ""
    if not has(f"reason.{code}"):
        return code
    ref = ""
    if ref_line is not None and not _missing(ref_line):
        if ref_file and ref_file != file:
            ref = text(lang, "reason.ref_file_line", file=ref_file, line=int(ref_line))
        else:
            ref = text(lang, "reason.ref_line", line=int(ref_line))
    return text(lang, f"reason.{code}", ref=ref, key=key or "")


def _missing(value) -> bool:
    try:
        return bool(value != value) or str(value) in ("<NA>", "nan", "NaT")
    except TypeError:  # pandas.NA refuses comparison to a bool
        return True


def note(lang: str, code: str, params: dict) -> str:
    """A warning from its code and parameters."""
    return text(lang, f"note.{code}", **params)
