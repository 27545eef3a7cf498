"""Facts derived once per dataset and programme: per partner (partner_facts), per subscription (sub_facts: scope,
side, migration month), and the roll-ups the figures are computed from, each named for what one row holds:
partner_country_segment, partner_country, partner_totals (one row per partner), and the time series
projection_by_country_segment and expirations_by_country_segment."""

from __future__ import annotations

import duckdb

from analytics.programme import Programme
from analytics.schema import BOOL, TABLES

# A placeholder end date at or beyond this marks a subscription without a commitment term (Partner Center: 9999).
NO_TERM_END_FROM = "9000-01-01"

# The partners table's yes/no columns other than the opt-out: the identifiers a readiness step may be read from
# (a fixed allow-list, analytics/schema.py); a step of the programme without such a column has no data.
STEP_COLUMNS = frozenset(c.name for c in TABLES["partners"] if c.kind == BOOL and c.name != "opted_out")


def step_done_sql(step: str) -> str:
    """The SQL of one readiness step, done or not, in partner_facts' `base` (a step without data is not done,
    PRODUCT.md section 4). Step 4 falls back to the customers: all of the partner's customers with in-scope
    subscriptions accepted the MCA."""
    if step == "mca_all_customers":
        return "coalesce(p.mca_all_customers, m.mca_derived, false)"
    if step in STEP_COLUMNS:
        return f"coalesce(p.{step}, false)"
    return "false"


PARTNER_FACTS_SQL = """
CREATE OR REPLACE TABLE partner_facts AS
WITH ids AS (
    -- A subscription without a reseller has no partner (PRODUCT.md section 4: unknown is no partner).
    SELECT partner_id FROM partners UNION SELECT partner_id FROM subscriptions WHERE partner_id IS NOT NULL
),
sub_names AS (
    SELECT partner_id, min(partner_name) AS partner_name FROM subscriptions GROUP BY partner_id
),
-- Step 4 derived: every customer of the partner with an in-scope subscription accepted the MCA
-- (a customer without a row in the customers data has not).
mca AS (
    SELECT s.partner_id, bool_and(coalesce(c.mca_accepted, false)) AS mca_derived
    FROM subscriptions s LEFT JOIN customers c ON c.customer_id = s.customer_id
    WHERE s.status = 'active' AND s.program = 'legacy' AND s.term_end_date < $no_term_end_from::DATE
      AND NOT list_contains($exempt, s.segment)
    GROUP BY s.partner_id
),
base AS (
    SELECT i.partner_id,
           coalesce(p.partner_name, n.partner_name, i.partner_id) AS partner_name,
           p.country AS partner_country,
           p.partner_id IS NOT NULL AS has_partner_row,
           -- An opt-out date without an explicit opted_out value counts as an opt-out.
           coalesce(p.opted_out, p.opt_out_date IS NOT NULL) AS opted_out,
           p.opt_out_date,
           -- The programme's readiness steps, done or not, in its order (generated: build_facts).
           [{steps}] AS steps,
           p.mca_all_customers IS NULL AND m.mca_derived IS NOT NULL AS mca_derived
    FROM ids i
    LEFT JOIN partners p ON p.partner_id = i.partner_id
    LEFT JOIN sub_names n ON n.partner_id = i.partner_id
    LEFT JOIN mca m ON m.partner_id = i.partner_id
)
SELECT *,
       opted_out AND opt_out_date > $opt_out_deadline AS late_opt_out,
       len(list_filter(steps, lambda done: done)) AS steps_done,
       list_bool_and(steps) AS fully_ready
FROM base
"""

SUB_FACTS_SQL = """
CREATE OR REPLACE TABLE sub_facts AS
WITH scoped AS (
    SELECT s.*,
           CASE WHEN s.status <> 'active' THEN 'inactive'
                WHEN s.program = 'nce' THEN 'nce'
                WHEN s.term_end_date >= $no_term_end_from::DATE THEN 'no_term_end'
                WHEN list_contains($exempt, s.segment) THEN 'exempt'
                ELSE 'in_scope' END AS scope,
           CASE WHEN s.billing_term = 'monthly' THEN 1 ELSE 12 END AS term_months
    FROM subscriptions s
),
sided AS (
    SELECT *,
           CASE WHEN scope = 'in_scope' THEN CASE WHEN term_end_date < $cutoff THEN 'before' ELSE 'after' END
           END AS side,
           -- Renewed on legacy terms term after term, counted from the original end date (month ends
           -- clamped by DuckDB's month arithmetic), until the first end date on or after the cutoff.
           date_diff('month', term_end_date, $cutoff) // term_months AS q
    FROM scoped
),
rolled AS (
    SELECT *,
           CASE WHEN side = 'after' THEN term_end_date
                WHEN side = 'before' AND auto_renew THEN CAST(least(
                    CASE WHEN q - 1 >= 1 AND term_end_date + to_months(CAST((q - 1) * term_months AS INT)) >= $cutoff
                         THEN term_end_date + to_months(CAST((q - 1) * term_months AS INT)) END,
                    CASE WHEN q >= 1 AND term_end_date + to_months(CAST(q * term_months AS INT)) >= $cutoff
                         THEN term_end_date + to_months(CAST(q * term_months AS INT)) END,
                    CASE WHEN term_end_date + to_months(CAST(greatest(q + 1, 1) * term_months AS INT)) >= $cutoff
                         THEN term_end_date + to_months(CAST(greatest(q + 1, 1) * term_months AS INT)) END,
                    term_end_date + to_months(CAST(greatest(q + 2, 1) * term_months AS INT))
                ) AS DATE) END AS migration_date
    FROM sided
)
SELECT r.subscription_id, r.partner_id, p.partner_name, r.customer_id, r.customer_name, r.country, r.segment,
       r.offer_name, r.seats, r.term_end_date, r.auto_renew, r.billing_term, r.monthly_value, r.currency,
       r.program, r.status, r.scope, r.side,
       coalesce(r.side = 'before' AND r.auto_renew = false, false) AS lapse_risk,
       r.migration_date,
       -- The distributor migrates at term end unless the partner opted out; that holds for a renewed
       -- subscription too once its renewed term ends on or after the cutoff.
       -- A subscription with no reseller known migrates too (nobody opted it out), at risk (no partner is ready).
       r.migration_date IS NOT NULL AND NOT coalesce(p.opted_out, false) AS projected,
       coalesce(p.opted_out, false) AS opted_out, p.opt_out_date, coalesce(p.late_opt_out, false) AS late_opt_out,
       coalesce(p.fully_ready, false) AS fully_ready, coalesce(p.steps_done, 0) AS steps_done,
       coalesce(p.has_partner_row, false) AS has_partner_row,
       p.steps  -- NULL without a partner: no partner is ready
FROM rolled r LEFT JOIN partner_facts p ON p.partner_id = r.partner_id
"""


# One row per partner, country and segment: every partner-level figure (and the headline sums) is computed from
# this small table or its roll-ups partner_country and partner_totals below instead of the millions of subscription
# rows; filters
# (country, segment, partner search) apply to it exactly as to sub_facts.
PARTNER_COUNTRY_SEGMENT_SQL = """
CREATE OR REPLACE TABLE partner_country_segment AS
SELECT s.partner_id, any_value(s.partner_name) AS partner_name, s.country, s.segment,
    count(*) AS all_subscriptions,
    count(*) FILTER (s.scope = 'in_scope') AS in_scope_subscriptions,
    coalesce(sum(s.seats) FILTER (s.scope = 'in_scope'), 0) AS in_scope_seats,
    count(*) FILTER (s.scope = 'exempt') AS exempt_subscriptions,
    coalesce(sum(s.seats) FILTER (s.scope = 'exempt'), 0) AS exempt_seats,
    count(*) FILTER (s.scope = 'no_term_end') AS no_term_end_subscriptions,
    count(*) FILTER (s.scope = 'inactive') AS inactive_subscriptions,
    count(*) FILTER (s.side = 'before') AS before_subscriptions,
    coalesce(sum(s.seats) FILTER (s.side = 'before'), 0) AS before_seats,
    count(*) FILTER (s.side = 'after') AS after_subscriptions,
    coalesce(sum(s.seats) FILTER (s.side = 'after'), 0) AS after_seats,
    sum(s.monthly_value) FILTER (s.side = 'after') AS after_monthly_value,
    count(*) FILTER (s.lapse_risk) AS lapse_risk_subscriptions,
    coalesce(sum(s.seats) FILTER (s.lapse_risk), 0) AS lapse_risk_seats,
    count(*) FILTER (s.projected) AS projected_subscriptions,
    coalesce(sum(s.seats) FILTER (s.projected), 0) AS projected_seats,
    coalesce(sum(s.seats) FILTER (s.scope = 'nce'), 0) AS nce_seats,
    min(s.term_end_date) FILTER (s.side = 'after') AS first_after_cutoff_end,
    any_value(s.opted_out) AS opted_out, any_value(s.opt_out_date) AS opt_out_date,
    any_value(s.late_opt_out) AS late_opt_out, any_value(s.steps_done) AS steps_done,
    any_value(s.fully_ready) AS fully_ready, any_value(s.steps) AS steps,
    any_value(s.has_partner_row) AS has_partner_row
FROM sub_facts s
GROUP BY s.partner_id, s.country, s.segment
"""


# How partner_country_segment rows roll up to one partner (over segments, or over countries and segments): counts
# add up, the partner's own properties are the same on each of its rows. Used to build partner_country and
# partner_totals below, and by
# analytics/metrics.py to roll up on the fly when a segment or country filter rules the stored roll-ups out.
PARTNER_ROLLUP = """
    any_value(s.partner_name) AS partner_name,
    sum(s.in_scope_subscriptions)::BIGINT AS in_scope_subscriptions, sum(s.in_scope_seats)::BIGINT AS in_scope_seats,
    sum(s.exempt_subscriptions)::BIGINT AS exempt_subscriptions, sum(s.exempt_seats)::BIGINT AS exempt_seats,
    sum(s.no_term_end_subscriptions)::BIGINT AS no_term_end_subscriptions,
    sum(s.inactive_subscriptions)::BIGINT AS inactive_subscriptions,
    sum(s.before_subscriptions)::BIGINT AS before_subscriptions, sum(s.before_seats)::BIGINT AS before_seats,
    sum(s.after_subscriptions)::BIGINT AS after_subscriptions, sum(s.after_seats)::BIGINT AS after_seats,
    sum(s.after_monthly_value) AS after_monthly_value,
    sum(s.lapse_risk_subscriptions)::BIGINT AS lapse_risk_subscriptions,
    sum(s.lapse_risk_seats)::BIGINT AS lapse_risk_seats,
    sum(s.projected_subscriptions)::BIGINT AS projected_subscriptions,
    sum(s.projected_seats)::BIGINT AS projected_seats,
    sum(s.nce_seats)::BIGINT AS nce_seats,
    min(s.first_after_cutoff_end) AS first_after_cutoff_end,
    any_value(s.opted_out) AS opted_out, any_value(s.opt_out_date) AS opt_out_date,
    any_value(s.late_opt_out) AS late_opt_out, any_value(s.steps_done) AS steps_done,
    any_value(s.fully_ready) AS fully_ready, any_value(s.steps) AS steps,
    any_value(s.has_partner_row) AS has_partner_row
"""

# The partner's countries with in-scope subscriptions (within what is rolled up), for the partner lists.
COUNTRIES = "string_agg(DISTINCT s.country, ', ' ORDER BY s.country) FILTER (s.in_scope_subscriptions > 0) AS countries"

# partner_country: one row per partner and country; partner_totals: one row per partner. A query without a segment
# filter reads partner_country instead of rolling partner_country_segment up, and one without a country or segment
# filter reads partner_totals (analytics/metrics.py).
PARTNER_COUNTRY_SQL = f"""
CREATE OR REPLACE TABLE partner_country AS
SELECT s.partner_id, s.country, {PARTNER_ROLLUP} FROM partner_country_segment s GROUP BY s.partner_id, s.country
ORDER BY s.country, s.partner_id
"""
PARTNER_TOTALS_SQL = f"""
CREATE OR REPLACE TABLE partner_totals AS
SELECT s.partner_id, {PARTNER_ROLLUP}, {COUNTRIES} FROM partner_country_segment s GROUP BY s.partner_id
"""

# The time series per subscription, and their sums per country and segment (a few thousand rows whatever the
# size of the data): the projection and expiration figures read the sums, or these rows when a partner search
# needs the partner of each subscription (analytics/metrics.py).
PROJECTION_ROWS = """
    SELECT s.country, s.segment, s.partner_id, s.partner_name, strftime(s.migration_date, '%Y-%m') AS month,
           s.fully_ready, 1 AS subscriptions, s.seats
    FROM sub_facts s WHERE s.projected
"""
EXPIRATION_ROWS = """
    SELECT s.country, s.segment, s.partner_id, s.partner_name, s.side,
           CAST(date_trunc('week', s.term_end_date) AS DATE) AS week,
           CAST(date_trunc('month', s.term_end_date) AS DATE) AS month,
           1 AS subscriptions, s.seats, s.lapse_risk::INT AS lapse_risk_subscriptions
    FROM sub_facts s WHERE s.side IS NOT NULL
"""
PROJECTION_BY_COUNTRY_SEGMENT_SQL = f"""
CREATE OR REPLACE TABLE projection_by_country_segment AS
SELECT country, segment, month, fully_ready, count(*) AS subscriptions, sum(seats)::BIGINT AS seats
FROM ({PROJECTION_ROWS}) GROUP BY country, segment, month, fully_ready
"""
EXPIRATIONS_BY_COUNTRY_SEGMENT_SQL = f"""
CREATE OR REPLACE TABLE expirations_by_country_segment AS
SELECT country, segment, side, week, month, count(*) AS subscriptions, sum(seats)::BIGINT AS seats,
       sum(lapse_risk_subscriptions)::BIGINT AS lapse_risk_subscriptions
FROM ({EXPIRATION_ROWS}) GROUP BY country, segment, side, week, month
"""


def build_facts(con: duckdb.DuckDBPyConnection, programme: Programme) -> None:
    """(Re)derive partner_facts and sub_facts from subscriptions, partners and customers for a programme, then
    the pre-aggregates. The readiness steps are the programme's: their list is kept as the table readiness_steps
    (position, step) for the figures, and each partner's steps as one list column in its order."""
    params = {
        "exempt": list(programme.exempt_segments),
        "cutoff": programme.cutoff,
        "opt_out_deadline": programme.opt_out_deadline,
        "no_term_end_from": NO_TERM_END_FROM,
    }
    steps = ", ".join(step_done_sql(step) for step in programme.readiness_steps)
    con.execute("CREATE OR REPLACE TABLE readiness_steps (position INTEGER, step VARCHAR)")
    con.executemany("INSERT INTO readiness_steps VALUES (?, ?)", list(enumerate(programme.readiness_steps, start=1)))
    con.execute(
        PARTNER_FACTS_SQL.replace("{steps}", steps),
        {k: params[k] for k in ("exempt", "opt_out_deadline", "no_term_end_from")},
    )
    con.execute(SUB_FACTS_SQL, {k: params[k] for k in ("exempt", "cutoff", "no_term_end_from")})
    build_aggregates(con)


def build_aggregates(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)derive the pre-aggregates from sub_facts."""
    for sql in (
        PARTNER_COUNTRY_SEGMENT_SQL,
        PARTNER_COUNTRY_SQL,
        PARTNER_TOTALS_SQL,
        PROJECTION_BY_COUNTRY_SEGMENT_SQL,
        EXPIRATIONS_BY_COUNTRY_SEGMENT_SQL,
    ):
        con.execute(sql)
