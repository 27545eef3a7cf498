"""Browser test: a long upload shows its phases with a progress bar on the Data page and can be cancelled;
after the cancel the page says nothing changed and the data shown is still the published data (the bundled
sample here). The screenshot of the progress is kept in test-output/browser/data-upload-progress.png.

Run: `.venv/bin/python -m pytest -q tests/test_browser_upload.py` (needs /usr/bin/chromium, as test_browser.py).
"""

from __future__ import annotations

import contextlib
import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests import test_browser
from tests.test_browser import DONE, OUTPUT, SAMPLE, TIMEOUT_MS, expect_no_errors, open_page, streamlit_server

pytestmark = pytest.mark.browser
browser = test_browser.browser  # the fixtures: one Chromium per module, a fresh context per test
page = test_browser.page
COPIES = 60  # the sample's 4,660 subscriptions 60 times over: long enough to watch, small enough to upload


def long_upload(path: Path) -> Path:
    """A subscription list of COPIES times the sample's rows, each copy with its own ids."""
    with SAMPLE[0].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    key = header.index("subscription_id")
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for copy in range(COPIES):
            for row in body:
                writer.writerow([*row[:key], f"{row[key]}-{copy}", *row[key + 1 :]])
    return path


def test_a_long_upload_shows_its_progress_and_a_cancel_changes_nothing(page, tmp_path):
    upload = long_upload(tmp_path / "long_export.csv")
    with streamlit_server(tmp_path / "store", "upload-progress") as base:
        open_page(page, f"{base}/data")
        caption = page.locator('[data-testid="stCaptionContainer"]').first.inner_text()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
        bar = page.locator('[data-testid="stProgress"]')
        expect(bar).to_contain_text(re.compile(r"step \d of 5"), timeout=TIMEOUT_MS)
        # For the screenshot, a bar that has moved (the read's own progress), if it moves within 3 s.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "() => [...document.querySelectorAll('[role=progressbar]')]"
                ".some(b => Number(b.getAttribute('aria-valuenow')) > 0)",
                timeout=3000,
            )
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=OUTPUT / "data-upload-progress.png", full_page=True)
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator('[data-testid="stAlertContentInfo"]')).to_contain_text("cancelled", timeout=TIMEOUT_MS)
        page.wait_for_selector(DONE, timeout=TIMEOUT_MS)
        expect_no_errors(page)
        page.screenshot(path=OUTPUT / "data-upload-cancelled.png", full_page=True)
        # Still the data it showed before the upload; no accepted-rows report of the cancelled upload.
        assert page.locator('[data-testid="stCaptionContainer"]').first.inner_text() == caption
        expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_have_count(0)
        # Reading again works.
        page.get_by_role("button", name="Read the files again").click()
        expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
            "Accepted", timeout=4 * TIMEOUT_MS
        )
