"""The benchmark at its smallest size: `python bench/run.py --smoke --out TMP` must run end to end.

It generates 10,000 subscriptions, ingests them, publishes and loads the snapshot, runs every page's queries and
the pandas baseline (which must agree with DuckDB on every headline figure), and exits non-zero when any of that
breaks; timings never fail it. Its RESULTS.md goes to TMP, never over bench/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_ROWS = [
    "data: subscriptions / partners / customers",
    "ingest: load_files (s)",
    "ingest: DuckDB CREATE TABLE AS read_csv (s)",
    "ingest: ratio load_files / DuckDB read_csv",
    "ingest: peak RSS (MB)",
    "store: publish (s)",
    "store: load (s)",
    "serving: peak RSS, load + all queries (MB)",
    "queries Sidebar (every page): warm ms (no filter / DE)",
    "queries Exposure: warm ms (no filter / DE)",
    "queries Exposure: cold ms (no filter / DE)",
    "queries Opt-outs: warm ms (no filter / DE)",
    "queries Partner readiness: warm ms (no filter / DE)",
    "queries NCE projection: warm ms (no filter / DE)",
    "queries Data: warm ms (no filter / DE)",
    "pandas: read_csv, 3 files (s)",
    "pandas: headline figures (s)",
    "ratio pandas / DuckDB, headline figures",
    "pandas: peak RSS (MB)",
    "pandas agrees with DuckDB on every headline figure",
]


def test_bench_smoke_runs_end_to_end(tmp_path):
    results = ROOT / "bench" / "RESULTS.md"
    before = results.stat().st_mtime_ns if results.exists() else None
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    lines = done.stdout.splitlines()
    header = lines[0].split()
    assert header == ["figure", "10k"], lines[0]
    for row in EXPECTED_ROWS:
        assert any(line.startswith(row + " ") for line in lines), f"row {row!r} missing from:\n{done.stdout}"
    agree = next(line for line in lines if line.startswith("pandas agrees with DuckDB"))
    assert agree.split()[-1] == "yes", agree
    counts = next(line for line in lines if line.startswith("data: subscriptions / partners / customers"))
    assert "10,000 /" in counts, counts
    assert "ERROR" not in done.stdout
    report = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Targets" in report and "Machine:" in report
    assert (tmp_path / "data" / "results.json").is_file()
    after = results.stat().st_mtime_ns if results.exists() else None
    assert after == before, "the smoke run must not overwrite bench/RESULTS.md"


def test_the_benchmark_asks_for_as_many_list_rows_as_a_page_draws():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import worker
    finally:
        sys.path.remove(str(ROOT / "bench"))
    from ui.widgets import MAX_SCREEN_ROWS

    assert worker.SCREEN_ROWS == MAX_SCREEN_ROWS
