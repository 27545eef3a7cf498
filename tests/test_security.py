"""Untrusted data: DuckDB is locked down after loading, and hostile filter values are only ever data."""

from __future__ import annotations

import duckdb
import pytest

from analytics import metrics
from analytics.dataset import load_files, summary
from analytics.export import to_csv, to_xlsx
from analytics.metrics import Filters
from tests.conftest import SAMPLE

HOSTILE = [
    "'; DROP TABLE subscriptions; --",
    '") UNION SELECT * FROM partners --',
    "/etc/passwd",
    "read_csv('/etc/passwd')",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://example.invalid","x")',
    "%",
    "_",
]
QUERIES = [
    "headline",
    "expirations",
    "exposed_partners",
    "call_list",
    "opted_out_partners",
    "opt_outs_over_time",
    "readiness_funnel",
    "step_completion",
    "projection",
    "projection_what_if",
]


@pytest.fixture(scope="module")
def dataset():
    return load_files(SAMPLE)


def table_counts(dataset):
    return metrics.row_counts(dataset.cursor())


def test_sql_cannot_read_files_or_unlock_the_configuration_after_loading(dataset):
    cur = dataset.cursor()
    with pytest.raises(duckdb.Error, match="disabled by configuration|Permission"):
        cur.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.Error, match="Cannot change configuration"):
        cur.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error, match="Cannot change configuration"):
        cur.execute("SET memory_limit = '100GB'")


def test_memory_and_thread_limits_come_from_the_server_config(dataset):
    from analytics.settings import settings

    threads = dataset.cursor().execute("SELECT current_setting('threads')").fetchone()[0]
    assert int(threads) == settings().threads


def _gib(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"MiB": 1 / 1024, "GiB": 1.0, "TiB": 1024.0}[unit]


def test_the_ingest_runs_under_its_own_memory_limit_and_serving_under_the_other(tmp_path, monkeypatch):
    """config/server.toml: ingest_memory_limit while a file is read and checked, memory_limit once it is served."""
    import analytics.dataset
    from analytics.settings import settings

    config = tmp_path / "server.toml"
    config.write_text('[duckdb]\nmemory_limit = "2GB"\ningest_memory_limit = "1GB"\nthreads = 1\n', encoding="utf-8")
    monkeypatch.setenv("RADAR_CONFIG", str(config))
    settings.cache_clear()
    seen = []
    real_ingest = analytics.dataset.ingest

    def ingest(con, *args):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        return real_ingest(con, *args)

    monkeypatch.setattr(analytics.dataset, "ingest", ingest)
    try:
        served = load_files(SAMPLE).cursor().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        monkeypatch.delenv("RADAR_CONFIG")
        settings.cache_clear()
    # DuckDB reports the limit in GiB, a little below the GB asked for.
    assert 0.85 < _gib(seen[0]) <= 1.0
    assert 1.7 < _gib(served) <= 2.0


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path, monkeypatch):
    from analytics.errors import InputError
    from analytics.settings import settings

    config = tmp_path / "server.toml"
    config.write_text('[duckdb]\nmemory_limit = "4GB\'; SET enable_external_access = true; --"\n', encoding="utf-8")
    monkeypatch.setenv("RADAR_CONFIG", str(config))
    settings.cache_clear()
    try:
        with pytest.raises(InputError, match="memory_limit must be a size"):
            settings()
    finally:
        monkeypatch.delenv("RADAR_CONFIG")
        settings.cache_clear()


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_match_nothing_and_change_nothing(dataset, value):
    before = table_counts(dataset)
    for filters in (Filters(countries=(value,)), Filters(segments=(value,)), Filters(partner=value)):
        for name in QUERIES:
            frame = getattr(metrics, name)(dataset.cursor(), filters)
            if name == "headline":
                assert int(frame.iloc[0]["subscriptions_in_scope"]) == 0
            elif name == "readiness_funnel":
                assert frame["partners"].sum() == 0
            elif name == "step_completion":
                assert frame["done"].sum() == 0
            else:
                assert len(frame) == 0, name
    assert table_counts(dataset) == before


def test_percent_and_underscore_in_the_partner_search_are_literal(dataset):
    everything = summary(dataset, Filters())["totals"]["subscriptions_in_scope"]
    assert everything > 0
    assert summary(dataset, Filters(partner="%"))["totals"]["subscriptions_in_scope"] == 0


def test_downloads_neutralise_formulas_and_keep_numbers():
    import pandas as pd
    from python_calamine import CalamineWorkbook

    frame = pd.DataFrame({"name": ["=1+1", "+cmd", "-1+1", "@SUM(A1)", "\tx", "plain"], "seats": [1, -5, 3, 4, 5, 6]})
    text = to_csv(frame).decode("utf-8-sig").splitlines()
    assert text[1].startswith("'=1+1") and text[2].startswith("'+cmd") and text[3].startswith("'-1+1")
    assert text[4].startswith("'@SUM") and text[6].startswith("plain")
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(to_xlsx(frame))
        handle.flush()
        rows = CalamineWorkbook.from_path(handle.name).get_sheet_by_index(0).to_python()
    assert rows[1][0] == "'=1+1" and rows[2][0] == "'+cmd"
    assert rows[2][1] == -5  # numbers stay numbers
