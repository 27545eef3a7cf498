"""Browser tests for issue 16: a bomb uploaded in one session leaves the server and the other sessions alone,
and a publish that shrinks the current data needs the checkbox that names both counts.

The real `streamlit run app.py` (bench/browser.py's server) driven by Debian Chromium; run with
`.venv/bin/python -m pytest -q tests/test_browser_hostile.py`. Without /usr/bin/chromium the tests skip, unless
CI is set (tests/test_browser.py's require_chromium).
"""

from __future__ import annotations

import contextlib
import re
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import browser as bench_browser  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402

from analytics.dataset import load_files
from analytics.store import Store
from tests.test_browser import OUTPUT, TIMEOUT_MS, kpi, open_page, require_chromium, wait_done
from tests.test_hostile import row, shared_string_bomb, write_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@contextlib.contextmanager
def server(store: Path, name: str):
    """`streamlit run app.py` on `store`; yields (base URL, the server's process)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with bench_browser.streamlit_server(store, OUTPUT / f"streamlit-{name}.log") as (url, process, _seconds):
        yield url, process


@contextlib.contextmanager
def session(browser: Browser):
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def upload(page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)


def test_a_bomb_upload_stops_in_its_worker_while_another_session_works_and_the_server_lives_on(
    browser, tmp_path, monkeypatch
):
    bomb = shared_string_bomb(tmp_path / "Abos.xlsx")  # 27 kB asking for 30 GB
    config = tmp_path / "server.toml"
    config.write_text("[upload]\nworker_memory_mb = 1024\n", encoding="utf-8")
    monkeypatch.setenv("RADAR_CONFIG", str(config))  # the server reads it at start
    with server(tmp_path / "store", "bomb") as (base, process), session(browser) as attacker:
        pid = process.pid
        open_page(attacker, f"{base}/data")
        upload(attacker, bomb)  # returns at once: the upload is read while the other session works
        with session(browser) as other:
            open_page(other, f"{base}/")
            expect(other.get_by_role("heading", level=1)).to_have_text("Exposure", timeout=TIMEOUT_MS)
            expect(kpi(other, "Subscriptions in scope")).to_have_text(re.compile(r"\d"), timeout=TIMEOUT_MS)
            expect(other.locator('[data-testid="stException"]')).to_have_count(0, timeout=TIMEOUT_MS)
        wait_done(attacker)
        error = attacker.locator('[data-testid="stAlertContentError"]')
        expect(error).to_contain_text("Abos.xlsx", timeout=TIMEOUT_MS)
        expect(error).to_contain_text("1,024 MB", timeout=TIMEOUT_MS)
        expect(attacker.locator('[data-testid="stException"]')).to_have_count(0, timeout=TIMEOUT_MS)
        # The same server process, alive, answering, and not holding the bomb's memory.
        assert process.poll() is None and process.pid == pid
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=10) as answer:
            assert answer.status == 200
        assert psutil.Process(pid).memory_info().rss < 1024 * 2**20
        with session(browser) as after:
            open_page(after, f"{base}/opt_outs")
            expect(after.get_by_role("heading", level=1)).to_have_text("Opt-outs", timeout=TIMEOUT_MS)


def test_publishing_far_fewer_subscriptions_needs_the_checkbox_that_names_both_counts(browser, tmp_path):
    store = Store(tmp_path / "store")
    big = write_csv(tmp_path / "big.csv", [row(n) for n in range(1, 101)])
    store.publish(load_files([big]), [("big.csv", big.stat().st_size)])
    small = write_csv(tmp_path / "small.csv", [row(n) for n in range(1, 21)])
    with server(store.path, "shrink") as (base, _process), session(browser) as page:
        open_page(page, f"{base}/data")
        upload(page, small)
        wait_done(page)
        confirm = page.locator('[data-testid="stCheckbox"]').filter(has_text="Publish anyway")
        expect(confirm).to_contain_text(re.compile(r"\b20\b.*\b100\b"), timeout=TIMEOUT_MS)
        publish = page.get_by_role("button", name=re.compile("Publish for everyone"))
        expect(publish).to_be_disabled(timeout=TIMEOUT_MS)
        confirm.locator("label").click()
        wait_done(page)
        expect(publish).to_be_enabled(timeout=TIMEOUT_MS)
        publish.click()
        published = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="every user now sees it")
        expect(published).to_be_visible(timeout=TIMEOUT_MS)
    assert store.get(store.current_id()).rows()["subscriptions"] == 20
