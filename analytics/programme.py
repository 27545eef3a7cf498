"""The programme: cutoff, deadlines, exempt segments and readiness steps, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from analytics.errors import InputError, Note, read_toml
from analytics.schema import SEGMENT_SYNONYMS

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "programme.toml"
# The segments a subscription can be in (the values analytics/schema.py reads its spellings into), commercial first.
SEGMENTS = tuple(dict.fromkeys(SEGMENT_SYNONYMS.values()))
# The readiness steps when a programme file does not list its own (PRODUCT.md section 2). Everything else reads a
# programme's `readiness_steps`: the facts, the figures, the pages, the notices and the command line.
READINESS_STEPS = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")
# A step's name is a catalog key (step.<name>) and a column name of the figures: lower-case letters, digits, _.
STEP_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Programme:
    """The rules every metric reads; nothing else in the code holds a date."""

    name: str
    cutoff: dt.date
    opt_out_deadline: dt.date
    readiness_deadline: dt.date
    exempt_segments: tuple[str, ...]
    readiness_steps: tuple[str, ...] = READINESS_STEPS
    # What looks wrong but is allowed (a cutoff before a deadline); the command line prints them on stderr.
    warnings: tuple[str, ...] = ()

    def rules(self) -> bytes:
        """The rules that the derived figures depend on (not the name, not the warnings), as bytes to hash: the
        key of a snapshot's ready file (analytics/store.py) and of the bundled sample summary (analytics/history.py)."""
        parts = (
            self.cutoff.isoformat(),
            self.opt_out_deadline.isoformat(),
            self.readiness_deadline.isoformat(),
            "|".join(self.exempt_segments),
            "|".join(self.readiness_steps),
        )
        return b"".join(part.encode() + b"\0" for part in parts)

    def describe(self) -> str:
        return (
            f"{self.name}: cutoff {self.cutoff:%Y-%m-%d}, opt-out deadline "
            f"{self.opt_out_deadline:%Y-%m-%d}, readiness deadline {self.readiness_deadline:%Y-%m-%d}"
        )


def load_programme(path: str | Path | None = None) -> Programme:
    """Read a programme file; `RADAR_PROGRAMME` names it when `path` is not given. Every problem is an
    InputError in words; a cutoff before a deadline is allowed but warned about (`Programme.warnings`)."""
    path = Path(path or os.environ.get("RADAR_PROGRAMME") or DEFAULT_PATH)
    raw = read_toml(path, "programme file", "not valid TOML")
    name = raw.get("name", "Programme")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f'{path.name}: name must be a text such as "End of CSP Legacy renewals"')
    programme = Programme(
        name=name,
        cutoff=_date(raw, "cutoff", path),
        opt_out_deadline=_date(raw, "opt_out_deadline", path),
        readiness_deadline=_date(raw, "readiness_deadline", path),
        exempt_segments=_texts(raw, "exempt_segments", SEGMENTS[1:], path),
        readiness_steps=_texts(raw, "readiness_steps", READINESS_STEPS, path),
    )
    unknown = set(programme.exempt_segments) - set(SEGMENTS)
    if unknown:
        raise InputError(
            f"{path.name}: unknown exempt segment(s) {sorted(unknown)}; allowed: {list(SEGMENTS)}",
        )
    if "commercial" in programme.exempt_segments:
        raise InputError(f"{path.name}: the commercial segment cannot be exempt")
    steps = programme.readiness_steps
    bad = [step for step in steps if not STEP_NAME.fullmatch(step)]
    if not steps or bad or len(set(steps)) != len(steps):
        raise InputError(
            f"{path.name}: readiness_steps must be one or more different names of lower-case letters, digits and _ "
            f"such as {list(READINESS_STEPS)}" + (f", not {bad}" if bad else "")
        )
    warnings = [
        Note.of(code, file=path.name, cutoff=f"{programme.cutoff:%Y-%m-%d}", deadline=f"{deadline:%Y-%m-%d}")
        for code, deadline in (
            ("cutoff_before_opt_out_deadline", programme.opt_out_deadline),
            ("cutoff_before_readiness_deadline", programme.readiness_deadline),
        )
        if programme.cutoff < deadline
    ]
    return replace(programme, warnings=tuple(warnings))


def _date(raw: dict, key: str, path: Path) -> dt.date:
    value = raw.get(key)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{path.name}: {key} must be a date like 2022-07-11, not {value!r}")


def _texts(raw: dict, key: str, default: tuple[str, ...], path: Path) -> tuple[str, ...]:
    value = raw.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{path.name}: {key} must be a list of names such as ["education"]')
    return tuple(value)
