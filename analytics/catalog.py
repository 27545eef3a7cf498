"""Published snapshots served where they lie: one DuckDB instance per process and store, each snapshot's database
file ATTACHed to it read-only.

One instance means one buffer pool: however many snapshots are open and however many sessions query them, the
process's DuckDB memory stays within the serving `memory_limit` (config/server.toml); an attached file's blocks
are read on demand and evicted like any cache. Opening a snapshot is an ATTACH (milliseconds, nothing rebuilt).

Hardening (shared/NOTES.md, measured here on DuckDB 2.0.1): `enable_external_access = false` refuses every
file, ATTACH included, so the instance is allowed one directory first (`allowed_directories`: the store's
snapshots/ folder) and then locked (`lock_configuration`). SQL can then read nothing outside that folder.
All SQL run here is ours; the only text formatted into it is a path and an alias built from a snapshot id
that matched store.ID_PATTERN and a fingerprint of hex digits.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import duckdb

from analytics.engine import connect, harden, quote

# Attached files kept open per process (least recently used is detached beyond it). An idle attached file costs
# a file handle and its catalog, not buffer memory, so this bounds handles, not the memory limit.
OPEN_SNAPSHOTS = 16

_catalogs: dict[str, Catalog] = {}
_catalogs_lock = threading.Lock()


def catalog(snapshots: Path) -> Catalog:
    """The process's catalog for a store's snapshots/ folder (created on first use)."""
    key = str(Path(snapshots).resolve())
    with _catalogs_lock:
        found = _catalogs.get(key)
        if found is None:
            found = _catalogs[key] = Catalog(Path(key))
        return found


class Catalog:
    def __init__(self, root: Path):
        self.root = root
        self.con = connect()
        # SET takes no parameters; the folder is the operator's store path, quoted. ATTACH works only inside it.
        self.con.execute(f"SET allowed_directories = [{quote(str(root) + os.sep)}]")
        harden(self.con)
        self._open: OrderedDict[str, str] = OrderedDict()  # file path -> alias
        self._lock = threading.Lock()

    def alias(self, path: Path) -> str:
        """The catalog name under which `path` (a snapshot database file under root) is attached; attaches it
        when it is not (any more)."""
        path = self._checked(path)
        with self._lock:
            return self._attach(path)

    def cursor(self, path: Path) -> duckdb.DuckDBPyConnection:
        """A cursor whose unqualified table names are those of the snapshot file `path` (cursors do not inherit
        a USE, so each one gets its own)."""
        path = self._checked(path)
        with self._lock:  # not detached between the attach and the USE
            alias = self._attach(path)
            cur = self.con.cursor()
            cur.execute(f'USE "{alias}"')
        return cur

    def _checked(self, path: Path) -> Path:
        path = Path(path).resolve()
        if path.parent.parent != self.root:
            raise ValueError(f"{path} is not a snapshot file of {self.root}")
        return path

    def _attach(self, path: Path) -> str:
        """(With the lock held.)"""
        key = str(path)
        alias = self._open.get(key)
        if alias is not None:
            self._open.move_to_end(key)
            return alias
        alias = f"snap_{path.parent.name}_{path.stem}".replace("-", "_")
        self.con.execute(f'ATTACH {quote(key)} AS "{alias}" (READ_ONLY)')
        self._open[key] = alias
        while len(self._open) > OPEN_SNAPSHOTS:
            _, old = self._open.popitem(last=False)
            # A query already running on it finishes (measured); a later cursor re-attaches.
            self.con.execute(f'DETACH "{old}"')
        return alias

    def forget(self, folder: Path) -> None:
        """Detach every file of a snapshot folder (before it is deleted)."""
        folder = Path(folder).resolve()
        with self._lock:
            for key in [k for k in self._open if Path(k).parent == folder]:
                self.con.execute(f'DETACH "{self._open.pop(key)}"')
