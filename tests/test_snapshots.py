"""Snapshots ready to query (PRODUCT.md section 6): a publish writes a database file and a summary; opening one
rebuilds nothing; a programme change or a store of the previous format derives a file once; every snapshot is
served by one DuckDB instance per process, hardened; two processes publish into one store at once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

import analytics.store
import analytics.trends
from analytics.catalog import catalog
from analytics.dataset import load_files, summary
from analytics.metrics import Filters, headline
from analytics.programme import load_programme
from analytics.store import Store, facts_fingerprint
from analytics.trends import changes, filter_changes, snapshot_trend, summary_trend
from tests.conftest import ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"
A = """subscription_id,partner_id,partner_name,customer_id,country,seats,term_end_date,auto_renew
S-1,P-1,Alpha GmbH,C-1,DE,10,2022-08-01,true
S-2,P-2,Beta AG,C-2,AT,5,2022-05-01,false
S-4,P-3,Gamma SARL,C-4,FR,7,2022-10-01,true
"""
A_PARTNERS = """partner_id,partner_name,country,mpa_signed,indirect_provider_confirmed,mpn_id_updated,mca_all_customers,opted_out
P-1,Alpha GmbH,DE,true,true,true,true,false
P-2,Beta AG,AT,false,false,false,false,false
P-3,Gamma SARL,FR,true,false,false,false,false
"""
# A week later: P-3 completed its steps, P-2 opted out, S-5 appeared and S-2 vanished.
B = """subscription_id,partner_id,partner_name,customer_id,country,seats,term_end_date,auto_renew
S-1,P-1,Alpha GmbH,C-1,DE,10,2022-08-01,true
S-4,P-3,Gamma SARL,C-4,FR,7,2022-10-01,true
S-5,P-2,Beta AG,C-5,AT,3,2022-09-01,true
"""
B_PARTNERS = """partner_id,partner_name,country,mpa_signed,indirect_provider_confirmed,mpn_id_updated,mca_all_customers,opted_out
P-1,Alpha GmbH,DE,true,true,true,true,false
P-2,Beta AG,AT,false,false,false,false,true
P-3,Gamma SARL,FR,true,true,true,true,false
"""


def publish(store: Store, tmp_path: Path, name: str, subscriptions: str, partners: str, programme=None) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "subscriptions.csv").write_text(subscriptions, encoding="utf-8")
    (folder / "partners.csv").write_text(partners, encoding="utf-8")
    files = [folder / "subscriptions.csv", folder / "partners.csv"]
    return store.publish(load_files(files, programme=programme), [(f.name, f.stat().st_size) for f in files])


def files_of(store: Store, snapshot_id: str) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in (store.snapshots / snapshot_id).iterdir()}


def no_rebuild(*args, **kwargs):
    raise AssertionError("facts were rebuilt on load")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


def test_a_publish_writes_a_ready_file_and_a_summary_and_opening_it_rebuilds_nothing(store, tmp_path, monkeypatch):
    snapshot_id = publish(store, tmp_path, "a", A, A_PARTNERS)
    written = files_of(store, snapshot_id)
    fingerprint = facts_fingerprint(load_programme())
    assert set(written) == {"manifest.json", f"ready-{fingerprint}.duckdb"} | {
        n for n in written if n.startswith("summary-") and n.endswith(".parquet")
    }
    assert len(written) == 3
    monkeypatch.setattr(analytics.store, "build_facts", no_rebuild)
    dataset = Store(store.path).load(snapshot_id)
    # S-1 and S-4 after the cutoff (17 seats); S-2 lapses (5 seats, auto-renew off); P-1 is fully ready.
    totals = summary(dataset, Filters())["totals"]
    assert totals["after_cutoff"] == {"subscriptions": 2, "seats": 17}
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 5}
    assert totals["partners_fully_ready"] == 1
    assert files_of(store, snapshot_id) == written  # nothing written, nothing touched


def test_opening_in_a_fresh_process_reads_the_file_read_only(store, tmp_path):
    snapshot_id = publish(store, tmp_path, "a", A, A_PARTNERS)
    written = files_of(store, snapshot_id)
    code = (
        "import analytics.store as s, sys\n"
        "def boom(*a, **k): raise SystemExit('rebuilt')\n"
        "s.build_facts = boom\n"
        "d = s.Store(sys.argv[1]).load(sys.argv[2])\n"
        "print(d.cursor().execute('SELECT sum(seats) FROM sub_facts').fetchall()[0][0])\n"
        'print(d.cursor().execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()")'
        ".fetchall()[0][0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(store.path), snapshot_id], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["22", "True"]
    assert files_of(store, snapshot_id) == written


def test_every_snapshot_is_served_by_one_hardened_instance(store, tmp_path):
    a = publish(store, tmp_path, "a", A, A_PARTNERS)
    b = publish(store, tmp_path, "b", B, B_PARTNERS)
    first, second = store.load(a), store.load(b)
    assert first.con is second.con is catalog(store.snapshots).con
    cur = first.cursor()
    assert cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with pytest.raises(duckdb.Error, match="disabled by configuration|Permission"):
        cur.execute("SELECT * FROM read_csv(?)", [str(tmp_path / "a" / "subscriptions.csv")]).fetchall()
    with pytest.raises(duckdb.Error):
        cur.execute(f"ATTACH '{tmp_path / 'a' / 'x.duckdb'}' AS outside").fetchall()
    with pytest.raises(duckdb.Error, match="locked"):
        cur.execute("SET enable_external_access = true")
    # Each cursor sees its own snapshot's tables.
    assert first.cursor().execute("SELECT count(*) FROM subscriptions").fetchall()[0][0] == 3
    assert second.cursor().execute("SELECT count(*) FROM subscriptions WHERE subscription_id = 'S-5'").fetchall() == [
        (1,)
    ]


def test_more_snapshots_than_the_catalog_keeps_open_are_detached_and_reopened(store, tmp_path, monkeypatch):
    monkeypatch.setattr(analytics.catalog, "OPEN_SNAPSHOTS", 1)
    a = publish(store, tmp_path, "a", A, A_PARTNERS)
    b = publish(store, tmp_path, "b", B, B_PARTNERS)
    first, second = store.load(a), store.load(b)  # opening b detaches a
    assert len(catalog(store.snapshots)._open) == 1
    assert first.cursor().execute("SELECT count(*) FROM subscriptions").fetchall() == [(3,)]  # attached again
    assert second.cursor().execute("SELECT count(*) FROM subscriptions").fetchall() == [(3,)]


def test_a_programme_change_derives_a_ready_file_once_with_the_new_rules(store, tmp_path, monkeypatch):
    snapshot_id = publish(store, tmp_path, "a", A, A_PARTNERS)
    later = replace(load_programme(), cutoff=dt.date(2022, 9, 15))
    dataset = store.load(snapshot_id, later)
    # With the cutoff on 2022-09-15 only S-4 (2022-10-01, 7 seats) ends after it.
    assert summary(dataset, Filters())["totals"]["after_cutoff"] == {"subscriptions": 1, "seats": 7}
    direct = load_files([tmp_path / "a" / "subscriptions.csv", tmp_path / "a" / "partners.csv"], programme=later)
    assert summary(dataset, Filters()) == summary(direct, Filters())
    ready = sorted(n for n in files_of(store, snapshot_id) if n.startswith("ready-"))
    assert ready == sorted(
        [f"ready-{facts_fingerprint(load_programme())}.duckdb", f"ready-{facts_fingerprint(later)}.duckdb"]
    )
    monkeypatch.setattr(analytics.store, "build_facts", no_rebuild)
    assert summary(Store(store.path).load(snapshot_id, later), Filters()) == summary(direct, Filters())


def test_a_store_of_the_previous_format_is_converted_once_and_keeps_its_parquet(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "store_v2", tmp_path / "store")
    store = Store(tmp_path / "store")
    snapshot_id = store.current_id()
    before = set(files_of(store, snapshot_id))
    first = summary(store.load(snapshot_id), Filters())
    after = set(files_of(store, snapshot_id))
    assert before < after and {n for n in after - before} == {f"ready-{facts_fingerprint(load_programme())}.duckdb"}
    assert {"subscriptions.parquet", "partners.parquet", "customers.parquet", "rejects.parquet"} <= after
    monkeypatch.setattr(analytics.store, "build_facts", no_rebuild)
    assert summary(Store(store.path).load(snapshot_id), Filters()) == first


def test_a_store_written_in_the_current_format_opens_with_its_figures(tmp_path):
    # tests/fixtures/store_v3: published by this version (format 3) from four subscriptions (S-3 rejected, "ten"
    # seats) and three partners; kept so that later versions prove they still open it.
    shutil.copytree(FIXTURES / "store_v3", tmp_path / "store")
    store = Store(tmp_path / "store")
    snapshot = store.get(store.current_id())
    assert snapshot.manifest["format"] == 3
    dataset = store.load(snapshot.id)
    totals = summary(dataset, Filters())["totals"]
    # S-1 (DE, 10) and S-4 (FR, 7) end after the cutoff; S-2 (AT, 5, auto-renew off) lapses; P-1 is ready.
    assert totals["after_cutoff"] == {"subscriptions": 2, "seats": 17}
    assert totals["lapse_risk"] == {"subscriptions": 1, "seats": 5}
    assert totals["partners_fully_ready"] == 1
    assert dataset.result.rejected == 1
    trend = summary_trend([(snapshot.id, snapshot.created, store.summary(snapshot))], Filters())
    assert trend.iloc[0]["after_seats"] == 17 and trend.iloc[0]["partners_fully_ready"] == 1


def test_trends_from_summaries_equal_trends_from_the_snapshots_for_every_summarised_filter(store, tmp_path):
    ids = [publish(store, tmp_path, "a", A, A_PARTNERS), publish(store, tmp_path, "b", B, B_PARTNERS)]
    snapshots = [store.get(i) for i in ids]
    summaries = [(s.id, s.created, store.summary(s)) for s in snapshots]
    datasets = [store.load(i) for i in ids]
    for filters in (
        Filters(),
        Filters(countries=("DE",)),
        Filters(countries=("AT",)),
        Filters(segments=("commercial",)),
        Filters(countries=("FR",), segments=("commercial",)),
        Filters(countries=("XX",)),  # in neither snapshot: a zero total row each, as the headline gives
        Filters(segments=("education",)),
    ):
        fast = summary_trend(summaries, filters).reset_index(drop=True)
        slow = snapshot_trend(datasets, filters).reset_index(drop=True)
        assert list(fast["snapshot"]) == list(slow["snapshot"]), filters
        for column in fast.columns[2:]:
            assert [None if v != v else v for v in fast[column]] == [None if v != v else v for v in slow[column]], (
                filters,
                column,
            )


def test_the_diff_reads_both_files_in_place_and_counts_what_changed(store, tmp_path):
    old = store.load(publish(store, tmp_path, "a", A, A_PARTNERS))
    new = store.load(publish(store, tmp_path, "b", B, B_PARTNERS))
    assert new.database and old.database and new.con is old.con
    frame = changes(new, old, Filters())
    found = {(r["change"], r["id"]) for r in frame.to_dict("records")}
    assert found == {("became_ready", "P-3"), ("new_opt_out", "P-2"), ("appeared", "S-5"), ("vanished", "S-2")}
    assert set(changes(new, old, Filters(countries=("FR",)))["id"]) == {"P-3"}


def test_a_publish_keeps_what_changed_since_the_snapshot_before_and_trends_filters_it(store, tmp_path, monkeypatch):
    old_id = publish(store, tmp_path, "a", A, A_PARTNERS)
    new_id = publish(store, tmp_path, "b", B, B_PARTNERS)
    assert not [p for p in (store.snapshots / old_id).iterdir() if p.name.startswith("changes-")]
    kept = [p.name for p in (store.snapshots / new_id).iterdir() if p.name.startswith(f"changes-{old_id}-")]
    assert len(kept) == 1, kept
    live = changes(store.load(new_id), store.load(old_id), Filters(countries=("AT",)))
    monkeypatch.setattr(analytics.trends, "change_rows", no_rebuild)  # from here on, only the kept file is read
    rows = store.change_rows(new_id, old_id)

    def shown(filters: Filters) -> set:
        return {(r["change"], r["id"], r["of_kind"]) for r in filter_changes(rows, filters).to_dict("records")}

    everything = {("became_ready", "P-3", 1), ("new_opt_out", "P-2", 1), ("appeared", "S-5", 1), ("vanished", "S-2", 1)}
    assert shown(Filters()) == everything
    # P-2's opt-out shows where its subscriptions are (AT, in either week), and so do its appeared and vanished ones.
    assert shown(Filters(countries=("AT",))) == everything - {("became_ready", "P-3", 1)}
    assert shown(Filters(countries=("DE",))) == set()
    assert shown(Filters(partner="gamma")) == {("became_ready", "P-3", 1)}
    assert filter_changes(rows, Filters(countries=("AT",))).equals(live)


def test_headline_of_a_served_snapshot_equals_the_ingested_dataset(store, tmp_path):
    snapshot_id = publish(store, tmp_path, "a", A, A_PARTNERS)
    direct = load_files([tmp_path / "a" / "subscriptions.csv", tmp_path / "a" / "partners.csv"])
    served = store.load(snapshot_id)
    for filters in (Filters(), Filters(countries=("DE",)), Filters(partner="beta")):
        assert headline(served.cursor(), filters).equals(headline(direct.cursor(), filters))


def _cli_publish(store_path: Path, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "RADAR_STORE": str(store_path)}
    files = [str(folder / "subscriptions.csv"), str(folder / "partners.csv")]
    return subprocess.Popen(
        [sys.executable, "-m", "analytics", "ingest", *files, "--publish", "--allow-shrink"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_publishing_the_same_moment_leave_a_valid_store(store, tmp_path):
    for name, subs, partners in (("a", A, A_PARTNERS), ("b", B, B_PARTNERS)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "subscriptions.csv").write_text(subs, encoding="utf-8")
        (tmp_path / name / "partners.csv").write_text(partners, encoding="utf-8")
    runs = [_cli_publish(store.path, tmp_path / n) for n in ("a", "b")]
    outcomes = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outcomes
    listed = store.list()
    assert len(listed) == 2 and store.current_id() in {s.id for s in listed}
    assert not any(store.staging.iterdir()) if store.staging.exists() else True
    seen = set()
    for snapshot in listed:
        dataset = store.load(snapshot.id)
        ids = {r[0] for r in dataset.cursor().execute("SELECT subscription_id FROM subscriptions").fetchall()}
        seen.add(frozenset(ids))
        assert len(list((store.snapshots / snapshot.id).glob("summary-*.parquet"))) == 1
    assert seen == {frozenset({"S-1", "S-2", "S-4"}), frozenset({"S-1", "S-4", "S-5"})}
