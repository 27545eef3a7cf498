"""Trends across published snapshots, and what changed between two of them.

Trends read a small summary kept per snapshot (`summarise`, written at publish: the headline figures for all
segments and for each segment alone, per country and in total), never the snapshots' rows. The summary answers
every filter of at most one country and at most one segment without a partner search, exactly: the rows it
holds are those the same query gives for that filter (a partner counts once per country and once in the
total, so other filters cannot be added up from it). Any other filter runs the headline query on each
snapshot's own roll-ups (`snapshot_trend`), which is exact too and reads more.

The diff between two snapshots is one query over both snapshot files where they lie (analytics/catalog.py), run
once at publish against the snapshot before (Store.change_rows keeps its small result); Trends filters that.
"""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.dataset import Dataset
from analytics.engine import connect, harden
from analytics.metrics import Filters, headline, segments

COUNT_COLUMNS = [
    "after_subscriptions",
    "after_seats",
    "partners_exposed",
    "partners_opted_out",
    "partners_assessed",
    "partners_fully_ready",
    "projected_subscriptions",
    "projected_seats",
    "projected_at_risk_seats",
]
RATE_COLUMNS = ["opt_out_rate", "readiness_rate"]
TREND_COLUMNS = [
    "country",
    "after_subscriptions",
    "after_seats",
    "partners_exposed",
    "partners_opted_out",
    "opt_out_rate",
    "partners_assessed",
    "partners_fully_ready",
    "readiness_rate",
    "projected_subscriptions",
    "projected_seats",
    "projected_at_risk_seats",
]
SUMMARY_SCHEMA = pa.schema(
    [("segment", pa.string()), ("country", pa.string())]
    + [(c, pa.float64() if c in RATE_COLUMNS else pa.int64()) for c in TREND_COLUMNS[1:]]
)


def summarise(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """A snapshot's trend summary: the headline rows (metrics.headline, the KPI cards' own query) for all
    segments (segment NULL) and for each segment alone; in each, the total (country NULL) and every country."""
    frames = []
    for segment in [None, *segments(cur)]:
        frame = headline(cur, Filters(segments=(segment,) if segment else ()))[TREND_COLUMNS].copy()
        frame.insert(0, "segment", segment)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].fillna(0).astype("int64")
    return pa.Table.from_pandas(frame, schema=SUMMARY_SCHEMA, preserve_index=False)


def summarised(filters: Filters) -> bool:
    """Whether the summaries answer this filter (else `snapshot_trend` reads each snapshot's roll-ups)."""
    return not filters.partner.strip() and len(filters.countries) <= 1 and len(filters.segments) <= 1


_COUNTS = ", ".join(f"coalesce(c.{name}, 0) AS {name}" for name in COUNT_COLUMNS)
_RATES = ", ".join(f"c.{name}" for name in RATE_COLUMNS)
SUMMARY_TREND_SQL = f"""
WITH chosen AS (
    SELECT * FROM summaries WHERE segment IS NOT DISTINCT FROM $segment AND ($country IS NULL OR country = $country)
),
total AS (
    -- The total is the summary's total row, or with one country that country's row (the same figures); a
    -- snapshot without it (no such country or segment) has zeros, as the headline query gives.
    SELECT s.snapshot, s.created, CAST(NULL AS VARCHAR) AS country, {_COUNTS}, {_RATES}
    FROM snapshots s LEFT JOIN chosen c ON c.snapshot = s.snapshot AND c.country IS NOT DISTINCT FROM $country
),
by_country AS (
    SELECT c.snapshot, s.created, c.country, {_COUNTS}, {_RATES}
    FROM chosen c JOIN snapshots s ON s.snapshot = c.snapshot WHERE c.country IS NOT NULL
)
SELECT * FROM total UNION ALL SELECT * FROM by_country
ORDER BY created, country NULLS FIRST, snapshot
"""


@functools.cache
def _summaries_db() -> duckdb.DuckDBPyConnection:
    """One small in-memory database per process where the summaries are queried (a cursor per call; creating a
    DuckDB instance costs more than the query)."""
    return connect("256MB")


def summary_trend(summaries: list[tuple[str, pd.Timestamp, pa.Table]], filters: Filters) -> pd.DataFrame:
    """One headline row per snapshot (and per country, country NULL = total), oldest first, from the snapshots'
    summaries (snapshot id, published, summary); only for a filter that `summarised` accepts."""
    if not summarised(filters):
        raise ValueError("the summaries do not answer this filter; use snapshot_trend")
    con = _summaries_db().cursor()
    rows = pa.concat_tables(
        [
            table.cast(SUMMARY_SCHEMA).append_column("snapshot", pa.array([sid] * table.num_rows, pa.string()))
            for sid, _, table in summaries
        ]
    )
    listed = pd.DataFrame(
        {"snapshot": [s for s, _, _ in summaries], "created": [pd.Timestamp(c) for _, c, _ in summaries]}
    )
    con.register("summaries", rows)
    con.register("snapshots", listed)
    params = {
        "segment": filters.segments[0] if filters.segments else None,
        "country": filters.countries[0] if filters.countries else None,
    }
    frame = con.execute(SUMMARY_TREND_SQL, params).df()
    frame["country"] = frame["country"].astype(object).where(frame["country"].notna(), None)
    return frame[["snapshot", "created", *TREND_COLUMNS]]


def snapshot_trend(datasets: list[Dataset], filters: Filters) -> pd.DataFrame:
    """One headline row per snapshot (and per country, country NULL = total), oldest first, from each
    snapshot's roll-ups: any filter."""
    frames = []
    for dataset in datasets:
        frame = headline(dataset.cursor(), filters)[TREND_COLUMNS].copy()
        frame.insert(0, "snapshot", dataset.snapshot or dataset.version)
        frame.insert(1, "created", pd.Timestamp(dataset.loaded_at))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["snapshot", "created", *TREND_COLUMNS])
    return pd.concat(frames, ignore_index=True).sort_values(["created", "country"], na_position="first")


# Every change from snapshot {old} to {new}, with where it shows: a subscription's own country, segment and partner;
# a partner-level change (became fully ready, opted out) once for each country, segment and partner name under
# which the partner has subscriptions in either snapshot, so that a filter matches it exactly when it matches one
# of the partner's subscriptions (a partner without subscriptions shows under no filter). Anti joins on the ids:
# two hash tables of ids, not a copy of either snapshot.
CHANGE_ROWS_SQL = """
WITH partner_changes AS (
    SELECT 'became_ready' AS change, n.partner_id AS id, n.partner_name AS name
    FROM {new}partner_facts n JOIN {old}partner_facts o USING (partner_id)
    WHERE n.fully_ready AND NOT o.fully_ready
    UNION ALL
    SELECT 'new_opt_out', n.partner_id, n.partner_name
    FROM {new}partner_facts n LEFT JOIN {old}partner_facts o USING (partner_id)
    WHERE n.opted_out AND NOT coalesce(o.opted_out, false)
),
views AS (
    SELECT DISTINCT s.partner_id, s.partner_name, s.country, s.segment
    FROM {new}sub_facts s SEMI JOIN partner_changes p ON s.partner_id = p.id
    UNION
    SELECT DISTINCT s.partner_id, s.partner_name, s.country, s.segment
    FROM {old}sub_facts s SEMI JOIN partner_changes p ON s.partner_id = p.id
)
SELECT p.change, p.id, p.name, NULL::BIGINT AS seats, v.partner_id, v.partner_name, v.country, v.segment
FROM partner_changes p JOIN views v ON v.partner_id = p.id
UNION ALL
SELECT 'appeared', s.subscription_id, s.partner_name, s.seats, s.partner_id, s.partner_name, s.country, s.segment
FROM {new}sub_facts s ANTI JOIN {old}sub_facts o USING (subscription_id)
UNION ALL
SELECT 'vanished', s.subscription_id, s.partner_name, s.seats, s.partner_id, s.partner_name, s.country, s.segment
FROM {old}sub_facts s ANTI JOIN {new}sub_facts o USING (subscription_id)
"""
# The changes a filter shows, from CHANGE_ROWS_SQL's rows (the table `change_rows`): one row per change, with
# `of_kind`, the exact number of changes of its kind; its rows the first $limit by id (all when $limit is NULL).
FILTERED_SQL = """
SELECT change, id, name, seats, of_kind FROM (
    SELECT *, count(*) OVER (PARTITION BY change) AS of_kind,
           row_number() OVER (PARTITION BY change ORDER BY id) AS n
    FROM (
        SELECT change, id, any_value(name) AS name, any_value(seats) AS seats
        FROM change_rows s WHERE {where} GROUP BY change, id
    ) c
)
WHERE $limit IS NULL OR n <= $limit
ORDER BY change, id
"""


def change_rows(new: Dataset, old: Dataset) -> pa.Table:
    """Every change from `old` to `new` with where it shows (CHANGE_ROWS_SQL): small, a row per change (a
    partner-level change once per country and segment it has subscriptions in). Two published snapshots are
    compared where they lie: one query over both files, attached to the process's catalog. Datasets of their
    own databases (the bundled sample's weeks) are copied into one first: small."""
    if new.database and old.database and new.con is old.con:
        cur = new.cursor()
        old.cursor().close()  # attached now (and not detached: the catalog keeps the most recent ones)
        prefixes = {"new": f'"{new.database}".main.', "old": f'"{old.database}".main.'}
    else:
        cur = connect()
        for side, dataset in (("new", new), ("old", old)):
            cur.execute(f"CREATE SCHEMA {side}")
            for table in ("sub_facts", "partner_facts"):
                cur.register("arrow_in", dataset.cursor().sql(f"SELECT * FROM {table}").to_arrow_table())
                cur.execute(f"CREATE TABLE {side}.{table} AS SELECT * FROM arrow_in")
                cur.unregister("arrow_in")
        prefixes = {"new": "new.", "old": "old."}
    return cur.sql(CHANGE_ROWS_SQL.format(**prefixes)).to_arrow_table()


def filter_changes(rows: pa.Table, filters: Filters, limit: int | None = None) -> pd.DataFrame:
    """The changes of `rows` (change_rows) that `filters` shows: a row per change (`change`, `id`, `name`,
    `seats`) with `of_kind`, the exact number of changes of its kind. With `limit`, at most that many rows per
    kind (the first by id), so a week in which half a million subscriptions vanished costs a page no more than a
    few thousand rows; the counts stay exact."""
    con = connect()
    harden(con)
    con.register("change_rows", rows)
    clause, values = filters.where_clause("s")
    return con.execute(FILTERED_SQL.format(where=clause), {**values, "limit": limit}).df()


def changes(new: Dataset, old: Dataset, filters: Filters, limit: int | None = None) -> pd.DataFrame:
    """Partners that became fully ready, new opt-outs, and subscriptions that appeared or vanished, as
    `filters` shows them (filter_changes of change_rows). A store keeps each snapshot's change rows against the
    one before it (Store.change_rows), so Trends reads them instead of running this."""
    return filter_changes(change_rows(new, old), filters, limit)
