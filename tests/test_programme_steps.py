"""The readiness steps are one list in the programme: a programme with a fifth step shows it wherever steps are
shown (the readiness page, the partner view, the command line) and counts it in every readiness figure.

The fifth step here, `tax_id_checked`, has no column in the data, so it is not done for any partner (PRODUCT.md
section 4: a readiness step with no data counts as not done): nobody is fully ready any more, and every projected
migration is at risk.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analytics.errors import InputError
from analytics.programme import READINESS_STEPS, load_programme
from tests.conftest import ROOT, SAMPLE, open_app_page

APP = str(ROOT / "app.py")
FIFTH = "tax_id_checked"
STEPS = [*READINESS_STEPS, FIFTH]


def programme_file(folder, steps) -> str:
    path = folder / "five_steps.toml"
    listed = ", ".join(f'"{step}"' for step in steps)
    path.write_text(
        'name = "Five steps"\ncutoff = 2022-07-11\nopt_out_deadline = 2022-06-30\n'
        f"readiness_deadline = 2022-06-30\nreadiness_steps = [{listed}]\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture
def five_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("RADAR_PROGRAMME", programme_file(tmp_path, STEPS))
    st.cache_resource.clear()  # the sample dataset is built once per process for a programme
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def run(page: str, **params) -> AppTest:
    return open_app_page(page, **params)


def cli(command: list[str]) -> str:
    """The command's output; a failure shows what it printed on stderr."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_command_line_lists_the_fifth_step_and_counts_nobody_ready(tmp_path):
    programme = programme_file(tmp_path, STEPS)
    command = [sys.executable, "-m", "analytics", "summary", *map(str, SAMPLE), "--programme", programme]
    printed = json.loads(cli([*command, "--json"]))
    totals = printed["totals"]
    assert list(totals["step_rates"]) == STEPS
    assert totals["step_rates"][FIFTH] == 0.0
    assert totals["partners_assessed"] > 0 and totals["partners_fully_ready"] == 0
    assert totals["projected"]["ready_subscriptions"] == 0
    text = cli(command)
    assert any(line.split()[:1] == [FIFTH] for line in text.splitlines()), text


def test_the_readiness_page_shows_the_fifth_step_in_the_funnel_the_steps_the_call_list_and_the_matrix(five_steps):
    at = run("readiness")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Fully ready"] == "0"
    label = "Tax id checked"  # a step the catalog does not know is named from its name
    steps = next(d.value for d in at.dataframe if list(d.value.columns) == ["step", "done", "assessed", "rate"])
    assert list(steps["step"])[-1] == label
    assert steps["done"].iloc[-1] == 0
    calls = next(d.value for d in at.dataframe if "missing" in d.value.columns)
    assert FIFTH in calls.columns
    assert calls["missing"].str.endswith(label).all()  # nobody has done it
    matrix = next(d.value for d in at.dataframe if list(d.value.columns)[-1] == FIFTH)
    assert not matrix[FIFTH].any()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    funnel = next(c for c in charts if c["data"][0]["type"] == "funnel")
    assert funnel["data"][0]["y"][-1] == label


def test_the_partner_view_lists_the_fifth_step(five_steps):
    at = run("partner", partner_id="P-0106")
    steps = next(d.value for d in at.dataframe if "source" in d.value.columns)
    assert list(steps["step"])[-1] == "Tax id checked"
    assert not steps["done"].iloc[-1]
    assert {m.label: m.value for m in at.metric}["Readiness steps done"].endswith("/ 5")


@pytest.mark.parametrize("page", ["exposure", "opt_outs", "projection", "notices"])
def test_every_other_page_runs_with_five_steps(five_steps, page):
    at = run(page)
    if page == "projection":
        shown = {m.label: m.value for m in at.metric}
        assert shown["Ready seats"] == "0"  # nobody has done the fifth step


def test_a_step_name_that_is_not_a_plain_name_is_refused(tmp_path):
    with pytest.raises(InputError, match="readiness_steps"):
        load_programme(programme_file(tmp_path, [*READINESS_STEPS, "x; DROP TABLE partners"]))
    with pytest.raises(InputError, match="readiness_steps"):
        load_programme(programme_file(tmp_path, ["mpa_signed", "mpa_signed"]))
