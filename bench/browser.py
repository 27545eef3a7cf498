"""Time the dashboard in Chromium: `streamlit run serve.py` on a published snapshot, driven by Playwright.

Measured, each in a fresh browser context (a new Streamlit session):
- the first request after the server started (Exposure, which also loads the snapshot into the process);
- the first render of every other page (its own queries not yet in st.cache_data; the headline shared with
  pages rendered before it is), then a second render of every page (everything cached);
- a filter change: open a page, type a country code in the sidebar's Country multiselect and press Enter; the
  time from Enter until the first KPI card shows that country's figure and the script has finished. Done for
  each of FILTER_COUNTRIES (so each trial runs queries not yet cached for that page); the median is reported.

A page is done when `[data-testid="stApp"][data-test-script-state="notRunning"]` is present and its title (h1)
is drawn.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 300_000
# URL path -> the page; the first KPI card of each KPI page and the headline column it shows.
PAGES = {
    "Exposure": "/",
    "Opt-outs": "/opt_outs",
    "Partner readiness": "/readiness",
    "NCE projection": "/projection",
    "Trends": "/trends",
    "Data": "/data",
}
FIRST_KPI = {
    "Exposure": "subscriptions_in_scope",
    "Opt-outs": "partners_exposed",
    "Partner readiness": "partners_assessed",
    "NCE projection": "projected_subscriptions",
}
DONE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    return document.querySelector('[data-testid="stMain"] h1') !== null;
}"""
KPI_JS = """(expected) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const value = document.querySelector('[data-testid="stMain"] [data-testid="stMetricValue"]');
    return value !== null && value.textContent.trim() === expected;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RssMonitor(threading.Thread):
    """Samples the resident memory of a process (with its children) until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.last = 0
        self._halt = threading.Event()

    def sample(self) -> int:
        import psutil

        try:
            total = self.process.memory_info().rss
            for child in self.process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        except psutil.Error:
            return self.last
        return total

    def run(self) -> None:
        while not self._halt.is_set():
            self.last = self.sample()
            self.peak = max(self.peak, self.last)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


@contextlib.contextmanager
def streamlit_server(store: Path, log_path: Path, script: str = "serve.py"):
    """`streamlit run serve.py` (as `make run` serves the dashboard: warmed before its first request) on a free
    port with RADAR_STORE=store; yields (base URL, process, seconds until /_stcore/health answers)."""
    env = {**os.environ, "RADAR_STORE": str(store)}
    env.pop("RADAR_PUBLISH_KEY", None)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {process.returncode}; log: {log_path}")
                with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer within 120 s; log: {log_path}")
                time.sleep(0.05)
            yield url, process, time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _errors(page) -> int:
    return page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()


def _render(browser, url: str, shots: Path | None, name: str) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DONE_JS, polling=50, timeout=TIMEOUT_MS)
        seconds = time.perf_counter() - started
        errors = _errors(page)
        if shots is not None:
            page.screenshot(path=shots / f"{name}.png")
        return {"seconds": seconds, "errors": errors}
    except Exception:
        if shots is not None:
            page.screenshot(path=shots / f"{name}-failed.png")
        raise
    finally:
        context.close()


FILTER_COUNTRIES = ("DE", "GB", "FR")


def _filter_changes(browser, url: str, expected: dict[str, str], shots: Path | None, name: str) -> dict:
    """One trial per country (a fresh session each); the median, the trials, and what each trial selected."""
    import statistics

    trials = {
        code: _filter_change(browser, url, code, figure, shots, f"{name}-{code}") for code, figure in expected.items()
    }
    return {
        "seconds": statistics.median(t["seconds"] for t in trials.values()),
        "errors": sum(t["errors"] for t in trials.values()),
        "trials": trials,
    }


def _filter_change(browser, url: str, code: str, expected: str, shots: Path | None, name: str) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_function(DONE_JS, polling=50, timeout=TIMEOUT_MS)
        selects = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
        country = selects.filter(has_text="Country")
        if country.count() == 0:
            country = selects.first  # the label may be translated; Country is the first filter
        combobox = country.get_by_role("combobox")
        combobox.click()
        combobox.press_sequentially(code)
        started = time.perf_counter()
        page.keyboard.press("Enter")
        page.wait_for_function(KPI_JS, arg=expected, polling=50, timeout=TIMEOUT_MS)
        seconds = time.perf_counter() - started
        page.keyboard.press("Escape")
        tags = country.locator("[data-tag]")
        selected = [(tags.nth(i).get_attribute("aria-label") or "").split(" · ")[0] for i in range(tags.count())]
        errors = _errors(page)
        if shots is not None:
            page.screenshot(path=shots / f"{name}.png")
        return {"seconds": seconds, "errors": errors, "selected": selected, "url": page.url}
    except Exception:
        if shots is not None:
            page.screenshot(path=shots / f"{name}-failed.png")
        raise
    finally:
        context.close()


def _measure(kind: str, name: str, log, func, *args) -> dict:
    """One measurement; a failure is recorded (with its message) instead of ending the browser run."""
    try:
        entry = func(*args)
    except Exception as exc:  # Playwright raises its own error types (timeouts above all)
        entry = {"seconds": None, "errors": 0, "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    shown = "failed: " + entry["failed"] if entry.get("failed") else f"{entry['seconds']:.2f} s"
    log(f"browser {kind} {name}: {shown}")
    return entry


def run(store: Path, expected_by_country: dict[str, dict], work: Path, log=lambda message: None) -> dict:
    """All browser timings against the snapshot store `store`; `expected_by_country` holds the headline row of
    each of FILTER_COUNTRIES."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing (install Debian's chromium package) or pass --no-browser")
    shots = work / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    result: dict = {"first_render": {}, "cached_render": {}, "filter_change": {}}
    with streamlit_server(store, work / "streamlit.log") as (url, process, start_seconds):
        monitor = RssMonitor(process.pid)
        monitor.start()
        result["server_start_seconds"] = start_seconds
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    first = _measure("first request", "Exposure", log, _render, browser, url + "/", shots, "first")
                    result["first_request"] = first
                    result["first_render"]["Exposure"] = first
                    for name, path in PAGES.items():
                        if name != "Exposure":
                            result["first_render"][name] = _measure(
                                "first render", name, log, _render, browser, url + path, shots, f"first-{path[1:]}"
                            )
                    for name, path in PAGES.items():
                        result["cached_render"][name] = _measure(
                            "cached render", name, log, _render, browser, url + path, None, ""
                        )
                    for name, column in FIRST_KPI.items():
                        expected = {code: f"{int(expected_by_country[code][column]):,}" for code in FILTER_COUNTRIES}
                        change = _measure(
                            "filter change",
                            name,
                            log,
                            _filter_changes,
                            browser,
                            url + PAGES[name],
                            expected,
                            shots,
                            f"filter-{name}",
                        )
                        change["expected"] = expected
                        result["filter_change"][name] = change
                finally:
                    browser.close()
        finally:
            monitor.stop()
        result["server_peak_rss"] = monitor.peak
        result["server_rss_end"] = monitor.last
    return result
