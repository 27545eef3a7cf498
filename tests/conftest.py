"""Shared test fixtures: the bundled sample and its expected figures from the command line's code path."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = [ROOT / "data" / "sample" / n for n in ("subscriptions.csv", "partners.csv", "customers.csv")]


@pytest.fixture(scope="session")
def sample_summary():
    """summary() of the sample for no filter and for DE, as `python -m analytics summary --json` prints it."""
    from analytics.dataset import load_files, summary
    from analytics.metrics import Filters

    dataset = load_files(SAMPLE)
    return {"all": summary(dataset, Filters()), "DE": summary(dataset, Filters(countries=("DE",)))}
