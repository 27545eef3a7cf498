"""Browser tests for issue 12: Trends on a fresh install draws the bundled sample's weeks; two `streamlit run`
processes on one store folder (replicas): a publish through one is seen by the other at its next interaction,
and publishes through both at the same moment leave a valid store.

Run: `.venv/bin/python -m pytest -q tests/test_browser_history.py`. Without /usr/bin/chromium the tests skip,
unless CI is set (tests/test_browser.py's require_chromium).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analytics.history import sample_weeks
from analytics.store import Store
from tests.test_browser import OUTPUT, TIMEOUT_MS, kpi, open_page, screenshot, wait_done
from tests.test_browser_hostile import browser, server, session, upload  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.browser

WEEK = "subscription_id,partner_id,customer_id,country,seats,term_end_date,auto_renew\n"


def test_trends_on_a_fresh_install_shows_its_charts_from_the_sample_weeks(browser, tmp_path):  # noqa: F811
    with server(tmp_path / "store", "trends-fresh") as (base, _process), session(browser) as page:
        open_page(page, f"{base}/trends")
        expect(page.get_by_role("heading", level=1)).to_have_text("Trends", timeout=TIMEOUT_MS)
        expect(page.locator('[data-testid="stAlertContentInfo"]')).to_contain_text("bundled sample", timeout=TIMEOUT_MS)
        charts = page.locator('[data-testid="stPlotlyChart"]')
        expect(charts).to_have_count(2, timeout=TIMEOUT_MS)
        for i in range(2):  # drawn: each chart has its lines (one SVG path per trace and week)
            expect(charts.nth(i).locator(".scatterlayer .trace").first).to_be_attached(timeout=TIMEOUT_MS)
        # The diff of the last two sample weeks is drawn under them, with its four counts.
        newest, previous = sample_weeks()[-1].id, sample_weeks()[-2].id
        expect(page.get_by_role("heading", name=re.compile(re.escape(f"{newest} against {previous}")))).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(kpi(page, "New opt-outs")).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=TIMEOUT_MS)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        screenshot(page, "trends-fresh-install")


def published(page):
    return page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="every user now sees it")


def _rows(first: int, count: int) -> str:
    return WEEK + "".join(
        f"R-{n},P-{n % 7},C-{n},DE,{n % 9 + 1},2022-08-01,true\n" for n in range(first, first + count)
    )


def test_two_servers_on_one_store_see_each_others_publishes_and_publish_at_once(browser, tmp_path):  # noqa: F811
    store = Store(tmp_path / "store")
    files = {}
    for name, first, count in (("one.csv", 1, 30), ("two.csv", 100, 40), ("three.csv", 200, 50)):
        files[name] = tmp_path / name
        files[name].write_text(_rows(first, count), encoding="utf-8")
    with (
        server(store.path, "replica-a") as (a, _pa),
        server(store.path, "replica-b") as (b, _pb),
        session(browser) as on_a,
        session(browser) as on_b,
    ):
        open_page(on_b, f"{b}/")
        expect(kpi(on_b, "Subscriptions in scope")).not_to_have_text("30", timeout=TIMEOUT_MS)
        # A publish through server A ...
        open_page(on_a, f"{a}/data")
        upload(on_a, files["one.csv"])
        wait_done(on_a)
        on_a.get_by_role("button", name=re.compile("Publish for everyone")).click()
        expect(published(on_a)).to_be_visible(timeout=TIMEOUT_MS)
        first = store.current_id()
        assert first is not None
        # ... is seen by the session on server B at its next interaction (a click on the navigation).
        on_b.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Exposure").click()
        wait_done(on_b)
        expect(kpi(on_b, "Subscriptions in scope")).to_have_text("30", timeout=TIMEOUT_MS)
        expect(on_b.locator('[data-testid="stSidebar"]')).to_contain_text(first, timeout=TIMEOUT_MS)
        # Publishes through both servers at the same moment: both complete, one is current, the store is valid.
        open_page(on_a, f"{a}/data")  # a new session: the uploader starts empty
        open_page(on_b, f"{b}/data")
        upload(on_a, files["two.csv"])
        upload(on_b, files["three.csv"])
        wait_done(on_a)
        wait_done(on_b)
        buttons = [p.get_by_role("button", name=re.compile("Publish for everyone")) for p in (on_a, on_b)]
        for button in buttons:
            expect(button).to_be_enabled(timeout=TIMEOUT_MS)
        for button in buttons:  # both clicks dispatched before either publish is awaited
            button.dispatch_event("click")
        for page in (on_a, on_b):
            expect(published(page)).to_be_visible(timeout=TIMEOUT_MS)
        listed = store.list()
        assert len(listed) == 3 and store.current_id() in {s.id for s in listed}
        counts = sorted(store.get(s.id).rows()["subscriptions"] for s in listed)
        assert counts == [30, 40, 50]
        current = store.get(store.current_id()).rows()["subscriptions"]
        for page, base in ((on_a, a), (on_b, b)):
            open_page(page, f"{base}/")
            expect(kpi(page, "Subscriptions in scope")).to_have_text(str(current), timeout=TIMEOUT_MS)
        screenshot(on_b, "replica-b-after-concurrent-publish")
    assert not (OUTPUT / "streamlit-replica-a.log").read_text(errors="replace").count("Traceback")
    assert not (OUTPUT / "streamlit-replica-b.log").read_text(errors="replace").count("Traceback")
