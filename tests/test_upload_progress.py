"""An upload's progress and its cancel (analytics/uploads.py, analytics/worker.py): the phases come in order,
a cancel ends the worker and leaves nothing behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psutil
import pytest

from analytics.dataset import build, connect
from analytics.ingest import PHASES
from analytics.programme import load_programme
from analytics.uploads import Cancelled, load_files_isolated
from analytics.worker import PROGRESS, Progress

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def sample_files() -> list[tuple[Path, str]]:
    return [(SAMPLE / name, name) for name in ("subscriptions.csv", "partners.csv", "customers.csv")]


@pytest.fixture
def own_temp(tmp_path, monkeypatch) -> Path:
    """This test's own temporary folder for the upload's worker folder: under pytest-xdist another process may be
    reading an upload into the shared /tmp at the same moment."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def worker_folders(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("radar-worker-*")}


def upload_workers() -> list[psutil.Process]:
    """This test process's live upload workers (`python -m analytics.worker`). Other children are not asked
    about: under pytest-xdist an earlier test may have left multiprocessing's resource tracker running, which
    is not an upload's worker."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "analytics.worker" in child.cmdline():
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_the_ingest_tells_its_phases_in_order():
    seen: list[str] = []
    build(connect(), sample_files(), None, load_programme(), None, progress=seen.append)
    assert seen == ["read", "check", "collapse", "facts"]
    assert PHASES == ("read", "check", "collapse", "facts", "publish")


def test_the_worker_writes_its_phase_and_the_statement_progress_to_a_file(tmp_path):
    con = connect()
    with Progress(tmp_path / PROGRESS, con) as progress:
        progress("collapse")
        state = json.loads((tmp_path / PROGRESS).read_text(encoding="utf-8"))
    assert (state["phase"], state["step"], state["steps"]) == ("collapse", 2, 5)
    assert 0 <= state["statement"] <= 100


def test_an_upload_reports_progress_while_its_worker_runs():
    seen: list[dict] = []
    dataset = load_files_isolated(sample_files(), on_progress=seen.append)
    assert dataset.result.accepted["subscriptions"] > 0
    phases = [s["phase"] for s in seen]
    assert phases, "no progress while the worker ran"
    assert all(p in PHASES for p in phases)
    assert [PHASES.index(p) for p in phases] == sorted(PHASES.index(p) for p in phases)  # never backwards


def test_a_cancelled_upload_ends_its_worker_and_leaves_nothing(own_temp):
    with pytest.raises(Cancelled) as refused:
        load_files_isolated(sample_files(), cancel=lambda: True)
    assert refused.value.code == "cancelled"
    assert not upload_workers()
    assert not worker_folders(own_temp)


def test_an_exception_from_the_progress_callback_ends_the_worker_too(own_temp):
    class Stop(Exception):
        pass

    def stop(_state):
        raise Stop

    with pytest.raises(Stop):
        load_files_isolated(sample_files(), on_progress=stop)
    assert not upload_workers()
    assert not worker_folders(own_temp)
