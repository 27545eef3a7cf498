"""A loaded dataset: an in-memory DuckDB database with the ingested tables and their derived facts."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics.engine import connect, harden
from analytics.errors import MappingError
from analytics.facts import build_facts
from analytics.ingest import IngestResult, Overrides, ingest
from analytics.metrics import Filters, block, headline, projection
from analytics.programme import Programme, load_programme
from analytics.settings import settings


def open_database(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A database file an upload's worker wrote (analytics/uploads.py), opened read-only within the serving
    limits and hardened. Its cursors see its tables (an ATTACHed file would need a USE on every cursor)."""
    # temp_directory: where an in-memory database spills (the file's own folder is removed once it is open).
    con = connect(path=path, read_only=True, temp_directory=".tmp")
    harden(con)
    return con


@dataclass
class Dataset:
    con: duckdb.DuckDBPyConnection
    programme: Programme
    result: IngestResult
    version: str
    label: str
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    snapshot: str | None = None  # the published snapshot's id; None for the sample or a private upload
    published_by: str | None = None
    # A published snapshot's cursors come from the process's catalog (analytics/catalog.py), `con` being the
    # catalog's instance shared by every snapshot; None: cursors of `con`.
    opener: Callable[[], duckdb.DuckDBPyConnection] | None = None
    database: str | None = None  # ... and the catalog name of its file there
    sample: bool = False  # the bundled sample (its label is shown in the interface language)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one use: a DuckDB connection must not be shared across threads."""
        return self.opener() if self.opener is not None else self.con.cursor()


def load_files(
    files: list[Path | str] | list[tuple[Path, str]],
    overrides: Overrides | None = None,
    programme: Programme | None = None,
    label: str | None = None,
    max_file_bytes: int | None = -1,
) -> Dataset:
    """Ingest files ((path, display name) pairs or plain paths) and derive the facts for a programme, in this
    process (trusted files: the sample, tests, the benchmark; an upload goes through analytics.uploads).

    `max_file_bytes`: -1 applies the server's upload limit (config/server.toml), None none (command line).
    """
    pairs = file_pairs(files)
    programme = programme or load_programme()
    # A lower limit while ingesting: the peak of reading and checking a large file stays bounded (bench/), and
    # an upload leaves room for the published dataset that is served meanwhile.
    con = connect(settings().ingest_memory_limit)
    result = build(con, pairs, overrides, programme, max_file_bytes)
    harden(con)
    return Dataset(
        con=con,
        programme=programme,
        result=result,
        version=content_version(pairs),
        label=label or ", ".join(name for _, name in pairs),
    )


def file_pairs(files: list[Path | str] | list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    return [(Path(f[0]), f[1]) if isinstance(f, tuple) else (Path(f), Path(f).name) for f in files]


def build(
    con: duckdb.DuckDBPyConnection,
    pairs: list[tuple[Path, str]],
    overrides: Overrides | None,
    programme: Programme,
    max_file_bytes: int | None,
    progress=None,
) -> IngestResult:
    """Ingest `pairs` into `con` and derive the facts: the work shared by load_files and an upload's worker.
    `progress(phase)` is told each phase as it starts (analytics.ingest.PHASES)."""
    overrides = overrides or Overrides()
    overrides.check()
    try:
        result = ingest(con, pairs, overrides, max_file_bytes, **({"progress": progress} if progress else {}))
    except MappingError as exc:
        # A required column "not found" because the mapping names a header the file does not have: say so.
        overrides.refuse_unknown_headers([m.source for m in exc.mappings])
        raise
    overrides.refuse_unknown_headers([m.source for m in result.mappings])
    if progress:
        progress("facts")
    build_facts(con, programme)
    return result


def content_version(pairs: list[tuple[Path, str]]) -> str:
    """A hash of the files' names and contents: the cache key of a dataset that is not a published snapshot."""
    digest = hashlib.blake2b(digest_size=8)
    for path, name in pairs:
        digest.update(name.encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def summary(dataset: Dataset, filters: Filters) -> dict:
    """The `summary --json` document: totals, by country, projection per month, ingest counts."""
    cur = dataset.cursor()
    rows = headline(cur, filters).to_dict("records")
    total = rows[0] if rows and rows[0]["country"] is None else None
    if total is None:  # nothing matches the filter: an all-zero block
        total = {}
    proj = projection(cur, filters)
    return {
        "totals": block(total),
        "by_country": {r["country"]: block(r) for r in rows if r["country"] is not None},
        "projection": [
            {
                "country": r["country"],
                "month": r["month"],
                "subscriptions": int(r["subscriptions"]),
                "seats": int(r["seats"]),
                "ready_subscriptions": int(r["ready_subscriptions"]),
                "at_risk_subscriptions": int(r["at_risk_subscriptions"]),
            }
            for r in proj.to_dict("records")
        ],
        "ingest": {"accepted": dict(dataset.result.accepted), "rejected": dataset.result.rejected},
    }
