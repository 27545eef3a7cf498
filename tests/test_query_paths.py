"""Every figure reads the smallest pre-aggregate its filters allow (analytics/metrics.py): partner_totals without a
country or segment filter, partner_country without a segment filter, partner_country_segment rolled up otherwise,
and the subscriptions themselves for the
time series when a partner search is on. These tests make the paths prove each other.

The check: filtering the full dataset must give exactly what the same figure gives, unfiltered, on a copy of the
dataset whose sub_facts hold only the matching subscriptions (its pre-aggregates rebuilt from them). The
filtered call takes the partner_country/partner_country_segment/rows path, the unfiltered one partner_totals and
the per-country-and-segment tables, so a
difference between the roll-ups shows up here. Partner properties (readiness, opt-out, the derived MCA step)
stay those of the full data in both, as PRODUCT.md requires.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import metrics
from analytics.dataset import connect
from analytics.facts import build_aggregates, build_facts
from analytics.figures import FIGURES as REGISTRY
from analytics.ingest import ingest
from analytics.metrics import Filters
from analytics.programme import load_programme
from tests.conftest import SAMPLE

# Every filtered figure of the registry, once per argument set it names (analytics/figures.py).
FIGURES = {
    f"{name}_{suffix}" if suffix else name: lambda con, f, run=figure.function, arguments=arguments: run(
        con, f, **arguments
    )
    for name, figure in REGISTRY.items()
    if figure.filtered
    for suffix, arguments in figure.variants.items()
}

FILTERS = {
    "country": Filters(countries=("DE",)),
    "two countries": Filters(countries=("AT", "CH")),
    "segment": Filters(segments=("commercial", "education")),
    "country and segment": Filters(countries=("FR", "BE"), segments=("commercial", "government")),
    "partner search": Filters(partner="gmbh"),
    "partner search, country": Filters(countries=("GB",), partner="ltd"),
    "everything": Filters(countries=("DE", "AT"), segments=("commercial",), partner="it"),
}


def _load(files=SAMPLE):
    """The sample, ingested into a writable connection (load_files locks its connection's configuration)."""
    con = connect()
    ingest(con, [(path, path.name) for path in files])
    build_facts(con, load_programme())
    return con


@pytest.fixture(scope="module")
def full():
    return _load()


def _restricted(filters: Filters):
    """The sample with only the subscriptions that match `filters` left in sub_facts."""
    con = _load()
    clause, values = filters.where_clause()
    con.execute(f"DELETE FROM sub_facts s WHERE NOT ({clause})", values)
    build_aggregates(con)
    return con


@pytest.fixture(scope="module", params=list(FILTERS), ids=list(FILTERS))
def case(request):
    filters = FILTERS[request.param]
    return filters, _restricted(filters)


def _same(got: pd.DataFrame, want: pd.DataFrame, name: str) -> None:
    got = got.reset_index(drop=True)
    want = want.reset_index(drop=True)
    if "missing_steps" in got:
        got["missing_steps"] = got["missing_steps"].map(list)
        want["missing_steps"] = want["missing_steps"].map(list)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)


def test_the_filters_really_narrow_the_data(full, case):
    filters, restricted = case
    kept = restricted.execute("SELECT count(*) FROM sub_facts").fetchone()[0]
    everything = full.execute("SELECT count(*) FROM sub_facts").fetchone()[0]
    assert 0 < kept < everything


@pytest.mark.parametrize("figure", list(FIGURES))
def test_a_filtered_figure_equals_the_figure_of_the_matching_subscriptions(full, case, figure):
    filters, restricted = case
    got = FIGURES[figure](full.cursor(), filters)
    want = FIGURES[figure](restricted.cursor(), Filters())
    assert len(want) > 0, "the case must have data for this figure, or it proves nothing"
    _same(got, want, figure)


def test_the_unfiltered_paths_read_the_stored_roll_ups_and_agree_with_rolling_up_pcs(full):
    """Filters(segments=all segments) selects every subscription but forces the partner_country_segment path;
    Filters() reads partner_totals."""
    every_segment = Filters(segments=tuple(metrics.segments(full.cursor())))
    for figure, run in FIGURES.items():
        _same(run(full.cursor(), every_segment), run(full.cursor(), Filters()), figure)


@pytest.mark.parametrize("filters", [Filters(), Filters(countries=("DE",))], ids=["none", "DE"])
@pytest.mark.parametrize("name", ["exposed_partners", "call_list", "opted_out_partners"])
def test_a_limited_partner_list_is_the_head_of_the_whole_list_with_its_size_and_seats(full, filters, name):
    function = REGISTRY[name].function
    whole = function(full.cursor(), filters)
    assert len(whole) > 5
    head = function(full.cursor(), filters, limit=5)
    assert len(head) == 5
    assert set(head["list_partners"]) == {len(whole)}
    assert set(head["list_after_seats"]) == {int(whole["after_seats"].sum())}
    _same(head.drop(columns=["list_partners", "list_after_seats"]), whole.head(5), name)


def test_countries_and_segments_of_the_sidebar_count_every_subscription(full):
    """The sidebar's lists come from partner_country_segment; they must match sub_facts row for row."""
    countries = metrics.countries(full.cursor())
    direct = full.execute(
        """SELECT country, coalesce(sum(seats) FILTER (side = 'after'), 0) AS after_seats, count(*) AS subscriptions
           FROM sub_facts GROUP BY country ORDER BY after_seats DESC, country"""
    ).df()
    _same(countries, direct, "countries")
    assert countries["subscriptions"].sum() == full.execute("SELECT count(*) FROM subscriptions").fetchone()[0]
    assert metrics.segments(full.cursor()) == [
        r[0] for r in full.execute("SELECT DISTINCT segment FROM sub_facts ORDER BY 1").fetchall()
    ]
