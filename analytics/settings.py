"""Server settings: DuckDB limits, upload limits and the trusted proxy header, from config/server.toml (RADAR_CONFIG
overrides the path; RADAR_TRUSTED_USER_HEADER the header)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from analytics.errors import InputError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "server.toml"


MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
# An HTTP header name (RFC 9110 token).
HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass(frozen=True)
class Settings:
    memory_limit: str = "4GB"  # DuckDB's limit for a loaded dataset while it is served
    ingest_memory_limit: str = "3GB"  # ... while a file is read, checked and its facts built
    threads: int = 2
    max_file_bytes: int = 500 * 1024 * 1024
    max_xlsx_expanded_bytes: int = 1500 * 1024 * 1024
    # The request header a trusted reverse proxy sets to the signed-in user; empty: no header is trusted.
    trusted_user_header: str = ""


@cache
def settings(path: str | None = None) -> Settings:
    path = Path(path or os.environ.get("RADAR_CONFIG") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    duck, upload, auth = raw.get("duckdb", {}), raw.get("upload", {}), raw.get("auth", {})
    for key in ("memory_limit", "ingest_memory_limit"):
        if key in duck and not MEMORY.match(str(duck[key])):
            raise InputError(f'{path.name}: duckdb.{key} must be a size such as "4GB", not {duck[key]!r}')
    header = os.environ.get("RADAR_TRUSTED_USER_HEADER", auth.get("trusted_user_header", ""))
    if not isinstance(header, str) or (header.strip() and not HEADER.match(header.strip())):
        raise InputError(
            f"{path.name} or RADAR_TRUSTED_USER_HEADER: auth.trusted_user_header must be a header name such as "
            f'"X-Forwarded-User", not {header!r}'
        )
    try:
        return Settings(
            memory_limit=str(duck.get("memory_limit", "4GB")),
            ingest_memory_limit=str(duck.get("ingest_memory_limit", "3GB")),
            threads=int(duck.get("threads", 2)),
            max_file_bytes=int(float(upload.get("max_file_mb", 500)) * 1024 * 1024),
            max_xlsx_expanded_bytes=int(float(upload.get("max_xlsx_expanded_mb", 1500)) * 1024 * 1024),
            trusted_user_header=header.strip(),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path.name}: {exc}") from None
