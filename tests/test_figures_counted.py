"""The figures that had no hand-counted test: the completion funnel, per-step completion, the what-if, the
expirations series and the missing steps of the call list, pinned on a tiny fixture counted by hand.

Every expected number below was counted from PRODUCT.md section 4 and the tables here, never computed by the
code. Default programme: cutoff 2022-07-11 (a Monday; a term ending on it is after the cutoff), opt-out deadline
2022-06-30. Every subscription is legacy, active and commercial (in scope).

Partners (steps: mpa_signed, indirect_provider_confirmed, mpn_id_updated, mca_all_customers), chosen so that the
funnel (each step and every step before it) differs from per-step completion (each step in any order):

id  steps     opted_out        -> exposed (after-cutoff subscription)?  assessed (exposed, not opted out)?
A   T T T T   no               -> yes (S1, DE)                          yes, fully ready
B   T F T T   no               -> yes (S2 DE, S9 AT)                    yes, missing indirect_provider_confirmed
C   F T T F   no               -> yes (S3 AT)                           yes, missing mpa_signed, mca_all_customers
D   T T F F   no               -> yes (S4 AT)                           yes, missing mpn_id_updated, mca_all_customers
E   T T T T   yes, 2022-06-01  -> yes (S5 DE)                           no (opted out)
F   T T T T   no               -> no (before-cutoff only)               no

Subscriptions (week = the Monday of the end date's week; projected month = month of the migration date):

id  partner country seats end date    auto   billing -> side    week        lapse  migrates  ready?
S1  A       DE      10    2022-08-15  true   annual  -> after   2022-08-15  no     2022-08   ready
S2  B       DE      20    2022-09-30  true   annual  -> after   2022-09-26  no     2022-09   at risk
S3  C       AT       5    2022-07-11  true   monthly -> after   2022-07-11  no     2022-07   at risk (cutoff day)
S4  D       AT       8    2022-12-01  false  annual  -> after   2022-11-28  no     2022-12   at risk (auto off: moot)
S5  E       DE      30    2022-08-01  true   annual  -> after   2022-08-01  no     -         (E opted out)
S6  F       DE       4    2022-03-15  true   monthly -> before  2022-03-14  no     2022-07   ready (renewed to 07-15)
S7  F       DE       2    2022-05-20  false  annual  -> before  2022-05-16  yes    -         (lapses)
S8  A       DE       6    2022-06-30  true   annual  -> before  2022-06-27  no     2023-06   ready (renewed +12m)
S9  B       AT       3    2023-01-31  true   annual  -> after   2023-01-30  no     2023-01   at risk
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics import metrics
from analytics.dataset import load_files
from analytics.metrics import Filters

D = dt.date

SUBSCRIPTIONS = """subscription_id,partner_id,partner_name,country,segment,seats,term_end_date,auto_renew,billing_term,program,status
S1,A,Alpha,DE,commercial,10,2022-08-15,true,annual,legacy,active
S2,B,Beta,DE,commercial,20,2022-09-30,true,annual,legacy,active
S3,C,Gamma,AT,commercial,5,2022-07-11,true,monthly,legacy,active
S4,D,Delta,AT,commercial,8,2022-12-01,false,annual,legacy,active
S5,E,Epsilon,DE,commercial,30,2022-08-01,true,annual,legacy,active
S6,F,Phi,DE,commercial,4,2022-03-15,true,monthly,legacy,active
S7,F,Phi,DE,commercial,2,2022-05-20,false,annual,legacy,active
S8,A,Alpha,DE,commercial,6,2022-06-30,true,annual,legacy,active
S9,B,Beta,AT,commercial,3,2023-01-31,true,annual,legacy,active
"""

PARTNERS = """partner_id,partner_name,country,mpa_signed,indirect_provider_confirmed,mpn_id_updated,mca_all_customers,opted_out,opt_out_date
A,Alpha,DE,true,true,true,true,false,
B,Beta,DE,true,false,true,true,false,
C,Gamma,AT,false,true,true,false,false,
D,Delta,AT,true,true,false,false,false,
E,Epsilon,DE,true,true,true,true,true,2022-06-01
F,Phi,DE,true,true,true,true,false,
"""

DE = Filters(countries=("DE",))


@pytest.fixture(scope="module")
def cur(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counted")
    (folder / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    (folder / "partners.csv").write_text(PARTNERS, encoding="utf-8")
    dataset = load_files([folder / "subscriptions.csv", folder / "partners.csv"])
    assert dataset.result.rejected == 0
    return dataset.cursor()


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


# ---------------------------------------------------------------- the completion funnel


def test_the_funnel_counts_assessed_partners_that_did_each_step_and_every_step_before_it(cur):
    funnel = metrics.readiness_funnel(cur, Filters())
    assert records(funnel, ["step", "partners"]) == [
        ("assessed", 4),  # A B C D (E opted out, F not exposed)
        ("mpa_signed", 3),  # A B D
        ("indirect_provider_confirmed", 2),  # A D (B has not confirmed)
        ("mpn_id_updated", 1),  # A (D has not updated)
        ("mca_all_customers", 1),  # A: fully ready
    ]


def test_the_funnel_under_a_country_filter_counts_the_partners_exposed_there(cur):
    funnel = metrics.readiness_funnel(cur, DE)
    assert records(funnel, ["step", "partners"]) == [
        ("assessed", 2),  # A (S1) B (S2); E opted out; C D are exposed in AT only
        ("mpa_signed", 2),  # A B
        ("indirect_provider_confirmed", 1),  # A
        ("mpn_id_updated", 1),  # A
        ("mca_all_customers", 1),  # A
    ]


# ---------------------------------------------------------------- per-step completion


def test_step_completion_counts_each_step_in_any_order_over_the_assessed_partners(cur):
    steps = metrics.step_completion(cur, Filters())
    assert records(steps, ["step", "done", "assessed", "rate"]) == [
        ("mpa_signed", 3, 4, 3 / 4),  # A B D
        ("indirect_provider_confirmed", 3, 4, 3 / 4),  # A C D
        ("mpn_id_updated", 3, 4, 3 / 4),  # A B C
        ("mca_all_customers", 2, 4, 2 / 4),  # A B
    ]


def test_step_completion_under_a_country_filter(cur):
    steps = metrics.step_completion(cur, DE)
    assert records(steps, ["step", "done", "assessed", "rate"]) == [
        ("mpa_signed", 2, 2, 1.0),  # A B
        ("indirect_provider_confirmed", 1, 2, 0.5),  # A
        ("mpn_id_updated", 2, 2, 1.0),  # A B
        ("mca_all_customers", 2, 2, 1.0),  # A B
    ]


def test_step_completion_rate_is_null_without_assessed_partners(cur):
    steps = metrics.step_completion(cur, Filters(countries=("CH",)))  # no data in CH
    assert list(steps["done"]) == [0, 0, 0, 0]
    assert list(steps["assessed"]) == [0, 0, 0, 0]
    assert steps["rate"].isna().all()


# ---------------------------------------------------------------- the what-if


# month: (subscriptions, seats, ready_seats, at_risk_seats), counted from the table above
PROJECTED = {
    "2022-07": (2, 9, 4, 5),  # S6 (F, ready, 4) S3 (C, at risk, 5)
    "2022-08": (1, 10, 10, 0),  # S1 (A)
    "2022-09": (1, 20, 0, 20),  # S2 (B)
    "2022-12": (1, 8, 0, 8),  # S4 (D)
    "2023-01": (1, 3, 0, 3),  # S9 (B)
    "2023-06": (1, 6, 6, 0),  # S8 (A, renewed once)
}


def test_the_what_if_without_a_share_is_the_projection_per_month(cur):
    monthly = metrics.projection_what_if(cur, Filters(), share=0.0)
    got = records(monthly, ["month", "subscriptions", "seats", "ready_seats", "at_risk_seats"])
    assert got == [(month, *values) for month, values in PROJECTED.items()]
    assert list(monthly["expected_ready_seats"]) == [0] * 6
    assert list(monthly["remaining_at_risk_seats"]) == [5, 0, 20, 8, 3, 0]


def test_the_what_if_moves_a_share_of_the_at_risk_seats_to_expected_ready_rounded(cur):
    monthly = metrics.projection_what_if(cur, Filters(), share=0.25)
    # at risk 5, 0, 20, 8, 3, 0 seats; a quarter rounded: 1.25 -> 1, 5, 2, 0.75 -> 1
    assert list(monthly["expected_ready_seats"]) == [1, 0, 5, 2, 1, 0]
    assert list(monthly["remaining_at_risk_seats"]) == [4, 0, 15, 6, 2, 0]
    assert list(monthly["ready_seats"]) == [4, 10, 0, 0, 0, 6]  # the ready seats themselves do not move


def test_the_what_if_with_every_at_risk_partner_ready_leaves_nothing_at_risk(cur):
    monthly = metrics.projection_what_if(cur, Filters(), share=1.0)
    assert list(monthly["expected_ready_seats"]) == [5, 0, 20, 8, 3, 0]
    assert list(monthly["remaining_at_risk_seats"]) == [0] * 6


def test_the_what_if_under_a_country_filter(cur):
    monthly = metrics.projection_what_if(cur, DE, share=0.5)
    # DE: S6 2022-07 (4 ready), S1 2022-08 (10 ready), S2 2022-09 (20 at risk), S8 2023-06 (6 ready)
    assert records(monthly, ["month", "seats", "ready_seats", "at_risk_seats"]) == [
        ("2022-07", 4, 4, 0),
        ("2022-08", 10, 10, 0),
        ("2022-09", 20, 0, 20),
        ("2023-06", 6, 6, 0),
    ]
    assert list(monthly["expected_ready_seats"]) == [0, 0, 10, 0]


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_what_if_share_outside_0_to_1_is_refused(cur, share):
    with pytest.raises(ValueError):
        metrics.projection_what_if(cur, Filters(), share=share)


# ---------------------------------------------------------------- the expirations series


def test_expirations_per_month_split_before_and_after_the_cutoff(cur):
    series = metrics.expirations(cur, Filters(), grain="month")
    assert records(series, ["period", "side", "subscriptions", "seats", "lapse_risk_subscriptions"]) == [
        (pd.Timestamp("2022-03-01"), "before", 1, 4, 0),  # S6
        (pd.Timestamp("2022-05-01"), "before", 1, 2, 1),  # S7, auto-renew off
        (pd.Timestamp("2022-06-01"), "before", 1, 6, 0),  # S8
        (pd.Timestamp("2022-07-01"), "after", 1, 5, 0),  # S3 on the cutoff day
        (pd.Timestamp("2022-08-01"), "after", 2, 40, 0),  # S1 S5 (an opted-out partner still expires)
        (pd.Timestamp("2022-09-01"), "after", 1, 20, 0),  # S2
        (pd.Timestamp("2022-12-01"), "after", 1, 8, 0),  # S4
        (pd.Timestamp("2023-01-01"), "after", 1, 3, 0),  # S9
    ]


def test_expirations_per_week_start_on_the_monday_of_the_end_date(cur):
    series = metrics.expirations(cur, Filters(), grain="week")
    assert records(series, ["period", "side", "seats"]) == [
        (pd.Timestamp("2022-03-14"), "before", 4),  # S6, Tue 15 March
        (pd.Timestamp("2022-05-16"), "before", 2),  # S7, Fri 20 May
        (pd.Timestamp("2022-06-27"), "before", 6),  # S8, Thu 30 June
        (pd.Timestamp("2022-07-11"), "after", 5),  # S3, Mon 11 July
        (pd.Timestamp("2022-08-01"), "after", 30),  # S5, Mon 1 August
        (pd.Timestamp("2022-08-15"), "after", 10),  # S1, Mon 15 August
        (pd.Timestamp("2022-09-26"), "after", 20),  # S2, Fri 30 September
        (pd.Timestamp("2022-11-28"), "after", 8),  # S4, Thu 1 December: a week of November
        (pd.Timestamp("2023-01-30"), "after", 3),  # S9, Tue 31 January
    ]


def test_expirations_under_a_country_filter(cur):
    series = metrics.expirations(cur, Filters(countries=("AT",)), grain="month")
    assert records(series, ["period", "side", "subscriptions", "seats"]) == [
        (pd.Timestamp("2022-07-01"), "after", 1, 5),  # S3
        (pd.Timestamp("2022-12-01"), "after", 1, 8),  # S4
        (pd.Timestamp("2023-01-01"), "after", 1, 3),  # S9
    ]


def test_expirations_refuse_an_unknown_grain(cur):
    with pytest.raises(ValueError):
        metrics.expirations(cur, Filters(), grain="day")


# ---------------------------------------------------------------- the missing steps (call list)


def test_the_call_list_names_each_partners_missing_steps_in_programme_order(cur):
    calls = metrics.call_list(cur, Filters())
    got = [(r.partner_id, r.after_seats, r.steps_done, list(r.missing_steps)) for r in calls.itertuples()]
    assert got == [
        ("B", 23, 3, ["indirect_provider_confirmed"]),  # S2 20 + S9 3
        ("D", 8, 2, ["mpn_id_updated", "mca_all_customers"]),  # S4
        ("C", 5, 2, ["mpa_signed", "mca_all_customers"]),  # S3
    ]  # A is ready, E opted out, F is not exposed


def test_the_call_list_under_a_country_filter_keeps_the_partners_own_steps(cur):
    calls = metrics.call_list(cur, Filters(countries=("AT",)))
    got = [(r.partner_id, r.after_seats, list(r.missing_steps)) for r in calls.itertuples()]
    assert got == [
        ("D", 8, ["mpn_id_updated", "mca_all_customers"]),
        ("C", 5, ["mpa_signed", "mca_all_customers"]),
        ("B", 3, ["indirect_provider_confirmed"]),  # only S9 is in AT
    ]
