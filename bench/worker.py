"""One measurement in its own process, so its peak RSS is its own: `python bench/worker.py TASK --data DIR --result FILE`.

Tasks:
  raw     DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv(...)` of the three files (defaults, and with the
          reader options analytics/readers.py uses, to tell the reader's share of the ingest time apart)
  ingest  analytics.dataset.load_files (read, map, validate, facts, content hash) timed by phase and by SQL
          statement, then Store.publish into --store
  serve   Store.load of the published snapshot, then every query of every page, cold and warm, with and
          without the DE filter, and the download files (CSV, Excel) of each page's biggest table
  pandas  the headline figures the straightforward way: pandas read_csv + groupby

Each task writes one JSON document to --result (run.py reads it) and exits non-zero on any error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The rows a page asks for of a long list (tests/test_bench_smoke.py checks the bench asks for as many).
from analytics.figures import SCREEN_ROWS as SCREEN_ROWS  # noqa: E402

FILES = ("subscriptions.csv", "partners.csv", "customers.csv")
WARM_REPEATS = 5
SLOW_QUERY_SECONDS = 5.0  # a query whose first call takes longer is repeated SLOW_QUERY_REPEATS times only
SLOW_QUERY_REPEATS = 3
# The headline columns the pandas baseline computes too (and that must agree with DuckDB's).
COMPARED = (
    "subscriptions_in_scope",
    "seats_in_scope",
    "subscriptions_exempt",
    "before_subscriptions",
    "before_seats",
    "after_subscriptions",
    "after_seats",
    "lapse_risk_subscriptions",
    "lapse_risk_seats",
    "partners_exposed",
    "partners_opted_out",
    "late_opt_outs",
    "partners_assessed",
    "partners_fully_ready",
    "projected_subscriptions",
    "projected_seats",
    "projected_ready_subscriptions",
    "projected_at_risk_subscriptions",
)
TOTAL = "(total)"


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def current_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


# ---------------------------------------------------------------- profiling helpers


class Profile:
    """Wall time per phase (functions wrapped in place) and per SQL statement (a connection proxy)."""

    def __init__(self):
        self.phases: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.statements: list[tuple[str, str, float]] = []
        self.stack: list[str] = []

    def wrap(self, module, name: str, phase: str) -> None:
        function = getattr(module, name)

        def timed(*args, **kwargs):
            self.stack.append(phase)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.phases[phase] += time.perf_counter() - started
                self.calls[phase] += 1
                self.stack.pop()

        setattr(module, name, timed)

    def connection(self, con):
        return ProfiledConnection(con, self)

    def top_statements(self, count: int = 12) -> list[dict]:
        merged: dict[tuple[str, str], list[float]] = defaultdict(list)
        for phase, sql, seconds in self.statements:
            merged[(phase, sql)].append(seconds)
        rows = [
            {"phase": phase, "sql": sql, "seconds": round(sum(times), 4), "count": len(times)}
            for (phase, sql), times in merged.items()
        ]
        return sorted(rows, key=lambda r: -r["seconds"])[:count]


def sql_label(sql: str, width: int = 150) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


class ProfiledConnection:
    """Delegates to a DuckDB connection and times every execute() (the statement's label and its phase)."""

    def __init__(self, con, profile: Profile):
        self._con = con
        self._profile = profile

    def execute(self, sql, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            phase = self._profile.stack[-1] if self._profile.stack else "(outside)"
            self._profile.statements.append((phase, sql_label(sql), time.perf_counter() - started))

    def __getattr__(self, name):
        return getattr(self._con, name)


# ---------------------------------------------------------------- raw: DuckDB's own read


def task_raw(args, variants: bool = True) -> dict:
    from analytics.dataset import connect

    con = connect()
    out: dict = {"files": {}, "project_reader": {}}
    started_cpu = cpu_seconds()
    total = 0.0
    for name in FILES:
        path = str(args.data / name)
        started = time.perf_counter()
        # Defaults, except that bad rows are set aside (DuckDB's defaults stop at the first invalid value).
        con.execute(
            f"CREATE TABLE t_{name[:-4]} AS SELECT * FROM read_csv(?, store_rejects = true, "
            f"rejects_table = 'rej_{name[:-4]}', rejects_scan = 'scan_{name[:-4]}')",
            [path],
        )
        seconds = time.perf_counter() - started
        rows = con.execute(f"SELECT count(*) FROM t_{name[:-4]}").fetchone()[0]
        rejected = con.execute(f"SELECT count(DISTINCT line) FROM rej_{name[:-4]}").fetchone()[0]
        out["files"][name] = {"seconds": seconds, "rows": rows, "rejected": rejected}
        total += seconds
    out["seconds"] = total
    out["cpu_seconds"] = cpu_seconds() - started_cpu
    out["peak_rss"] = peak_rss()
    for name in FILES:
        for table in ("t", "rej", "scan"):
            con.execute(f"DROP TABLE IF EXISTS {table}_{name[:-4]}")
    if not variants:
        return out
    # The same files read the way analytics/readers.py reads them: every column text, single-threaded
    # (parallel = false), rejects stored, then copied once more to add the line number.
    out["project_reader"] = {name: _read_as_project(con, args.data / name, parallel=False) for name in FILES}
    out["project_reader_seconds"] = sum(v["with_line_copy"] for v in out["project_reader"].values())
    out["project_reader_read_csv_seconds"] = sum(v["read_csv"] for v in out["project_reader"].values())
    # Parallel on, everything else as the project: what `parallel = false` costs on its own.
    parallel = [_read_as_project(con, args.data / name, parallel=True) for name in FILES]
    out["project_reader_parallel_seconds"] = sum(v["read_csv"] for v in parallel)
    return out


def _read_as_project(con, path: Path, parallel: bool) -> dict:
    """read_csv with analytics/readers.py's options; with parallel = false also the copy that adds _line."""
    with open(path, encoding="utf-8") as handle:
        width = len(handle.readline().split(","))
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1)) + "}"
    started = time.perf_counter()
    con.execute(
        f"CREATE TABLE r_load AS SELECT * FROM read_csv(?, delim = ',', quote = '\"', escape = '\"', "
        f"header = false, skip = 1, all_varchar = true, columns = {columns}, null_padding = true, "
        f"parallel = {str(parallel).lower()}, strict_mode = false, store_rejects = true, "
        "rejects_table = 'r_rejects', rejects_scan = 'r_scan', max_line_size = 2000000, auto_detect = false)",
        [str(path)],
    )
    timing = {"read_csv": time.perf_counter() - started}
    if not parallel:
        con.execute("CREATE TABLE r AS SELECT *, CAST(rowid AS BIGINT) + 2 AS _line FROM r_load")
        timing["with_line_copy"] = time.perf_counter() - started
    for table in ("r", "r_load", "r_rejects", "r_scan"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return timing


# ---------------------------------------------------------------- ingest: the project's full path


def task_ingest(args) -> dict:
    import analytics.dataset as dataset_module
    import analytics.ingest as ingest_module
    from analytics.store import Store

    profile = Profile()
    real_connect = dataset_module.connect
    dataset_module.connect = lambda *args: profile.connection(real_connect(*args))
    profile.wrap(ingest_module, "read_file", "read")
    profile.wrap(ingest_module, "map_source", "map")
    profile.wrap(ingest_module, "type_source", "validate: type and check values")
    profile.wrap(ingest_module, "_collect_rejects", "validate: collect rejects")
    profile.wrap(ingest_module, "_assemble", "validate: assemble and drop duplicate ids")
    profile.wrap(ingest_module, "_physical_lines", "validate: physical line numbers of rejects")
    profile.wrap(dataset_module, "ingest", "ingest()")
    profile.wrap(dataset_module, "build_facts", "facts")

    files = [args.data / name for name in FILES]
    started_cpu = cpu_seconds()
    started = time.perf_counter()
    dataset = dataset_module.load_files(files)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - started_cpu
    ingest_peak = peak_rss()
    after_ingest = current_rss()
    phases = dict(profile.phases)
    accounted = sum(v for k, v in phases.items() if k.startswith(("read", "map", "validate")))
    phases["validate: counts and cleanup (rest of ingest())"] = phases.pop("ingest()") - accounted
    phases["content hash (blake2b of the files)"] = seconds - sum(phases.values())

    store = Store(args.store)
    started = time.perf_counter()
    snapshot = store.publish(dataset, [(p.name, p.stat().st_size) for p in files], "bench")
    publish = time.perf_counter() - started
    snapshot_bytes = sum(f.stat().st_size for f in (store.snapshots / snapshot).iterdir())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "phases": phases,
        "statements": profile.top_statements(),
        "accepted": dict(dataset.result.accepted),
        "rejected": dataset.result.rejected,
        "peak_rss": ingest_peak,
        "rss_after": after_ingest,
        "publish_seconds": publish,
        "peak_rss_with_publish": peak_rss(),
        "snapshot": snapshot,
        "snapshot_bytes": snapshot_bytes,
    }


# ---------------------------------------------------------------- serve: load the snapshot, run every page


# The page names the report uses, for analytics/figures.py PAGES (the registry of what each page asks for).
PAGE_NAMES = {
    "sidebar": "Sidebar (every page)",
    "exposure": "Exposure",
    "opt_outs": "Opt-outs",
    "readiness": "Partner readiness",
    "projection": "NCE projection",
    "data": "Data",
}


def page_queries(fname: str, filters) -> dict[str, list[tuple[str, tuple[str, str], Callable]]]:
    """The figures each page asks for (analytics/figures.py PAGES), in the order it asks for them.

    Each call is (name shown, key, function): calls with the same key are the same query with the same filter,
    timed once. A filtered page also asks for the unfiltered headline (the "of N in all data" deltas).
    """
    from analytics.figures import FIGURES, PAGES, call
    from analytics.metrics import Filters

    filtered = bool(filters.countries or filters.segments or filters.partner)
    layout: dict[str, list[tuple[str, tuple[str, str], Callable]]] = {}
    for page, name in PAGE_NAMES.items():
        calls = []
        for use in PAGES[page]:
            applies = FIGURES[use.figure].filtered
            calls.append(
                (use.shown_as, (use.shown_as, fname if applies else "none"), lambda c, u=use: call(u, c, filters))
            )
            if use.deltas and filtered:
                calls.append(
                    (
                        f"{use.shown_as} (unfiltered, for the deltas)",
                        (use.shown_as, "none"),
                        lambda c, u=use: call(u, c, Filters()),
                    )
                )
        layout[name] = calls
    return layout


# The biggest table each page shows, with a CSV and an Excel download built on every run (ui/widgets.table).
DOWNLOAD_TABLES = {
    "Exposure": "exposed_partners",
    "Opt-outs": "opted_out_partners",
    "Partner readiness": "call_list",
    "NCE projection": "projection",
}
XLSX_ROW_CAP = 100_000  # beyond this the Excel time is measured on the first rows and scaled linearly


def task_serve(args) -> dict:
    from analytics.metrics import Filters, headline
    from analytics.store import Store

    store = Store(args.store)
    base_rss = current_rss()
    started = time.perf_counter()
    dataset = store.load(store.current_id())
    load_seconds = time.perf_counter() - started
    # A snapshot is opened by attaching its ready file (analytics/catalog.py): nothing is read or built here.
    load_phases = {"attach the ready file": load_seconds}
    load_peak = peak_rss()
    rss_after_load = current_rss()

    filter_sets = {"none": Filters(), "DE": Filters(countries=("DE",))}
    result: dict = {
        "load_seconds": load_seconds,
        "load_phases": load_phases,
        "load_statements": [],
        "peak_rss_load": load_peak,
        "rss_before_load": base_rss,
        "rss_after_load": rss_after_load,
        "pages": {},
    }
    frames: dict[tuple[str, str], object] = {}
    cold: dict[tuple[str, str], float] = {}
    warm: dict[tuple[str, str], float] = {}
    repeats: dict[tuple[str, str], int] = {}
    layout = {fname: page_queries(fname, filters) for fname, filters in filter_sets.items()}
    calls = {key: call for pages in layout.values() for page in pages.values() for _, key, call in page}
    # Cold: the first call of each distinct query, in the order the pages ask for them, no filter first.
    for key, call in calls.items():
        started = time.perf_counter()
        frames[key] = call(dataset.cursor())
        cold[key] = time.perf_counter() - started
    # Warm: the median of repeated calls (fewer when one call takes long: the figure is clear by then).
    for key, call in calls.items():
        times = []
        count = WARM_REPEATS if cold[key] < SLOW_QUERY_SECONDS else SLOW_QUERY_REPEATS
        for _ in range(count):
            started = time.perf_counter()
            call(dataset.cursor())
            times.append(time.perf_counter() - started)
        warm[key] = statistics.median(times)
        repeats[key] = count
    # A page's time is the sum of its queries, each timed as above (the app would call each one once).
    for fname, pages in layout.items():
        for page, page_calls in pages.items():
            result["pages"].setdefault(page, {})[fname] = {
                "cold": {name: cold[key] for name, key, _ in page_calls},
                "warm": {name: warm[key] for name, key, _ in page_calls},
                "repeats": {name: repeats[key] for name, key, _ in page_calls},
                "cold_total": sum(cold[key] for _, key, _ in page_calls),
                "warm_total": sum(warm[key] for _, key, _ in page_calls),
                "rows": {name: _rows(frames[key]) for name, key, _ in page_calls},
            }
    result["peak_rss_queries"] = peak_rss()
    result["downloads"] = downloads(dataset)
    result["peak_rss"] = peak_rss()
    frame = headline(dataset.cursor(), Filters())
    result["headline"] = {
        (row["country"] if row["country"] is not None else TOTAL): {k: int(row[k]) for k in COMPARED}
        for row in frame.to_dict("records")
    }
    return result


def _rows(frame) -> int:
    return len(frame) if hasattr(frame, "__len__") else 1


def downloads(dataset) -> dict:
    """Time what a click on a download of each page's biggest table (unfiltered) costs: the whole list's query
    (the page itself only fetched the first rows), then analytics.export.to_csv and to_xlsx."""
    from analytics.export import to_csv, to_xlsx
    from analytics.figures import FIGURES
    from analytics.metrics import Filters

    out = {}
    for page, qname in DOWNLOAD_TABLES.items():
        started = time.perf_counter()
        frame = FIGURES[qname].function(dataset.cursor(), Filters())
        query_seconds = time.perf_counter() - started
        if frame.empty:
            continue
        started = time.perf_counter()
        csv_bytes = to_csv(frame)
        csv_seconds = time.perf_counter() - started
        part = frame if len(frame) <= XLSX_ROW_CAP else frame.head(XLSX_ROW_CAP)
        empty_columns: list[str] = []
        started = time.perf_counter()
        try:
            xlsx_bytes = to_xlsx(part, qname)
        except ValueError:
            # Older analytics.export.to_xlsx raised on a column without any value: time it without them.
            empty_columns = [c for c in part.columns if part[c].isna().all()]
            part = part.drop(columns=empty_columns)
            started = time.perf_counter()
            xlsx_bytes = to_xlsx(part, qname)
        xlsx_seconds = (time.perf_counter() - started) * (len(frame) / max(len(part), 1))
        out[page] = {
            "table": qname,
            "rows": len(frame),
            "query_seconds": query_seconds,
            "csv_seconds": csv_seconds,
            "xlsx_seconds": xlsx_seconds,
            "xlsx_scaled": len(frame) > len(part),
            "csv_bytes": len(csv_bytes),
            "xlsx_bytes": len(xlsx_bytes),
            "columns_left_out": empty_columns,
        }
    return out


# ---------------------------------------------------------------- pandas: the baseline a user would write


def task_pandas(args) -> dict:
    import pandas as pd

    from analytics.programme import load_programme

    programme = load_programme()
    started_cpu = cpu_seconds()
    started = time.perf_counter()
    subs = pd.read_csv(args.data / "subscriptions.csv")
    partners = pd.read_csv(args.data / "partners.csv")
    customers = pd.read_csv(args.data / "customers.csv")
    read_seconds = time.perf_counter() - started
    read_peak = peak_rss()
    times, frame = [], None
    for _ in range(3):
        started = time.perf_counter()
        frame = pandas_headline(subs, partners, customers, programme)
        times.append(time.perf_counter() - started)
    return {
        "read_seconds": read_seconds,
        "compute_first_seconds": times[0],
        "compute_seconds": statistics.median(times),
        "cpu_seconds": cpu_seconds() - started_cpu,
        "peak_rss_read": read_peak,
        "peak_rss": peak_rss(),
        "headline": frame,
    }


def pandas_headline(subs, partners, customers, programme) -> dict:
    """The headline counts per country and in total, with plain pandas (the rules of analytics/facts.py)."""
    import numpy as np
    import pandas as pd

    cutoff = pd.Timestamp(programme.cutoff)
    s = subs.copy()
    s["seats"] = pd.to_numeric(s["seats"], errors="coerce")
    s["term_end_date"] = pd.to_datetime(s["term_end_date"], format="%Y-%m-%d", errors="coerce")
    s = s.dropna(subset=["seats", "term_end_date"])  # rows with a bad value are not counted

    # Partner facts: opt-out, late opt-out, readiness (step 4 derived from customers when not given).
    p = partners.copy()
    p["opt_out_date"] = pd.to_datetime(p["opt_out_date"], errors="coerce")
    p["opted_out"] = p["opted_out"].astype("boolean").fillna(p["opt_out_date"].notna())
    p["late"] = p["opted_out"] & (p["opt_out_date"] > pd.Timestamp(programme.opt_out_deadline))
    exempt = s["segment"].isin(programme.exempt_segments)
    legacy = (s["status"] == "active") & (s["program"] == "legacy") & (s["term_end_date"].dt.year < 9000) & ~exempt
    mca = s.loc[legacy, ["partner_id", "customer_id"]].merge(
        customers[["customer_id", "mca_accepted"]], on="customer_id", how="left"
    )
    mca["ok"] = mca["mca_accepted"].astype("boolean").fillna(False)
    derived = mca.groupby("partner_id")["ok"].all()
    ids = pd.Index(pd.concat([p["partner_id"], s["partner_id"]]).unique(), name="partner_id")
    pf = p.set_index("partner_id").reindex(ids)
    steps = ["mpa_signed", "indirect_provider_confirmed", "mpn_id_updated"]
    for step in steps:
        pf[step] = pf[step].astype("boolean").fillna(False)
    pf["mca_all_customers"] = (
        pf["mca_all_customers"].astype("boolean").fillna(derived.reindex(ids).astype("boolean")).fillna(False)
    )
    pf["opted_out"] = pf["opted_out"].astype("boolean").fillna(False)
    pf["late"] = pf["late"].astype("boolean").fillna(False)
    pf["ready"] = pf[[*steps, "mca_all_customers"]].all(axis=1)

    # Subscription facts: scope, side of the cutoff, lapse risk, projected migration.
    scope = np.select(
        [s["status"] != "active", s["program"] == "nce", s["term_end_date"].dt.year >= 9000, exempt],
        ["inactive", "nce", "no_term_end", "exempt"],
        "in_scope",
    )
    in_scope = scope == "in_scope"
    before = in_scope & (s["term_end_date"] < cutoff).to_numpy()
    after = in_scope & ~before
    auto = s["auto_renew"].astype("boolean")
    facts = pf.loc[s["partner_id"], ["opted_out", "late", "ready"]].to_numpy(dtype=bool)
    opted, late, ready = facts[:, 0], facts[:, 1], facts[:, 2]
    lapse = before & auto.eq(False).fillna(False).to_numpy(dtype=bool)
    renews = before & auto.eq(True).fillna(False).to_numpy(dtype=bool)
    projected = (after | renews) & ~opted
    seats = s["seats"].to_numpy()
    table = pd.DataFrame(
        {
            "country": s["country"].to_numpy(),
            "partner_id": s["partner_id"].to_numpy(),
            "subscriptions_in_scope": in_scope,
            "seats_in_scope": np.where(in_scope, seats, 0),
            "subscriptions_exempt": scope == "exempt",
            "before_subscriptions": before,
            "before_seats": np.where(before, seats, 0),
            "after_subscriptions": after,
            "after_seats": np.where(after, seats, 0),
            "lapse_risk_subscriptions": lapse,
            "lapse_risk_seats": np.where(lapse, seats, 0),
            "projected_subscriptions": projected,
            "projected_seats": np.where(projected, seats, 0),
            "projected_ready_subscriptions": projected & ready,
            "projected_at_risk_subscriptions": projected & ~ready,
        }
    )
    sums = [c for c in table.columns if c not in ("country", "partner_id")]
    by_country = table.groupby("country")[sums].sum()
    by_country.loc[TOTAL] = table[sums].sum()
    # Partners: distinct partners with an after-cutoff subscription, in each country and in total.
    exposed = table.loc[after, ["country", "partner_id"]].assign(
        opted=opted[after], late=late[after], ready=ready[after]
    )
    for name, mask in {
        "partners_exposed": None,
        "partners_opted_out": "opted",
        "late_opt_outs": "late",
        "partners_assessed": "~opted",
        "partners_fully_ready": "ready",
    }.items():
        part = exposed
        if mask == "~opted":
            part = exposed[~exposed["opted"]]
        elif mask == "ready":
            part = exposed[~exposed["opted"] & exposed["ready"]]
        elif mask:
            part = exposed[exposed[mask]]
        counts = part.groupby("country")["partner_id"].nunique()
        by_country[name] = counts.reindex(by_country.index).fillna(0)
        by_country.loc[TOTAL, name] = part["partner_id"].nunique()
    return {country: {k: int(row[k]) for k in COMPARED} for country, row in by_country.iterrows()}


# ---------------------------------------------------------------- main

TASKS = {
    "raw": task_raw,
    "raw_repeat": lambda args: task_raw(args, variants=False),
    "ingest": task_ingest,
    "serve": task_serve,
    "pandas": task_pandas,
}


class RssGuard(threading.Thread):
    """Ends this process when its resident memory passes `limit` bytes, before it can crowd out the machine."""

    def __init__(self, limit: int):
        super().__init__(daemon=True)
        self.limit = limit

    def run(self) -> None:
        import psutil

        process = psutil.Process()
        while True:
            rss = process.memory_info().rss
            if rss > self.limit:
                print(
                    f"RSS {rss / 1024**3:.1f} GB passed the guard of {self.limit / 1024**3:.1f} GB; stopped",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(3)
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--data", type=Path, required=True, help="folder with the three CSV files")
    parser.add_argument("--store", type=Path, help="snapshot store (ingest publishes into it, serve loads from it)")
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--rss-limit-gb", type=float, default=0, help="stop when RSS passes this (0: no limit)")
    args = parser.parse_args()
    args.data, args.result = args.data.resolve(), args.result.resolve()
    args.store = args.store.resolve() if args.store else None
    # DuckDB spills an in-memory database into ./.tmp: keep that next to the result, under bench/out.
    os.chdir(args.result.parent)
    if args.rss_limit_gb:
        RssGuard(int(args.rss_limit_gb * 1024**3)).start()
    try:
        result = TASKS[args.task](args)
    except Exception:
        traceback.print_exc()
        return 1
    result["task"] = args.task
    args.result.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
