"""Browser tests: the real `streamlit run app.py` driven by Debian Chromium through Playwright.

What they pin (PRODUCT.md section 5, docs/ARCHITECTURE.md):
- a bookmarked deep link with a filter works as the very first request after a server start, inside the frame,
  and the filter survives a page switch;
- every page renders without an exception or an error box (full-page screenshots in test-output/browser/);
- the country filter set in the sidebar narrows the KPIs, goes into the URL and survives a reload;
- a German Excel CSV (cp1252, semicolons, dd.mm.yyyy, Ja/Nein) can be uploaded, its rejected line is listed,
  and exploring it privately changes the Exposure KPIs;
- the call list download on the Readiness page is the call list of analytics.metrics.

Expected figures come from the command line (`python -m analytics summary ... --json`) or from analytics in
process, never typed in, except for the small German upload, which is counted by hand below.

Run: `.venv/bin/python -m pytest -q tests/test_browser.py` (about two minutes). Needs /usr/bin/chromium: without it
the tests are skipped, unless the environment variable CI is set, where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import browser as bench_browser  # noqa: E402  (bench/browser.py: the Chromium settings and the server)
from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402

from analytics.dataset import load_files
from analytics.metrics import Filters, call_list

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = [ROOT / "data" / "sample" / name for name in ("subscriptions.csv", "partners.csv", "customers.csv")]
OUTPUT = ROOT / "test-output" / "browser"  # git-ignored
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 45_000

# The app's English column headers (on screen and in downloads) for the canonical column names.
EN_CATALOG = ROOT / "locales" / "en.toml"
EN_COLUMNS = tomllib.loads(EN_CATALOG.read_text(encoding="utf-8")).get("col", {}) if EN_CATALOG.exists() else {}


def header(column: str) -> str:
    """The header the app gives a canonical column: its English label, or the name itself."""
    return EN_COLUMNS.get(column, column)


# Page name (for screenshots) -> URL path and the page title drawn as its heading.
PAGES = {
    "exposure": ("/", "Exposure"),
    "opt_outs": ("/opt_outs", "Opt-outs"),
    "readiness": ("/readiness", "Partner readiness"),
    "projection": ("/projection", "NCE projection"),
    "trends": ("/trends", "Trends"),  # with the tests' empty store it explains that it needs two snapshots
    "data": ("/data", "Data"),
}
KPI_PAGES = ("exposure", "opt_outs", "readiness", "projection")


# ---------------------------------------------------------------- the server and the browser


@contextlib.contextmanager
def streamlit_server(store: Path, name: str) -> Iterator[str]:
    """`streamlit run app.py` on a free port (bench/browser.py's server, one definition for both); yields the
    base URL once /_stcore/health answers.

    The server's output goes to test-output/browser/streamlit-<name>.log (tracebacks are only there: the app
    shows users none).

    `store` is an empty snapshot store (RADAR_STORE), so the app shows the bundled sample whatever was published
    into data/store/ on this machine.
    """
    store.mkdir(parents=True, exist_ok=True)
    log_path = OUTPUT / f"streamlit-{name}.log"
    with contextlib.ExitStack() as stack:
        try:
            url, _, _ = stack.enter_context(bench_browser.streamlit_server(store, log_path))
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n{log_path.read_text(errors='replace')[-4000:]}")
        yield url


def require_chromium(path: Path = CHROMIUM) -> None:
    """Fail when the browser is missing under CI (any CI value but empty, 0 or false: .ci/run sets CI=true);
    skip, with the reason, only on a developer's machine without it."""
    if path.exists():
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(f"{path} is missing: browser tests must run under CI (.ci/run installs Debian's chromium)")
    pytest.skip(f"{path} is missing and CI is unset (install Debian's chromium package to run the browser tests)")


def test_a_missing_browser_fails_under_ci_and_only_skips_outside_it(monkeypatch, tmp_path):
    missing = tmp_path / "no-chromium"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run under CI"):
        require_chromium(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="CI is unset"):
        require_chromium(missing)
    require_chromium(Path(__file__))  # an existing file: neither


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory) -> Iterator[str]:
    """One server for the tests that do not care which request came first."""
    with streamlit_server(tmp_path_factory.mktemp("store"), "shared") as base:
        yield base


@pytest.fixture
def page(browser, request) -> Iterator[Page]:
    """A fresh browser context per test (a new Streamlit session); a screenshot is kept when the test fails."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        with contextlib.suppress(Exception):
            tab.screenshot(path=OUTPUT / f"failed-{request.node.name}.png", full_page=True)
    context.close()


# ---------------------------------------------------------------- expected figures


def cli_summary(*files: Path) -> dict:
    """`python -m analytics summary FILE... --json` as a dict (totals, and by_country for every country)."""
    command = [sys.executable, "-m", "analytics", "summary", *map(str, files), "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sample_summary() -> dict:
    return cli_summary(*SAMPLE)


# ---------------------------------------------------------------- page helpers


def wait_done(page: Page) -> None:
    """Give Streamlit time to start the rerun an action triggers, then wait until the script has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector(DONE, timeout=TIMEOUT_MS)


def wait_loaded(page: Page) -> None:
    """After a navigation or reload: the fresh document says "notRunning" before its first run has even begun,
    so wait for the sidebar filters that every run draws, then for the run to finish."""
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]', timeout=TIMEOUT_MS)
    wait_done(page)


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    wait_loaded(page)


def click_nav(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
    wait_done(page)


def nav_titles(page: Page) -> list[str]:
    """The page titles of the sidebar navigation (the icon's ligature name is the first line of each link)."""
    nav = page.locator('[data-testid="stSidebarNavLink"]')
    expect(nav.first).to_be_visible()
    return [text.strip().split("\n")[-1].strip() for text in nav.all_inner_texts()]


def kpi(page: Page, label: str):
    """The value of the KPI card with this label (a locator, for expect's retries)."""
    card = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    )
    return card.locator('[data-testid="stMetricValue"]')


def country_select(page: Page):
    return page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Country")


def selected_countries(page: Page) -> list[str]:
    """The codes shown as tags in the sidebar's Country multiselect ("DE · Germany" -> "DE")."""
    tags = country_select(page).locator("[data-tag]")
    return [(tags.nth(i).get_attribute("aria-label") or "").split(" · ")[0] for i in range(tags.count())]


def expect_countries(page: Page, codes: list[str]) -> None:
    """The Country multiselect shows exactly these tags (retried, like expect(), while the page settles)."""
    expect(country_select(page).locator("[data-tag]")).to_have_count(len(codes), timeout=TIMEOUT_MS)
    assert selected_countries(page) == codes


def url_countries(page: Page) -> list[str]:
    query = urllib.parse.urlparse(page.url).query
    return urllib.parse.parse_qs(query).get("country", [])


def expect_no_errors(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)


def grid_rows(dataframe) -> list[list[str]]:
    """Cell texts of a st.dataframe: the grid draws on a canvas, but keeps an accessible table of the rows."""
    return dataframe.locator("table[role=grid]").evaluate(
        "t => [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th,td')].map(c => c.textContent.trim()))"
    )


PAGE_HEIGHT_JS = """() => {
    const height = id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight ?? 0;
    return Math.max(height("stMain"), height("stSidebarContent"), document.documentElement.scrollHeight);
}"""


def _settled_height(page: Page) -> int:
    """The page height once it stops changing (charts and tables size themselves after the script is done)."""
    height = -1
    for _ in range(25):
        now = int(page.evaluate(PAGE_HEIGHT_JS))
        if now == height:
            break
        height = now
        page.wait_for_timeout(400)
    return height


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot once the Plotly charts have drawn.

    The app scrolls inside stMain and the sidebar, not the document, so full_page alone would give the first
    screen only: the viewport is made as tall as the page for the shot (again if it grows with the viewport).
    """
    charts = page.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    height = VIEWPORT["height"]
    for _ in range(3):
        wanted = max(VIEWPORT["height"], _settled_height(page))
        if wanted == height:
            break
        height = wanted
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(800)  # Plotly redraws after the resize
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(VIEWPORT)
    return path


# ---------------------------------------------------------------- 1. the first request is a deep link


@pytest.fixture
def fresh_server(browser, tmp_path) -> Iterator[str]:
    """A server of its own, so that the deep link below is truly its first request (docs/ARCHITECTURE.md)."""
    with streamlit_server(tmp_path / "store", "fresh") as base:
        yield base


def test_first_request_deep_link_opens_in_frame_and_keeps_filter(fresh_server, page, sample_summary):
    de = sample_summary["by_country"]["DE"]

    open_page(page, f"{fresh_server}/opt_outs?country=DE")

    # Inside the frame: st.navigation's links (not the legacy pages/ nav with its extra "app" entry) and the
    # sidebar filter set from the URL.
    titles = nav_titles(page)
    assert "app" not in titles, titles
    assert all(titles.count(title) == 1 for _, title in PAGES.values()), titles
    expect(page.get_by_role("heading", level=1)).to_have_text("Opt-outs")
    expect_countries(page, ["DE"])
    expect(kpi(page, "Exposed partners")).to_have_text(f"{de['partners_exposed']:,}")
    expect_no_errors(page)

    click_nav(page, "Partner readiness")
    expect(page.get_by_role("heading", level=1)).to_have_text("Partner readiness")
    assert urllib.parse.urlparse(page.url).path == "/readiness"
    assert url_countries(page) == ["DE"]
    expect_countries(page, ["DE"])
    expect(kpi(page, "Partners assessed")).to_have_text(f"{de['partners_assessed']:,}")
    expect_no_errors(page)


# ---------------------------------------------------------------- 2. every page renders


def test_exposure_has_its_own_address_and_the_root_opens_it_with_the_links_filters(fresh_server, page):
    # /exposure as the very first request after a start (a bookmark), then the root URL of a shared link.
    open_page(page, f"{fresh_server}/exposure?country=AT")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exposure")
    assert urllib.parse.urlparse(page.url).path == "/exposure"
    expect_countries(page, ["AT"])
    expect_no_errors(page)

    open_page(page, f"{fresh_server}/?country=DE&country=AT")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exposure")
    page.wait_for_url(re.compile(r"/exposure\?"), timeout=TIMEOUT_MS)
    assert url_countries(page) == ["DE", "AT"]
    expect_countries(page, ["DE", "AT"])
    expect_no_errors(page)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_errors(server, page, name):
    path, title = PAGES[name]
    open_page(page, f"{server}{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect_no_errors(page)
    if name in KPI_PAGES:
        expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    assert screenshot(page, name).stat().st_size > 0
    expect_no_errors(page)


# ---------------------------------------------------------------- 3. the country filter through the UI


def test_country_filter_from_sidebar_narrows_kpis_goes_to_url_and_survives_reload(server, page, sample_summary):
    total = sample_summary["totals"]["subscriptions_in_scope"]
    de = sample_summary["by_country"]["DE"]["subscriptions_in_scope"]
    assert de != total

    open_page(page, f"{server}/")
    expect(kpi(page, "Subscriptions in scope")).to_have_text(f"{total:,}")
    assert url_countries(page) == []

    combobox = country_select(page).get_by_role("combobox")
    combobox.click()
    combobox.press_sequentially("DE")
    # Pick Germany itself: Streamlit's fuzzy filter also lists Denmark and Sweden for "DE", see the next test.
    page.get_by_role("option", name=re.compile(r"^DE · ")).click()
    page.keyboard.press("Escape")
    wait_done(page)

    expect(kpi(page, "Subscriptions in scope")).to_have_text(f"{de:,}")
    expect_countries(page, ["DE"])
    assert url_countries(page) == ["DE"]

    page.reload()
    wait_loaded(page)
    assert url_countries(page) == ["DE"]
    expect_countries(page, ["DE"])
    expect(kpi(page, "Subscriptions in scope")).to_have_text(f"{de:,}")
    expect_no_errors(page)


def test_typing_a_country_code_and_enter_selects_that_country_only(server, page):
    """What a champion does: click Country, type "DE", press Enter. They must get Germany, not DE, DK and SE."""
    open_page(page, f"{server}/")
    combobox = country_select(page).get_by_role("combobox")
    combobox.click()
    combobox.press_sequentially("DE")
    page.keyboard.press("Enter")
    wait_done(page)
    expect_countries(page, ["DE"])
    assert url_countries(page) == ["DE"]


# ---------------------------------------------------------------- 4. a German Excel CSV upload

# Counted by hand against the default programme (cutoff 11.07.2022; Bildung = education is exempt):
#   line 2  A-1001  DE  Gewerblich  30.06.2022  Ja    -> in scope, before the cutoff
#   line 3  A-1002  DE  Gewerblich  15.08.2022  Nein  -> in scope, after
#   line 4  A-1003  AT  Gewerblich  11.07.2022  Ja    -> in scope, after (the cutoff day itself)
#   line 5  A-1004  AT  Bildung     01.09.2022  Ja    -> exempt
#   line 6  A-1005  DE  Gewerblich  10.07.2022  Nein  -> in scope, before, lapse risk
#   line 7  A-1006  DE  Gewerblich  31.02.2022  Ja    -> rejected: no such date
# Accepted 5, rejected 1, subscriptions in scope 4, exempt 1.
GERMAN_ROWS = [
    "Abonnement-ID;Partner-ID;Partnername;Kunden-ID;Land;Segment;Lizenzen;Laufzeitende;Automatische Verlängerung",
    "A-1001;P-9001;Müller Systemhaus – Cloud GmbH;K-001;Deutschland;Gewerblich;10;30.06.2022;Ja",
    "A-1002;P-9001;Müller Systemhaus – Cloud GmbH;K-002;Deutschland;Gewerblich;5;15.08.2022;Nein",
    "A-1003;P-9002;Alpen IT KG;K-003;Österreich;Gewerblich;7;11.07.2022;Ja",
    "A-1004;P-9002;Alpen IT KG;K-004;Österreich;Bildung;20;01.09.2022;Ja",
    "A-1005;P-9003;Weiß Netzwerke OHG;K-005;Deutschland;Gewerblich;3;10.07.2022;Nein",
    "A-1006;P-9003;Weiß Netzwerke OHG;K-006;Deutschland;Gewerblich;4;31.02.2022;Ja",
]
GERMAN_ACCEPTED, GERMAN_REJECTED_LINE, GERMAN_IN_SCOPE, GERMAN_EXEMPT = 5, 7, 4, 1


def test_german_excel_csv_upload_lists_rejects_and_can_be_explored(server, page, tmp_path):
    upload = tmp_path / "Abonnements Export.csv"
    # cp1252 as Excel writes it: the en dash is byte 0x96, which latin-1 does not have.
    upload.write_bytes(("\r\n".join(GERMAN_ROWS) + "\r\n").encode("cp1252"))
    cli = cli_summary(upload)
    assert cli["ingest"]["accepted"]["subscriptions"] == GERMAN_ACCEPTED
    assert cli["ingest"]["rejected"] == 1
    assert cli["totals"]["subscriptions_in_scope"] == GERMAN_IN_SCOPE
    assert cli["totals"]["subscriptions_exempt"] == GERMAN_EXEMPT

    open_page(page, f"{server}/data")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(upload)
    wait_done(page)
    expect_no_errors(page)
    report = page.locator('[data-testid="stAlertContentSuccess"]')
    expect(report).to_contain_text(f"Accepted {GERMAN_ACCEPTED} subscriptions")
    expect(report).to_contain_text(re.compile(r"rejected 1 rows?\b"))
    screenshot(page, "data-german-upload")

    # The rejected row is listed with its line number, column and value.
    rejects = page.locator('[data-testid="stDataFrame"]').filter(has_text=header("reason")).first
    rows = grid_rows(rejects)
    listed = [dict(zip(rows[0], row, strict=False)) for row in rows[1:] if any(row)]
    line, column, value = header("line"), header("column"), header("value")
    assert [(r[line], r[column], r[value]) for r in listed] == [
        (str(GERMAN_REJECTED_LINE), "Laufzeitende", "31.02.2022")
    ], listed

    page.get_by_role("button", name=re.compile(r"^Explore .*\(only you see it\)$")).click()
    wait_done(page)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("your private upload")

    click_nav(page, "Exposure")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exposure")
    expect(kpi(page, "Subscriptions in scope")).to_have_text(f"{GERMAN_IN_SCOPE:,}")
    expect(kpi(page, "Exempt")).to_have_text(f"{GERMAN_EXEMPT:,}")
    expect_no_errors(page)
    screenshot(page, "exposure-german-upload")


# ---------------------------------------------------------------- 5. the call list download


def test_call_list_download_is_the_call_list(server, page):
    dataset = load_files(SAMPLE)
    expected = call_list(dataset.cursor(), Filters())
    assert len(expected) > 0

    open_page(page, f"{server}/readiness")
    # table() keys its buttons csv_<name>; Streamlit puts the key on the element as the class st-key-<key>.
    button = page.locator(".st-key-csv_call_list").get_by_role("button", name="CSV")
    expect(button).to_have_count(1)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "call_list.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the CSV must start with a UTF-8 BOM for Excel"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))

    partner_id, after_seats = header("partner_id"), header("after_seats")
    assert {partner_id, after_seats} <= set(rows[0]), list(rows[0])
    assert len(rows) == len(expected)
    seats = [float(r[after_seats]) for r in rows]
    assert seats == sorted(seats, reverse=True)
    assert rows[0][partner_id] == expected.iloc[0]["partner_id"]
    assert {r[partner_id] for r in rows} == set(expected["partner_id"])
    expect_no_errors(page)


# ---------------------------------------------------------------- refresh: publish, restart, German


def test_published_figures_survive_a_server_restart(browser, page, tmp_path):
    """Publish a snapshot into a store, restart `streamlit run` on it: the first page shows the published figures."""
    from analytics.store import Store

    upload = tmp_path / "weekly.csv"
    upload.write_text(
        "subscription_id,partner_id,customer_id,country,seats,term_end_date,auto_renew\n"
        "S1,P1,C1,DE,10,2022-08-01,true\nS2,P2,C2,AT,4,2022-05-01,false\nS3,P3,C3,FR,7,2022-09-01,true\n",
        encoding="utf-8",
    )
    store_path = tmp_path / "store"
    expected = cli_summary(upload)["totals"]["subscriptions_in_scope"]  # 3, counted by the CLI
    with streamlit_server(store_path, "before-restart") as base:
        Store(store_path).publish(load_files([upload]), [(upload.name, upload.stat().st_size)])
        open_page(page, base + "/")
        expect(kpi(page, "Subscriptions in scope")).to_have_text(f"{expected:,}")
    with streamlit_server(store_path, "after-restart") as base:
        open_page(page, base + "/opt_outs?country=DE")
        expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("weekly.csv")
        click_nav(page, "Exposure")
        expect(kpi(page, "Subscriptions in scope")).to_have_text("1")  # DE: S1 only
        screenshot(page, "exposure-after-restart")


def test_a_german_champion_sees_german_words_and_numbers(server, browser, sample_summary):
    """A browser set to German opens the dashboard in German; numbers use the German thousands mark."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        open_page(tab, server + "/readiness?country=DE")
        expect(tab.locator("h1").first).to_have_text("Partnerbereitschaft")
        assessed = sample_summary["by_country"]["DE"]["partners_assessed"]
        expect(kpi(tab, "Bewertete Partner")).to_have_text(f"{assessed:,}".replace(",", "."))
        tab.wait_for_timeout(1500)
        screenshot(tab, "readiness-german")
        click_nav(tab, "Betroffenheit")
        in_scope = sample_summary["by_country"]["DE"]["seats_in_scope"]
        expect(kpi(tab, "Betroffene Lizenzen")).to_have_text(f"{in_scope:,}".replace(",", "."))
        assert "country=DE" in tab.url  # German came from the browser, so the URL needs no lang=de
        tab.wait_for_timeout(1500)
        screenshot(tab, "exposure-german")
    finally:
        context.close()


# ---------------------------------------------------------------- text stays text (issue 16)


def test_markup_in_a_bookmark_a_file_name_and_partner_names_shows_as_text(browser, page, tmp_path, monkeypatch):
    """A link, an image, a heading in the URL's filters; Markdown in the snapshot's file names, its publisher and
    the programme's name; HTML in partner names. The browser draws no link or image to evil.example, fetches
    nothing from there, draws no heading, and shows the text literally."""
    from analytics.store import Store
    from tests.test_escape import LINK, PROGRAMME, PUBLISHER, write_export

    programme = tmp_path / "programme.toml"
    programme.write_text(
        f"name = {json.dumps(PROGRAMME)}\ncutoff = 2022-07-11\nopt_out_deadline = 2022-06-30\n"
        "readiness_deadline = 2022-06-30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RADAR_PROGRAMME", str(programme))
    store_path = tmp_path / "store"
    files = write_export(tmp_path)
    Store(store_path).publish(load_files(files), [(name, 1) for _, name in files], PUBLISHER)
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    query = urllib.parse.urlencode(
        [("partner", LINK), ("country", "![x](https://evil.example/pixel.png)"), ("segment", "\n\n# HACKED")]
    )
    with streamlit_server(store_path, "escape") as base:
        open_page(page, f"{base}/?partner={urllib.parse.quote(LINK)}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Exposure")
        expect(page.locator('[data-testid="stPlotlyChart"] .main-svg').first).to_be_attached()
        page.wait_for_timeout(1000)  # Plotly draws the tick labels after the script has finished
        shown = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
        assert f"partner contains “{LINK}”" in shown  # the page caption, literally
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")
        assert LINK in sidebar and PUBLISHER in sidebar and PROGRAMME in sidebar
        ticks = page.locator(".main-svg .ytick text").all_text_contents()
        assert any('<a href="https://evil.example/a">click</a>' in tick for tick in ticks), ticks
        screenshot(page, "escape-exposure")
        expect_no_markup(page)

        open_page(page, f"{base}/opt_outs?{query}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Opt-outs")
        shown = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
        assert "![X](HTTPS://EVIL.EXAMPLE/PIXEL.PNG)" in shown and "# hacked" in shown
        expect_no_markup(page)
    assert not [url for url in fetched if "evil.example" in (urllib.parse.urlparse(url).hostname or "")]


def expect_no_markup(page: Page) -> None:
    """No link or image to evil.example anywhere (Markdown, HTML or a Plotly <a>), no heading made of a value."""
    for selector in ("a[href*='evil.example' i]", "img[src*='evil.example' i]", "[*|href*='evil.example' i]"):
        expect(page.locator(selector)).to_have_count(0)
    headings = page.locator("h1, h2, h3, h4, h5, h6").all_inner_texts()
    assert not [h for h in headings if "hacked" in h.lower()], headings
    expect_no_errors(page)
