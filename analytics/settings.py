"""Server settings: DuckDB limits and upload limits, from config/server.toml (RADAR_CONFIG overrides the path)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from analytics.errors import InputError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "server.toml"


@dataclass(frozen=True)
class Settings:
    memory_limit: str = "4GB"
    threads: int = 2
    max_file_bytes: int = 500 * 1024 * 1024
    max_xlsx_expanded_bytes: int = 1500 * 1024 * 1024


@cache
def settings(path: str | None = None) -> Settings:
    path = Path(path or os.environ.get("RADAR_CONFIG") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    duck, upload = raw.get("duckdb", {}), raw.get("upload", {})
    try:
        return Settings(
            memory_limit=str(duck.get("memory_limit", "4GB")),
            threads=int(duck.get("threads", 2)),
            max_file_bytes=int(float(upload.get("max_file_mb", 500)) * 1024 * 1024),
            max_xlsx_expanded_bytes=int(float(upload.get("max_xlsx_expanded_mb", 1500)) * 1024 * 1024),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path.name}: {exc}") from None
