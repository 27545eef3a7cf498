"""bench/history.py and bench/load.py at their smallest: they must run end to end and report every figure.

`history.py --smoke` publishes three weeks of 10,000 subscriptions, then measures a restart, Trends and the diff
in fresh `streamlit run` servers with Chromium; `load.py --smoke` runs two Streamlit sessions (websocket clients,
bench/wsclient.py) while a publish runs.
Both write RESULTS-history.md into tmp_path (never over bench/RESULTS-history.md). Timings never fail these
tests; a missing or blank figure, an error of the run (an exception box, a traceback in the server log, a page
not done, a failed publish) does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"\d")

HISTORY_FIGURES = [
    "snapshots: published (of them copies of week 1)",
    "build: ingest once (s)",
    "build: weekly change + facts, median (s)",
    "publish: median / max (s)",
    "snapshot folder on disk, median (MB)",
    "store on disk, all snapshots (MB)",
    "restart: server start until /_stcore/health (s)",
    "restart: server start until /exposure done (s)",
    "restart: server CPU until /exposure done (s)",
    "Trends first render: charts drawn (s)",
    "Trends first render: diff metrics drawn (s)",
    "Trends first render: done (s)",
    "restart straight into /trends: charts drawn (s)",
    "server alone: server start until /exposure done (s)",
    "server alone: Trends first render, done (s)",
    "Trends by a sidebar click in an open tab: charts drawn (s)",
    "restart: from /_stcore/health until /exposure done (s)",
    "diff alone, cold / warm, no filter (s)",
    "diff alone, cold / warm, DE (s)",
    "diff as Trends reads it (kept at publish), first / median, no filter (s)",
    "diff as Trends reads it (kept at publish), first / median, DE (s)",
    "diff: changes found (ready / opt-out / appeared / vanished)",
    "server peak RSS, restart session, all pages (MB)",
    "server peak RSS, max of the 5 servers (MB)",
    "server VmHWM, max of the 5 servers (MB)",
]
LOAD_FIGURES = [
    "page views",
    "page time p50 / p95, all views (s)",
    "page switch p50 / p95 (s)",
    "filter change p50 / p95 (s)",
    "views overlapping the publish: n, p50 / p95 (s)",
    "publish (ingest + Store.publish, CLI) (s)",
    "errors: exceptions / timeouts / log tracebacks",
    "sessions that show the new snapshot",
    "server peak RSS (MB)",
]


@pytest.fixture
def chromium() -> None:
    """history.py drives Chromium: missing, it fails under CI and skips only outside it."""
    from tests.test_browser import require_chromium

    require_chromium()


def section(report: str, name: str) -> dict[str, str]:
    """The figure -> value rows of one script's section of RESULTS-history.md."""
    match = re.search(rf"<!-- {name}: begin -->(.*?)<!-- {name}: end -->", report, re.S)
    assert match, f"no {name} section in:\n{report}"
    rows = {}
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


def run(script: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"bench/{script}", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def check_figures(rows: dict[str, str], expected: list[str]) -> None:
    for figure in expected:
        assert figure in rows, f"figure {figure!r} missing from {sorted(rows)}"
        value = rows[figure]
        assert NUMBER.search(value) and "—" not in value, f"{figure!r} has no figure: {value!r}"


def test_history_smoke_reports_every_figure(tmp_path, chromium):
    results = ROOT / "bench" / "RESULTS-history.md"
    before = results.read_bytes() if results.exists() else None
    done = run("history.py", tmp_path)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    rows = section((tmp_path / "RESULTS-history.md").read_text(encoding="utf-8"), "history")
    check_figures(rows, HISTORY_FIGURES)
    assert rows["snapshots: published (of them copies of week 1)"] == "3 (0)"
    # Every kind of change is in the diff of the two newest weeks.
    counts = [
        int(x.replace(",", "")) for x in rows["diff: changes found (ready / opt-out / appeared / vanished)"].split("/")
    ]
    assert all(counts), counts
    assert "ERROR" not in done.stdout
    assert (results.read_bytes() if results.exists() else None) == before, "must not write bench/RESULTS-history.md"
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


def test_load_smoke_reports_every_figure(tmp_path):
    done = run("load.py", tmp_path)
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    rows = section((tmp_path / "RESULTS-history.md").read_text(encoding="utf-8"), "load")
    check_figures(rows, LOAD_FIGURES)
    exceptions, timeouts, tracebacks = rows["errors: exceptions / timeouts / log tracebacks"].split(" / ")
    assert (exceptions, tracebacks) == ("0", "0")
    # A page slower than the run's 60 s is a timing, which a smoke test does not judge (the machine may be busy);
    # the script still says so in its exit status.
    assert done.returncode == (0 if timeouts == "0" else 1), f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert rows["sessions that show the new snapshot"] == "2 / 2"
    assert int(rows["page views"]) >= 2 * 8  # a first open, six page switches and a filter change per session
    # The publish runs while the sessions cycle: some views are served during it (the figure the run is about).
    assert int(rows["views overlapping the publish: n, p50 / p95 (s)"].split(",")[0]) > 0
    assert "the URL says" not in done.stdout  # every filter change took: the country is in the session's URL
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
