"""The snapshot store: publish, refuse, roll back, survive a crash and a concurrent publisher; sessions follow."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.dataset import load_files, summary
from analytics.errors import InputError
from analytics.metrics import Filters
from analytics.store import Store
from tests.conftest import ROOT, SAMPLE

SMALL = """subscription_id,partner_id,customer_id,country,seats,term_end_date,auto_renew
S1,P1,C1,DE,10,2022-08-01,true
S2,P2,C2,AT,4,2022-05-01,false
"""
OTHER = """subscription_id,partner_id,customer_id,country,seats,term_end_date,auto_renew
S1,P1,C1,DE,10,2022-08-01,true
S3,P3,C3,FR,7,2022-09-01,true
S4,P3,C4,FR,1,2022-03-01,true
"""


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def publish_text(store, tmp_path, name, text):
    path = write(tmp_path, name, text)
    return store.publish(load_files([path]), [(name, path.stat().st_size)])


def figures(store, snapshot_id):
    return summary(store.load(snapshot_id), Filters())


def cli(*args, env_store):
    import os

    env = {**os.environ, "RADAR_STORE": str(env_store)}
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True, env=env)


def test_publish_then_a_file_failing_as_a_whole_leaves_the_first_current_and_unchanged(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    before = figures(store, a)
    bad = write(tmp_path, "bad.csv", "this is not an export\n")
    result = cli("ingest", str(bad), "--publish", env_store=store.path)
    assert result.returncode != 0
    assert "bad.csv" in result.stderr and "Traceback" not in result.stderr
    assert store.current_id() == a
    assert [s.id for s in store.list()] == [a]
    assert figures(store, a) == before


def test_publish_b_makes_b_current_and_keeps_a_in_history_then_rollback(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    b = publish_text(store, tmp_path, "b.csv", OTHER)
    assert store.current_id() == b
    listed = {s.id: s for s in store.list()}
    assert set(listed) == {a, b} and listed[b].current and not listed[a].current
    assert figures(store, b)["totals"]["subscriptions_in_scope"] == 3
    store.rollback(a)
    assert store.current_id() == a
    assert figures(store, a)["totals"]["subscriptions_in_scope"] == 2


def test_the_current_snapshot_cannot_be_deleted_but_an_old_one_can(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    b = publish_text(store, tmp_path, "b.csv", OTHER)
    with pytest.raises(InputError, match="current snapshot cannot be deleted"):
        store.delete(b)
    store.delete(a)
    assert [s.id for s in store.list()] == [b]


def test_a_crash_between_writing_and_switching_leaves_the_previous_snapshot_current(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    path = write(tmp_path, "b.csv", OTHER)
    with pytest.raises(SystemExit):
        store.publish(load_files([path]), [("b.csv", 1)], _crash_before_switch=True)
    assert store.current_id() == a
    assert figures(store, a)["totals"]["subscriptions_in_scope"] == 2
    # The written snapshot is complete (it has its manifest) or not listed at all: never half.
    for snapshot in store.list():
        assert store.load(snapshot.id).result.accepted["subscriptions"] in (2, 3)


def test_a_crash_while_writing_leaves_no_listed_snapshot(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    half = store.staging / "20990101T000000000000Z-abcdef.1234"
    half.mkdir(parents=True)
    (half / "subscriptions.parquet").write_bytes(b"PAR1 half written")
    assert [s.id for s in store.list()] == [a]
    assert store.current_id() == a
    publish_text(store, tmp_path, "b.csv", OTHER)
    assert not half.exists()  # swept by the next publish


def test_a_pointer_to_garbage_is_no_current_snapshot(store, tmp_path):
    publish_text(store, tmp_path, "a.csv", SMALL)
    store.pointer.write_text("../../etc/passwd\n")
    assert store.current_id() is None


def _publish_in_process(args):
    store_path, csv_path, name = args
    store = Store(store_path)
    return store.publish(load_files([csv_path]), [(name, 1)])


def test_two_processes_publishing_at_once_both_complete_and_the_pointer_is_valid(store, tmp_path):
    paths = [write(tmp_path, "a.csv", SMALL), write(tmp_path, "b.csv", OTHER)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        ids = pool.map(_publish_in_process, [(str(store.path), str(p), p.name) for p in paths])
    assert sorted(s.id for s in store.list()) == sorted(ids)
    assert store.current_id() in ids
    for snapshot_id in ids:
        assert store.load(snapshot_id).result.accepted["subscriptions"] in (2, 3)


def test_cli_snapshots_json_lists_id_created_current_rows(store, tmp_path):
    a = publish_text(store, tmp_path, "a.csv", SMALL)
    listed = json.loads(cli("snapshots", "--json", env_store=store.path).stdout)
    assert listed[0]["id"] == a and listed[0]["current"] is True
    assert listed[0]["rows"]["subscriptions"] == 2 and listed[0]["created"]
    rolled = cli("rollback", "no-such-id", env_store=store.path)
    assert rolled.returncode == 2 and "no snapshot" in rolled.stderr


def test_cli_summary_without_files_reads_the_current_snapshot(store, tmp_path):
    publish_text(store, tmp_path, "b.csv", OTHER)
    doc = json.loads(cli("summary", "--json", env_store=store.path).stdout)
    assert doc["totals"]["subscriptions_in_scope"] == 3
    assert set(doc["by_country"]) == {"DE", "FR"}


def test_an_open_session_shows_a_new_snapshot_on_its_next_interaction(store, tmp_path, monkeypatch):
    monkeypatch.setenv("RADAR_STORE", str(store.path))
    first = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    second = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    first.run()
    second.run()
    sample = load_files(SAMPLE)
    in_scope = summary(sample, Filters())["totals"]["subscriptions_in_scope"]
    assert first.metric[0].value == f"{in_scope:,}"
    publish_text(store, tmp_path, "b.csv", OTHER)  # published by "another user"
    second.run()  # the next interaction of an already open session
    assert second.metric[0].value == "3"
    assert any(store.current_id() in c.value for c in second.sidebar.caption)


# A store written by the previous release (commit 587f010, before reject codes and the new partner and customer
# columns): tests/fixtures/store_v2, published from two small CSVs with one duplicate and one bad seat count.
STORE_V2 = Path(__file__).resolve().parent / "fixtures" / "store_v2"


def test_a_store_written_by_the_previous_release_opens_with_its_figures_and_reasons(tmp_path):
    import shutil

    from analytics.metrics import rejects

    shutil.copytree(STORE_V2, tmp_path / "store")
    store = Store(tmp_path / "store")
    snapshot_id = store.current_id()
    dataset = store.load(snapshot_id)
    totals = summary(dataset, Filters())["totals"]
    # S-1 (DE, 10 seats, 2022-08-01) after the cutoff; S-2 (AT, 5 seats, 2022-05-01, auto-renew off) lapses.
    assert totals["after_cutoff"] == {"subscriptions": 1, "seats": 10}
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 5}
    assert totals["partners_exposed"] == 1
    # The old rejects carry English text and no code: it is shown as it was written.
    reasons = sorted(rejects(dataset.cursor())["reason"])
    assert any("whole number" in r for r in reasons) and any("line 3 is kept" in r for r in reasons)
    # Columns added since are there, empty.
    columns = {r[0] for r in dataset.cursor().execute("DESCRIBE partners").fetchall()}
    assert {"contact_email", "language"} <= columns
    # A new publish goes on top of it, and the old snapshot can be made current again.
    upload = tmp_path / "s.csv"
    upload.write_text("subscription_id,seats,term_end_date\nN-1,3,2022-08-01\nN-2,4,2022-08-02\n", encoding="utf-8")
    new_id = store.publish(load_files([(upload, "s.csv")]), [("s.csv", upload.stat().st_size)], allow_shrink=True)
    assert store.current_id() == new_id
    store.rollback(snapshot_id)
    assert store.current_id() == snapshot_id
