"""The touchpoint log (PRODUCT.md section 8): SQLite in the store folder, created on first use, many writers, apart
from the snapshots; calls with a fixed list of outcomes; last touch per partner and "not touched in N days"."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3

import pytest

from analytics.dataset import load_files
from analytics.errors import InputError
from analytics.store import Store
from analytics.touchpoints import (
    FILE_NAME,
    OUTCOMES,
    Touchpoint,
    TouchpointLog,
    touched_within_days,
    with_last_touch,
)
from tests.conftest import SAMPLE

WRITES_PER_PROCESS = 150


def test_the_log_is_created_on_first_use_in_the_store_folder_in_wal_mode(tmp_path):
    log = TouchpointLog(store=tmp_path / "store")
    assert not log.path.exists()
    assert log.entries().empty  # reading creates it too
    assert log.path == tmp_path / "store" / FILE_NAME
    with sqlite3.connect(log.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_default_log_lives_in_the_store_named_by_radar_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RADAR_STORE", str(tmp_path / "elsewhere"))
    assert TouchpointLog().path == tmp_path / "elsewhere" / "touchpoints.sqlite"


def test_a_call_is_recorded_with_outcome_note_and_who(tmp_path):
    log = TouchpointLog(store=tmp_path)
    log.record_call("P-1", "will_complete_steps", "Signs the MPA on Monday.\nCall again Tuesday.", "Anna Berger")
    entry = log.entries(partner_id="P-1").iloc[0]
    assert (entry["kind"], entry["outcome"], entry["who"]) == ("call", "will_complete_steps", "Anna Berger")
    assert entry["note"] == "Signs the MPA on Monday.\nCall again Tuesday."
    assert entry["at"].tzinfo is not None


@pytest.mark.parametrize("outcome", ["", "maybe", None, "REACHED"])
def test_a_call_outcome_outside_the_fixed_list_is_refused(tmp_path, outcome):
    log = TouchpointLog(store=tmp_path)
    with pytest.raises(InputError, match="unknown call outcome"):
        log.record_call("P-1", outcome, "", "Anna")
    assert log.entries().empty


def test_a_call_without_a_name_is_refused_and_names_are_one_line(tmp_path):
    log = TouchpointLog(store=tmp_path)
    with pytest.raises(InputError, match="who made the call"):
        log.record_call("P-1", "reached", "", "  \n ")
    log.record_call("P-1", "reached", "", "Eve\r\nBcc: x@evil.example")
    assert log.entries().iloc[0]["who"] == "Eve Bcc: x@evil.example"


def test_the_outcomes_are_the_five_of_the_spec():
    assert OUTCOMES == ("reached", "no_answer", "will_complete_steps", "will_opt_out", "done")


def test_last_touch_is_the_newest_touch_and_last_outcome_the_newest_call(tmp_path):
    import pandas as pd

    log = TouchpointLog(store=tmp_path)
    day = dt.datetime(2022, 6, 1, 9, tzinfo=dt.UTC)
    log.record(
        [
            Touchpoint("P-1", "call", who="A", outcome="no_answer", at=day),
            Touchpoint("P-1", "call", who="A", outcome="reached", at=day + dt.timedelta(days=1)),
            Touchpoint("P-1", "sent", who="B", snapshot="s1", template="notice", at=day + dt.timedelta(days=2)),
            # A failed send reached nobody: it is logged, but it is no touch.
            Touchpoint("P-1", "failed", who="B", snapshot="s1", template="notice", at=day + dt.timedelta(days=3)),
            Touchpoint("P-2", "drafted", who="C", snapshot="s1", template="notice", at=day),
        ]
    )
    last = log.last_touches().set_index("partner_id")
    assert last.loc["P-1", "last_touch"] == day + dt.timedelta(days=2)
    assert last.loc["P-1", "last_touch_kind"] == "sent"
    assert last.loc["P-1", "last_outcome"] == "reached"
    assert last.loc["P-2", "last_touch_kind"] == "drafted"
    assert pd.isna(last.loc["P-2", "last_outcome"])


def test_not_touched_in_n_days_counts_calls_and_notices_but_not_failed_sends(tmp_path):
    log = TouchpointLog(store=tmp_path)
    now = dt.datetime(2022, 6, 30, 12, tzinfo=dt.UTC)
    log.record(
        [
            Touchpoint("RECENT-CALL", "call", who="A", outcome="reached", at=now - dt.timedelta(days=2)),
            Touchpoint("OLD-CALL", "call", who="A", outcome="reached", at=now - dt.timedelta(days=20)),
            Touchpoint("RECENT-SENT", "sent", who="A", at=now - dt.timedelta(days=6, hours=23)),
            Touchpoint("RECENT-FAILED", "failed", who="A", at=now - dt.timedelta(hours=1)),
        ]
    )
    assert touched_within_days(log, 7, now) == ("RECENT-CALL", "RECENT-SENT")
    assert touched_within_days(log, 30, now) == ("OLD-CALL", "RECENT-CALL", "RECENT-SENT")
    assert touched_within_days(log, 0, now) == ()


def test_with_last_touch_keeps_the_lists_order_and_leaves_untouched_partners_empty(tmp_path):
    import pandas as pd

    log = TouchpointLog(store=tmp_path)
    log.record_call("P-2", "done", "", "A")
    frame = pd.DataFrame({"partner_id": ["P-3", "P-2", "P-1"], "after_seats": [30, 20, 10]})
    merged = with_last_touch(frame, log)
    assert list(merged["partner_id"]) == ["P-3", "P-2", "P-1"]
    assert list(merged["last_outcome"].isna()) == [True, False, True]
    assert with_last_touch(frame.iloc[0:0], log).empty


def test_the_log_survives_publish_rollback_and_delete_of_snapshots(tmp_path):
    store = Store(tmp_path / "store")
    log = TouchpointLog(store=store.path)
    first = store.publish(load_files(SAMPLE), [("sample", 1)])
    log.record_call("P-0001", "reached", "before the second publish", "A")
    store.publish(load_files(SAMPLE), [("sample", 1)])
    store.rollback(first)
    log.record_call("P-0001", "done", "after the rollback", "A")
    second = [s.id for s in store.list() if s.id != first][0]
    store.delete(second)
    assert list(log.entries(partner_id="P-0001")["note"]) == ["after the rollback", "before the second publish"]


def _writer(path: str, name: str, count: int, start) -> None:
    """One process of the two-writer test: once both are ready (a barrier), records `count` calls one by one."""
    log = TouchpointLog(path)
    start.wait(timeout=60)
    for i in range(count):
        log.record(Touchpoint(f"{name}-{i:04d}", "call", who=name, outcome="reached", note=f"{name} {i}"))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    """Two separate processes (spawned, so each has its own SQLite connection and nothing is shared) record calls
    into one fresh file at the same time: every write of both is there, each exactly once."""
    path = tmp_path / "store" / FILE_NAME
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_writer, args=(str(path), name, WRITES_PER_PROCESS, start)) for name in ("A", "B")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    entries = TouchpointLog(path).entries()
    assert len(entries) == 2 * WRITES_PER_PROCESS
    for name in ("A", "B"):
        ids = sorted(entries.loc[entries["who"] == name, "partner_id"])
        assert ids == [f"{name}-{i:04d}" for i in range(WRITES_PER_PROCESS)]
    # The two writers interleaved (they really wrote at the same time), which the ids of the rows show.
    order = list(entries.sort_values("id")["who"])
    assert order != sorted(order)


@pytest.mark.parametrize(
    "filters", [{}, {"countries": ("DE",)}, {"countries": ("DE", "AT")}, {"segments": ("commercial",)}]
)
def test_the_call_list_leaves_out_partners_touched_lately_and_counts_only_the_rest(filters):
    """ "Not touched in N days" narrows the list in SQL (metrics.call_list's exclude), so the first rows and the
    list's length are those of the narrowed list, on every roll-up path."""
    from analytics.metrics import Filters, call_list

    cur = load_files(SAMPLE).cursor()
    chosen = Filters(**filters)
    whole = call_list(cur, chosen)
    touched = (*whole["partner_id"].iloc[[0, 2, 4]], "P-NOT-ON-THE-LIST")
    narrowed = call_list(cur, chosen, limit=5, exclude=touched)
    rest = [p for p in whole["partner_id"] if p not in touched]
    assert list(narrowed["partner_id"]) == rest[:5]
    assert narrowed["list_partners"].iloc[0] == len(whole) - 3
    assert list(call_list(cur, chosen, exclude=())["partner_id"]) == list(whole["partner_id"])
