"""The bundled sample's weekly history (data/sample/history/, written by data/sample/history.py).

Until two snapshots are published, Trends shows these sample weeks, labelled as samples, so that a fresh install
shows what Trends does. Their summaries are bundled too (history/summary.parquet, one trend summary per week as
analytics/trends.summarise makes it), keyed by the weeks' file contents and the programme's rules, so that the
first Trends on a fresh install reads a few kilobytes instead of ingesting the weeks. When the key does not
match (the operator changed config/programme.toml, or the files changed) the weeks are ingested instead, once
per process. tests/test_history.py recomputes the bundled summary from the weeks and requires it to be equal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analytics.dataset import Dataset, load_files
from analytics.programme import Programme, load_programme
from analytics.trends import SUMMARY_SCHEMA, summarise

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
HISTORY = SAMPLE / "history"
SUMMARY = HISTORY / "summary.parquet"
SAMPLE_FILES = tuple(SAMPLE / name for name in ("subscriptions.csv", "partners.csv", "customers.csv"))
SAMPLE_AS_OF = dt.date(2022, 7, 11)  # the week of the bundled sample's own export


@dataclass(frozen=True)
class SampleWeek:
    id: str  # "sample-2022-07-04"
    created: dt.datetime
    files: tuple[Path, ...]


def sample_weeks() -> list[SampleWeek]:
    """The bundled weeks, oldest first; the last is the bundled sample itself."""
    weeks = []
    for folder in sorted(p for p in HISTORY.iterdir() if p.is_dir()) if HISTORY.is_dir() else []:
        day = dt.date.fromisoformat(folder.name)
        files = (folder / "subscriptions.csv", folder / "partners.csv", SAMPLE / "customers.csv")
        weeks.append(SampleWeek(f"sample-{day}", _midnight(day), files))
    weeks.append(SampleWeek(f"sample-{SAMPLE_AS_OF}", _midnight(SAMPLE_AS_OF), SAMPLE_FILES))
    return weeks


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def sample_key(programme: Programme) -> str:
    """What the bundled summary depends on: every week's files and the programme's rules."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(programme.rules())
    for week in sample_weeks():
        for path in week.files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_week(week: SampleWeek, programme: Programme | None = None) -> Dataset:
    dataset = load_files(list(week.files), programme=programme or load_programme(), label=week.id)
    dataset.snapshot = week.id
    dataset.loaded_at = week.created
    return dataset


def compute_summaries(programme: Programme | None = None) -> list[tuple[str, dt.datetime, pa.Table]]:
    """Every week's trend summary, from its files (a few seconds)."""
    programme = programme or load_programme()
    return [(w.id, w.created, summarise(load_week(w, programme).cursor())) for w in sample_weeks()]


def bundled_summaries(programme: Programme | None = None) -> list[tuple[str, dt.datetime, pa.Table]] | None:
    """The bundled summaries when they were made from these files under these rules, else None."""
    programme = programme or load_programme()
    try:
        table = pq.read_table(SUMMARY)
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    if (table.schema.metadata or {}).get(b"key", b"").decode() != sample_key(programme):
        return None
    weeks = sample_weeks()
    ids = table.column("snapshot").to_pylist()
    found = []
    for week in weeks:
        rows = table.filter(pa.array([i == week.id for i in ids]))
        if rows.num_rows == 0:
            return None
        found.append((week.id, week.created, rows.drop_columns(["snapshot"]).cast(SUMMARY_SCHEMA)))
    return found


def write_sample_summary(programme: Programme | None = None) -> None:
    """Compute and write history/summary.parquet (data/sample/history.py calls it)."""
    programme = programme or load_programme()
    parts = [
        table.append_column("snapshot", pa.array([week_id] * table.num_rows, pa.string()))
        for week_id, _, table in compute_summaries(programme)
    ]
    table = pa.concat_tables(parts)
    table = table.replace_schema_metadata({"key": sample_key(programme)})
    pq.write_table(table, SUMMARY)
