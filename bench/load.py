"""Load: concurrent Streamlit sessions on the 1M dataset while a publish runs (issue 12, "Load").

    python bench/load.py                           # 20 sessions on 1m; writes the "Load" section of bench/RESULTS-history.md
    python bench/load.py --smoke --out /tmp/l      # 10k rows, 2 sessions, 1 cycle (tests/test_bench_history_smoke.py)

The store holds two weekly snapshots of the export (built as bench/history.py builds its weeks, so Trends draws
the store's history and its diff). One `streamlit run` serves it (RADAR_STORE). Each session is a websocket client
of its own (bench/wsclient.py: the frontend's side of Streamlit's protocol, so a Streamlit session of its own),
started 0.25 s apart. A session opens / (Exposure), then cycles through the pages the way a user does, by the
sidebar's pages (Opt-outs, Partner readiness, NCE projection, Trends, Data, Exposure), and on Exposure changes the
country filter to one country (each session and cycle picks another country, so its queries are not all cached
yet). The filter stays on through the next cycle's pages, as it does for a user.

Why websocket clients and not browsers: on this 2-core machine, 20 Chromium contexts beside the server measured
the browsers (the session-5 run: Chromium 1,367 CPU-s against the server's 209, and 148 of 382 views past 60 s).
A user's browser runs on the user's machine; what concurrent sessions share is the server. So a page time here
runs from the request until the server's `script_finished` for it (the page run and streamed over the socket),
and the time a browser takes to draw it is measured one browser at a time by bench/history.py.

When every session has drawn its first page, another process publishes a new snapshot of the same export into the
store: `python -m analytics ingest FILES --publish` with RADAR_STORE (the command-line path: read and check in a
worker, then Store.publish). Sessions go on until each has done --cycles cycles, the publish has finished, and
each has done one more page after it (so each sees the new snapshot at its next interaction, as it must).
Views in flight while the publish runs are counted and timed apart: the publish shares the two cores.

Errors: a Streamlit exception element on any page, a page not done within 60 s, a run that ends in a compile
error, a traceback in the server's log, the publish failing, a session not seeing the new snapshot, no view at
all while the publish ran. The server's CPU seconds and the clients' (this process) are recorded.
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
from urllib.parse import parse_qs

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import browser as browser_bench  # noqa: E402
import generate  # noqa: E402
import history  # noqa: E402
import wsclient  # noqa: E402

PAGE_TIMEOUT = 60.0
SESSIONS = 20
CYCLES = 2
STAGGER = 0.25
COUNTRIES = ("DE", "GB", "FR", "IT", "ES", "NL", "AT", "BE", "SE", "PL", "DK", "CH")
# The pages a session cycles through: (name, URL path); "" is the default page, Exposure.
CYCLE = (
    ("opt_outs", "opt_outs"),
    ("readiness", "readiness"),
    ("projection", "projection"),
    ("trends", "trends"),
    ("data", "data"),
    ("exposure", ""),
)
COUNTRY_LABEL = "Country"
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
        self.cycle: dict[int, int] = dict.fromkeys(range(sessions), 0)
        self.after: dict[int, int] = dict.fromkeys(range(sessions), 0)

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


async def _view(run: Run, session: int, kind: str, name: str, request) -> wsclient.View | None:
    """Send one request (`request()`, a coroutine) and wait for its page to be done; record it. None on a failure."""
    entry = {"session": session, "kind": kind, "page": name, "start": run.now(), "errors": 0}
    try:
        view = await asyncio.wait_for(request(), PAGE_TIMEOUT)
    except Exception as exc:  # a timeout above all: an error of the run; the session reconnects and goes on
        entry.update(seconds=None, failed=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
        view = None
    else:
        entry.update(seconds=view.seconds, errors=len(view.exceptions), bytes=view.bytes)
        if view.exceptions:
            entry["exceptions"] = view.exceptions[:3]
        if not view.ok:
            entry.update(seconds=None, failed=f"the script finished with status {view.status}")
            view = None
    entry["end"] = run.now()
    run.views.append(entry)
    return view


async def session(run: Run, number: int, url: str) -> None:
    await asyncio.sleep(number * STAGGER)
    try:
        while not await _session(run, number, url):
            pass  # the socket failed (a timeout): open a new one, as a user reloads
    except Exception as exc:  # anything unforeseen ends this session, recorded as an error, not the run
        run.views.append(
            {"session": number, "kind": "session", "page": "-", "start": run.now(), "end": run.now(),
             "seconds": None, "errors": 0, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        )  # fmt: skip
        run.mark_open(number)  # so the publish does not wait for it


async def _session(run: Run, number: int, url: str) -> bool:
    """One websocket's life: open, then cycle. True when the session is done, False to reconnect."""
    async with wsclient.Session(url) as client:
        if await _view(run, number, "open", "exposure", client.open) is None:
            run.mark_open(number)
            return run.over()
        run.mark_open(number)
        while (
            run.cycle[number] < run.cycles or not run.publish_done.is_set() or not run.after[number]
        ) and not run.over():
            for name, path in CYCLE:
                done_before = run.publish_done.is_set()
                view = await _view(run, number, "switch", name, lambda p=path: client.switch(p))
                if view is None:
                    return False
                if done_before:
                    run.after[number] += 1
                    if run.publish.get("snapshot"):
                        run.seen_new[number] = any(run.publish["snapshot"] in text for text in view.texts)
                if name == "exposure":
                    code = COUNTRIES[(number + run.cycle[number]) % len(COUNTRIES)]
                    shown = [o for o in client.options.get(COUNTRY_LABEL, []) if o.split(" ")[0] == code] or [code]
                    view = await _view(
                        run, number, "filter", "exposure", lambda v=shown: client.choose(COUNTRY_LABEL, v)
                    )
                    if view is None:
                        return False
                    if parse_qs(client.query).get("country") != [code]:  # the page did not take the filter
                        run.views[-1].update(
                            seconds=None, failed=f"the URL says {client.query!r} after choosing {code}"
                        )
            run.cycle[number] += 1
    return True


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
    run = Run(sessions, cycles, max_seconds)
    run.started = time.perf_counter()
    tasks = [session(run, i, url) for i in range(sessions)]
    await asyncio.gather(publisher(run, files, store, work), *tasks)
    return run


def measure(store: Path, files: list[Path], work: Path, sessions: int, cycles: int, max_seconds: float) -> dict:
    import psutil

    out: dict = {}
    with browser_bench.streamlit_server(store, work / "streamlit-load.log") as (url, process, health):
        monitor = browser_bench.RssMonitor(process.pid)
        monitor.start()
        server = psutil.Process(process.pid)
        cpu_before = history.cpu_seconds(server)
        clients_before = history.cpu_self()
        began = time.perf_counter()
        try:
            run = asyncio.run(drive(url, sessions, cycles, files, store, work, max_seconds))
            out["seconds"] = time.perf_counter() - began
            out["server_cpu"] = history.cpu_seconds(server) - cpu_before
            out["clients_cpu"] = history.cpu_self() - clients_before
            out["vm_hwm"] = history.vm_hwm(process.pid)
        finally:
            monitor.stop()
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
        wrong_url = [v for v in failed if v.get("failed", "").startswith("the URL says")]
        if wrong_url:
            errors.append(f"{len(wrong_url)} filter change(s) not taken, first: {wrong_url[0]['failed']}")
        if len(failed) > len(wrong_url):
            first = next(v for v in failed if v not in wrong_url)
            errors.append(f"{len(failed) - len(wrong_url)} page(s) not done within 60 s, first: {first.get('failed')}")
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
        ("sessions (websocket clients) × cycles", f"{summary['sessions']} × {result['cycles']}"),
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
            "server CPU / clients' CPU (this process) over the run (s)",
            f"{fmt(result['server_cpu'], 0)} / {fmt(result['clients_cpu'], 0)}",
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
