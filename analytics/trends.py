"""Trends across published snapshots, and what changed between two of them."""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.dataset import Dataset, connect
from analytics.metrics import Filters, headline

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


def snapshot_trend(datasets: list[Dataset], filters: Filters) -> pd.DataFrame:
    """One headline row per snapshot (and per country, country NULL = total), oldest first."""
    frames = []
    for dataset in datasets:
        frame = headline(dataset.cursor(), filters)[TREND_COLUMNS].copy()
        frame.insert(0, "snapshot", dataset.snapshot or dataset.version)
        frame.insert(1, "created", pd.Timestamp(dataset.loaded_at))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["snapshot", "created", *TREND_COLUMNS])
    return pd.concat(frames, ignore_index=True).sort_values(["created", "country"], na_position="first")


def _attach(con: duckdb.DuckDBPyConnection, name: str, dataset: Dataset, table: str) -> None:
    arrow = dataset.cursor().sql(f"SELECT * FROM {table}").to_arrow_table()
    con.register(f"{name}_in", arrow)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_in")
    con.unregister(f"{name}_in")


CHANGES_SQL = """
WITH scope AS (
    SELECT * FROM (SELECT 'new' AS side, * FROM new_subs UNION ALL SELECT 'old', * FROM old_subs) s
    WHERE (len($countries::VARCHAR[]) = 0 OR list_contains($countries::VARCHAR[], s.country))
      AND (len($segments::VARCHAR[]) = 0 OR list_contains($segments::VARCHAR[], s.segment))
      AND ($partner = '' OR contains(lower(s.partner_name), $partner) OR contains(lower(s.partner_id), $partner))
),
partners_in_view AS (SELECT DISTINCT partner_id FROM scope)
SELECT 'became_ready' AS change, n.partner_id AS id, n.partner_name AS name, NULL AS seats
FROM new_partners n JOIN old_partners o USING (partner_id)
WHERE n.fully_ready AND NOT o.fully_ready AND n.partner_id IN (SELECT partner_id FROM partners_in_view)
UNION ALL
SELECT 'new_opt_out', n.partner_id, n.partner_name, NULL
FROM new_partners n LEFT JOIN old_partners o USING (partner_id)
WHERE n.opted_out AND NOT coalesce(o.opted_out, false)
  AND n.partner_id IN (SELECT partner_id FROM partners_in_view)
UNION ALL
SELECT 'appeared', s.subscription_id, s.partner_name, s.seats
FROM scope s WHERE s.side = 'new' AND s.subscription_id NOT IN (SELECT subscription_id FROM old_subs)
UNION ALL
SELECT 'vanished', s.subscription_id, s.partner_name, s.seats
FROM scope s WHERE s.side = 'old' AND s.subscription_id NOT IN (SELECT subscription_id FROM new_subs)
ORDER BY change, id
"""


def changes(new: Dataset, old: Dataset, filters: Filters) -> pd.DataFrame:
    """Partners that became fully ready, new opt-outs, and subscriptions that appeared or vanished."""
    con = connect()
    _attach(con, "new_subs", new, "sub_facts")
    _attach(con, "old_subs", old, "sub_facts")
    _attach(con, "new_partners", new, "partner_facts")
    _attach(con, "old_partners", old, "partner_facts")
    return con.execute(CHANGES_SQL, filters.params()).df()
