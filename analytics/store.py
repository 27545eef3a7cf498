"""The snapshot store: each published dataset as a DuckDB database file ready to query, with a manifest and a small
summary, and one pointer file naming the current one.

Layout under the store folder (default `data/store/`, `RADAR_STORE` overrides it)::

    snapshots/<id>/manifest.json            what was published, by whom, the ingest report
    snapshots/<id>/ready-<facts>.duckdb     every table: the typed data, the facts and the roll-ups
    snapshots/<id>/summary-<figures>.parquet  the headline figures per country and segment (Trends reads only these)
    staging/<id>.<random>/                  a snapshot being written; moved into snapshots/ only when complete
    CURRENT                                 the id of the current snapshot, replaced atomically (os.replace)

`<facts>` fingerprints what the facts depend on (the programme's dates, segments and steps, and the code that
derives them, analytics/facts.py); `<figures>` adds the code of the figures (analytics/metrics.py). Opening a
snapshot ATTACHes its ready file read-only (analytics/catalog.py): nothing is rebuilt. Only when the programme
or that code changed since the publish is a new ready file derived once, from the typed tables of the old one,
and kept beside it. Snapshots written by the previous version (Parquet tables, no ready file) are converted the
same way on first use; their Parquet files stay, so nothing is lost.

A publish writes everything into staging/, fsyncs, renames the folder into snapshots/ (atomic on one file
system) and only then replaces CURRENT. A crash at any point leaves the previous snapshot current and intact;
a half-written snapshot stays in staging/, which is never listed and is swept on the next publish. Publishes,
conversions, rollbacks and deletions take an flock on store/.lock, so several server processes (replicas) can
share one store folder on a file system with POSIX locks (a local disk, or NFSv4).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import getpass
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analytics import facts, metrics, trends
from analytics.catalog import catalog
from analytics.dataset import Dataset
from analytics.engine import connect
from analytics.errors import InputError, Note
from analytics.facts import build_facts
from analytics.ingest import REJECT_COLUMNS, IngestResult
from analytics.programme import Programme, load_programme
from analytics.settings import settings
from analytics.trends import summarise
from analytics.uploads import display_name

BATCH_ROWS = 122_880  # rows per Arrow batch when a snapshot is written or read (one DuckDB row group)
TYPED_TABLES = ("subscriptions", "partners", "customers", "rejects")  # the typed data; the rest is derived from it
log = logging.getLogger("radar")
FORMAT = 3  # manifest "format": 3 = ready files; absent = Parquet tables only (converted on first use)
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
ID_PATTERN = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
DEFAULT_STORE = Path(__file__).resolve().parent.parent / "data" / "store"


def store_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("RADAR_STORE") or DEFAULT_STORE)


@dataclass(frozen=True)
class Snapshot:
    id: str
    created: str
    manifest: dict
    current: bool

    def rows(self) -> dict[str, int]:
        return dict(self.manifest.get("rows", {}))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "created": self.created,
            "current": self.current,
            "rows": self.rows(),
            "rejected": self.manifest.get("rejected", 0),
            "sources": self.manifest.get("sources", []),
            "published_by": self.manifest.get("published_by"),
            "label": self.manifest.get("label"),
        }


class Store:
    """A folder of snapshots; every method is safe against a concurrent publisher in another process."""

    def __init__(self, path: str | Path | None = None):
        self.path = store_path(path)
        self.snapshots = self.path / "snapshots"
        self.staging = self.path / "staging"
        self.pointer = self.path / "CURRENT"

    # ------------------------------------------------------------ reading

    def current_id(self) -> str | None:
        """The current snapshot's id, or None for an empty store (or a pointer to a snapshot that is gone)."""
        try:
            text = self.pointer.read_text(encoding="ascii").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        if not ID_PATTERN.match(text) or not (self.snapshots / text / "manifest.json").is_file():
            return None
        return text

    def list(self) -> list[Snapshot]:
        """Complete snapshots (those with a manifest), newest first."""
        current = self.current_id()
        found = []
        if not self.snapshots.is_dir():
            return found
        for folder in self.snapshots.iterdir():
            manifest_file = folder / "manifest.json"
            if not ID_PATTERN.match(folder.name) or not manifest_file.is_file():
                continue
            try:
                manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found.append(Snapshot(folder.name, manifest.get("created", ""), manifest, folder.name == current))
        return sorted(found, key=lambda s: s.id, reverse=True)

    def get(self, snapshot_id: str) -> Snapshot:
        """One snapshot, reading its manifest only (not every snapshot's, as `list` does)."""
        if isinstance(snapshot_id, str) and ID_PATTERN.match(snapshot_id):
            try:
                manifest = json.loads((self.snapshots / snapshot_id / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = None
            if isinstance(manifest, dict):
                current = self.current_id() == snapshot_id
                return Snapshot(snapshot_id, manifest.get("created", ""), manifest, current)
        raise InputError(
            f"no snapshot with id {snapshot_id!r} (see `python -m analytics snapshots`)",
            code="snapshot_missing",
            id=snapshot_id,
        )

    def load(self, snapshot_id: str, programme: Programme | None = None) -> Dataset:
        """A Dataset of one snapshot with its facts for `programme`: its ready file, attached read-only to this
        process's catalog (derived once first when the programme or the facts' code changed)."""
        snapshot = self.get(snapshot_id)
        programme = programme or load_programme()
        path = self.ready_file(snapshot, programme)
        served = catalog(self.snapshots)
        database = served.alias(path)  # a damaged file fails here, not in the middle of a page
        manifest = snapshot.manifest
        result = IngestResult(
            accepted={t: int(manifest["rows"].get(t, 0)) for t in TYPED_TABLES[:3]},
            rejected=int(manifest.get("rejected", 0)),
            mappings=[],
            warnings=[
                Note(text, w.get("code"), **w.get("params", {})) if isinstance(w, dict) else Note(text)
                for text, w in zip(
                    manifest.get("warnings", []),
                    manifest.get("notes", [None] * len(manifest.get("warnings", []))),
                    strict=False,
                )
            ],
            mapping_rows=list(manifest.get("mapping", [])),
            files=list(manifest.get("files", [])),
            programs=list(manifest.get("programs", [])),
            origins=list(manifest.get("origins", [])),
            unknown=dict(manifest.get("unknown", {})),
        )
        created = dt.datetime.fromisoformat(manifest["created"])
        label = manifest.get("label") or ", ".join(s["name"] for s in manifest.get("sources", []))
        return Dataset(
            con=served.con,
            programme=programme,
            result=result,
            version=snapshot_id,
            label=label,
            loaded_at=created,
            snapshot=snapshot_id,
            published_by=manifest.get("published_by"),
            opener=lambda: served.cursor(path),
            database=database,
        )

    def ready_file(self, snapshot: Snapshot, programme: Programme) -> Path:
        """The snapshot's database file for `programme`; derived (once, under the store lock) when missing."""
        folder = self.snapshots / snapshot.id
        path = folder / f"ready-{facts_fingerprint(programme)}.duckdb"
        if path.is_file():
            return path
        with self._lock():
            if not path.is_file():
                self._derive(folder, path, programme)
        return path

    def _derive(self, folder: Path, path: Path, programme: Programme) -> None:
        """Write `path` from the snapshot's typed tables: those of another ready file, else (a snapshot of the
        previous format) its Parquet files."""
        self.staging.mkdir(parents=True, exist_ok=True)
        work = self.staging / f"{folder.name}.{secrets.token_hex(4)}.duckdb"
        try:
            out = _open_for_writing(work)
            try:
                others = sorted(folder.glob("ready-*.duckdb"))
                if others:
                    out.execute(f"ATTACH {_quote(str(others[0]))} AS source (READ_ONLY)")
                    for table in TYPED_TABLES:
                        out.execute(f"CREATE TABLE {table} AS SELECT * FROM source.{table}")
                    out.execute("DETACH source")
                else:
                    for table in TYPED_TABLES:
                        # Streamed batch by batch: the whole table never sits in Arrow beside DuckDB's copy.
                        parquet = pq.ParquetFile(folder / f"{table}.parquet")
                        batches = pa.RecordBatchReader.from_batches(
                            parquet.schema_arrow, parquet.iter_batches(BATCH_ROWS)
                        )
                        out.register("arrow_in", batches)
                        out.execute(f"CREATE TABLE {table} AS SELECT * FROM arrow_in")
                        out.unregister("arrow_in")
                upgrade_tables(out)
                build_facts(out, programme)
                out.execute("CHECKPOINT")
            finally:
                out.close()
            _fsync_file(work)
            os.rename(work, path)
            _fsync_dir(folder)
        except duckdb.IOException as exc:
            work.unlink(missing_ok=True)
            raise _os_error(exc) from exc
        except BaseException:
            work.unlink(missing_ok=True)
            raise

    def summary(self, snapshot: Snapshot, programme: Programme | None = None) -> pa.Table:
        """The snapshot's trend summary (analytics/trends.py): read from its file, or computed from its ready file
        and kept (a read-only store just computes it)."""
        programme = programme or load_programme()
        folder = self.snapshots / snapshot.id
        path = folder / f"summary-{figures_fingerprint(programme)}.parquet"
        return _kept(path, lambda: summarise(self.load(snapshot.id, programme).cursor()))

    def previous_id(self, snapshot_id: str) -> str | None:
        """The snapshot before `snapshot_id` in publish order (ids sort by their time), as Trends compares them."""
        earlier = [s.id for s in self.list() if s.id < snapshot_id]
        return max(earlier) if earlier else None

    def change_rows(self, new_id: str, old_id: str, programme: Programme | None = None) -> pa.Table:
        """What changed from snapshot `old_id` to `new_id` (analytics.trends.change_rows): read from the file a
        publish wrote (`changes-<old>-<figures>.parquet` in the new snapshot's folder), or computed over both
        files where they lie and kept (a read-only store just computes it)."""
        programme = programme or load_programme()
        folder = self.snapshots / new_id
        path = folder / f"changes-{old_id}-{figures_fingerprint(programme)}.parquet"
        return _kept(path, lambda: trends.change_rows(self.load(new_id, programme), self.load(old_id, programme)))

    # ------------------------------------------------------------ writing

    @contextmanager
    def _lock(self):
        """One publisher or rollback at a time across processes (an flock on store/.lock); a read-only or full
        store is reported as such (InputError), whatever step meets it."""
        with self._faults():
            self.path.mkdir(parents=True, exist_ok=True)
            with open(self.path / ".lock", "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def _faults(self):
        try:
            yield
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise InputError(
                    f"the store folder {self.path} is read-only (or not writable by this user): nothing was "
                    "changed, the current snapshot stays",
                    code="store_read_only",
                ) from None
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InputError(
                    f"the disk of the store folder {self.path} is full: nothing was changed, the current snapshot "
                    "stays; free some space (or delete old snapshots) and try again",
                    code="store_full",
                ) from None
            raise

    def shrinks(self, dataset: Dataset) -> int | None:
        """The current snapshot's accepted subscriptions when publishing `dataset` would cut them by more than
        the configured share (config/server.toml [publish] shrink_percent), else None."""
        current = self.current_id()
        if current is None:
            return None
        before = int(self.get(current).rows().get("subscriptions", 0))
        after = int(dataset.result.accepted.get("subscriptions", 0))
        if before and after < before * (1 - settings().shrink_percent / 100):
            return before
        return None

    def publish(
        self,
        dataset: Dataset,
        sources: list[tuple[str, int]],
        published_by: str | None = None,
        *,
        make_current: bool = True,
        allow_shrink: bool | int = False,
        _crash_before_switch: bool = False,
    ) -> str:
        """Write `dataset` as a new snapshot and make it current; returns its id.

        `sources` are (file name, size in bytes) of the upload. A dataset with far fewer accepted subscriptions
        than the current snapshot (`shrinks`) is refused (code "shrink"), so that a stray quote or a truncated
        export cannot replace everyone's data unnoticed, unless `allow_shrink` is True or the current snapshot's
        subscription count the user saw and confirmed (a snapshot published meanwhile needs a new confirmation).
        `_crash_before_switch` is for tests: it stops after the snapshot is written and before the pointer moves,
        as a crash there would.
        """
        if dataset.result.accepted.get("subscriptions", 0) == 0:
            raise InputError(
                f"{dataset.label}: nothing to publish, no subscription was accepted "
                f"({dataset.result.rejected:,} rows rejected); the current snapshot stays",
                code="nothing_to_publish",
                file=dataset.label,
                rejected=dataset.result.rejected,
            )
        with self._lock():
            # The whole publish holds the lock, so sweeping staging/ never removes another writer's work.
            self._sweep_staging()
            before = self.shrinks(dataset) if make_current else None
            if before is not None and allow_shrink is not True and allow_shrink != before:
                after = dataset.result.accepted.get("subscriptions", 0)
                raise InputError(
                    f"{dataset.label}: not published, it has {after:,} accepted subscriptions where the current "
                    f"snapshot has {before:,} (more than {settings().shrink_percent:g}% fewer); confirm with "
                    "--allow-shrink (command line) or the checkbox on the Data page if that is right",
                    code="shrink",
                    file=dataset.label,
                    current=f"{before:,}",
                    new=f"{after:,}",
                    percent=f"{settings().shrink_percent:g}",
                )
            snapshot_id = self._write(dataset, sources, published_by)
            if _crash_before_switch:
                raise SystemExit("simulated crash between writing and switching")
            if make_current:
                try:
                    self._switch(snapshot_id)
                except OSError:
                    self._discard(snapshot_id)  # not current, so not kept: "nothing was changed" stays true
                    raise
            self._keep_changes(snapshot_id, dataset.programme)
        return snapshot_id

    def _keep_changes(self, snapshot_id: str, programme: Programme) -> None:
        """What changed since the snapshot before, computed once now so that Trends reads a small file. The
        snapshot is published already: a failure here costs Trends the time to compute it later, nothing else."""
        previous = self.previous_id(snapshot_id)
        if previous is None:
            return
        try:
            self.change_rows(snapshot_id, previous, programme)
        except Exception:  # logged; the publish has succeeded
            log.exception("could not keep the changes of snapshot %s against %s", snapshot_id, previous)

    def _write(self, dataset: Dataset, sources: list[tuple[str, int]], published_by: str | None) -> str:
        now = dt.datetime.now(dt.UTC)
        snapshot_id = f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.snapshots.mkdir(parents=True, exist_ok=True)
        work = self.staging / f"{snapshot_id}.{secrets.token_hex(4)}"
        work.mkdir()
        try:
            self._write_into(work, snapshot_id, now, dataset, sources, published_by)
        except BaseException:
            # A full disk or a crash of the writer: what was staged goes now, so that the space is free again
            # (a rollback needs a little of it) and nothing waits for the next publish to sweep it.
            shutil.rmtree(work, ignore_errors=True)
            raise
        return snapshot_id

    def _write_into(
        self,
        work: Path,
        snapshot_id: str,
        now: dt.datetime,
        dataset: Dataset,
        sources: list[tuple[str, int]],
        published_by: str | None,
    ) -> None:
        rows = _write_database(dataset, work / f"ready-{facts_fingerprint(dataset.programme)}.duckdb")
        pq.write_table(summarise(dataset.cursor()), work / f"summary-{figures_fingerprint(dataset.programme)}.parquet")
        manifest = {
            "id": snapshot_id,
            "format": FORMAT,
            "created": now.isoformat(),
            "label": dataset.label,
            "sources": [{"name": display_name(name), "bytes": size} for name, size in sources],
            "rows": {t: rows[t] for t in TYPED_TABLES[:3]},
            "rejected": dataset.result.rejected,
            "rejected_problems": rows["rejects"],
            "mapping": dataset.result.mapping_table().to_dict("records"),
            "warnings": [str(w) for w in dataset.result.warnings],
            "notes": [
                {"code": getattr(w, "code", None), "params": getattr(w, "params", {})} for w in dataset.result.warnings
            ],
            "files": dataset.result.files,
            "programs": dataset.result.programs,
            "origins": dataset.result.origins,
            "unknown": dataset.result.unknown,
            "published_by": published_by or _who(),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(work)
        os.rename(work, self.snapshots / snapshot_id)
        _fsync_dir(self.snapshots)

    def rollback(self, snapshot_id: str) -> None:
        """Make an earlier snapshot current again."""
        with self._lock():
            self.get(snapshot_id)
            self._switch(snapshot_id)

    def delete(self, snapshot_id: str) -> None:
        """Remove a snapshot from history; the current one cannot be deleted."""
        with self._lock():
            self.get(snapshot_id)
            if snapshot_id == self.current_id():
                raise InputError(
                    "the current snapshot cannot be deleted; make another one current first",
                    code="snapshot_current",
                    id=snapshot_id,
                )
            target = self.snapshots / snapshot_id
            catalog(self.snapshots).forget(target)
            # Move out of snapshots/ first (atomic), so a crash never leaves a listed half-deleted snapshot.
            trash = self.staging / f"deleted-{snapshot_id}.{secrets.token_hex(4)}"
            self.staging.mkdir(parents=True, exist_ok=True)
            os.rename(target, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def _discard(self, snapshot_id: str) -> None:
        """Remove a snapshot that was written but never made current (best effort: the disk may be full)."""
        trash = self.staging / f"deleted-{snapshot_id}.{secrets.token_hex(4)}"
        try:
            os.rename(self.snapshots / snapshot_id, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def _switch(self, snapshot_id: str) -> None:
        tmp = self.path / f".CURRENT.{secrets.token_hex(4)}"
        try:
            with open(tmp, "w", encoding="ascii") as handle:
                handle.write(snapshot_id + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.pointer)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path)

    def _sweep_staging(self) -> None:
        """Remove leftovers of crashed publishes (called under the lock, so none is in progress)."""
        if not self.staging.is_dir():
            return
        for leftover in self.staging.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        for tmp in self.path.glob(".CURRENT.*"):
            tmp.unlink(missing_ok=True)


def upgrade_tables(con) -> None:
    """Tables of a snapshot written by an earlier version gain the columns added since, empty (nothing is
    lost: an old rejects table keeps its English `reason`, which is shown when there is no code)."""
    from analytics.schema import stored_columns

    wanted = {t: [(c, "VARCHAR") for c in stored_columns(t)] for t in TYPED_TABLES[:3]}
    wanted["rejects"] = [tuple(part.split()) for part in REJECT_COLUMNS.split(", ")]
    types = {"country": "VARCHAR"}
    for table, columns in wanted.items():
        have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        for name, sql_type in columns:
            if name not in have:
                # Names and types come from our own schema, never from the file.
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {types.get(name, sql_type)}")


def facts_fingerprint(programme: Programme) -> str:
    """What a snapshot's facts depend on besides its data: the programme's dates, segments and steps, and the code
    that derives them. A change of either makes a new ready file (derived once), never a wrong one."""
    digest = hashlib.blake2b(digest_size=6)
    digest.update(programme.rules())
    digest.update(Path(facts.__file__).read_bytes())
    return digest.hexdigest()


def _kept(path: Path, compute) -> pa.Table:
    """The table in the Parquet file `path`, else `compute()`d and kept there (written aside and renamed: a
    concurrent writer writes the same table; a read-only or full store just computes it)."""
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        pass
    table = compute()
    work = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        pq.write_table(table, work)
        os.replace(work, path)
    except OSError:
        work.unlink(missing_ok=True)
    return table


def figures_fingerprint(programme: Programme) -> str:
    """The facts' fingerprint and the code of the figures a summary holds."""
    digest = hashlib.blake2b(facts_fingerprint(programme).encode(), digest_size=6)
    digest.update(Path(metrics.__file__).read_bytes())
    digest.update(Path(trends.__file__).read_bytes())
    return digest.hexdigest()


def _open_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    """A new database file, written by us alone (within the ingest memory limit; DuckDB spills into the file)."""
    return connect(settings().ingest_memory_limit, path=path)


def _write_database(dataset: Dataset, path: Path) -> dict[str, int]:
    """Every table of `dataset` into the new database file `path`, streamed in Arrow batches (peak memory: a
    batch, not a table); returns the rows of the typed tables. DuckDB's own I/O errors (a full disk, a read-only
    folder) come out as the OSError they are, so that the store reports them in words (Store._faults)."""
    cur = dataset.cursor()
    names = [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' ORDER BY table_name"
        ).fetchall()
    ]
    rows = {}
    try:
        out = _open_for_writing(path)
        try:
            for name in names:
                if not TABLE_NAME.match(name):  # our own tables; anything else is not copied
                    continue
                # A cursor per table: a reader keeps its cursor busy until it is read to the end.
                batches = dataset.cursor().sql(f"SELECT * FROM {name}").to_arrow_reader(BATCH_ROWS)
                out.register("arrow_in", batches)
                out.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow_in")
                out.unregister("arrow_in")
                if name in TYPED_TABLES:
                    rows[name] = out.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            out.execute("CHECKPOINT")
        finally:
            out.close()
    except duckdb.IOException as exc:
        raise _os_error(exc) from exc
    return rows


def _os_error(exc: duckdb.IOException) -> Exception:
    """The OSError behind a DuckDB I/O error, by its message (DuckDB keeps only the text of strerror)."""
    text = str(exc)
    for number in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        if os.strerror(number) in text:
            return OSError(number, text)
    return exc


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _who() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return None


def _fsync_tree(folder: Path) -> None:
    for file in folder.iterdir():
        _fsync_file(file)
    _fsync_dir(folder)


def _fsync_file(file: Path) -> None:
    with open(file, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
