"""The metric contract of PRODUCT.md sections 2-4, pinned on a small fixture counted by hand.

Every expected number below was counted from the spec and the fixture table, never computed by the code.
The programme is the default one: cutoff 2022-07-11 (a term ending on or after it is *after* the cutoff),
opt-out deadline 2022-06-30 (received on or before it is on time), exempt segments education, government,
nonprofit.

Fixture: tests/fixtures/metrics/{subscriptions,partners,customers}.csv

Subscriptions (renewed / migration date is the date the code must give in sub_facts.migration_date):

id   partner country segment     seats end date    auto   billing  program status     -> scope, side, migration
S01  P1      DE      commercial  10    2022-07-11  true   annual   legacy  active     -> after (cutoff day), 2022-07-11
S02  P1      DE      commercial   5    2022-07-10  true   annual   legacy  active     -> before, +12m 2023-07-10
S03  P1      DE      commercial   8    2022-01-31  true   monthly  legacy  active     -> before, +6m 2022-07-31 (clamped)
S04  P2      DE      commercial  20    2022-09-30  true   annual   legacy  active     -> after, P2 opted out: not projected
S05  P2      DE      commercial   4    2022-03-15  true   monthly  legacy  active     -> before, renewed, P2 opted out: no
S06  P4      DE      commercial   7    2022-08-15  true   annual   legacy  active     -> after, 2022-08-15 (P4 no row)
S07  P4      DE      commercial   3    2022-06-10  true   monthly  legacy  active     -> before, 07-10 < cutoff, 2022-08-10
S08  P8      DE      commercial   6    2022-10-01  false  annual   legacy  active     -> after, 2022-10-01 (auto off: moot)
S09  P8      DE      education   50    2022-08-01  true   annual   legacy  active     -> exempt
S10  P1      DE      commercial  12    2022-12-31  true   monthly  nce     active     -> nce (neither scope nor exempt)
S11  P1      DE      commercial   9    2022-08-20  true   annual   legacy  suspended  -> inactive
S12  P2      DE      commercial  30    9999-12-31  true   (empty)  legacy  active     -> no term end
S13  P1      AT      commercial  15    2022-11-30  true   annual   legacy  active     -> after, 2022-11-30
S14  P3      AT      commercial  25    2022-08-31  true   annual   legacy  active     -> after, P3 opted out (late): no
S15  P7      AT      commercial  11    2022-07-20  true   monthly  legacy  active     -> after, 2022-07-20
S16  P7      AT      commercial   2    2021-09-15  true   annual   legacy  active     -> before, +12m 2022-09-15
S17  P7      AT      government  40    2022-09-01  true   annual   legacy  active     -> exempt
S18  P3      AT      commercial   1    2022-05-05  false  annual   legacy  active     -> before, lapse risk
S19  P7      AT      nonprofit    5    2022-09-01  true   annual   legacy  deleted    -> inactive (not exempt)
S20  P5      CH      commercial   4    2022-04-30  false  annual   legacy  active     -> before, lapse risk
S21  P9      CH      commercial   6    2022-02-28  true   monthly  legacy  active     -> before, +5m 2022-07-28
S22  P9      CH      commercial   3    2022-03-01  (empty) annual  legacy  active     -> before, auto unknown: nothing
S23  P9      CH      commercial   8    2021-12-01  true   (empty)  legacy  active     -> before, as annual +12m 2022-12-01
S24  P5      CH      nonprofit   20    2022-10-15  true   annual   legacy  active     -> exempt
S25  P9      AT      commercial   9    2022-08-05  true   annual   legacy  active     -> after, 2022-08-05

Partners (steps: mpa_signed, indirect_provider_confirmed, mpn_id_updated, mca_all_customers):

id  row?  steps                     opted_out  opt_out_date  -> readiness
P1  yes   T T T T (explicit)        false                    -> fully ready (C03 declined MCA: explicit value wins)
P2  yes   T T F F                   true       2022-06-30    -> on-time opt-out (exposed in DE)
P3  yes   T F F F                   true       2022-07-01    -> late opt-out (exposed in AT)
P4  no    (no data: all not done)   -                        -> exposed in DE, not opted out, at risk
P5  yes   F F F F                   true       2022-05-15    -> opted out, never exposed (before-cutoff/exempt only)
P6  yes   T T T T                   true       2022-06-01    -> opted out, no subscriptions at all
P7  yes   T T T (empty)             false                    -> mca derived true (C15, C16 true; exempt C17 and
                                                                deleted C19 declined but are not in scope): ready
P8  yes   T T T F (explicit)        (empty)                  -> not ready although all its customers accepted
P9  yes   T T T (empty)             false                    -> mca derived false (C23 in CH declined), so not ready
                                                                in AT as well, where its only customer C25 accepted

Customers with mca_accepted: every C<nn> belongs to S<nn>; false for C03, C17, C18, C19, C20, C23; C06 and C07
have no customer row; all others true.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics.dataset import load_files, summary
from analytics.metrics import Filters, headline
from analytics.programme import load_programme

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "metrics"
FILES = [FIXTURE / "subscriptions.csv", FIXTURE / "partners.csv", FIXTURE / "customers.csv"]
D = dt.date

# ---------------------------------------------------------------- expected blocks, counted by hand

DE = {
    "subscriptions_in_scope": 8,  # S01 S02 S03 S04 S05 S06 S07 S08
    "seats_in_scope": 63,  # 10+5+8+20+4+7+3+6
    "subscriptions_exempt": 1,  # S09 (education)
    "before_cutoff": {"subscriptions": 4, "seats": 20},  # S02 S03 S05 S07: 5+8+4+3
    "after_cutoff": {"subscriptions": 4, "seats": 43},  # S01 S04 S06 S08: 10+20+7+6
    "lapse_risk": {"subscriptions": 0, "seats": 0},  # no before-cutoff sub with auto-renew off in DE
    "partners_exposed": 4,  # P1 P2 P4 P8
    "partners_opted_out": 1,  # P2 (P6 opted out but has no subscription)
    "opt_out_rate": 1 / 4,
    "opt_out_seat_rate": 20 / 43,  # S04 / after seats
    "late_opt_outs": 0,  # P2 on 2022-06-30 is on time
    "partners_assessed": 3,  # P1 P4 P8
    "partners_fully_ready": 1,  # P1
    "readiness_rate": 1 / 3,
    "step_rates": {
        "mpa_signed": 2 / 3,  # P1 P8
        "indirect_provider_confirmed": 2 / 3,  # P1 P8
        "mpn_id_updated": 2 / 3,  # P1 P8
        "mca_all_customers": 1 / 3,  # P1 (P8 explicit false, P4 no data)
    },
    "projected": {
        "subscriptions": 6,  # S01 S02 S03 (P1) S06 S07 (P4) S08 (P8); S04 S05 opted out
        "seats": 39,  # 10+5+8+7+3+6
        "ready_subscriptions": 3,  # S01 S02 S03
        "at_risk_subscriptions": 3,  # S06 S07 S08
        "ready_seats": 23,  # 10+5+8
        "at_risk_seats": 16,  # 7+3+6
    },
}

AT = {
    "subscriptions_in_scope": 6,  # S13 S14 S15 S16 S18 S25
    "seats_in_scope": 63,  # 15+25+11+2+1+9
    "subscriptions_exempt": 1,  # S17 (government); S19 nonprofit is deleted
    "before_cutoff": {"subscriptions": 2, "seats": 3},  # S16 S18: 2+1
    "after_cutoff": {"subscriptions": 4, "seats": 60},  # S13 S14 S15 S25: 15+25+11+9
    "lapse_risk": {"subscriptions": 1, "seats": 1},  # S18
    "partners_exposed": 4,  # P1 P3 P7 P9
    "partners_opted_out": 1,  # P3 (late, still an opt-out)
    "opt_out_rate": 1 / 4,
    "opt_out_seat_rate": 25 / 60,  # S14 / after seats
    "late_opt_outs": 1,  # P3 on 2022-07-01
    "partners_assessed": 3,  # P1 P7 P9
    "partners_fully_ready": 2,  # P1 P7 (P9 mca derived false from C23 in CH)
    "readiness_rate": 2 / 3,
    "step_rates": {
        "mpa_signed": 3 / 3,
        "indirect_provider_confirmed": 3 / 3,
        "mpn_id_updated": 3 / 3,
        "mca_all_customers": 2 / 3,  # P1 P7
    },
    "projected": {
        "subscriptions": 4,  # S13 (P1) S15 S16 (P7) S25 (P9); S14 opted out, S18 lapses
        "seats": 37,  # 15+11+2+9
        "ready_subscriptions": 3,  # S13 S15 S16
        "at_risk_subscriptions": 1,  # S25
        "ready_seats": 28,  # 15+11+2
        "at_risk_seats": 9,  # S25
    },
}

CH = {
    "subscriptions_in_scope": 4,  # S20 S21 S22 S23
    "seats_in_scope": 21,  # 4+6+3+8
    "subscriptions_exempt": 1,  # S24 (nonprofit)
    "before_cutoff": {"subscriptions": 4, "seats": 21},  # all of them
    "after_cutoff": {"subscriptions": 0, "seats": 0},
    "lapse_risk": {"subscriptions": 1, "seats": 4},  # S20 (S22 auto-renew unknown is not)
    "partners_exposed": 0,
    "partners_opted_out": 0,  # P5 opted out but is not exposed
    "opt_out_rate": None,  # 0 / 0
    "opt_out_seat_rate": None,  # 0 / 0 after seats
    "late_opt_outs": 0,
    "partners_assessed": 0,
    "partners_fully_ready": 0,
    "readiness_rate": None,  # 0 / 0
    "step_rates": {
        "mpa_signed": None,
        "indirect_provider_confirmed": None,
        "mpn_id_updated": None,
        "mca_all_customers": None,
    },
    "projected": {
        "subscriptions": 2,  # S21 S23 (P9, renewed); S20 lapses, S22 unknown
        "seats": 14,  # 6+8
        "ready_subscriptions": 0,
        "at_risk_subscriptions": 2,  # P9 is not fully ready
        "ready_seats": 0,
        "at_risk_seats": 14,
    },
}

TOTAL = {
    "subscriptions_in_scope": 18,  # 8 DE + 6 AT + 4 CH
    "seats_in_scope": 147,  # 63+63+21
    "subscriptions_exempt": 3,  # S09 S17 S24
    "before_cutoff": {"subscriptions": 10, "seats": 44},  # 4+2+4, 20+3+21
    "after_cutoff": {"subscriptions": 8, "seats": 103},  # 4+4+0, 43+60
    "lapse_risk": {"subscriptions": 2, "seats": 5},  # S18 S20: 1+4
    "partners_exposed": 7,  # P1 (DE and AT, once) P2 P3 P4 P7 P8 P9
    "partners_opted_out": 2,  # P2 P3 (not P5, P6: not exposed)
    "opt_out_rate": 2 / 7,
    "opt_out_seat_rate": 45 / 103,  # S04 20 + S14 25
    "late_opt_outs": 1,  # P3
    "partners_assessed": 5,  # P1 P4 P7 P8 P9
    "partners_fully_ready": 2,  # P1 P7
    "readiness_rate": 2 / 5,
    "step_rates": {
        "mpa_signed": 4 / 5,  # P1 P7 P8 P9
        "indirect_provider_confirmed": 4 / 5,  # P1 P7 P8 P9
        "mpn_id_updated": 4 / 5,  # P1 P7 P8 P9
        "mca_all_customers": 2 / 5,  # P1 P7
    },
    "projected": {
        "subscriptions": 12,  # 6 DE + 4 AT + 2 CH
        "seats": 90,  # 39+37+14
        "ready_subscriptions": 6,  # 3+3+0
        "at_risk_subscriptions": 6,  # 3+1+2
        "ready_seats": 51,  # 23+28+0
        "at_risk_seats": 39,  # 16+9+14
    },
}

DE_AT = {
    "subscriptions_in_scope": 14,  # 8+6
    "seats_in_scope": 126,  # 63+63
    "subscriptions_exempt": 2,  # S09 S17
    "before_cutoff": {"subscriptions": 6, "seats": 23},  # 4+2, 20+3
    "after_cutoff": {"subscriptions": 8, "seats": 103},  # 4+4, 43+60
    "lapse_risk": {"subscriptions": 1, "seats": 1},  # S18
    "partners_exposed": 7,  # 4 DE + 4 AT - P1 counted in both
    "partners_opted_out": 2,  # P2 P3
    "opt_out_rate": 2 / 7,
    "opt_out_seat_rate": 45 / 103,
    "late_opt_outs": 1,  # P3
    "partners_assessed": 5,  # 3 DE + 3 AT - P1
    "partners_fully_ready": 2,  # P1 P7
    "readiness_rate": 2 / 5,
    "step_rates": {
        "mpa_signed": 4 / 5,
        "indirect_provider_confirmed": 4 / 5,
        "mpn_id_updated": 4 / 5,
        "mca_all_customers": 2 / 5,
    },
    "projected": {
        "subscriptions": 10,  # 6+4
        "seats": 76,  # 39+37
        "ready_subscriptions": 6,  # 3+3
        "at_risk_subscriptions": 4,  # 3+1
        "ready_seats": 51,  # 23+28
        "at_risk_seats": 25,  # 16+9
    },
}


def month(country, ym, subs, seats, ready, at_risk):
    return {
        "country": country,
        "month": ym,
        "subscriptions": subs,
        "seats": seats,
        "ready_subscriptions": ready,
        "at_risk_subscriptions": at_risk,
    }


PROJECTION_DE = [
    month("DE", "2022-07", 2, 18, 2, 0),  # S01 (07-11) 10 + S03 (07-31) 8, P1 ready
    month("DE", "2022-08", 2, 10, 0, 2),  # S06 (08-15) 7 + S07 (08-10) 3, P4 at risk
    month("DE", "2022-10", 1, 6, 0, 1),  # S08 (10-01), P8 at risk
    month("DE", "2023-07", 1, 5, 1, 0),  # S02 (2023-07-10), P1 ready
]
PROJECTION_AT = [
    month("AT", "2022-07", 1, 11, 1, 0),  # S15 (07-20), P7 ready
    month("AT", "2022-08", 1, 9, 0, 1),  # S25 (08-05), P9 at risk
    month("AT", "2022-09", 1, 2, 1, 0),  # S16 (09-15), P7 ready
    month("AT", "2022-11", 1, 15, 1, 0),  # S13 (11-30), P1 ready
]
PROJECTION_CH = [
    month("CH", "2022-07", 1, 6, 0, 1),  # S21 (07-28), P9 at risk
    month("CH", "2022-12", 1, 8, 0, 1),  # S23 (12-01), P9 at risk
]

BLOCK_KEYS = {
    "subscriptions_in_scope",
    "seats_in_scope",
    "subscriptions_exempt",
    "before_cutoff",
    "after_cutoff",
    "lapse_risk",
    "partners_exposed",
    "partners_opted_out",
    "opt_out_rate",
    "opt_out_seat_rate",
    "late_opt_outs",
    "partners_assessed",
    "partners_fully_ready",
    "readiness_rate",
    "step_rates",
    "projected",
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dataset():
    # The default programme file by path, so a RADAR_PROGRAMME in the environment cannot change the rules.
    return load_files(FILES, programme=load_programme(ROOT / "config" / "programme.toml"))


@pytest.fixture(scope="module")
def facts(dataset):
    """sub_facts by subscription id."""
    cur = dataset.cursor()
    cur.execute("SELECT * FROM sub_facts")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


@pytest.fixture(scope="module")
def partners(dataset):
    """partner_facts by partner id, each readiness step (kept as the list `steps`, in the programme's order) by name."""
    cur = dataset.cursor()
    steps = [step for (step,) in cur.execute("SELECT step FROM readiness_steps ORDER BY position").fetchall()]
    cur.execute("SELECT * FROM partner_facts")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {row["partner_id"]: {**row, **dict(zip(steps, row["steps"], strict=True))} for row in rows}


def doc(dataset, *countries):
    return summary(dataset, Filters(countries=tuple(countries)))


def cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "RADAR_PROGRAMME"}
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# ---------------------------------------------------------------- programme and fixture


def test_default_programme_is_the_july_2022_end_of_legacy_renewals(dataset):
    assert dataset.programme.cutoff == D(2022, 7, 11)
    assert dataset.programme.opt_out_deadline == D(2022, 6, 30)
    assert set(dataset.programme.exempt_segments) == {"education", "government", "nonprofit"}


def test_fixture_is_read_without_rejects(dataset):
    assert dataset.result.accepted == {"subscriptions": 25, "partners": 8, "customers": 23}
    assert dataset.result.rejected == 0


# ---------------------------------------------------------------- scope


def test_active_legacy_commercial_rows_with_a_term_end_are_in_scope(facts):
    in_scope = sorted(s for s, f in facts.items() if f["scope"] == "in_scope")
    assert in_scope == [
        *("S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08"),
        *("S13", "S14", "S15", "S16", "S18"),
        *("S20", "S21", "S22", "S23", "S25"),
    ]


def test_exempt_segments_are_never_in_scope_and_count_as_exempt(facts, dataset):
    assert {s for s, f in facts.items() if f["scope"] == "exempt"} == {"S09", "S17", "S24"}
    for sub in ("S09", "S17", "S24"):  # education, government, nonprofit
        assert facts[sub]["side"] is None
        assert not facts[sub]["projected"]
        assert not facts[sub]["lapse_risk"]
    assert doc(dataset)["totals"]["subscriptions_exempt"] == 3


def test_nce_suspended_deleted_and_no_term_end_rows_are_neither_in_scope_nor_exempt(facts):
    assert facts["S10"]["scope"] == "nce"  # program = nce
    assert facts["S11"]["scope"] == "inactive"  # suspended
    assert facts["S19"]["scope"] == "inactive"  # deleted (and nonprofit: still not exempt)
    assert facts["S12"]["scope"] == "no_term_end"  # 9999-12-31
    for sub in ("S10", "S11", "S12", "S19"):
        assert facts[sub]["side"] is None
        assert facts[sub]["migration_date"] is None
        assert not facts[sub]["projected"]
        assert not facts[sub]["lapse_risk"]


# ---------------------------------------------------------------- before / after the cutoff


def test_subscription_ending_on_cutoff_day_is_after_cutoff(facts):
    assert facts["S01"]["term_end_date"] == D(2022, 7, 11)
    assert facts["S01"]["side"] == "after"


def test_subscription_ending_the_day_before_cutoff_is_before_cutoff(facts):
    assert facts["S02"]["term_end_date"] == D(2022, 7, 10)
    assert facts["S02"]["side"] == "before"


def test_before_and_after_cutoff_split_every_in_scope_subscription(facts):
    before = {s for s, f in facts.items() if f["side"] == "before"}
    after = {s for s, f in facts.items() if f["side"] == "after"}
    assert before == {"S02", "S03", "S05", "S07", "S16", "S18", "S20", "S21", "S22", "S23"}
    assert after == {"S01", "S04", "S06", "S08", "S13", "S14", "S15", "S25"}


# ---------------------------------------------------------------- lapse risk and auto-renew


def test_before_cutoff_subscription_with_auto_renew_off_is_lapse_risk_and_not_projected(facts):
    for sub in ("S18", "S20"):
        assert facts[sub]["side"] == "before"
        assert facts[sub]["lapse_risk"]
        assert facts[sub]["migration_date"] is None
        assert not facts[sub]["projected"]
    assert {s for s, f in facts.items() if f["lapse_risk"]} == {"S18", "S20"}


def test_unknown_auto_renew_is_neither_lapse_risk_nor_projected(facts):
    assert facts["S22"]["auto_renew"] is None
    assert facts["S22"]["side"] == "before"
    assert not facts["S22"]["lapse_risk"]
    assert not facts["S22"]["projected"]


def test_after_cutoff_subscription_with_auto_renew_off_is_migrated_not_lapse_risk(facts):
    # The distributor migrates every after-cutoff subscription at term end unless the partner opted out.
    assert facts["S08"]["side"] == "after"
    assert not facts["S08"]["lapse_risk"]
    assert facts["S08"]["projected"]
    assert facts["S08"]["migration_date"] == D(2022, 10, 1)


# ---------------------------------------------------------------- migration month (roll-forward)


def test_after_cutoff_subscription_migrates_at_its_term_end(facts):
    assert facts["S01"]["migration_date"] == D(2022, 7, 11)
    assert facts["S13"]["migration_date"] == D(2022, 11, 30)
    assert facts["S15"]["migration_date"] == D(2022, 7, 20)  # monthly, but already after the cutoff


def test_monthly_renewal_from_january_31_is_clamped_to_july_31(facts):
    # 2022-01-31 + 5 months = 2022-06-30 (< cutoff), + 6 months = 2022-07-31 counted from the original date.
    assert facts["S03"]["migration_date"] == D(2022, 7, 31)


def test_monthly_renewal_from_february_28_migrates_on_july_28(facts):
    # 2022-02-28 + 5 months = 2022-07-28 (counted from the original date, not chained via month ends).
    assert facts["S21"]["migration_date"] == D(2022, 7, 28)


def test_monthly_renewal_ending_the_day_before_cutoff_renews_once_more(facts):
    # 2022-06-10 + 1 month = 2022-07-10, still before the cutoff; + 2 months = 2022-08-10.
    assert facts["S07"]["migration_date"] == D(2022, 8, 10)


def test_annual_renewal_migrates_at_first_anniversary_on_or_after_cutoff(facts):
    assert facts["S16"]["migration_date"] == D(2022, 9, 15)  # 2021-09-15 + 12 months
    assert facts["S02"]["migration_date"] == D(2023, 7, 10)  # 2022-07-10 + 12 months


def test_unknown_billing_term_renews_as_annual(facts):
    assert facts["S23"]["billing_term"] == "unknown"
    assert facts["S23"]["migration_date"] == D(2022, 12, 1)  # 2021-12-01 + 12 months (monthly: 2022-08-01)


def test_migration_date_of_every_subscription(dataset):
    rows = dict(dataset.cursor().execute("select subscription_id, migration_date from sub_facts").fetchall())
    assert rows == {
        "S01": D(2022, 7, 11),
        "S02": D(2023, 7, 10),
        "S03": D(2022, 7, 31),
        "S04": D(2022, 9, 30),  # would migrate, but P2 opted out (projected is false)
        "S05": D(2022, 7, 15),  # renewed 2022-03-15 + 4 months, but P2 opted out
        "S06": D(2022, 8, 15),
        "S07": D(2022, 8, 10),
        "S08": D(2022, 10, 1),
        "S09": None,
        "S10": None,
        "S11": None,
        "S12": None,
        "S13": D(2022, 11, 30),
        "S14": D(2022, 8, 31),  # P3 opted out (late)
        "S15": D(2022, 7, 20),
        "S16": D(2022, 9, 15),
        "S17": None,
        "S18": None,
        "S19": None,
        "S20": None,
        "S21": D(2022, 7, 28),
        "S22": None,
        "S23": D(2022, 12, 1),
        "S24": None,
        "S25": D(2022, 8, 5),
    }


# ---------------------------------------------------------------- partners: opt-out and readiness


def test_opted_out_partners_subscriptions_are_not_projected(facts):
    # After-cutoff ones (S04, S14) and a renewed before-cutoff one (S05) alike.
    for sub in ("S04", "S05", "S14"):
        assert facts[sub]["opted_out"]
        assert not facts[sub]["projected"]
    projected = {s for s, f in facts.items() if f["projected"]}
    assert projected == {"S01", "S02", "S03", "S06", "S07", "S08", "S13", "S15", "S16", "S21", "S23", "S25"}


def test_opt_out_received_on_the_deadline_is_on_time_and_a_day_later_is_late(partners, dataset):
    assert partners["P2"]["opt_out_date"] == D(2022, 6, 30)
    assert not partners["P2"]["late_opt_out"]
    assert partners["P3"]["opt_out_date"] == D(2022, 7, 1)
    assert partners["P3"]["late_opt_out"]
    assert doc(dataset, "DE")["totals"]["late_opt_outs"] == 0  # P2
    assert doc(dataset, "AT")["totals"]["late_opt_outs"] == 1  # P3


def test_opted_out_partner_without_exposure_is_not_counted_as_opted_out(partners, dataset):
    assert partners["P5"]["opted_out"]  # only before-cutoff and exempt subscriptions (CH)
    assert partners["P6"]["opted_out"]  # no subscriptions at all
    assert doc(dataset)["totals"]["partners_opted_out"] == 2  # P2, P3 only
    assert doc(dataset, "CH")["totals"]["partners_opted_out"] == 0


def test_partner_without_partner_row_is_exposed_not_opted_out_and_not_ready(partners, facts, dataset):
    p4 = partners["P4"]
    assert not p4["has_partner_row"]
    assert not p4["opted_out"]
    assert p4["steps_done"] == 0  # a readiness step with no data counts as not done
    assert not p4["fully_ready"]
    assert facts["S06"]["projected"] and not facts["S06"]["fully_ready"]  # at risk
    assert facts["S07"]["projected"] and not facts["S07"]["fully_ready"]
    # P4 is one of DE's 4 exposed and 3 assessed partners (see DE above); without it DE would have 3 and 2.
    de = doc(dataset, "DE")["totals"]
    assert (de["partners_exposed"], de["partners_assessed"]) == (4, 3)


def test_mca_all_customers_is_derived_from_customers_when_the_partner_value_is_empty(partners):
    # P7: in-scope customers C15, C16 accepted; C17 (government) and C19 (deleted) declined but do not count.
    assert partners["P7"]["mca_all_customers"]
    assert partners["P7"]["fully_ready"]
    # P9: C23 declined.
    assert not partners["P9"]["mca_all_customers"]
    assert not partners["P9"]["fully_ready"]


def test_explicit_mca_all_customers_wins_over_the_customers(partners):
    assert partners["P1"]["mca_all_customers"]  # explicit true although C03 declined
    assert partners["P1"]["fully_ready"]
    assert not partners["P8"]["mca_all_customers"]  # explicit false although C08 and C09 accepted
    assert not partners["P8"]["fully_ready"]


def test_partner_properties_do_not_change_with_the_country_filter(dataset):
    # P9 is exposed in AT only, where its one customer (C25) accepted the MCA; its CH customer C23 did not,
    # so under the AT filter it is still not fully ready and its AT subscription S25 is at risk.
    at = doc(dataset, "AT")
    assert at["totals"]["partners_assessed"] == 3  # P1 P7 P9
    assert at["totals"]["partners_fully_ready"] == 2  # P1 P7
    assert at["totals"]["step_rates"]["mca_all_customers"] == 2 / 3
    assert at["projection"][1] == month("AT", "2022-08", 1, 9, 0, 1)  # S25 at risk


def test_a_partner_counts_in_every_country_where_it_is_exposed_and_once_in_the_total(dataset):
    everything = doc(dataset)
    assert everything["by_country"]["DE"]["partners_exposed"] == 4  # P1 among them
    assert everything["by_country"]["AT"]["partners_exposed"] == 4  # P1 among them
    assert everything["totals"]["partners_exposed"] == 7  # not 8
    assert doc(dataset, "DE", "AT")["totals"]["partners_exposed"] == 7


# ---------------------------------------------------------------- the summary document


def test_summary_without_filter(dataset):
    result = doc(dataset)
    assert result["totals"] == TOTAL
    assert result["by_country"] == {"DE": DE, "AT": AT, "CH": CH}
    assert result["ingest"] == {"accepted": {"subscriptions": 25, "partners": 8, "customers": 23}, "rejected": 0}


def test_summary_by_country_is_ordered_by_after_cutoff_seats(dataset):
    assert list(doc(dataset)["by_country"]) == ["AT", "DE", "CH"]  # 60, 43, 0 after-cutoff seats


def test_summary_filtered_to_one_country(dataset):
    result = doc(dataset, "DE")
    assert result["totals"] == DE
    assert result["by_country"] == {"DE": DE}
    assert result["projection"] == PROJECTION_DE


def test_summary_filtered_to_two_countries(dataset):
    result = doc(dataset, "DE", "AT")
    assert result["totals"] == DE_AT
    assert result["by_country"] == {"DE": DE, "AT": AT}
    assert result["projection"] == PROJECTION_AT + PROJECTION_DE


def test_rates_are_null_when_the_denominator_is_zero(dataset):
    result = doc(dataset, "CH")  # no after-cutoff subscription in CH: no exposed, no assessed partner
    assert result["totals"] == CH
    assert result["totals"]["opt_out_rate"] is None
    assert result["totals"]["opt_out_seat_rate"] is None
    assert result["totals"]["readiness_rate"] is None
    assert set(result["totals"]["step_rates"].values()) == {None}
    assert result["projection"] == PROJECTION_CH


def test_filter_to_a_country_without_data_gives_zeros_and_null_rates(dataset):
    result = doc(dataset, "FR")
    totals = result["totals"]
    assert totals["subscriptions_in_scope"] == 0
    assert totals["after_cutoff"] == {"subscriptions": 0, "seats": 0}
    assert totals["partners_exposed"] == 0
    assert totals["opt_out_rate"] is None
    assert totals["readiness_rate"] is None
    assert totals["projected"]["subscriptions"] == 0
    assert result["by_country"] == {}
    assert result["projection"] == []


def test_projection_per_country_and_month_without_filter(dataset):
    assert doc(dataset)["projection"] == PROJECTION_AT + PROJECTION_CH + PROJECTION_DE


def test_migration_progress_is_nce_seats_over_nce_and_in_scope_seats(dataset):
    rows = headline(dataset.cursor(), Filters()).to_dict("records")
    progress = {r["country"] if isinstance(r["country"], str) else None: r["migration_progress"] for r in rows}
    assert progress[None] == 12 / (12 + 147)  # S10: 12 NCE seats; 147 in-scope seats
    assert progress["DE"] == 12 / (12 + 63)
    # Migration progress is defined "when program = nce rows exist"; AT and CH have none.
    assert pd.isna(progress["AT"])  # NULL in SQL, NaN in the DataFrame
    assert pd.isna(progress["CH"])


# ---------------------------------------------------------------- command line


def test_cli_summary_json_prints_the_same_document_as_summary(dataset):
    run = cli("summary", *map(str, FILES), "--json", "--country", "DE")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == doc(dataset, "DE")


def test_cli_summary_json_has_exactly_the_documented_keys():
    run = cli("summary", *map(str, FILES), "--json", "--country", "DE")
    printed = json.loads(run.stdout)
    assert set(printed) == {"totals", "by_country", "projection", "ingest"}
    assert set(printed["totals"]) == BLOCK_KEYS
    assert set(printed["by_country"]) == {"DE"}
    assert set(printed["by_country"]["DE"]) == BLOCK_KEYS
    for pair in ("before_cutoff", "after_cutoff", "lapse_risk"):
        assert set(printed["totals"][pair]) == {"subscriptions", "seats"}
    assert set(printed["totals"]["step_rates"]) == {
        "mpa_signed",
        "indirect_provider_confirmed",
        "mpn_id_updated",
        "mca_all_customers",
    }
    assert set(printed["totals"]["projected"]) == {
        "subscriptions",
        "seats",
        "ready_subscriptions",
        "at_risk_subscriptions",
        "ready_seats",
        "at_risk_seats",
    }
    assert [set(m) for m in printed["projection"]] == [
        {"country", "month", "subscriptions", "seats", "ready_subscriptions", "at_risk_subscriptions"}
    ] * 4
    assert set(printed["ingest"]) == {"accepted", "rejected"}
    assert printed["totals"] == DE


def test_cli_missing_file_exits_non_zero_with_a_one_line_message(tmp_path):
    missing = tmp_path / "no-such-export.csv"
    run = cli("summary", str(missing), "--json")
    assert run.returncode != 0
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "no-such-export.csv" in lines[0]
    assert "Traceback" not in run.stderr
