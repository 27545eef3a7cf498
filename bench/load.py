"""Load: concurrent browser sessions on the 1M dataset while a publish runs (issue 12, "Load").

    python bench/load.py                           # 20 sessions on 1m; writes the "Load" section of bench/RESULTS-history.md
    python bench/load.py --smoke --out /tmp/l      # 10k rows, 2 sessions, 1 cycle (tests/test_bench_history_smoke.py)

The store holds two weekly snapshots of the export (built as bench/history.py builds its weeks, so Trends draws
the store's history and its diff). One `streamlit run` serves it (RADAR_STORE), one Chromium drives the sessions:
each session is a Playwright browser context of its own (a Streamlit session of its own), started 0.25 s apart.
A session opens / (Exposure), then cycles through the pages the way a user does, by the sidebar's links (Opt-outs,
Partner readiness, NCE projection, Trends, Data, Exposure), and on Exposure changes the country filter (Backspace
removes the previous country, then a country code + Enter; each session and cycle picks another country, so its
queries are not all cached yet). The filter stays on through the next cycle's pages, as it does for a user.

When every session has drawn its first page, another process publishes a new snapshot of the same export into the
store: `python -m analytics ingest FILES --publish` with RADAR_STORE (the command-line path: read and check in a
worker, then Store.publish). Sessions go on until each has done --cycles cycles, the publish has finished, and
each has done one more page after it (so each sees the new snapshot at its next interaction, as it must).

A page time runs from the click (or Enter, or the first goto) until the page is done: the script has finished
(`data-test-script-state="notRunning"`) and the page's h1 is the new page's (a page switch), or the URL holds the
chosen country (a filter change). Errors: a Streamlit exception box (`stException`) on any page, a page not done
within 60 s, a traceback in the server's log, the publish failing, a session not seeing the new snapshot.
The server's and Chromium's CPU seconds are recorded: the sessions' browser runs on the same two cores as the
server, so it takes its share of them (a real user's browser runs elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import browser as browser_bench  # noqa: E402
import generate  # noqa: E402
import history  # noqa: E402

PAGE_TIMEOUT_MS = 60_000
SESSIONS = 20
CYCLES = 2
STAGGER = 0.25
COUNTRIES = ("DE", "GB", "FR", "IT", "ES", "NL", "AT", "BE", "SE", "PL", "DK", "CH")
# Sidebar link (href ends with) -> the page's name; Exposure is the default page, at "/".
CYCLE = (
    ("opt_outs", "/opt_outs"),
    ("readiness", "/readiness"),
    ("projection", "/projection"),
    ("trends", "/trends"),
    ("data", "/data"),
    ("exposure", "/"),
)
SWITCH_JS = """(a) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (a.path !== '/' && !location.pathname.endsWith(a.path)) return false;
    const h1 = document.querySelector('[data-testid="stMain"] h1');
    return h1 !== null && h1.textContent !== a.previous;
}"""
COUNTRY_JS = """(code) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    return new URLSearchParams(location.search).getAll('country').join(',') === code;
}"""
MB = 1024 * 1024


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Run:
    """Shared state of the sessions: the page records, the publish's window and whether it has finished."""

    def __init__(self, sessions: int, cycles: int, max_seconds: float = float("inf")):
        self.sessions = sessions
        self.cycles = cycles
        self.max_seconds = max_seconds
        self.cut_short = False
        self.started = time.perf_counter()
        self.views: list[dict] = []
        self.opened: set[int] = set()
        self.all_open = asyncio.Event()
        self.publish_done = asyncio.Event()
        self.publish: dict = {}
        self.seen_new: dict[int, bool] = {}

    def over(self) -> bool:
        """Past --max-minutes: sessions stop at their next page (the report says the run was cut short)."""
        self.cut_short = self.cut_short or self.now() > self.max_seconds
        return self.cut_short

    def mark_open(self, number: int) -> None:
        self.opened.add(number)
        if len(self.opened) == self.sessions:
            self.all_open.set()

    def now(self) -> float:
        return time.perf_counter() - self.started


async def _errors(page) -> int:
    return await page.locator('[data-testid="stException"]').count()


async def _view(run: Run, session: int, kind: str, name: str, page, act, wait_js: str, arg) -> bool:
    """Do `act` (a click, a key, a goto) and wait until `wait_js(arg)` holds; record the view. False on a timeout."""
    entry = {"session": session, "kind": kind, "page": name, "start": run.now()}
    began = time.perf_counter()
    try:
        await act()
        await page.wait_for_function(wait_js, arg=arg, polling=50, timeout=PAGE_TIMEOUT_MS)
        entry["seconds"] = time.perf_counter() - began
        entry["errors"] = await _errors(page)
        ok = True
    except Exception as exc:  # a Playwright timeout above all: an error of the run, the session goes on
        entry["seconds"] = None
        entry["failed"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        entry["errors"] = 0
        ok = False
    entry["end"] = run.now()
    run.views.append(entry)
    return ok


async def _text(page, selector: str) -> str:
    """The text of the first element matching `selector` now ("" when there is none): no waiting."""
    script = "(s) => { const e = document.querySelector(s); return e ? e.textContent : ''; }"
    return await page.evaluate(script, selector)


async def session(run: Run, number: int, browser, url: str) -> None:
    await asyncio.sleep(number * STAGGER)
    context = await browser.new_context(viewport=browser_bench.VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = await context.new_page()
    try:
        await _cycle(run, number, page, url)
    except Exception as exc:  # anything unforeseen ends this session, recorded as an error, not the run
        run.views.append(
            {"session": number, "kind": "session", "page": "-", "start": run.now(), "end": run.now(),
             "seconds": None, "errors": 0, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        )  # fmt: skip
        run.mark_open(number)  # so the publish does not wait for it
    finally:
        await context.close()


async def _cycle(run: Run, number: int, page, url: str) -> None:
    await _open(run, number, page, url)
    run.mark_open(number)
    cycle = 0
    after_publish = 0
    while (cycle < run.cycles or not run.publish_done.is_set() or after_publish < 1) and not run.over():
        for name, path in CYCLE:
            done_before = run.publish_done.is_set()
            previous = await _text(page, '[data-testid="stMain"] h1')
            link = page.locator(f'[data-testid="stSidebarNavLink"][href$="{path}"]').first
            ok = await _view(
                run, number, "switch", name, page, link.click, SWITCH_JS, {"path": path, "previous": previous}
            )
            if ok and done_before:
                after_publish += 1
                if run.publish.get("snapshot"):
                    sidebar = await _text(page, '[data-testid="stSidebar"]')
                    run.seen_new[number] = run.publish["snapshot"] in sidebar
            if not ok:
                await _open(run, number, page, url)  # start over, as a user would reload
            if name == "exposure":
                code = COUNTRIES[(number + cycle) % len(COUNTRIES)]
                await _filter(run, number, page, code)
        cycle += 1


async def _open(run: Run, number: int, page, url: str) -> None:
    async def goto():
        await page.goto(url + "/", wait_until="commit")

    await _view(run, number, "open", "exposure", page, goto, browser_bench.DONE_JS, None)


async def _filter(run: Run, number: int, page, code: str) -> None:
    combobox = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.get_by_role("combobox")
    try:
        await combobox.click()
        if await page.locator('[data-testid="stSidebar"] [data-tag]').count():
            await combobox.press("Backspace")  # the previous country goes (a run of its own, not timed)
            await page.wait_for_function(COUNTRY_JS, arg="", polling=50, timeout=PAGE_TIMEOUT_MS)
        await combobox.press_sequentially(code)
    except Exception as exc:
        run.views.append(
            {"session": number, "kind": "filter", "page": "exposure", "start": run.now(), "end": run.now(),
             "seconds": None, "errors": 0, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        )  # fmt: skip
        return

    async def enter():
        await page.keyboard.press("Enter")

    await _view(run, number, "filter", "exposure", page, enter, COUNTRY_JS, code)
    await page.keyboard.press("Escape")


async def publisher(run: Run, files: list[Path], store: Path, work: Path) -> None:
    await run.all_open.wait()
    command = [sys.executable, "-m", "analytics", "ingest", *map(str, files), "--publish", "--json"]
    env = {**os.environ, "RADAR_STORE": str(store)}
    run.publish["start"] = run.now()
    log(f"  publish starts at {run.publish['start']:.1f} s")
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    run.publish["end"] = run.now()
    run.publish["seconds"] = run.publish["end"] - run.publish["start"]
    run.publish["returncode"] = process.returncode
    (work / "publish.out").write_bytes(stdout + b"\n--- stderr ---\n" + stderr)
    try:
        run.publish["snapshot"] = json.loads(stdout)["snapshot"]
    except (ValueError, KeyError, TypeError):
        run.publish["snapshot"] = None
    log(f"  publish ended at {run.publish['end']:.1f} s (exit {process.returncode})")
    run.publish_done.set()


async def drive(
    url: str, sessions: int, cycles: int, files: list[Path], store: Path, work: Path, max_seconds: float
) -> Run:
    from playwright.async_api import async_playwright

    run = Run(sessions, cycles, max_seconds)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(browser_bench.CHROMIUM), args=browser_bench.CHROMIUM_ARGS
        )
        try:
            run.started = time.perf_counter()
            tasks = [session(run, i, browser, url) for i in range(sessions)]
            await asyncio.gather(publisher(run, files, store, work), *tasks)
        finally:
            await browser.close()
    return run


def _chromium_cpu() -> float:
    """CPU seconds of every Chromium process of this run (children of this process)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def measure(store: Path, files: list[Path], work: Path, sessions: int, cycles: int, max_seconds: float) -> dict:
    import psutil

    out: dict = {}
    with browser_bench.streamlit_server(store, work / "streamlit-load.log") as (url, process, health):
        monitor = browser_bench.RssMonitor(process.pid)
        monitor.start()
        server = psutil.Process(process.pid)
        cpu_before = history.cpu_seconds(server)
        chromium: list[float] = []

        async def main() -> Run:
            async def sample():
                while True:  # Chromium's processes come and go: keep the last total seen
                    chromium.append(_chromium_cpu())
                    await asyncio.sleep(1)

            sampler = asyncio.create_task(sample())
            try:
                return await drive(url, sessions, cycles, files, store, work, max_seconds)
            finally:
                sampler.cancel()

        began = time.perf_counter()
        try:
            run = asyncio.run(main())
            out["seconds"] = time.perf_counter() - began
            out["server_cpu"] = history.cpu_seconds(server) - cpu_before
            out["vm_hwm"] = history.vm_hwm(process.pid)
        finally:
            monitor.stop()
        out["chromium_cpu"] = max(chromium) if chromium else None
        out["peak_rss"] = monitor.peak
        out["health_seconds"] = health
    text = (work / "streamlit-load.log").read_text(encoding="utf-8", errors="replace")
    out["log_tracebacks"] = text.count("Traceback (most recent call last)")
    out["views"] = run.views
    out["publish"] = run.publish
    out["seen_new"] = run.seen_new
    out["cut_short"] = run.cut_short
    return out


def summarise(result: dict, sessions: int) -> dict:
    views = result["views"]
    timed = [v["seconds"] for v in views if v["seconds"] is not None]
    publish = result["publish"]

    def during(v) -> bool:
        return v["end"] >= publish.get("start", 1e18) and v["start"] <= publish.get("end", -1)

    def pct(values, q):
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]

    out = {
        "views": len(views),
        "p50": pct(timed, 50),
        "p95": pct(timed, 95),
        "max": max(timed) if timed else None,
        "timeouts": sum(1 for v in views if v["seconds"] is None),
        "exceptions": sum(v["errors"] for v in views),
    }
    for kind in ("open", "switch", "filter"):
        values = [v["seconds"] for v in views if v["kind"] == kind and v["seconds"] is not None]
        out[f"{kind}_count"] = len(values)
        out[f"{kind}_p50"], out[f"{kind}_p95"] = pct(values, 50), pct(values, 95)
    overlapping = [v["seconds"] for v in views if v["seconds"] is not None and during(v)]
    out["during_count"] = len(overlapping)
    out["during_p50"], out["during_p95"] = pct(overlapping, 50), pct(overlapping, 95)
    by_page: dict[str, list[float]] = {}
    for v in views:
        if v["seconds"] is not None:
            by_page.setdefault(v["page"] if v["kind"] != "filter" else "filter change", []).append(v["seconds"])
    out["by_page"] = {k: {"n": len(x), "p50": pct(x, 50), "p95": pct(x, 95)} for k, x in by_page.items()}
    out["seen_new"] = sum(1 for seen in result["seen_new"].values() if seen)
    out["sessions"] = sessions
    return out


def errors_of(result: dict, summary: dict) -> list[str]:
    errors = []
    if summary["timeouts"]:
        failed = [v for v in result["views"] if v["seconds"] is None]
        errors.append(f"{summary['timeouts']} page(s) not done within 60 s, first: {failed[0].get('failed')}")
    if summary["exceptions"]:
        errors.append(f"{summary['exceptions']} Streamlit exception box(es)")
    if result["log_tracebacks"]:
        errors.append(f"{result['log_tracebacks']} traceback(s) in the server log")
    if result["publish"].get("returncode") != 0 or not result["publish"].get("snapshot"):
        errors.append(f"the publish failed (exit {result['publish'].get('returncode')}; see publish.out)")
    if summary["seen_new"] != summary["sessions"]:
        errors.append(f"{summary['sessions'] - summary['seen_new']} session(s) did not show the new snapshot")
    if result.get("cut_short"):
        errors.append("the run was cut short by --max-minutes (a session may not have seen the new snapshot)")
    if not summary["during_count"]:
        errors.append("no page was served while the publish ran")
    return errors


def figures(size: str, summary: dict, result: dict) -> list[tuple[str, str]]:
    fmt = history.fmt
    publish = result["publish"]
    rows = [
        ("sessions (browser contexts) × cycles", f"{summary['sessions']} × {result['cycles']}"),
        ("page views", f"{summary['views']:,}"),
        ("page time p50 / p95, all views (s)", f"{fmt(summary['p50'])} / {fmt(summary['p95'])}"),
        ("page time max (s)", fmt(summary["max"])),
        ("page switch p50 / p95 (s)", f"{fmt(summary['switch_p50'])} / {fmt(summary['switch_p95'])}"),
        ("filter change p50 / p95 (s)", f"{fmt(summary['filter_p50'])} / {fmt(summary['filter_p95'])}"),
        ("first open p50 / p95 (s)", f"{fmt(summary['open_p50'])} / {fmt(summary['open_p95'])}"),
        (
            "views overlapping the publish: n, p50 / p95 (s)",
            f"{summary['during_count']}, {fmt(summary['during_p50'])} / {fmt(summary['during_p95'])}",
        ),
        ("publish (ingest + Store.publish, CLI) (s)", fmt(publish.get("seconds"))),
        (
            "errors: exceptions / timeouts / log tracebacks",
            f"{summary['exceptions']} / {summary['timeouts']} / {result['log_tracebacks']}",
        ),  # fmt: skip
        ("sessions that show the new snapshot", f"{summary['seen_new']} / {summary['sessions']}"),
        ("server peak RSS (MB)", fmt(result["peak_rss"] / MB, 0)),
        (
            "server CPU / Chromium CPU over the run (s)",
            f"{fmt(result['server_cpu'], 0)} / {fmt(result['chromium_cpu'], 0)}",
        ),  # fmt: skip
        ("run wall time (s)", fmt(result["seconds"], 0)),
        ("load average (1 min) before / after", f"{result['load_before'][0]:.1f} / {result['load_after'][0]:.1f}"),
    ]
    for page, stats in sorted(summary["by_page"].items()):
        rows.append((f"  {page}: n, p50 / p95 (s)", f"{stats['n']}, {fmt(stats['p50'])} / {fmt(stats['p95'])}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1m", help="rows of the export (default 1m)")
    parser.add_argument("--sessions", type=int, help=f"concurrent sessions (default {SESSIONS}; --smoke 2)")
    parser.add_argument("--cycles", type=int, help=f"cycles through the pages per session (default {CYCLES})")
    parser.add_argument("--smoke", action="store_true", help="10k rows, 2 sessions, 1 cycle, into --out")
    parser.add_argument("--out", type=Path, help="where RESULTS-history.md goes (default bench/)")
    parser.add_argument("--data", type=Path, help="generated data and the store (default bench/out, or OUT/data)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=30,
        help="stop the sessions at their next page after this long (default 30; the report says so)",
    )
    parser.add_argument("--build-only", action="store_true", help="build the store and stop")
    parser.add_argument(
        "--reuse-store",
        action="store_true",
        help="keep the store of an earlier run (--build-only, or a run whose publish added a third snapshot)",
    )
    parser.add_argument("--notes", type=Path, help="a Markdown file added to the report as 'What stands in the way'")
    args = parser.parse_args(argv)

    label = "10k" if args.smoke else generate.label(generate.parse_rows(args.size))
    rows = generate.parse_rows(label)
    sessions = args.sessions or (2 if args.smoke else SESSIONS)
    cycles = args.cycles or (1 if args.smoke else CYCLES)
    out_dir = args.out or (BENCH / "out" / "smoke-load" if args.smoke else BENCH)
    data_root = (args.data or (out_dir / "data" if args.out or args.smoke else BENCH / "out")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = history.environment()
    run["command"] = "python bench/load.py " + " ".join(sys.argv[1:] if argv is None else argv)

    log(f"[{label}] data …")
    data = history.prepare_data(rows, data_root / label, args.seed)
    work = data_root / f"load-{label}"
    store = work / "store"
    files = [data_root / label / name for name in generate.FILES]
    reuse = args.reuse_store and (work / "build.json").is_file() and len(list(store.glob("snapshots/*"))) >= 2
    if reuse:
        config = work / "server.toml"
        build = json.loads((work / "build.json").read_text(encoding="utf-8"))
        log(f"[{label}] the store of an earlier run: {len(list(store.glob('snapshots/*')))} snapshots")
    else:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        config = history.server_config(work)
        log(f"[{label}] a store with two weekly snapshots …")
        os.environ["RADAR_CONFIG"] = str(config)
        build = history.child("build", data_root / label, store, work, 2, config)
    os.environ["RADAR_CONFIG"] = str(config)
    if args.build_only:
        return 0
    log(f"[{label}] {sessions} sessions × {cycles} cycles while a publish runs …")
    load_before = os.getloadavg()
    try:
        result = measure(store, files, work, sessions, cycles, args.max_minutes * 60)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"ERROR load: {exc}")
        return 1
    result.update(load_before=load_before, load_after=os.getloadavg(), cycles=cycles, build=build, data=data)
    result["snapshots_before"] = len(build["weeks"]) if not reuse else None
    summary = summarise(result, sessions)
    errors = errors_of(result, summary)
    (work / "results.json").write_text(json.dumps({"result": result, "summary": summary}, indent=2, default=str))
    run["seconds"] = time.perf_counter() - started
    run["load_end"] = os.getloadavg()
    rows_out = figures(label, summary, result)
    width = max(len(name) for name, _ in rows_out)
    print(f"{'figure'.ljust(width)}  {label}")
    for name, value in rows_out:
        print(f"{name.ljust(width)}  {value}")
    verdict = "met" if not errors else "NOT met"
    print(f"\ntarget: {sessions} concurrent sessions while a publish runs, no error: {verdict}")
    for error in errors:
        print(f"ERROR {error}")
    lines = [f"## Load: {sessions} concurrent sessions on {label} while a publish runs", "", *history.header_lines(run)]
    lines += ["", f"| figure | {label} |", "|---|---:|", *[f"| {n.strip()} | {v} |" for n, v in rows_out], ""]
    lines += [f"Target: {sessions} concurrent sessions while a publish runs, no error: **{verdict}**."]
    if errors:
        lines += ["", "### Errors", "", *[f"- {e}" for e in errors]]
    if args.notes and args.notes.is_file():
        lines += ["", "### Notes", "", *args.notes.read_text(encoding="utf-8").splitlines()]
    history.write_section(out_dir / "RESULTS-history.md", "load", lines)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
