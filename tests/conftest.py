"""Shared test fixtures: the bundled sample and its expected figures from the command line's code path."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = [ROOT / "data" / "sample" / n for n in ("subscriptions.csv", "partners.csv", "customers.csv")]


def pytest_sessionstart(session) -> None:
    """Clear test-output/browser/ of the previous run's failure screenshots and server logs, once per run: in the
    controlling process only, because under pytest-xdist a worker that cleared it would delete the log of a server
    another worker's test is about to read (a replica test failed on that)."""
    if hasattr(session.config, "workerinput"):
        return
    from tests.test_browser import OUTPUT

    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUTPUT.glob("failed-*.png"), *OUTPUT.glob("streamlit-*.log")]:
        old.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def sample_summary():
    """summary() of the sample for no filter and for DE, as `python -m analytics summary --json` prints it."""
    from analytics.dataset import load_files, summary
    from analytics.metrics import Filters

    dataset = load_files(SAMPLE)
    return {"all": summary(dataset, Filters()), "DE": summary(dataset, Filters(countries=("DE",)))}


@pytest.fixture(autouse=True, scope="session")
def isolated_store(tmp_path_factory):
    """Tests never touch data/store: every test process gets its own empty snapshot store by default."""
    import os

    path = tmp_path_factory.mktemp("store")
    previous = os.environ.get("RADAR_STORE")
    os.environ["RADAR_STORE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("RADAR_STORE", None)
    else:
        os.environ["RADAR_STORE"] = previous


def _register_hypothesis_profiles() -> None:
    """Hypothesis profiles for tests/test_properties.py: "ci" (the default, bounded and derandomized, so a run is
    repeatable and fits the suite's time) and "dev" (HYPOTHESIS_PROFILE=dev, ten times the examples)."""
    import os

    from hypothesis import HealthCheck, settings

    slow = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile(
        "ci", max_examples=30, deadline=None, derandomize=True, suppress_health_check=slow, print_blob=True
    )
    settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=slow, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_register_hypothesis_profiles()


def open_app_page(page: str, timeout: int = 120, **params):
    """AppTest of app.py opened on pages/<page>.py with `params` as the URL's query; fails on any exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
