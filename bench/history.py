"""The history scenario of issue 12: twelve weekly snapshots in one store, then restart, Trends, the diff and the
server's memory, each measured in a fresh `streamlit run` with Chromium.

    python bench/history.py --sizes 1m,10m          # writes bench/RESULTS-history.md (its "History" section)
    python bench/history.py --smoke --out /tmp/h    # 10k rows, 3 weeks: what tests/test_bench_history_smoke.py runs

Building the store (one child process, `history.py _build`): the export is generated once (bench/generate.py, the
files bench/run.py uses too, reused when they match) and ingested once (analytics.dataset.build on an unhardened
connection, as load_files does before it hardens). Each week after the first then changes the data a little with
SQL on that connection: 3% of the partners not yet done complete one readiness step, 0.5% opt out (dated that
week), 0.05% of the subscriptions vanish and last week's vanished ones come back (so the diff has all four kinds
of change); the facts are rebuilt (analytics.facts.build_facts) and the week is published (Store.publish, timed,
and the snapshot folder's size on disk recorded). The snapshots' "published" times are the real ones (minutes
apart), not a week apart: Trends draws them all the same.

Measured afterwards, each in a fresh server (bench/browser.py's `streamlit_server`, RADAR_STORE = that store) and a
fresh browser context; Chromium is started before the server, so its start is not counted:

- restart: from starting `streamlit run` until /exposure is done (done = bench/browser.py's DONE_JS: the script
  has finished and the page's h1 is drawn); the same session then opens every other page once (the session's
  peak RSS covers them);
- Trends: a new server; /exposure opened first (the frame and the current snapshot, as after a restart), then
  /trends in a new context: until its two Plotly charts are drawn, until the four "What changed" metrics are
  drawn, and until done; a third server opens /trends as its very first request (restart straight into Trends);
- the server alone: a fourth server, its restart session driven by a websocket client (bench/wsclient.py) instead
  of Chromium: from starting the server until Exposure's script has finished and been streamed, then every other
  page (Trends among them) by a sidebar switch; the server's time without a browser's loading and drawing;
- Trends by a sidebar click: a fifth server; /exposure opened in a new context, then a click on the sidebar's
  Trends link in that tab, until Trends' title and its two charts are drawn (how a user reaches it: the frontend
  is already loaded);
- the diff alone (`history.py _diff`, a child process): analytics.trends.changes of the two newest snapshots
  computed now, and as Trends reads it (the change rows the newest publish kept, Store.change_rows, filtered),
  cold (first call after Store.load) and warm, unfiltered and for DE; the summaries of all snapshots
  (Store.summary) and summary_trend, as Trends reads them;
- peak RSS: the server's process tree sampled every 100 ms (psutil) over each server's whole session, and the
  kernel's high-water mark of the server process (VmHWM in /proc/PID/status) read just before it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import browser as browser_bench  # noqa: E402
import generate  # noqa: E402

MB = 1024 * 1024
FILES = generate.FILES
WEEKS = 12
CHILD_TIMEOUT = 3 * 3600
PAGE_TIMEOUT_MS = 300_000
# Targets of issue 12 (2-core machine), checked at 10m.
FIRST_PAGE_TARGET = 2.0
TRENDS_TARGET = 2.0
RSS_TARGET = 2 * 1024**3
OTHER_PAGES = {
    "opt_outs": "/opt_outs",
    "readiness": "/readiness",
    "projection": "/projection",
    "trends": "/trends",
    "data": "/data",
}
CHARTS_JS = """() => {
    const charts = document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]');
    if (charts.length < 2) return false;
    return [...charts].slice(0, 2).every(c => c.querySelector('svg.main-svg') !== null
        && c.getBoundingClientRect().height > 0);
}"""
TRENDS_CLICK_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const title = document.querySelector('[data-testid="stMain"] h1');
    if (!title || !title.textContent.includes('Trends')) return false;
    const charts = document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]');
    return charts.length >= 2 && [...charts].slice(0, 2).every(c => c.querySelector('svg.main-svg') !== null
        && c.getBoundingClientRect().height > 0);
}"""
METRICS_JS = """() => document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]').length >= 4"""
ERRORS_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def folder_bytes(folder: Path) -> int:
    """Bytes on disk (allocated blocks) of the files under `folder` (a hard-linked file counted once)."""
    seen = {}
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            seen[(stat.st_dev, stat.st_ino)] = stat.st_blocks * 512
    return sum(seen.values())


def cpu_self() -> float:
    """CPU seconds of this process so far (every thread: DuckDB's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def copy_snapshot(store, source_id: str, week: int) -> dict:
    """A snapshot folder that repeats `source_id` under a new id (--copies): its files hard-linked (they are never
    written after a publish), its manifest rewritten. Cheap stand-ins for the middle weeks of a large size; the
    report says how many there are. Made under the store's lock, as a publish is."""
    import secrets

    now = dt.datetime.now(dt.UTC)
    snapshot_id = f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"
    source = store.snapshots / source_id
    work = store.staging / f"{snapshot_id}.copy"
    with store._lock():
        work.mkdir(parents=True)
        for file in source.iterdir():
            if file.name == "manifest.json":
                continue
            os.link(file, work / file.name)
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
        manifest.update(id=snapshot_id, created=now.isoformat(), label=f"bench history week {week} (copy of week 1)")
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.rename(work, store.snapshots / snapshot_id)
        store._switch(snapshot_id)
    return {"id": snapshot_id, "copy_of": source_id, "bytes": 0}


def peak_rss_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def vm_hwm(pid: int) -> int | None:
    """The kernel's peak resident set of a process (VmHWM), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- child: build the store


def week_changes(con, week: int) -> dict:
    """Change the dataset a little for `week`: readiness steps done, opt-outs, subscriptions that come and go.
    `held` (a temporary table, not published) keeps last week's vanished subscriptions."""
    counts = {}
    steps = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")
    done = 0
    for k, step in enumerate(steps):
        done += con.execute(
            f"UPDATE partners SET {step} = true WHERE NOT coalesce({step}, false) "
            f"AND hash(partner_id || ':{week}:{k}') % 100 < 3"
        ).fetchone()[0]
    counts["steps_done"] = done
    counts["opted_out"] = con.execute(
        "UPDATE partners SET opted_out = true, opt_out_date = DATE '2022-03-01' + 7 * $week "
        "WHERE NOT coalesce(opted_out, false) AND hash(partner_id || ':opt:' || $week) % 200 = 0",
        {"week": week},
    ).fetchone()[0]
    counts["came_back"] = con.execute("INSERT INTO subscriptions SELECT * FROM held").fetchone()[0]
    con.execute("DELETE FROM held")
    picked = "hash(subscription_id || ':' || $week) % 2000 = 0"
    con.execute(f"INSERT INTO held SELECT * FROM subscriptions WHERE {picked}", {"week": week})
    counts["vanished"] = con.execute(f"DELETE FROM subscriptions WHERE {picked}", {"week": week}).fetchone()[0]
    return counts


def task_build(args) -> dict:
    from analytics.dataset import Dataset, build, connect, file_pairs
    from analytics.facts import build_facts
    from analytics.programme import load_programme
    from analytics.settings import settings
    from analytics.store import Store

    pairs = file_pairs([args.data / name for name in FILES])
    programme = load_programme()
    started = time.perf_counter()
    # load_files without its final harden(): the weeks below change the tables with SQL.
    con = connect(settings().ingest_memory_limit)
    result = build(con, pairs, None, programme, None)
    out: dict = {"ingest_seconds": time.perf_counter() - started, "accepted": result.accepted}
    out["ingest_rss"] = peak_rss_self()
    dataset = Dataset(con=con, programme=programme, result=result, version="bench-history", label="")
    sources = [(path.name, path.stat().st_size) for path, _ in pairs]
    store = Store(args.store)
    con.execute("CREATE TEMP TABLE held AS SELECT * FROM subscriptions LIMIT 0")
    weeks = []
    copies = set(range(1, args.weeks - 1)) if args.copies else set()  # weeks 2 .. n-1 (0-based 1 .. n-2)
    first_id = None
    for week in range(args.weeks):
        entry: dict = {"week": week + 1}
        if week in copies:
            entry.update(copy_snapshot(store, first_id, week + 1))
            weeks.append(entry)
            continue
        if week or args.copies:
            # With copies, week 1 already changes once, so that the last week (a real publish after week 1's
            # copies) brings back subscriptions week 1 lacks: the diff then has all four kinds of change.
            began, cpu = time.perf_counter(), cpu_self()
            entry["changes"] = week_changes(con, week)
            entry["change_seconds"] = time.perf_counter() - began
            began = time.perf_counter()
            build_facts(con, programme)
            entry["facts_seconds"] = time.perf_counter() - began
            entry["facts_cpu"] = cpu_self() - cpu
        dataset.label = f"bench history week {week + 1}"
        began, cpu = time.perf_counter(), cpu_self()
        snapshot_id = store.publish(dataset, sources, published_by="bench", allow_shrink=True)
        entry["publish_seconds"] = time.perf_counter() - began
        entry["publish_cpu"] = cpu_self() - cpu
        entry["id"] = snapshot_id
        first_id = first_id or snapshot_id
        folder = store.snapshots / snapshot_id
        entry["bytes"] = folder_bytes(folder)
        entry["files"] = {p.name.split("-")[0].split(".")[0]: p.stat().st_size for p in folder.iterdir()}
        weeks.append(entry)
        log(
            f"  week {week + 1}: publish {entry['publish_seconds']:.2f} s (CPU {entry['publish_cpu']:.1f} s), "
            f"{entry['bytes'] / MB:.1f} MB"
            + (
                f", facts {entry['facts_seconds']:.2f} s (CPU {entry['facts_cpu']:.1f} s)"
                if "facts_cpu" in entry
                else ""
            )
        )
    out["weeks"] = weeks
    out["peak_rss"] = peak_rss_self()
    con.close()
    return out


# ---------------------------------------------------------------- child: the diff and the summaries alone


def task_diff(args) -> dict:
    from analytics.metrics import Filters
    from analytics.programme import load_programme
    from analytics.store import Store
    from analytics.trends import changes, filter_changes, summary_trend

    programme = load_programme()
    store = Store(args.store)
    listed = sorted(store.list(), key=lambda s: s.id)[-WEEKS:]
    out: dict = {"snapshots": len(listed)}
    began = time.perf_counter()
    new, old = store.load(listed[-1].id, programme), store.load(listed[-2].id, programme)
    out["load_seconds"] = time.perf_counter() - began
    for name, filters in (("all", Filters()), ("DE", Filters(countries=("DE",)))):
        began, cpu = time.perf_counter(), cpu_self()
        frame = changes(new, old, filters)
        cold = time.perf_counter() - began
        cold_cpu = cpu_self() - cpu
        warm = []
        for _ in range(3):
            began = time.perf_counter()
            changes(new, old, filters)
            warm.append(time.perf_counter() - began)
        out[f"diff_{name}"] = {
            "cold": cold,
            "cold_cpu": cold_cpu,
            "warm": statistics.median(warm),
            "counts": {str(k): int(v) for k, v in frame["change"].value_counts().items()},
            "rows": len(frame),
        }
    # What Trends reads: the change rows the publish of the newest snapshot kept, filtered (the page's limit).
    for name, filters in (("all", Filters()), ("DE", Filters(countries=("DE",)))):
        times = []
        for _ in range(3):
            began = time.perf_counter()
            kept = filter_changes(store.change_rows(listed[-1].id, listed[-2].id, programme), filters, 2_000)
            times.append(time.perf_counter() - began)
        out[f"kept_{name}"] = {"first": times[0], "median": statistics.median(times), "rows": len(kept)}
    began = time.perf_counter()
    found = [(s.id, dt.datetime.fromisoformat(s.created), store.summary(s, programme)) for s in listed]
    out["summaries_seconds"] = time.perf_counter() - began
    out["summary_bytes"] = sum(t.nbytes for _, _, t in found)
    began = time.perf_counter()
    trend = summary_trend(found, Filters())
    out["summary_trend_seconds"] = time.perf_counter() - began
    out["trend_rows"] = len(trend)
    out["peak_rss"] = peak_rss_self()
    return out


# ---------------------------------------------------------------- the browser part (parent process)


def _wait(page, script: str, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    page.wait_for_function(script, polling=50, timeout=timeout_ms)


def cpu_seconds(process) -> float:
    """CPU time (user + system) used so far by a process and its children, in seconds."""
    import psutil

    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _open(browser, url: str, waits: list[tuple[str, str]], server, started: float | None = None) -> dict:
    """A new context opens `url`; the seconds (from `started`, default the goto) at which each (name, JS) of `waits`
    holds, in order; the server's CPU seconds meanwhile (from its start when `started` is given: the machine is
    shared, so the wall time includes waiting for a core, the CPU time does not); and the error boxes drawn."""
    context = browser.new_context(viewport=browser_bench.VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    try:
        cpu = 0.0 if started is not None else cpu_seconds(server)
        began = time.perf_counter()
        page.goto(url, wait_until="commit")
        origin = started if started is not None else began
        out: dict = {}
        for name, script in waits:
            _wait(page, script)
            out[name] = time.perf_counter() - origin
        out["server_cpu"] = cpu_seconds(server) - cpu
        out["errors"] = page.locator(ERRORS_SELECTOR).count()
        return out
    finally:
        context.close()


def _click(browser, url: str, link: str, done: str, server) -> dict:
    """A new context opens `url`; once it is done, a click on the sidebar link `link`: the seconds until `done`
    holds (a page's own condition: its title and what it draws, so the page before cannot satisfy it), and the
    server's CPU seconds meanwhile. This is how a user reaches a page in a tab already open: no frontend to load."""
    context = browser.new_context(viewport=browser_bench.VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        _wait(page, browser_bench.DONE_JS)
        cpu = cpu_seconds(server)
        began = time.perf_counter()
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=link).click()
        _wait(page, done)
        return {
            "done": time.perf_counter() - began,
            "server_cpu": cpu_seconds(server) - cpu,
            "errors": page.locator(ERRORS_SELECTOR).count(),
        }
    finally:
        context.close()


def _served(store: Path, work: Path, name: str, browser, steps) -> dict:
    """One fresh server on `store`: run `steps(url, started)` (-> dict), with the server's RSS sampled throughout."""
    started = time.perf_counter()
    result: dict = {}
    with browser_bench.streamlit_server(store, work / f"streamlit-{name}.log") as (url, process, health):
        import psutil

        monitor = browser_bench.RssMonitor(process.pid)
        monitor.start()
        try:
            result["health_seconds"] = health
            result.update(steps(url, started, psutil.Process(process.pid)))
            result["vm_hwm"] = vm_hwm(process.pid)
        finally:
            monitor.stop()
        result["peak_rss"] = monitor.peak
        result["rss_end"] = monitor.last
    text = (work / f"streamlit-{name}.log").read_text(encoding="utf-8", errors="replace")
    result["log_tracebacks"] = text.count("Traceback (most recent call last)")
    return result


def run_browser(store: Path, work: Path) -> dict:
    from playwright.sync_api import sync_playwright

    done = [("done", browser_bench.DONE_JS)]
    out: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(browser_bench.CHROMIUM), args=browser_bench.CHROMIUM_ARGS
        )
        try:
            # Warm Chromium itself (its first context is slower) before any server starts.
            context = browser.new_context()
            context.new_page().goto("about:blank")
            context.close()

            def restart(url: str, started: float, server) -> dict:
                first = _open(browser, url + "/", done, server, started)
                pages = {name: _open(browser, url + path, done, server) for name, path in OTHER_PAGES.items()}
                return {"first_page": first, "pages": pages}

            log("  server 1: restart until /exposure is drawn, then every page …")
            out["restart"] = _served(store, work, "restart", browser, restart)

            def trends(url: str, started: float, server) -> dict:
                warm = _open(browser, url + "/", done, server)
                waits = [("charts", CHARTS_JS), ("metrics", METRICS_JS), ("done", browser_bench.DONE_JS)]
                return {"exposure": warm, "trends": _open(browser, url + "/trends", waits, server)}

            log("  server 2: /exposure, then Trends' first render …")
            out["trends"] = _served(store, work, "trends", browser, trends)

            def trends_first(url: str, started: float, server) -> dict:
                waits = [("charts", CHARTS_JS), ("metrics", METRICS_JS), ("done", browser_bench.DONE_JS)]
                return {"trends": _open(browser, url + "/trends", waits, server, started)}

            log("  server 3: restart straight into /trends …")
            out["trends_first"] = _served(store, work, "trends-first", browser, trends_first)

            def trends_click(url: str, started: float, server) -> dict:
                return {"trends": _click(browser, url + "/", "Trends", TRENDS_CLICK_JS, server)}

            log("  server 5: /exposure, then Trends by a sidebar click …")
            out["trends_click"] = _served(store, work, "trends-click", browser, trends_click)
        finally:
            browser.close()
    log("  server 4: restart, one websocket client, every page …")
    out["server_only"] = _served(store, work, "server-only", None, lambda *a: asyncio.run(_server_only(*a)))
    return out


async def _server_only(url: str, started: float, server) -> dict:
    """The restart session again with a websocket client (bench/wsclient.py) for the browser: the server's time to
    run each page and stream it, without the time this machine's Chromium takes to load and draw it."""
    import wsclient

    async with wsclient.Session(url) as session:
        view = await session.open()
        first = {"done": time.perf_counter() - started, "server_cpu": cpu_seconds(server), "errors": _failed(view)}
        pages = {}
        for name, path in OTHER_PAGES.items():
            cpu = cpu_seconds(server)
            view = await session.switch(path.lstrip("/"))
            pages[name] = {"done": view.seconds, "server_cpu": cpu_seconds(server) - cpu, "errors": _failed(view)}
    return {"first_page": first, "pages": pages}


def _failed(view) -> int:
    """A websocket view's errors: its exceptions, and 1 more when the script did not finish successfully."""
    return len(view.exceptions) + (0 if view.ok else 1)


# ---------------------------------------------------------------- running a size


def child(task: str, data: Path, store: Path, work: Path, weeks: int, config: Path, copies: bool = False) -> dict:
    result = work / f"{task}.json"
    result.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "_" + task, "--data", str(data), "--store", str(store)]
    command += ["--weeks", str(weeks), "--result", str(result)] + (["--copies"] if copies else [])
    env = {**os.environ, "RADAR_CONFIG": str(config)}
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, timeout=CHILD_TIMEOUT)
    if done.returncode != 0 or not result.is_file():
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise RuntimeError(f"{task} failed (exit {done.returncode}):\n{tail}")
    for line in done.stderr.splitlines():
        if line.startswith("  "):
            log(line.strip())
    out = json.loads(result.read_text(encoding="utf-8"))
    out["process_seconds"] = time.perf_counter() - began
    return out


def prepare_data(rows: int, folder: Path, seed: int) -> dict:
    manifest = generate.cached(rows, folder, seed)
    if manifest is not None:
        return dict(manifest, reused=True)
    if folder.exists():
        shutil.rmtree(folder)
    command = [sys.executable, str(BENCH / "generate.py"), "--rows", str(rows), "--out", str(folder)]
    command += ["--seed", str(seed)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=CHILD_TIMEOUT)
    manifest = generate.cached(rows, folder, seed)
    if manifest is None:
        raise RuntimeError(f"generating {rows:,} rows left no usable files in {folder}")
    return dict(manifest, reused=False)


def server_config(work: Path) -> Path:
    """config/server.toml (or RADAR_CONFIG) as is; written beside the store so the run records what it used."""
    source = Path(os.environ.get("RADAR_CONFIG") or ROOT / "config" / "server.toml")
    path = work / "server.toml"
    shutil.copyfile(source, path)
    return path


def run_size(label: str, rows: int, data_root: Path, weeks: int, seed: int, browse: bool, copies: bool) -> dict:
    out: dict = {"label": label, "rows": rows, "weeks": weeks, "errors": [], "load_before": os.getloadavg()}
    out["copies"] = copies
    log(f"[{label}] data …")
    out["data"] = prepare_data(rows, data_root / label, seed)
    work = data_root / f"history-{label}"
    store = work / "store"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    config = server_config(work)
    os.environ["RADAR_CONFIG"] = str(config)  # the servers (bench/browser.py) inherit it
    # The files in the OS page cache, as after an upload.
    for name in FILES:
        with (data_root / label / name).open("rb") as handle:
            while handle.read(1 << 24):
                pass
    log(f"[{label}] ingest once, then {weeks} weekly publishes …")
    out["build"] = child("build", data_root / label, store, work, weeks, config, copies)
    out["store_bytes"] = folder_bytes(store)
    log(f"[{label}] the diff and the summaries alone …")
    out["diff"] = child("diff", data_root / label, store, work, weeks, config)
    if browse:
        try:
            out["browser"] = run_browser(store, work)
        except Exception as exc:  # Playwright's own errors (a timeout above all): recorded, the report still written
            out["errors"].append(f"browser: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            log(f"[{label}] browser FAILED: {exc}")
    out["load_after"] = os.getloadavg()
    check(out)
    return out


def check(size: dict) -> None:
    """What must hold whatever the timings: no error box, no traceback in a server log, the diff found changes."""
    errors = size["errors"]
    for server, result in (size.get("browser") or {}).items():
        if result.get("log_tracebacks"):
            errors.append(f"{size['label']} {server}: {result['log_tracebacks']} traceback(s) in the server log")
        for name, entry in _entries(result):
            if entry.get("errors"):
                errors.append(f"{size['label']} {server} {name}: {entry['errors']} error box(es)")
    counts = size["diff"]["diff_all"]["counts"]
    for kind in ("became_ready", "new_opt_out", "appeared", "vanished"):
        if not counts.get(kind):
            errors.append(f"{size['label']}: the diff of the two newest weeks has no {kind!r} row")
    if size["diff"]["snapshots"] != min(size["weeks"], WEEKS):
        errors.append(f"{size['label']}: {size['diff']['snapshots']} snapshots listed, {size['weeks']} published")


def _entries(result: dict):
    for key, value in result.items():
        if key == "pages":
            yield from value.items()
        elif isinstance(value, dict) and "errors" in value:
            yield key, value


# ---------------------------------------------------------------- figures, table and report


def figures(size: dict) -> list[tuple[str, str]]:
    """(figure, value) rows for one size; a value that could not be measured is "—"."""
    build, diff, browser = size["build"], size["diff"], size.get("browser") or {}
    real = [w for w in build["weeks"] if "publish_seconds" in w]
    publishes = [w["publish_seconds"] for w in real]
    publish_cpu = [w["publish_cpu"] for w in real]
    facts = [w["facts_seconds"] for w in real if "facts_seconds" in w]
    facts_cpu = [w["facts_cpu"] for w in real if "facts_cpu" in w]
    weekly = [w["bytes"] for w in real]
    restart, trends, first = browser.get("restart", {}), browser.get("trends", {}), browser.get("trends_first", {})
    alone, click = browser.get("server_only", {}), browser.get("trends_click", {})
    servers = (restart, trends, first, alone, click)
    peaks = [r.get("peak_rss") for r in servers if r.get("peak_rss")]
    hwms = [r.get("vm_hwm") for r in servers if r.get("vm_hwm")]
    d = size["data"]
    rows = [
        ("data: subscriptions / partners / customers", f"{d['rows']:,} / {d['partners']:,} / {d['customers']:,}"),
        (
            "snapshots: published (of them copies of week 1)",
            f"{len(build['weeks'])} ({len(build['weeks']) - len(real)})",
        ),
        (
            "load average (1 min) before / after this size",
            f"{size['load_before'][0]:.1f} / {size['load_after'][0]:.1f}",
        ),
        ("build: ingest once (s)", fmt(build["ingest_seconds"])),
        ("build: weekly change + facts, median (s)", fmt(_median(facts))),
        ("build: weekly change + facts, median CPU (s)", fmt(_median(facts_cpu))),
        ("publish: median / max (s)", f"{fmt(_median(publishes))} / {fmt(max(publishes))}"),
        ("publish: median CPU (s)", fmt(_median(publish_cpu))),
        ("snapshot folder on disk, median (MB)", fmt(_median(weekly) / MB, 1)),
        ("store on disk, all snapshots (MB)", fmt(size["store_bytes"] / MB, 1)),
        ("build process peak RSS (MB)", fmt(build["peak_rss"] / MB, 0)),
        ("restart: server start until /_stcore/health (s)", fmt(restart.get("health_seconds"))),
        ("restart: server start until /exposure done (s)", fmt(_get(restart, "first_page", "done"))),
        ("restart: server CPU until /exposure done (s)", fmt(_get(restart, "first_page", "server_cpu"))),
        ("restart: from /_stcore/health until /exposure done (s)", fmt(_since_health(restart))),
        ("Trends first render: charts drawn (s)", fmt(_get(trends, "trends", "charts"))),
        ("Trends first render: diff metrics drawn (s)", fmt(_get(trends, "trends", "metrics"))),
        ("Trends first render: done (s)", fmt(_get(trends, "trends", "done"))),
        ("Trends first render: server CPU until done (s)", fmt(_get(trends, "trends", "server_cpu"))),
        ("restart straight into /trends: charts drawn (s)", fmt(_get(first, "trends", "charts"))),
        ("Trends by a sidebar click in an open tab: charts drawn (s)", fmt(_get(click, "trends", "done"))),
        ("Trends by a sidebar click: server CPU (s)", fmt(_get(click, "trends", "server_cpu"))),
        ("server alone: server start until /exposure done (s)", fmt(_get(alone, "first_page", "done"))),
        ("server alone: server CPU until /exposure done (s)", fmt(_get(alone, "first_page", "server_cpu"))),
        ("server alone: from /_stcore/health until /exposure done (s)", fmt(_since_health(alone))),
        ("server alone: Trends first render, done (s)", fmt(_get(alone, "pages", "trends", "done"))),
        ("server alone: Trends first render, server CPU (s)", fmt(_get(alone, "pages", "trends", "server_cpu"))),
        (
            "diff alone, cold / warm, no filter (s)",
            f"{fmt(diff['diff_all']['cold'])} / {fmt(diff['diff_all']['warm'])}",
        ),
        ("diff alone, CPU of the cold call, no filter (s)", fmt(diff["diff_all"]["cold_cpu"])),
        ("diff alone, cold / warm, DE (s)", f"{fmt(diff['diff_DE']['cold'])} / {fmt(diff['diff_DE']['warm'])}"),
        (
            "diff as Trends reads it (kept at publish), first / median, no filter (s)",
            f"{fmt(_get(diff, 'kept_all', 'first'), 3)} / {fmt(_get(diff, 'kept_all', 'median'), 3)}",
        ),
        (
            "diff as Trends reads it (kept at publish), first / median, DE (s)",
            f"{fmt(_get(diff, 'kept_DE', 'first'), 3)} / {fmt(_get(diff, 'kept_DE', 'median'), 3)}",
        ),
        ("diff: changes found (ready / opt-out / appeared / vanished)", _counts(diff["diff_all"]["counts"])),
        (
            "Trends data alone: read every summary + trend query (s)",
            fmt(diff["summaries_seconds"] + diff["summary_trend_seconds"], 3),
        ),
        ("diff process peak RSS (MB)", fmt(diff["peak_rss"] / MB, 0)),
        ("server peak RSS, restart session, all pages (MB)", fmt(_div(restart.get("peak_rss"), MB), 0)),
        ("server peak RSS, max of the 5 servers (MB)", fmt(_div(max(peaks) if peaks else None, MB), 0)),
        ("server VmHWM, max of the 5 servers (MB)", fmt(_div(max(hwms) if hwms else None, MB), 0)),
    ]
    for name in OTHER_PAGES:
        rows.append((f"restart session: {name} first render (s)", fmt(_get(restart, "pages", name, "done"))))
    return rows


def _since_health(server: dict):
    """A server's first page, counted from when it answered /_stcore/health (when a proxy would send it users)."""
    done, health = _get(server, "first_page", "done"), server.get("health_seconds")
    return None if done is None or health is None else done - health


def _counts(counts: dict) -> str:
    return " / ".join(f"{counts.get(k, 0):,}" for k in ("became_ready", "new_opt_out", "appeared", "vanished"))


def _get(value, *keys):
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _div(value, by):
    return None if value is None else value / by


def _median(values):
    return statistics.median(values) if values else None


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def targets(sizes: list[dict]) -> list[tuple[str, str, str]]:
    """(target, measured, met) at the largest size measured (the targets are for 10m)."""
    size = max(sizes, key=lambda s: s["rows"])
    browser = size.get("browser") or {}
    first = _get(browser, "restart", "first_page", "done")
    trends = _get(browser, "trends", "trends", "charts")
    first_alone = _get(browser, "server_only", "first_page", "done")
    first_ready = _since_health(browser.get("restart", {}))
    trends_alone = _get(browser, "server_only", "pages", "trends", "done")
    trends_click = _get(browser, "trends_click", "trends", "done")
    peaks = [r.get("peak_rss") for r in browser.values() if isinstance(r, dict) and r.get("peak_rss")]
    peak = max(peaks) if peaks else None
    label = size["label"]

    def met(value, limit) -> str:
        if value is None:
            return "not measured"
        verdict = "met" if value <= limit else "NOT met"
        return verdict if label == "10m" else f"{verdict} (at {label}; the target is for 10m)"

    return [
        (
            f"first page after a restart ≤ {FIRST_PAGE_TARGET:g} s",
            f"{fmt(first)} s in Chromium ({fmt(first_ready)} s of it after the server answered); "
            f"{fmt(first_alone)} s server alone ({label})",
            met(first, FIRST_PAGE_TARGET),
        ),
        (
            f"Trends ≤ {TRENDS_TARGET:g} s with 12 snapshots",
            f"{fmt(trends)} s in a new tab; {fmt(trends_click)} s by a sidebar click in an open tab; "
            f"{fmt(trends_alone)} s server alone ({label})",
            met(trends, TRENDS_TARGET),
        ),
        ("serving peak RSS ≤ 2 GB", f"{fmt(_div(peak, MB), 0)} MB ({label})", met(peak, RSS_TARGET)),
    ]


def render_table(sizes: list[dict], markdown: bool) -> str:
    header = ["figure", *[s["label"] for s in sizes]]
    columns = [dict(figures(s)) for s in sizes]
    names = [name for name, _ in figures(sizes[0])]
    body = [[name, *[c.get(name, "—") for c in columns]] for name in names]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(sizes)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    width = max(len(r[0]) for r in body + [header])
    cells = [max(len(r[i + 1]) for r in body + [header]) for i in range(len(sizes))]
    return "\n".join(
        row[0].ljust(width) + "  " + "  ".join(v.rjust(w) for v, w in zip(row[1:], cells, strict=True))
        for row in [header, *body]
    )


def environment() -> dict:
    import run as bench_run  # bench/run.py's machine, version and commit helpers

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": bench_run.machine(),
        "versions": bench_run.versions(),
        "commit": bench_run.git_commit(),
        "load_start": os.getloadavg(),
    }


def header_lines(run: dict) -> list[str]:
    m, v = run["machine"], run["versions"]
    return [
        f"Written by `{run['command']}` on {run['date']}"
        + ("." if run.get("from_results") else f" (run time {run['seconds'] / 60:.1f} min); one run."),
        "",
        f"- Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Linux {m['kernel']}, Python {m['python']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Commit: {run['commit']}",
        f"- Load average at start {_load(run['load_start'])}, at end {_load(run['load_end'])} (2 cores shared with "
        "other engineers' tests: a load above 2 means the figures include waiting for a core)",
    ]


def _load(values) -> str:
    return " / ".join(f"{x:.1f}" for x in values)


def write_section(path: Path, name: str, lines: list[str]) -> None:
    """Replace this script's section (between its markers) of RESULTS-history.md, keeping the other script's."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if not text.startswith("# "):
        text = (
            "# History and load benchmarks (issue 12)\n\n"
            "Written by `bench/history.py` (twelve weekly snapshots: restart, Trends, the diff, memory) and "
            "`bench/load.py` (20 concurrent sessions while a publish runs); method in bench/README.md.\n\n"
            "<!-- history: begin -->\n<!-- history: end -->\n\n<!-- load: begin -->\n<!-- load: end -->\n"
        )
    block = begin + "\n" + "\n".join(lines).rstrip() + "\n" + end
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def report_lines(run: dict, sizes: list[dict]) -> list[str]:
    lines = ["## History: twelve weekly snapshots", "", *header_lines(run), ""]
    lines += [render_table(sizes, markdown=True), "", "### Targets", ""]
    lines += ["| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(sizes)]
    if run["errors"]:
        lines += ["", "### Errors", "", *[f"- {e}" for e in run["errors"]]]
    if run.get("notes"):
        lines += ["", "### What stands in the way", "", *run["notes"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="1m,10m", help="comma-separated sizes (default 1m,10m; run the largest last)"
    )
    parser.add_argument("--smoke", action="store_true", help="10k rows and 3 weeks (seconds), into --out")
    parser.add_argument("--weeks", type=int, help=f"weekly snapshots (default {WEEKS}; --smoke 3)")
    parser.add_argument("--out", type=Path, help="where RESULTS-history.md goes (default bench/)")
    parser.add_argument("--data", type=Path, help="generated data and stores (default bench/out, or OUT/data)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--copies",
        default="",
        help="sizes (e.g. 10m) whose weeks 2 .. n-1 are hard-linked copies of week 1, not publishes: two real "
        "publishes (weeks 1 and n; the diff compares week n with week 1's data) when the machine has no time for "
        "twelve",
    )
    parser.add_argument("--notes", type=Path, help="a Markdown file added to the report as 'What stands in the way'")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: write the report from the results.json each size of --sizes left (a run that was "
        "stopped, or whose report must be written before a larger size ends)",
    )
    args = parser.parse_args(argv)

    labels = ["10k"] if args.smoke else [x.strip().lower() for x in args.sizes.split(",") if x.strip()]
    sizes_rows = sorted(
        {generate.label(generate.parse_rows(x)): generate.parse_rows(x) for x in labels}.items(), key=lambda x: x[1]
    )
    weeks = args.weeks or (3 if args.smoke else WEEKS)
    out_dir = args.out or (BENCH / "out" / "smoke-history" if args.smoke else BENCH)
    data_root = (args.data or (out_dir / "data" if args.out or args.smoke else BENCH / "out")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = environment()
    run["command"] = "python bench/history.py " + " ".join(sys.argv[1:] if argv is None else argv)
    run["errors"] = []
    sizes = []
    if args.from_results:
        for label, _ in sizes_rows:
            path = data_root / f"history-{label}" / "results.json"
            if path.is_file():
                size = json.loads(path.read_text(encoding="utf-8"))
                size["load_before"], size["load_after"] = tuple(size["load_before"]), tuple(size["load_after"])
                sizes.append(size)
                run["errors"] += size["errors"]
            else:
                run["errors"].append(f"{label}: not measured (no {path})")
        run["load_start"] = sizes[0]["load_before"] if sizes else run["load_start"]
        run["command"] += " (the figures: results.json of the sizes' runs; load averages: before and after them)"
        run["from_results"] = True
        sizes_rows = []
    for label, rows in sizes_rows:
        try:
            copies = label in args.copies
            size = run_size(label, rows, data_root, weeks, args.seed, not args.no_browser, copies)
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            run["errors"].append(f"{label}: {exc}")
            log(f"[{label}] FAILED: {exc}")
            continue
        sizes.append(size)
        run["errors"] += size["errors"]
        (data_root / f"history-{label}" / "results.json").write_text(json.dumps(size, indent=2, default=str))
    run["seconds"] = time.perf_counter() - started
    run["load_end"] = sizes[-1]["load_after"] if args.from_results and sizes else os.getloadavg()
    if args.notes and args.notes.is_file():
        run["notes"] = args.notes.read_text(encoding="utf-8").splitlines()
    if not sizes:
        print("nothing measured:\n" + "\n".join(run["errors"]))
        return 1
    print(render_table(sizes, markdown=False))
    print()
    for target, measured, verdict in targets(sizes):
        print(f"target: {target}: {measured}: {verdict}")
    for error in run["errors"]:
        print(f"ERROR {error}")
    write_section(out_dir / "RESULTS-history.md", "history", report_lines(run, sizes))
    return 1 if run["errors"] else 0


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=["_build", "_diff"])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--weeks", type=int, default=WEEKS)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--copies", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    try:
        out = (task_build if args.task == "_build" else task_diff)(args)
    except Exception:
        traceback.print_exc()
        return 1
    args.result.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.exit(child_main(sys.argv[1:]))
    sys.exit(main())
