"""Browser tests of notices and touchpoints: the real `streamlit run app.py` in Debian Chromium (tests/test_browser.py's
server, browser and helpers).

- the Notices page previews a notice, and its ZIP download holds .eml drafts that open as the notice says;
- a bookmarked partner view is the first request after a server start, records a call, and the call list shows
  it, also after a reload;
- a partner id on the call list opens that partner's view in a new tab, with the same selection.

Screenshots: test-output/browser/notices.png and partner-view.png, and copies in /tmp/notices-*.png.
Needs /usr/bin/chromium: skipped without it unless CI is set (tests/test_browser.py's require_chromium).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import shutil
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from analytics import metrics, notices
from analytics.dataset import load_files
from analytics.metrics import Filters
from analytics.touchpoints import TouchpointLog
from tests.test_browser import (  # noqa: F401  (browser and page are fixtures)
    SAMPLE,
    TIMEOUT_MS,
    browser,
    expect_no_errors,
    grid_rows,
    open_page,
    page,
    screenshot,
    streamlit_server,
    wait_done,
    wait_loaded,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sample():
    return load_files(SAMPLE)


@pytest.fixture
def served(browser, tmp_path) -> Iterator[tuple[str, Path]]:  # noqa: F811
    """A server of its own on an empty store (the sample is shown): (base URL, store folder). Its first request is
    the test's first."""
    store = tmp_path / "store"
    with streamlit_server(store, "notices") as base:
        yield base, store


def keep(path: Path, name: str) -> None:
    shutil.copyfile(path, Path("/tmp") / f"notices-{name}.png")


def call_list_grid(page: Page):  # noqa: F811
    """The call list's table: the one just before its CSV button (table() keys it csv_call_list). Not found by a
    column's text: the grid draws only the columns that fit, and its accessible table holds only those."""
    return page.locator(".st-key-csv_call_list").locator("xpath=preceding::div[@data-testid='stDataFrame'][1]")


def call_list_rows(page: Page) -> dict[str, dict[str, str]]:  # noqa: F811
    """The call list's rows by partner id (the grid's accessible table holds a link cell's URL, the id in it)."""
    rows = grid_rows(call_list_grid(page))
    listed = [dict(zip(rows[0], row, strict=False)) for row in rows[1:] if any(row)]
    return {urllib.parse.parse_qs(r["partner id"].split("?", 1)[1])["partner_id"][0]: r for r in listed}


def choose(page: Page, label: str, option: str) -> None:  # noqa: F811
    """Pick an option of a select box; opened again when a rerun that was still starting closed it."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    for _ in range(3):
        wait_done(page)
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=5000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def test_the_notices_page_previews_a_notice_and_its_zip_holds_the_eml_drafts(served, page, sample):  # noqa: F811
    base, store = served
    first = metrics.notice_partners(sample.cursor(), Filters())["partner_id"].iloc[0]
    expected = notices.build_notice(sample.cursor(), sample.programme, Filters(), first)

    open_page(page, f"{base}/notices")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notices")
    preview = page.locator('[data-testid="stCode"]').first
    expect(preview).to_contain_text(expected.body.splitlines()[0])
    expect(preview).to_contain_text(f"(partner {expected.partner_name}, id {first})")
    expect_no_errors(page)
    keep(screenshot(page, "notices"), "page")

    with page.expect_download(timeout=TIMEOUT_MS * 3) as info:
        page.get_by_role("button", name="ZIP of .eml drafts").click()
    download = info.value
    assert download.suggested_filename == "notices.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    built = notices.build_notices(sample.cursor(), sample.programme, Filters())
    assert sorted(archive.namelist()) == sorted(notices.eml_names(built))
    draft = email.message_from_bytes(archive.read(f"{first}.eml"), policy=email.policy.default)
    assert draft["Subject"] == expected.subject
    assert draft["To"] == expected.recipient
    assert draft["X-Unsent"] == "1"
    assert draft.get_body().get_content().replace("\r\n", "\n") == expected.body
    assert [p.get_filename() for p in draft.iter_attachments()] == [f"subscriptions-{first}.csv",
                                                                    f"subscriptions-{first}.xlsx"]  # fmt: skip
    drafted = TouchpointLog(store=store).entries(kinds=["drafted"])
    assert sorted(drafted["partner_id"]) == sorted(n.partner_id for n in built)


def test_a_bookmarked_partner_view_records_a_call_that_the_call_list_shows_after_a_reload(served, page, sample):  # noqa: F811
    base, store = served
    partner = metrics.call_list(sample.cursor(), Filters(countries=("DE",)))["partner_id"].iloc[1]
    name = metrics.partner_profile(sample.cursor(), partner)["partner_name"].iloc[0]

    # The first request after the server started, with a filter: inside the frame, the filter applied.
    open_page(page, f"{base}/partner?partner_id={partner}&country=DE")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Partner view")).to_have_count(1)
    assert urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["partner_id"] == [partner]

    who = page.get_by_role("textbox", name="Your name (logged with calls and notices)")
    who.fill("Anna Berger")
    who.press("Enter")
    wait_done(page)
    choose(page, "Outcome", "will complete the steps")
    page.get_by_role("textbox", name="Note").fill("Signs the MPA on Monday")
    page.get_by_role("button", name="Save the call").click()
    wait_done(page)
    saved = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Call saved")
    expect(saved).to_have_text(re.compile(r"Call saved: will complete the steps\.$"))
    expect_no_errors(page)
    keep(screenshot(page, "partner-view"), "partner")
    (call,) = TouchpointLog(store=store).entries(partner_id=partner).to_dict("records")
    assert (call["outcome"], call["who"], call["note"]) == (
        "will_complete_steps",
        "Anna Berger",
        "Signs the MPA on Monday",
    )

    page.set_viewport_size({"width": 2400, "height": 1000})  # the grid draws only the columns that fit
    open_page(page, f"{base}/readiness?country=DE")
    rows = call_list_rows(page)
    assert rows[partner]["last call outcome"] == "will complete the steps"
    assert rows[partner]["last touch"] == "call"
    page.reload()
    wait_loaded(page)
    rows = call_list_rows(page)
    assert rows[partner]["last call outcome"] == "will complete the steps"
    expect_no_errors(page)


def test_a_partner_id_on_the_call_list_opens_its_partner_view_with_the_same_selection(served, page, sample):  # noqa: F811
    base, _ = served
    first = metrics.call_list(sample.cursor(), Filters(countries=("AT",)))
    partner, name = first["partner_id"].iloc[0], first["partner_name"].iloc[0]
    open_page(page, f"{base}/readiness?country=AT")
    grid = call_list_grid(page)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    cell = (box["x"] + 30, box["y"] + 35 + 17)  # the first row's partner id (header and rows are 35 px high)
    page.mouse.move(*cell)
    page.wait_for_timeout(300)
    with page.context.expect_page(timeout=TIMEOUT_MS) as opened:
        page.mouse.click(*cell)
    view = opened.value
    try:
        view.wait_for_load_state()
        wait_loaded(view)
        expect(view.get_by_role("heading", level=1)).to_have_text(name)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(view.url).query)
        assert urllib.parse.urlparse(view.url).path == "/partner"
        assert (query["partner_id"], query["country"], query["lang"]) == ([partner], ["AT"], ["en"])
        selected = view.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] [data-tag]')
        expect(selected).to_have_count(1)
        assert re.match(r"^AT · ", selected.first.get_attribute("aria-label") or "")
        expect_no_errors(view)
    finally:
        view.close()
