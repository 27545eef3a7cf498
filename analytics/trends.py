"""Trends across published snapshots, and what changed between two of them.

Trends read a small summary kept per snapshot (`summarise`, written at publish: the headline figures for all
segments and for each segment alone, per country and in total), never the snapshots' rows. The summary answers
every filter of at most one country and at most one segment without a partner search, exactly: the rows it
holds are those the same query gives for that filter (a partner counts once per country and once in the
total, so other filters cannot be added up from it). Any other filter runs the headline query on each
snapshot's own roll-ups (`snapshot_trend`), which is exact too and reads more.

The diff between two snapshots is one query over both snapshot files where they lie (analytics/catalog.py).
"""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.dataset import Dataset, connect
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


CHANGES_SQL = """
WITH scope AS (
    SELECT * FROM (SELECT 'new' AS side, * FROM {new}sub_facts UNION ALL SELECT 'old', * FROM {old}sub_facts) s
    WHERE {where}
),
partners_in_view AS (SELECT DISTINCT partner_id FROM scope)
SELECT 'became_ready' AS change, n.partner_id AS id, n.partner_name AS name, NULL AS seats
FROM {new}partner_facts n JOIN {old}partner_facts o USING (partner_id)
WHERE n.fully_ready AND NOT o.fully_ready AND n.partner_id IN (SELECT partner_id FROM partners_in_view)
UNION ALL
SELECT 'new_opt_out', n.partner_id, n.partner_name, NULL
FROM {new}partner_facts n LEFT JOIN {old}partner_facts o USING (partner_id)
WHERE n.opted_out AND NOT coalesce(o.opted_out, false)
  AND n.partner_id IN (SELECT partner_id FROM partners_in_view)
UNION ALL
SELECT 'appeared', s.subscription_id, s.partner_name, s.seats
FROM scope s WHERE s.side = 'new' AND s.subscription_id NOT IN (SELECT subscription_id FROM {old}sub_facts)
UNION ALL
SELECT 'vanished', s.subscription_id, s.partner_name, s.seats
FROM scope s WHERE s.side = 'old' AND s.subscription_id NOT IN (SELECT subscription_id FROM {new}sub_facts)
"""
# Each kind's count is exact; its rows are the first $limit by id (all rows when $limit is NULL).
LIMITED_SQL = """
SELECT change, id, name, seats, of_kind FROM (
    SELECT *, count(*) OVER (PARTITION BY change) AS of_kind,
           row_number() OVER (PARTITION BY change ORDER BY id) AS n
    FROM ({changes}) c
)
WHERE $limit IS NULL OR n <= $limit
ORDER BY change, id
"""


def changes(new: Dataset, old: Dataset, filters: Filters, limit: int | None = None) -> pd.DataFrame:
    """Partners that became fully ready, new opt-outs, and subscriptions that appeared or vanished: a row per
    change (`change`, `id`, `name`, `seats`) with `of_kind`, the exact number of changes of its kind. With
    `limit`, at most that many rows per kind (the first by id), so a week in which half a million subscriptions
    vanished costs a page no more than a few thousand rows; the counts stay exact.

    Two published snapshots are compared where they lie: one query over both files, attached to the process's
    catalog. Datasets of their own databases (the bundled sample's weeks) are copied into one first: small.
    """
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
    clause, values = filters.where_clause("s")
    sql = LIMITED_SQL.format(changes=CHANGES_SQL.format(where=clause, **prefixes))
    return cur.execute(sql, {**values, "limit": limit}).df()
