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
    # The worker process that reads and checks an upload (analytics/uploads.py).
    worker_memory_mb: int = 4096  # resident memory of one web upload's worker
    worker_seconds: float = 300.0  # wall time of one web upload's worker
    worker_disk_mb: int = 10240  # DuckDB spill files of one worker
    cli_worker_memory_mb: int = 8192  # the command line's worker: no time or row limit, but this memory limit
    max_columns: int = 2000  # columns of a file (web and command line)
    max_rows: int = 5_000_000  # rows of a web upload's file (the command line has none)
    # A publish whose accepted subscriptions fall by more than this percentage below the current snapshot's
    # needs an explicit confirmation (--allow-shrink, or the checkbox on the Data page); 100 turns it off.
    shrink_percent: float = 50.0


def _number(name: str, section: str, table: dict, key: str, default, kind, minimum: float = 0):
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name}: {section}.{key} must be a number, not {value!r}")
    if value < minimum:
        raise InputError(f"{name}: {section}.{key} must be at least {minimum}, not {value!r}")
    return kind(value)


@cache
def settings(path: str | None = None) -> Settings:
    path = Path(path or os.environ.get("RADAR_CONFIG") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    duck, upload, publish = raw.get("duckdb", {}), raw.get("upload", {}), raw.get("publish", {})
    cli, auth = raw.get("command_line", {}), raw.get("auth", {})
    for section, table in (
        ("duckdb", duck),
        ("upload", upload),
        ("publish", publish),
        ("command_line", cli),
        ("auth", auth),
    ):
        if not isinstance(table, dict):
            raise InputError(f"{path.name}: [{section}] must be a table of settings")
    for key in ("memory_limit", "ingest_memory_limit"):
        if key in duck and not MEMORY.match(str(duck[key])):
            raise InputError(f'{path.name}: duckdb.{key} must be a size such as "4GB", not {duck[key]!r}')
    header = os.environ.get("RADAR_TRUSTED_USER_HEADER", auth.get("trusted_user_header", ""))
    if not isinstance(header, str) or (header.strip() and not HEADER.match(header.strip())):
        raise InputError(
            f"{path.name} or RADAR_TRUSTED_USER_HEADER: auth.trusted_user_header must be a header name such as "
            f'"X-Forwarded-User", not {header!r}'
        )
    d = Settings()  # the defaults
    try:
        return Settings(
            memory_limit=str(duck.get("memory_limit", "4GB")),
            ingest_memory_limit=str(duck.get("ingest_memory_limit", "3GB")),
            threads=int(duck.get("threads", 2)),
            max_file_bytes=int(float(upload.get("max_file_mb", 500)) * 1024 * 1024),
            max_xlsx_expanded_bytes=int(float(upload.get("max_xlsx_expanded_mb", 1500)) * 1024 * 1024),
            trusted_user_header=header.strip(),
            worker_memory_mb=_number(path.name, "upload", upload, "worker_memory_mb", d.worker_memory_mb, int, 64),
            worker_seconds=_number(path.name, "upload", upload, "worker_seconds", d.worker_seconds, float, 1),
            worker_disk_mb=_number(path.name, "upload", upload, "worker_disk_mb", d.worker_disk_mb, int, 1),
            cli_worker_memory_mb=_number(
                path.name, "command_line", cli, "worker_memory_mb", d.cli_worker_memory_mb, int, 64
            ),
            max_columns=_number(path.name, "upload", upload, "max_columns", d.max_columns, int, 1),
            max_rows=_number(path.name, "upload", upload, "max_rows", d.max_rows, int, 1),
            shrink_percent=_number(path.name, "publish", publish, "shrink_percent", d.shrink_percent, float),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path.name}: {exc}") from None
