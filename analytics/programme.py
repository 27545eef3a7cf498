"""The programme: cutoff, deadlines, exempt segments and readiness steps, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import InputError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "programme.toml"
SEGMENTS = ("commercial", "education", "government", "nonprofit")
READINESS_STEPS = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")


@dataclass(frozen=True)
class Programme:
    """The rules every metric reads; nothing else in the code holds a date."""

    name: str
    cutoff: dt.date
    opt_out_deadline: dt.date
    readiness_deadline: dt.date
    exempt_segments: tuple[str, ...]
    readiness_steps: tuple[str, ...] = READINESS_STEPS

    def describe(self) -> str:
        return (
            f"{self.name}: cutoff {self.cutoff:%Y-%m-%d}, opt-out deadline "
            f"{self.opt_out_deadline:%Y-%m-%d}, readiness deadline {self.readiness_deadline:%Y-%m-%d}"
        )


def load_programme(path: str | Path | None = None) -> Programme:
    """Read a programme file; `RADAR_PROGRAMME` names it when `path` is not given."""
    path = Path(path or os.environ.get("RADAR_PROGRAMME") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"programme file not found: {path.name}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    try:
        programme = Programme(
            name=str(raw.get("name", "Programme")),
            cutoff=_date(raw, "cutoff", path),
            opt_out_deadline=_date(raw, "opt_out_deadline", path),
            readiness_deadline=_date(raw, "readiness_deadline", path),
            exempt_segments=tuple(raw.get("exempt_segments", SEGMENTS[1:])),
            readiness_steps=tuple(raw.get("readiness_steps", READINESS_STEPS)),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path.name}: {exc}") from None
    unknown = set(programme.exempt_segments) - set(SEGMENTS)
    if unknown:
        raise InputError(f"{path.name}: unknown exempt segment(s) {sorted(unknown)}; allowed: {list(SEGMENTS)}")
    if "commercial" in programme.exempt_segments:
        raise InputError(f"{path.name}: the commercial segment cannot be exempt")
    if tuple(programme.readiness_steps) != READINESS_STEPS:
        raise InputError(f"{path.name}: readiness_steps must be {list(READINESS_STEPS)}")
    return programme


def _date(raw: dict, key: str, path: Path) -> dt.date:
    value = raw.get(key)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(f"'{key}' must be a date like 2022-07-11")
