"""The one way this project opens DuckDB: offline (no extension is ever downloaded or loaded), within the
operator's limits (config/server.toml), and hardened before it serves queries.

- `connect()`: an in-memory database (ingest, the catalog of snapshot files) or a database file (a snapshot being
  written, an upload worker's result opened read-only).
- `harden(con)`: the serving memory limit, no file or network access from SQL, then no setting can change.
  ATTACH needs `allowed_directories` set before it (analytics/catalog.py); measured on DuckDB 2.0.1.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.settings import settings


def connect(
    memory_limit: str | None = None,
    path: Path | str = ":memory:",
    read_only: bool = False,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to `path` (in memory by default) within the limits: the serving memory limit unless
    another is given, the configured threads; `temp_directory` where an in-memory database spills."""
    limits = settings()
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": memory_limit or limits.memory_limit,
        "threads": limits.threads,
    }
    if temp_directory is not None:
        config["temp_directory"] = temp_directory
    return duckdb.connect(str(path), read_only=read_only, config=config)


def quote(text: str) -> str:
    """A SQL string literal, for the few settings SET takes (it binds no parameters); the values are the
    operator's, from config/server.toml and RADAR_STORE, never a user's."""
    return "'" + text.replace("'", "''") + "'"


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """Before serving queries: the serving memory limit, no file or network access from SQL, and no setting
    can be changed back."""
    con.execute(f"SET memory_limit = {quote(settings().memory_limit)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
