"""The figures of PRODUCT.md section 4: one DuckDB query function per figure, bound parameters only.

Every function takes a cursor and `Filters` and returns a DataFrame (or dict); the pages, the command
line and the tests call the same functions, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import words
from analytics.facts import COUNTRIES, EXPIRATION_ROWS, PARTNER_ROLLUP, PROJECTION_ROWS
from analytics.programme import SEGMENTS
from analytics.schema import UNKNOWN_COUNTRY

# The row aliases a filter clause may name (identifiers come from this fixed list, never from input).
_ALIASES = frozenset({"s"})


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the view to; empty means everything. It writes its own SQL condition (with the
    values it binds) and its own sentence, so every query and every caption says the same selection."""

    countries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    partner: str = ""

    def where_clause(self, alias: str = "s") -> tuple[str, dict]:
        """The SQL condition on sub_facts or one of its roll-ups (rows named `alias`) and the values it binds.

        Made of fixed fragments only; a fragment is left out when its filter is empty (so an unused filter costs
        nothing); the values are always bound parameters ($countries, $segments, $partner), never text in the SQL.
        """
        if alias not in _ALIASES:
            raise ValueError(f"alias must be one of {sorted(_ALIASES)}")
        parts, values = [], {}
        if self.countries:
            parts.append(f"list_contains($countries::VARCHAR[], {alias}.country)")
            values["countries"] = list(self.countries)
        if self.segments:
            parts.append(f"list_contains($segments::VARCHAR[], {alias}.segment)")
            values["segments"] = list(self.segments)
        if self.partner.strip():
            parts.append(
                f"(contains(lower({alias}.partner_name), $partner) OR contains(lower({alias}.partner_id), $partner))"
            )
            values["partner"] = self.partner.strip().lower()
        return " AND ".join(parts) or "true", values

    def human_clause(self, lang: str = "en", escape: Callable[[str], str] = str) -> str:
        """What the view is narrowed to, as a reader says it in `lang` ("showing DE, AT · partner contains …").
        The values come from a URL: `escape` makes them safe for where the sentence goes (Markdown in the UI)."""
        parts = []
        if self.countries:
            unknown = words.text(lang, "country.unknown")
            parts.append(", ".join(unknown if c == UNKNOWN_COUNTRY else escape(c) for c in self.countries))
        if self.segments:
            parts.append(
                ", ".join(words.text(lang, f"segment.{s}") if s in SEGMENTS else escape(s) for s in self.segments)
            )
        if self.partner:
            parts.append(words.text(lang, "sidebar.partner_contains", text=escape(self.partner)))
        return words.text(lang, "sidebar.showing", what=" · ".join(parts) or words.text(lang, "sidebar.all_data"))


def _df(con: duckdb.DuckDBPyConnection, sql: str, filters: Filters, **extra) -> pd.DataFrame:
    """Run a query template: `{where}` becomes the filters' clause, its values and `extra` are bound."""
    if "{where}" not in sql:
        raise ValueError("a filtered query must place the filters' clause ({where})")
    clause, values = filters.where_clause()
    return con.execute(sql.replace("{where}", clause), {**values, **extra}).df()


# ---------------------------------------------------------------- which pre-aggregate answers a filter
#
# Every partner-level figure reads the smallest stored roll-up that the filters allow (analytics/facts.py):
# partner_totals (one row per partner) when neither a country nor a segment is chosen, partner_country (partner x
# country) as it is for one country, partner_country rolled up per partner for several countries, else
# partner_country_segment (partner x country x segment) rolled up on the fly. tests/test_query_paths.py proves the paths equal. The time series read their sums
# per country and segment, or the subscriptions themselves when a partner search needs each one's partner.
# The table names are fixed text here, never user input; the filter values stay bound parameters.


def _partners_sql(filters: Filters, with_countries: bool = True) -> str:
    """One row per partner within the filters: the sums of its subscriptions there and its properties."""
    if not filters.countries and not filters.segments:
        return "SELECT * FROM partner_totals s WHERE {where}"
    if len(filters.countries) == 1 and not filters.segments:
        # One country (what a regional champion looks at): partner_country has one row per partner there already.
        countries = ", CASE WHEN s.in_scope_subscriptions > 0 THEN s.country END AS countries" if with_countries else ""
        return f"SELECT *{countries} FROM partner_country s WHERE {{where}}"
    source = "partner_country_segment" if filters.segments else "partner_country"
    countries = f", {COUNTRIES}" if with_countries else ""
    return f"SELECT s.partner_id, {PARTNER_ROLLUP}{countries} FROM {source} s WHERE {{where}} GROUP BY s.partner_id"


def _partner_countries_sql(filters: Filters) -> str:
    """One row per partner and country within the filters."""
    if not filters.segments:
        return "SELECT * FROM partner_country s WHERE {where}"
    return f"SELECT s.partner_id, s.country, {PARTNER_ROLLUP} FROM partner_country_segment s WHERE {{where}} GROUP BY s.partner_id, s.country"


def _series_source(filters: Filters, table: str, rows: str) -> str:
    """The sums per country and segment, or the subscription rows when the partner search is in use."""
    return f"({rows}) s" if filters.partner.strip() else f"{table} s"


_HEADLINE_COLUMNS = """
    coalesce(sum(in_scope_subscriptions), 0) AS subscriptions_in_scope,
    coalesce(sum(in_scope_seats), 0) AS seats_in_scope,
    coalesce(sum(exempt_subscriptions), 0) AS subscriptions_exempt,
    coalesce(sum(exempt_seats), 0) AS seats_exempt,
    coalesce(sum(no_term_end_subscriptions), 0) AS subscriptions_no_term_end,
    coalesce(sum(inactive_subscriptions), 0) AS subscriptions_inactive,
    coalesce(sum(before_subscriptions), 0) AS before_subscriptions,
    coalesce(sum(before_seats), 0) AS before_seats,
    coalesce(sum(after_subscriptions), 0) AS after_subscriptions,
    coalesce(sum(after_seats), 0) AS after_seats,
    sum(after_monthly_value) AS after_monthly_value,
    coalesce(sum(lapse_risk_subscriptions), 0) AS lapse_risk_subscriptions,
    coalesce(sum(lapse_risk_seats), 0) AS lapse_risk_seats,
    -- A partner counts in every country where it has an after-cutoff subscription, once in the total; a
    -- subscription without a reseller (partner_id NULL) is in no partner count.
    count(*) FILTER (partner_id IS NOT NULL AND after_subscriptions > 0) AS partners_exposed,
    count(*) FILTER (partner_id IS NOT NULL AND after_subscriptions > 0 AND opted_out) AS partners_opted_out,
    coalesce(sum(after_seats) FILTER (opted_out), 0) AS opted_out_seats,
    -- Volume with no reseller known: counted in every subscription figure, in no partner figure.
    coalesce(sum(in_scope_subscriptions) FILTER (partner_id IS NULL), 0) AS no_partner_subscriptions,
    coalesce(sum(in_scope_seats) FILTER (partner_id IS NULL), 0) AS no_partner_seats,
    count(*) FILTER (partner_id IS NOT NULL AND after_subscriptions > 0 AND late_opt_out) AS late_opt_outs,
    count(*) FILTER (partner_id IS NOT NULL AND after_subscriptions > 0 AND NOT opted_out) AS partners_assessed,
    count(*) FILTER (partner_id IS NOT NULL AND after_subscriptions > 0 AND NOT opted_out AND fully_ready)
        AS partners_fully_ready,
    {step_counts}
    coalesce(sum(projected_subscriptions), 0) AS projected_subscriptions,
    coalesce(sum(projected_seats), 0) AS projected_seats,
    coalesce(sum(projected_subscriptions) FILTER (fully_ready), 0) AS projected_ready_subscriptions,
    coalesce(sum(projected_subscriptions) FILTER (NOT fully_ready), 0) AS projected_at_risk_subscriptions,
    coalesce(sum(projected_seats) FILTER (fully_ready), 0) AS projected_ready_seats,
    coalesce(sum(projected_seats) FILTER (NOT fully_ready), 0) AS projected_at_risk_seats,
    coalesce(sum(nce_seats), 0) AS nce_seats
"""

_HEADLINE_RATES = """
    partners_opted_out / NULLIF(partners_exposed, 0) AS opt_out_rate,
    opted_out_seats / NULLIF(after_seats, 0) AS opt_out_seat_rate,
    partners_fully_ready / NULLIF(partners_assessed, 0) AS readiness_rate,
    {step_rates}
    NULLIF(nce_seats, 0) / (nce_seats + seats_in_scope) AS migration_progress
"""


def headline(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Counts and rates behind every KPI: one row for the total (country NULL), then one per country.

    A partner counts in every country where it has an after-cutoff subscription, once in the total.
    Rates are NULL when their denominator is 0. The total is an aggregate without GROUP BY over one row per
    partner (so there is a total row of zeros when nothing matches), the countries are counted over one row per
    partner and country, so every partner count is a plain count(*). Each readiness step of the programme has
    its count and rate (`step_<step>`, `rate_<step>`).
    """
    steps = _steps(con)
    # Per step, by its position in each partner's `steps` list: the SQL holds positions, never step names.
    positions = range(1, len(steps) + 1)
    assessed = "partner_id IS NOT NULL AND after_subscriptions > 0 AND NOT opted_out"
    columns = _HEADLINE_COLUMNS.replace(
        "{step_counts}", "\n    ".join(f"count(*) FILTER ({assessed} AND steps[{i}]) AS step_{i}," for i in positions)
    )
    rates = _HEADLINE_RATES.replace(
        "{step_rates}", "\n    ".join(f"step_{i} / NULLIF(partners_assessed, 0) AS rate_{i}," for i in positions)
    )
    sql = f"""
    WITH per_partner AS ({_partners_sql(filters, with_countries=False)}),
    per_country AS ({_partner_countries_sql(filters)}),
    counts AS (
        SELECT CAST(NULL AS VARCHAR) AS country, {columns} FROM per_partner
        UNION ALL
        SELECT country, {columns} FROM per_country GROUP BY country
    )
    SELECT *, {rates} FROM counts
    ORDER BY country IS NOT NULL, after_seats DESC, country
    """
    frame = _df(con, sql, filters)
    frame = frame.rename(
        columns={f"{kind}_{i}": f"{kind}_{step}" for i, step in enumerate(steps, start=1) for kind in ("step", "rate")}
    )
    frame["country"] = frame["country"].astype(object).where(frame["country"].notna(), None)
    return frame


def _steps(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The programme's readiness steps in its order (analytics/facts.py keeps them as the table readiness_steps)."""
    return [row[0] for row in con.execute("SELECT step FROM readiness_steps ORDER BY position").fetchall()]


def _step_columns(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """The list column `steps` (a partner's readiness steps, done or not) as one yes/no column per step, named
    by the programme, in its place."""
    at = frame.columns.get_loc("steps")
    done = frame.pop("steps")
    for offset, step in enumerate(_steps(con)):
        frame.insert(
            at + offset, step, [v is not None and not _scalar_na(v) and bool(v[offset]) for v in done.tolist()]
        )
    return frame


def _scalar_na(value) -> bool:
    return not hasattr(value, "__len__") and pd.isna(value)


def _rate(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def block(row: dict) -> dict:
    """The JSON BLOCK of one headline row (rates are fractions 0..1, or None when the denominator is 0)."""
    n = {
        k: (int(v) if isinstance(v, (int, float)) and not pd.isna(v) and k != "after_monthly_value" else v)
        for k, v in row.items()
    }
    assessed = n["partners_assessed"]
    return {
        "subscriptions_in_scope": n["subscriptions_in_scope"],
        "seats_in_scope": n["seats_in_scope"],
        "subscriptions_exempt": n["subscriptions_exempt"],
        "before_cutoff": {"subscriptions": n["before_subscriptions"], "seats": n["before_seats"]},
        "after_cutoff": {"subscriptions": n["after_subscriptions"], "seats": n["after_seats"]},
        "lapse_risk": {"subscriptions": n["lapse_risk_subscriptions"], "seats": n["lapse_risk_seats"]},
        "partners_exposed": n["partners_exposed"],
        "partners_opted_out": n["partners_opted_out"],
        "opt_out_rate": _rate(row.get("opt_out_rate")),
        "opt_out_seat_rate": _rate(row.get("opt_out_seat_rate")),
        "late_opt_outs": n["late_opt_outs"],
        "partners_assessed": assessed,
        "partners_fully_ready": n["partners_fully_ready"],
        "readiness_rate": _rate(row.get("readiness_rate")),
        # One rate per readiness step of the programme, in its order (headline: rate_<step>).
        "step_rates": {
            key.removeprefix("rate_"): _rate(value) for key, value in row.items() if key.startswith("rate_")
        },
        "projected": {
            "subscriptions": n["projected_subscriptions"],
            "seats": n["projected_seats"],
            "ready_subscriptions": n["projected_ready_subscriptions"],
            "at_risk_subscriptions": n["projected_at_risk_subscriptions"],
            "ready_seats": n["projected_ready_seats"],
            "at_risk_seats": n["projected_at_risk_seats"],
        },
    }


_PROJECTION_SQL = """
SELECT s.country, s.month,
       sum(s.subscriptions)::BIGINT AS subscriptions, sum(s.seats)::BIGINT AS seats,
       coalesce(sum(s.subscriptions) FILTER (s.fully_ready), 0)::BIGINT AS ready_subscriptions,
       coalesce(sum(s.subscriptions) FILTER (NOT s.fully_ready), 0)::BIGINT AS at_risk_subscriptions,
       coalesce(sum(s.seats) FILTER (s.fully_ready), 0)::BIGINT AS ready_seats,
       coalesce(sum(s.seats) FILTER (NOT s.fully_ready), 0)::BIGINT AS at_risk_seats
FROM {source}
WHERE {where}
GROUP BY s.country, s.month
ORDER BY s.country, s.month
"""


def projection(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Projected NCE migrations per country and month: after-cutoff subscriptions of partners that did not
    opt out at their end month, renewed before-cutoff ones (auto-renew on) at their first renewed end date
    on or after the cutoff; split into ready (partner fully ready) and at risk."""
    source = _series_source(filters, "projection_by_country_segment", PROJECTION_ROWS)
    return _df(con, _PROJECTION_SQL.replace("{source}", source), filters)


_EXPIRATIONS_SQL = """
SELECT CASE WHEN $grain = 'week' THEN s.week ELSE s.month END AS period, s.side,
       sum(s.subscriptions)::BIGINT AS subscriptions, sum(s.seats)::BIGINT AS seats,
       sum(s.lapse_risk_subscriptions)::BIGINT AS lapse_risk_subscriptions
FROM {source}
WHERE {where}
GROUP BY period, s.side
ORDER BY period, s.side
"""


def expirations(con: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """In-scope subscriptions and seats by end week or month, before/after the cutoff."""
    if grain not in ("week", "month"):
        raise ValueError("grain must be week or month")
    sql = _EXPIRATIONS_SQL.replace(
        "{source}", _series_source(filters, "expirations_by_country_segment", EXPIRATION_ROWS)
    )
    return _df(con, sql, filters, grain=grain)


# The columns of the partner lists, in this order.
_PARTNER_COLUMNS = """
    partner_id, partner_name, countries, after_subscriptions, after_seats, before_subscriptions, before_seats,
    lapse_risk_subscriptions, first_after_cutoff_end, opted_out, opt_out_date, late_opt_out, steps_done,
    fully_ready, steps, has_partner_row
"""


def _partner_list(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    condition: str,
    order: str,
    limit: int | None,
    extra: str = "",
    **values,
) -> pd.DataFrame:
    """Exposed partners (an after-cutoff subscription within the filters) that meet `condition` (fixed SQL).

    `limit` returns only the first rows (what a screen shows: converting tens of thousands of rows to a
    DataFrame costs far more than finding them), with the whole list's size and after-cutoff seats in the
    columns `list_partners` and `list_after_seats` on every row."""
    totals = ""
    tail = ""
    bound = dict(values)  # values `condition` binds
    if limit is not None:
        totals = ", count(*) OVER () AS list_partners, sum(after_seats) OVER () AS list_after_seats"
        tail = "LIMIT $limit"
        bound["limit"] = int(limit)
    sql = f"""
    SELECT {_PARTNER_COLUMNS}{extra}{totals}
    FROM ({_partners_sql(filters)})
    WHERE after_subscriptions > 0 AND partner_id IS NOT NULL AND {condition}
    ORDER BY {order}
    {tail}
    """
    return _step_columns(con, _df(con, sql, filters, **bound))


def exposed_partners(
    con: duckdb.DuckDBPyConnection, filters: Filters, limit: int | None = None, opted_out: bool = True
) -> pd.DataFrame:
    """Exposed partners (at least one after-cutoff subscription in the filter) with their volume and status,
    sorted by after-cutoff seats; `opted_out=False` leaves out those that opted out."""
    condition = "true" if opted_out else "NOT opted_out"
    return _partner_list(con, filters, condition, "after_seats DESC, partner_id", limit)


def call_list(
    con: duckdb.DuckDBPyConnection, filters: Filters, limit: int | None = None, exclude: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Not-ready exposed partners that did not opt out, sorted by after-cutoff seats, missing steps named.

    `exclude`: partner ids to leave out (those touched in the last N days, from the touchpoint log), so that the
    list's length and its first rows are those of the narrowed list."""
    missing = """, list_filter((SELECT list(step ORDER BY position) FROM readiness_steps),
                              lambda step, i: NOT steps[i]) AS missing_steps"""
    order = "after_seats DESC, after_subscriptions DESC, partner_id"
    condition = "NOT opted_out AND NOT fully_ready"
    bound = {}
    if exclude:
        condition += " AND NOT list_contains($exclude::VARCHAR[], partner_id)"
        bound["exclude"] = list(exclude)
    return _partner_list(con, filters, condition, order, limit, extra=missing, **bound)


def opted_out_partners(con: duckdb.DuckDBPyConnection, filters: Filters, limit: int | None = None) -> pd.DataFrame:
    """Exposed partners that opted out, with their after-cutoff volume and whether the opt-out was late."""
    return _partner_list(con, filters, "opted_out", "opt_out_date NULLS LAST, after_seats DESC, partner_id", limit)


# ---------------------------------------------------------------- one partner, and the partners a notice goes to


def notice_partners(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Partners within the filters that have lapse-risk or after-cutoff subscriptions there (those who get a
    notice, PRODUCT.md section 8), with their volume, opt-out, readiness, contact address and language; sorted by
    after-cutoff seats, then lapse-risk seats. A subscription without a reseller is nobody's notice."""
    sql = f"""
    SELECT s.partner_id, s.partner_name, s.countries, s.after_subscriptions, s.after_seats,
           s.lapse_risk_subscriptions, s.lapse_risk_seats, s.projected_subscriptions, s.projected_seats,
           s.opted_out, s.opt_out_date, s.late_opt_out, s.steps_done, s.fully_ready, s.steps, s.has_partner_row,
           p.contact_email, p.language, f.partner_country
    FROM ({_partners_sql(filters)}) s
    LEFT JOIN partners p ON p.partner_id = s.partner_id
    LEFT JOIN partner_facts f ON f.partner_id = s.partner_id
    WHERE s.partner_id IS NOT NULL AND (s.lapse_risk_subscriptions > 0 OR s.after_subscriptions > 0)
    ORDER BY s.after_seats DESC, s.lapse_risk_seats DESC, s.partner_id
    """
    return _step_columns(con, _df(con, sql, filters))


_PARTNER_SUBSCRIPTION_COLUMNS = """
    s.partner_id, s.subscription_id, s.customer_id, s.customer_name, s.country, s.segment, s.offer_name, s.seats,
    s.term_end_date, s.auto_renew, s.billing_term, s.program, s.status, s.scope, s.side, s.lapse_risk,
    s.migration_date, s.projected, s.opted_out
"""


def partner_subscriptions(
    con: duckdb.DuckDBPyConnection, filters: Filters, partner_id: str | None = None, notice_only: bool = False
) -> pd.DataFrame:
    """The subscriptions of one partner (or of every known partner) within the filters, by term end, with their
    side of the cutoff, lapse risk and migration date (sub_facts: the rows every figure is counted from).
    `notice_only`: only those a notice names, lapse-risk ones and those with a migration date (which migrate,
    or end without renewal when the partner opted out)."""
    conditions = ["s.partner_id IS NOT NULL"]
    extra = {}
    if partner_id is not None:
        # Not $partner_id: a name that starts with another parameter's ($partner) is easy to mistake for it.
        conditions.append("s.partner_id = $one_partner")
        extra["one_partner"] = partner_id
    if notice_only:
        conditions.append("(s.lapse_risk OR s.migration_date IS NOT NULL)")
    sql = f"""
    SELECT {_PARTNER_SUBSCRIPTION_COLUMNS} FROM sub_facts s
    WHERE {{where}} AND {" AND ".join(conditions)}
    ORDER BY s.partner_id, s.term_end_date, s.subscription_id
    """
    return _df(con, sql, filters, **extra)


def partner_profile(con: duckdb.DuckDBPyConnection, partner_id: str) -> pd.DataFrame:
    """One partner's properties (whatever the filters): name, country, opt-out, the programme's readiness steps
    (step 4 given or derived), contact address and language; no row for an unknown partner id."""
    sql = """
    SELECT f.partner_id, f.partner_name, f.partner_country, f.has_partner_row, f.opted_out, f.opt_out_date,
           f.late_opt_out, f.steps, f.mca_derived, f.steps_done, f.fully_ready, p.contact_email, p.language
    FROM partner_facts f LEFT JOIN partners p ON p.partner_id = f.partner_id
    WHERE f.partner_id = $partner_id
    """
    return _step_columns(con, con.execute(sql, {"partner_id": partner_id}).df())


def partner_choices(con: duckdb.DuckDBPyConnection, filters: Filters, limit: int = 5000) -> pd.DataFrame:
    """Partners with subscriptions within the filters (for a partner picker), the most exposed first."""
    sql = f"""
    SELECT partner_id, partner_name, after_seats FROM ({_partners_sql(filters, with_countries=False)})
    WHERE partner_id IS NOT NULL
    ORDER BY after_seats DESC, lapse_risk_seats DESC, partner_name, partner_id
    LIMIT $limit
    """
    return _df(con, sql, filters, limit=int(limit))


def opt_outs_over_time(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Opt-outs of exposed partners per day received, with the running total (undated opt-outs left out)."""
    sql = f"""
    SELECT opt_out_date, count(*) AS opt_outs, sum(count(*)) OVER (ORDER BY opt_out_date) AS cumulative,
           bool_or(late_opt_out) AS late
    FROM ({_partners_sql(filters, with_countries=False)})
    WHERE after_subscriptions > 0 AND partner_id IS NOT NULL AND opted_out AND opt_out_date IS NOT NULL
    GROUP BY opt_out_date ORDER BY opt_out_date
    """
    return _df(con, sql, filters)


def readiness_funnel(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Assessed partners (exposed, not opted out) that completed each step and every step before it, in the
    programme's order."""
    sql = f"""
    WITH p AS (SELECT * FROM ({_partners_sql(filters, with_countries=False)})
               WHERE after_subscriptions > 0 AND partner_id IS NOT NULL AND NOT opted_out)
    SELECT 0 AS position, 'assessed' AS step, (SELECT count(*) FROM p) AS partners
    UNION ALL
    SELECT r.position, r.step, count(p.partner_id) FILTER (list_bool_and(p.steps[1:r.position])) AS partners
    FROM readiness_steps r LEFT JOIN p ON true
    GROUP BY r.position, r.step
    ORDER BY position
    """
    return _df(con, sql, filters)


def step_completion(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per step: assessed partners that have done it (in any order) and the share."""
    sql = f"""
    WITH p AS (SELECT * FROM ({_partners_sql(filters, with_countries=False)})
               WHERE after_subscriptions > 0 AND partner_id IS NOT NULL AND NOT opted_out)
    SELECT r.step, count(p.partner_id) FILTER (p.steps[r.position]) AS done, (SELECT count(*) FROM p) AS assessed,
           count(p.partner_id) FILTER (p.steps[r.position]) / NULLIF((SELECT count(*) FROM p), 0) AS rate
    FROM readiness_steps r LEFT JOIN p ON true
    GROUP BY r.position, r.step
    ORDER BY r.position
    """
    return _df(con, sql, filters)


def countries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every country in the data with its after-cutoff seats (the sidebar sorts by exposure)."""
    sql = """
    SELECT country, sum(after_seats)::BIGINT AS after_seats, sum(all_subscriptions)::BIGINT AS subscriptions
    FROM partner_country_segment GROUP BY country ORDER BY after_seats DESC, country
    """
    return con.execute(sql).df()


def segments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The segments present in the data."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT segment FROM partner_country_segment ORDER BY segment").fetchall()
    ]


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the loaded dataset."""
    sql = """SELECT (SELECT count(*) FROM subscriptions), (SELECT count(*) FROM partners),
                    (SELECT count(*) FROM customers), (SELECT count(*) FROM rejects)"""
    subs, partners, customers, rejects = con.execute(sql).fetchone()
    return {"subscriptions": subs, "partners": partners, "customers": customers, "rejected": rejects}


def rejects(con: duckdb.DuckDBPyConnection, limit: int | None = None, lang: str = "en") -> pd.DataFrame:
    """Rejected rows with file, line, column, reason and the offending value.

    The reason travels as a code with parameters (`code`, kept in the frame); `reason` says it in `lang`, the
    caller's language (the interface's, or English for the command line)."""
    sql = """SELECT file, line, column_name AS column, code, reason, value, ref_file, ref_line, key
             FROM rejects ORDER BY file, line, column_name"""
    frame = con.execute(sql + " LIMIT ?", [int(limit)]).df() if limit is not None else con.execute(sql).df()
    frame["reason"] = [
        words.reason(lang, code, ref_file, ref_line, key, file) if isinstance(code, str) else reason
        for code, reason, ref_file, ref_line, key, file in zip(
            frame["code"],
            frame["reason"],
            frame["ref_file"],
            frame["ref_line"],
            frame["key"],
            frame["file"],
            strict=True,
        )
    ]
    return frame[["file", "line", "column", "reason", "value", "code"]]


def projection_what_if(con: duckdb.DuckDBPyConnection, filters: Filters, share: float = 0.0) -> pd.DataFrame:
    """Projected migrations per month (filtered countries together) with a what-if: `share` (0..1) of the
    at-risk volume is expected to become ready before it migrates."""
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    # Over the projection per country and month (the figure `projection`), summed per month.
    source = _series_source(filters, "projection_by_country_segment", PROJECTION_ROWS)
    sql = f"""
    SELECT month, sum(subscriptions) AS subscriptions, sum(seats) AS seats,
           sum(ready_subscriptions) AS ready_subscriptions, sum(at_risk_subscriptions) AS at_risk_subscriptions,
           sum(ready_seats) AS ready_seats, sum(at_risk_seats) AS at_risk_seats,
           round(sum(at_risk_seats) * $share) AS expected_ready_seats,
           sum(at_risk_seats) - round(sum(at_risk_seats) * $share) AS remaining_at_risk_seats
    FROM ({_PROJECTION_SQL.replace("{source}", source)}) GROUP BY month ORDER BY month
    """
    return _df(con, sql, filters, share=share)
