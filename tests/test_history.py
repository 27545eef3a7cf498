"""The bundled sample's weekly history (data/sample/history/): there, current, moving, and drawn by Trends on a
fresh install without ingesting the weeks."""

from __future__ import annotations

import csv
import subprocess
import sys

import pyarrow.parquet as pq
from streamlit.testing.v1 import AppTest

from analytics.history import HISTORY, SUMMARY, bundled_summaries, compute_summaries, load_week, sample_weeks
from analytics.metrics import Filters
from analytics.programme import load_programme
from analytics.trends import changes, snapshot_trend, summary_trend
from tests.conftest import ROOT

STEPS = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")


def rows(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_bundled_summary_is_what_the_weeks_give_today():
    """Regenerate with `python data/sample/history.py` when this fails (the weeks' figures changed)."""
    bundled = bundled_summaries()
    assert bundled is not None, "history/summary.parquet is missing or keyed to other files or rules"
    computed = compute_summaries()
    assert [b[0] for b in bundled] == [c[0] for c in computed] == [w.id for w in sample_weeks()]
    for (_, _, old), (_, _, new) in zip(bundled, computed, strict=True):
        assert old.equals(new)


def test_the_generator_writes_the_committed_history_byte_for_byte(tmp_path):
    result = subprocess.run(
        [sys.executable, "data/sample/history.py", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    committed = {p.relative_to(HISTORY): p.read_bytes() for p in HISTORY.rglob("*.csv")}
    written = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.csv")}
    assert written == committed and len(committed) == 8


def test_four_weeks_before_the_sample_in_which_readiness_and_opt_outs_move():
    weeks = sample_weeks()
    assert len(weeks) == 5 and [w.created.weekday() for w in weeks] == [0] * 5
    trend = summary_trend(bundled_summaries(), Filters())
    totals = trend[trend["country"].isna()]
    ready = list(totals["partners_fully_ready"])
    opted = list(totals["partners_opted_out"])
    assert ready == sorted(ready) and ready[0] < ready[-1]
    assert opted == sorted(opted) and opted[0] < opted[-1]


def test_summaries_answer_like_the_weeks_themselves():
    programme = load_programme()
    datasets = [load_week(w, programme) for w in sample_weeks()[-2:]]
    bundled = bundled_summaries()[-2:]
    for filters in (Filters(), Filters(countries=("DE",)), Filters(segments=("education",))):
        fast = summary_trend(bundled, filters).reset_index(drop=True)
        slow = snapshot_trend(datasets, filters).reset_index(drop=True)
        for column in fast.columns[2:]:
            assert [None if v != v else v for v in fast[column]] == [None if v != v else v for v in slow[column]]


def test_the_diff_of_the_last_two_weeks_matches_the_files():
    old_week, new_week = sample_weeks()[-2:]
    frame = changes(load_week(new_week), load_week(old_week), Filters())
    old_ids = {r["subscription_id"] for r in rows(old_week.files[0])}
    new_ids = {r["subscription_id"] for r in rows(new_week.files[0])}
    assert set(frame[frame["change"] == "appeared"]["id"]) == new_ids - old_ids
    assert set(frame[frame["change"] == "vanished"]["id"]) == old_ids - new_ids
    old_opted = {p["partner_id"] for p in rows(old_week.files[1]) if p["opted_out"] == "true"}
    new_opted = {p["partner_id"] for p in rows(new_week.files[1]) if p["opted_out"] == "true"}
    assert set(frame[frame["change"] == "new_opt_out"]["id"]) == new_opted - old_opted
    assert new_ids - old_ids and old_ids - new_ids and new_opted - old_opted
    # Every kind's count is its number of rows when nothing is cut.
    assert (frame.groupby("change")["of_kind"].first() == frame.groupby("change").size()).all()


def test_a_limited_diff_keeps_exact_counts_and_the_first_rows_of_each_kind():
    old_week, new_week = sample_weeks()[-2:]
    new, old = load_week(new_week), load_week(old_week)
    full = changes(new, old, Filters())
    limited = changes(new, old, Filters(), limit=2)
    sizes = full.groupby("change").size()
    assert (sizes > 2).any(), "the fixture must have a kind with more changes than the limit"
    for kind, size in sizes.items():
        rows_of_kind = limited[limited["change"] == kind]
        assert len(rows_of_kind) == min(size, 2), kind
        assert set(rows_of_kind["of_kind"]) == {size}, kind
        assert list(rows_of_kind["id"]) == sorted(full[full["change"] == kind]["id"])[:2], kind


def test_trends_on_a_fresh_install_draws_the_sample_weeks_from_the_bundled_summaries(monkeypatch):
    import ui.history

    def no_ingest(*args, **kwargs):
        raise AssertionError("the weeks were ingested")

    loaded = []

    def load_week(week, *args):  # the diff needs the week before the sample's, and only that one
        loaded.append(week.id)
        return real_load_week(week, *args)

    real_load_week = ui.history.load_week
    monkeypatch.setattr(ui.history, "compute_summaries", no_ingest)
    monkeypatch.setattr(ui.history, "load_week", load_week)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/trends.py").run()
    assert not at.exception
    assert any("bundled sample" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2
    assert loaded in ([], [sample_weeks()[-2].id])  # [] when another test of this process loaded it already
    assert pq.read_table(SUMMARY).num_rows > 0
