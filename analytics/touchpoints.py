"""The touchpoint log: every notice drafted, sent or failed and every call a champion records, per partner.

One SQLite file in the store folder (`touchpoints.sqlite` beside `snapshots/`), apart from the snapshots, so it
outlives every publish, rollback and delete. It is created on first use. Several server processes (and the
command line) write to it at once: the file runs in WAL mode, every connection waits up to `BUSY_MS` for a lock
instead of failing, and every write is one short `BEGIN IMMEDIATE` transaction. WAL needs a local file system
(not NFS or SMB). Back it up with `sqlite3 touchpoints.sqlite ".backup copy.sqlite"`, or copy the file while no
one writes (README "Touchpoint log").
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics.errors import InputError
from analytics.store import store_path

FILE_NAME = "touchpoints.sqlite"
BUSY_MS = 30_000
# What happened: a notice drafted (.eml, mail-merge row), sent or failed to send; a call recorded by a champion.
KINDS = ("drafted", "sent", "failed", "call")
# The outcome of a call, from a fixed list (PRODUCT.md section 8).
OUTCOMES = ("reached", "no_answer", "will_complete_steps", "will_opt_out", "done")
# A touch, for "last touch" and "not touched in N days": everything but a send that failed (it reached nobody).
TOUCH_KINDS = ("drafted", "sent", "call")
_TOUCH_SQL = "('drafted', 'sent', 'call')"  # the same, as fixed SQL text
MAX_NOTE = 2000
MAX_WHO = 100
COLUMNS = ("id", "at", "partner_id", "kind", "outcome", "note", "who", "snapshot", "template", "recipient", "detail")

SCHEMA = """
CREATE TABLE IF NOT EXISTS touchpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,                 -- ISO 8601, UTC, microseconds
    partner_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('drafted', 'sent', 'failed', 'call')),
    outcome TEXT CHECK (outcome IS NULL OR outcome IN
        ('reached', 'no_answer', 'will_complete_steps', 'will_opt_out', 'done')),
    note TEXT,
    who TEXT,
    snapshot TEXT,                    -- the snapshot id (or the data's content hash) the notice was built from
    template TEXT,                    -- the notice template's name
    recipient TEXT,                   -- the address a notice went (or was meant) to
    detail TEXT                       -- why a send failed
);
CREATE INDEX IF NOT EXISTS touchpoints_partner ON touchpoints (partner_id, at);
CREATE INDEX IF NOT EXISTS touchpoints_sent ON touchpoints (kind, snapshot, template, partner_id);
"""


@dataclass(frozen=True)
class Touchpoint:
    """One entry to record."""

    partner_id: str
    kind: str
    who: str | None = None
    outcome: str | None = None
    note: str | None = None
    snapshot: str | None = None
    template: str | None = None
    recipient: str | None = None
    detail: str | None = None
    at: dt.datetime | None = None


def one_line(value: object, limit: int) -> str:
    """Text as one printable line, at most `limit` characters (names and addresses in the log)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text[:limit]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TouchpointLog:
    """The log file of one store folder (default: $RADAR_STORE or data/store)."""

    def __init__(self, path: str | Path | None = None, *, store: str | Path | None = None):
        self.path = Path(path) if path is not None else store_path(store) / FILE_NAME

    # ------------------------------------------------------------ connections

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one use (sqlite3 connections are not shared across Streamlit's threads)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we say BEGIN IMMEDIATE ourselves, so a writer takes the lock before it reads.
        with closing(sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)) as con:
            con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                # Persistent in the file: done once, by whichever process comes first (waits for the others).
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            if con.execute("PRAGMA user_version").fetchone()[0] < 1:
                with _transaction(con):
                    _create(con)
            yield con

    # ------------------------------------------------------------ writing

    def record(self, entries: Touchpoint | Iterable[Touchpoint]) -> int:
        """Append entries in one transaction; returns how many were written."""
        items = [entries] if isinstance(entries, Touchpoint) else list(entries)
        rows = [_row(item) for item in items]
        if not rows:
            return 0
        with self._connect() as con, _transaction(con):
            con.executemany(
                "INSERT INTO touchpoints (at, partner_id, kind, outcome, note, who, snapshot, template, recipient, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def record_call(self, partner_id: str, outcome: str, note: str, who: str, snapshot: str | None = None) -> None:
        """A champion's call: outcome from OUTCOMES, a note, who made it."""
        if not one_line(who, MAX_WHO):
            raise InputError("say who made the call (a name)", code="touch_who_missing")
        self.record(Touchpoint(partner_id, "call", who=who, outcome=outcome, note=note, snapshot=snapshot))

    # ------------------------------------------------------------ reading

    def entries(
        self, partner_id: str | None = None, kinds: Iterable[str] = (), limit: int | None = None
    ) -> pd.DataFrame:
        """Entries, newest first (of one partner, of some kinds); `at` as a UTC timestamp."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM touchpoints WHERE 1 = 1"
        params: list = []
        if partner_id is not None:
            sql += " AND partner_id = ?"
            params.append(partner_id)
        kinds = list(kinds)
        if kinds:
            sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params += kinds
        sql += " ORDER BY at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._connect() as con:
            rows = con.execute(sql, params).fetchall()
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        return frame

    def sent(self, snapshot: str, template: str) -> set[str]:
        """Partners a notice of this snapshot and template was sent to."""
        sql = "SELECT DISTINCT partner_id FROM touchpoints WHERE kind = 'sent' AND snapshot = ? AND template = ?"
        with self._connect() as con:
            return {r[0] for r in con.execute(sql, (snapshot, template)).fetchall()}

    def was_sent(self, partner_id: str, snapshot: str, template: str) -> bool:
        sql = (
            "SELECT 1 FROM touchpoints WHERE kind = 'sent' AND partner_id = ? AND snapshot = ? AND template = ? LIMIT 1"
        )
        with self._connect() as con:
            return con.execute(sql, (partner_id, snapshot, template)).fetchone() is not None

    def touched_since(self, since: dt.datetime) -> set[str]:
        """Partners with a touch (TOUCH_KINDS) at or after `since`."""
        sql = f"SELECT DISTINCT partner_id FROM touchpoints WHERE at >= ? AND kind IN {_TOUCH_SQL}"
        with self._connect() as con:
            return {r[0] for r in con.execute(sql, (_iso(since),)).fetchall()}

    def last_touches(self, partner_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Per partner: the last touch (when, what kind, who) and the outcome of the last call."""
        sql = f"""
        WITH touches AS (
            SELECT partner_id, at, kind, who,
                   row_number() OVER (PARTITION BY partner_id ORDER BY at DESC, id DESC) AS n
            FROM touchpoints WHERE kind IN {_TOUCH_SQL}
        ),
        calls AS (
            SELECT partner_id, outcome,
                   row_number() OVER (PARTITION BY partner_id ORDER BY at DESC, id DESC) AS n
            FROM touchpoints WHERE kind = 'call'
        )
        SELECT t.partner_id, t.at AS last_touch, t.kind AS last_touch_kind, t.who AS last_touch_by,
               c.outcome AS last_outcome
        FROM touches t LEFT JOIN calls c ON c.partner_id = t.partner_id AND c.n = 1
        WHERE t.n = 1
        """
        with self._connect() as con:
            rows = con.execute(sql).fetchall()
        frame = pd.DataFrame(
            rows, columns=["partner_id", "last_touch", "last_touch_kind", "last_touch_by", "last_outcome"]
        )
        frame["last_touch"] = pd.to_datetime(frame["last_touch"], utc=True, format="ISO8601")
        if partner_ids is not None:
            frame = frame[frame["partner_id"].isin(set(partner_ids))]
        return frame.reset_index(drop=True)


def with_last_touch(frame: pd.DataFrame, log: TouchpointLog) -> pd.DataFrame:
    """`frame` (a partner list with `partner_id`) with each partner's last touch, its kind and who, and the
    outcome of the last call; empty where there is none. Row order is kept."""
    touches = log.last_touches(frame["partner_id"]) if len(frame) else log.last_touches([])
    merged = frame.merge(touches, on="partner_id", how="left")
    merged.index = frame.index
    return merged


def touched_within_days(log: TouchpointLog, days: int, now: dt.datetime | None = None) -> tuple[str, ...]:
    """Partners touched within the last `days` days (to leave out of a list that shows the others), sorted."""
    if days <= 0:
        return ()
    since = (now or _now()) - dt.timedelta(days=days)
    return tuple(sorted(log.touched_since(since)))


# ---------------------------------------------------------------- helpers


def _create(con: sqlite3.Connection) -> None:
    """The table and indexes, once (every statement is IF NOT EXISTS: two first writers cannot clash)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("PRAGMA user_version = 1")


@contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _row(item: Touchpoint) -> tuple:
    partner_id = one_line(item.partner_id or "", 200)
    if not partner_id:
        raise InputError("a touchpoint needs a partner id", code="touch_partner_missing")
    if item.kind not in KINDS:
        raise InputError(f"unknown touchpoint kind {item.kind!r}; allowed: {', '.join(KINDS)}", code="touch_kind")
    if item.kind == "call" and item.outcome not in OUTCOMES:
        raise InputError(
            f"unknown call outcome {item.outcome!r}; allowed: {', '.join(OUTCOMES)}",
            code="touch_outcome",
            outcome=str(item.outcome),
        )
    note = None if item.note is None else str(item.note).replace("\r\n", "\n").strip()[:MAX_NOTE] or None
    return (
        _iso(item.at or _now()),
        partner_id,
        item.kind,
        item.outcome if item.kind == "call" else None,
        note,
        (one_line(item.who, MAX_WHO) or None) if item.who is not None else None,
        item.snapshot,
        item.template,
        None if item.recipient is None else one_line(item.recipient, 320),
        None if item.detail is None else one_line(item.detail, 500),
    )
