"""AppTest of the Notices page and the partner view (through app.py, as tests/test_pages.py runs pages): the figures
equal analytics', a dry run then a send through a real SMTP server, the publish key, a call recorded and seen on
the call list, both languages, and hostile values shown as text."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from analytics import metrics, notices
from analytics.dataset import load_files
from analytics.metrics import Filters
from analytics.touchpoints import TouchpointLog
from tests.conftest import ROOT, SAMPLE, open_app_page
from tests.mailserver import smtp_server
from tests.test_escape import LINK, PARTNERS, assert_text_only, hostile_store, markdown_texts  # noqa: F401
from tests.test_i18n import DATA, visible_texts
from ui.text import md

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def sample():
    return load_files(SAMPLE)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store of its own (the bundled sample is shown), so the touchpoint log starts empty."""
    monkeypatch.setenv("RADAR_STORE", str(tmp_path / "store"))
    for name in ("HOST", "PORT", "STARTTLS", "FROM", "USER", "PASSWORD"):
        monkeypatch.delenv(f"RADAR_SMTP_{name}", raising=False)
    monkeypatch.delenv("RADAR_PUBLISH_KEY", raising=False)
    return tmp_path / "store"


def run_page(page: str, **params) -> AppTest:
    return open_app_page(page, timeout=180, **params)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label.startswith(label))


# ---------------------------------------------------------------- the Notices page


@pytest.mark.parametrize("country", [None, "DE"])
def test_the_notices_page_counts_what_analytics_counts_and_previews_the_first_notice(store, sample, country):
    filters = Filters(countries=(country,) if country else ())
    expected = metrics.notice_partners(sample.cursor(), filters)
    at = run_page("notices", **({"country": [country]} if country else {}))
    assert at.title[0].value == "Notices"
    assert metric(at, "Partners to notify") == f"{len(expected):,}"
    with_address = sum(notices.valid_address(a) is not None for a in expected["contact_email"])
    assert metric(at, "With a usable address") == f"{with_address:,}"
    assert metric(at, "Already sent") == "0"
    assert metric(at, "Lapse-risk subscriptions") == f"{int(expected['lapse_risk_subscriptions'].sum()):,}"
    first = expected["partner_id"].iloc[0]
    preview = notices.build_notice(sample.cursor(), sample.programme, filters, first)
    assert at.selectbox[-1].value == first
    assert at.code[0].value == preview.body.rstrip("\n")  # shown as text (a code block), never as Markdown
    assert next(t for t in at.text_input if t.label == "Subject").value == preview.subject
    listed = next(d.value for d in at.dataframe if "address_problem" in d.value.columns)
    assert len(listed) == len(expected)
    assert (
        listed["partner_id"].iloc[0]
        == f"partner?partner_id={first}" + (f"&country={country}" if country else "") + "&lang=en"
    )  # a link to the partner view with this selection


def test_choosing_another_partner_previews_its_notice(store, sample):
    at = run_page("notices")
    chosen = "P-0106"
    at.selectbox[-1].set_value(chosen).run()
    assert not at.exception
    expected = notices.build_notice(sample.cursor(), sample.programme, Filters(), chosen)
    assert at.code[0].value == expected.body.rstrip("\n") and "Böhm EDV-Beratung e.K." in expected.body


def test_without_smtp_the_page_says_so_and_sending_is_off(store):
    at = run_page("notices")
    assert any("No SMTP server is configured" in i.value for i in at.info)
    assert button(at, "Send the notices").disabled


def smtp_to(monkeypatch, tmp_path, server) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[smtp]\nrate_per_minute = 6000\n", encoding="utf-8")
    monkeypatch.setenv("RADAR_CONFIG", str(config))
    monkeypatch.setenv("RADAR_SMTP_HOST", server.host)
    monkeypatch.setenv("RADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("RADAR_SMTP_STARTTLS", "false")
    monkeypatch.setenv("RADAR_SMTP_FROM", "nce@distributor.example")


def test_dry_run_first_then_send_then_nothing_twice(store, sample, monkeypatch, tmp_path):
    filters = Filters(countries=("AT",))
    expected = notices.build_notices(sample.cursor(), sample.programme, filters)
    addressed = [n for n in expected if n.recipient]
    assert len(addressed) > 3
    with smtp_server() as server:
        smtp_to(monkeypatch, tmp_path, server)
        at = run_page("notices", country=["AT"])
        assert button(at, "Send the notices").disabled  # no dry run yet
        next(t for t in at.text_input if t.label.startswith("Your name")).set_value("Anna Berger").run()
        button(at, "Dry run").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert server.received == []  # the dry run sends nothing
        summary = next(s.value for s in at.success if s.value.startswith("Dry run"))
        assert summary.startswith(f"Dry run: {len(addressed)} would be sent, 0 were sent already")
        send = button(at, f"Send {len(addressed)} notices")
        assert not send.disabled
        send.click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert sorted(r.recipients[0] for r in server.received) == sorted(n.recipient for n in addressed)
        assert any(s.value == f"{len(addressed)} notices sent." for s in at.success)
        assert metric(at, "Already sent") == str(len(addressed))

        # Again: the dry run finds everything sent, and Send has nothing to do.
        button(at, "Dry run").click().run()
        assert button(at, "Send 0 notices").disabled
        # Unless asked to send again.
        next(c for c in at.checkbox if c.label.startswith("Send again")).check().run()
        button(at, "Dry run").click().run()
        button(at, f"Send {len(addressed)} notices").click().run()
        assert len(server.received) == 2 * len(addressed)
    sent = TouchpointLog(store=store).entries(kinds=["sent"])
    assert len(sent) == 2 * len(addressed) and set(sent["who"]) == {"Anna Berger"}


def test_sending_is_behind_the_publish_key_when_one_is_set(store, monkeypatch, tmp_path):
    monkeypatch.setenv("RADAR_PUBLISH_KEY", "let-me-send")
    with smtp_server() as server:
        smtp_to(monkeypatch, tmp_path, server)
        at = run_page("notices", country=["AT"])
        next(t for t in at.text_input if t.label.startswith("Your name")).set_value("Anna").run()
        button(at, "Dry run").click().run()
        next(t for t in at.text_input if t.label.startswith("Publish key")).set_value("wrong").run()
        button(at, "Send ").click().run()
        assert any("Wrong publish key" in e.value for e in at.error)
        assert server.received == []
        next(t for t in at.text_input if t.label.startswith("Publish key")).set_value("let-me-send").run()
        button(at, "Send ").click().run()
        assert len(server.received) > 0


def test_a_refused_recipient_is_shown_for_its_partner_and_the_rest_are_sent(store, sample, monkeypatch, tmp_path):
    addressed = [n for n in notices.build_notices(sample.cursor(), sample.programme, Filters(("AT",))) if n.recipient]
    refused = addressed[1]
    with smtp_server(reject={refused.recipient}) as server:
        smtp_to(monkeypatch, tmp_path, server)
        at = run_page("notices", country=["AT"])
        next(t for t in at.text_input if t.label.startswith("Your name")).set_value("Anna").run()
        button(at, "Dry run").click().run()
        button(at, "Send ").click().run()
    assert any(w.value.startswith(f"{len(addressed) - 1} notices sent, 1 failed") for w in at.warning)
    result = next(d.value for d in at.dataframe if "detail" in d.value.columns and "status" in d.value.columns)
    failed = result[result["status"] == "failed"]
    assert list(failed["partner_name"]) == [refused.partner_name] and failed["detail"].iloc[0].startswith("550")
    assert len(server.received) == len(addressed) - 1


# ---------------------------------------------------------------- the partner view


def test_the_partner_view_shows_one_partners_subscriptions_steps_opt_out_and_notice(store, sample):
    partner = "P-0106"
    at = run_page("partner", partner_id=partner)
    assert at.title[0].value == md("Böhm EDV-Beratung e.K.")
    subs = metrics.partner_subscriptions(sample.cursor(), Filters(), partner)
    in_scope = subs[subs["scope"] == "in_scope"]
    assert metric(at, "After cutoff") == str(int((in_scope["side"] == "after").sum()))
    assert metric(at, "Lapse risk") == str(int(in_scope["lapse_risk"].sum()))
    assert metric(at, "Projected to migrate") == str(int(in_scope["projected"].sum()))
    assert metric(at, "Readiness steps done") == "4 / 4"
    listed = next(d.value for d in at.dataframe if "subscription_id" in d.value.columns)
    assert list(listed["subscription_id"]) == list(subs["subscription_id"])
    notice = notices.build_notice(sample.cursor(), sample.programme, Filters(), partner)
    assert at.code[0].value == notice.body.rstrip("\n")
    assert at.query_params["partner_id"] in (partner, [partner])


def test_a_call_recorded_on_the_partner_view_is_logged_and_shown_on_the_call_list(store, sample):
    partner = metrics.call_list(sample.cursor(), Filters())["partner_id"].iloc[3]
    at = run_page("partner", partner_id=partner)
    next(t for t in at.text_input if t.label.startswith("Your name")).set_value("Anna Berger").run()
    at.selectbox(key="call_outcome").set_value("will_complete_steps")
    at.text_area(key="call_note").set_value("Signs the MPA on Monday")
    next(b for b in at.button if b.label == "Save the call").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "Call saved: will complete the steps." for s in at.success)
    (entry,) = TouchpointLog(store=store).entries(partner_id=partner).to_dict("records")
    assert (entry["kind"], entry["outcome"], entry["note"], entry["who"]) == (
        "call",
        "will_complete_steps",
        "Signs the MPA on Monday",
        "Anna Berger",
    )
    touchpoints = next(d.value for d in at.dataframe if "outcome" in d.value.columns)
    assert list(touchpoints["outcome"]) == ["will complete the steps"]

    calls = run_page("readiness", partner=partner)
    listed = next(d.value for d in calls.dataframe if "missing" in d.value.columns)
    assert listed["last_outcome"].tolist() == ["will complete the steps"]
    assert listed["last_touch_kind"].tolist() == ["call"]
    # "Not touched in the last 7 days" leaves it out; the other partners stay.
    calls = run_page("readiness")
    whole = next(d.value for d in calls.dataframe if "missing" in d.value.columns)
    calls.number_input(key="not_touched_days").set_value(7).run()
    narrowed = next(d.value for d in calls.dataframe if "missing" in d.value.columns)
    assert len(narrowed) == len(whole) - 1
    assert not narrowed["partner_id"].str.contains(f"partner_id={partner}&", regex=False).any()


def test_a_call_needs_a_name(store, sample):
    partner = metrics.call_list(sample.cursor(), Filters())["partner_id"].iloc[0]
    at = run_page("partner", partner_id=partner)
    next(b for b in at.button if b.label == "Save the call").click().run()
    assert any("Say who made the call" in e.value for e in at.error)
    assert TouchpointLog(store=store).entries().empty


def test_the_partner_view_without_a_partner_or_with_an_unknown_one_explains(store):
    at = run_page("partner")
    assert at.title[0].value == "Partner view" and any("Choose a partner" in i.value for i in at.info)
    at = run_page("partner", partner_id="NO-SUCH-PARTNER")
    assert any("No partner with the id NO\\-SUCH\\-PARTNER" in w.value for w in at.warning)


def test_picking_a_partner_in_the_view_puts_it_in_the_url(store):
    at = run_page("partner")
    at.selectbox(key="w_partner_view").set_value("P-0106").run()
    assert not at.exception
    assert at.query_params["partner_id"] in ("P-0106", ["P-0106"])
    assert at.title[0].value == md("Böhm EDV-Beratung e.K.")


# ---------------------------------------------------------------- languages and hostile values


@pytest.mark.parametrize(("page", "params"), [("notices", {}), ("partner", {"partner_id": "P-0106"})])
def test_no_visible_text_bypasses_the_catalog_under_a_pseudo_locale(store, page, params):
    at = run_page(page, lang="qps", **params)
    data = {md("Böhm EDV-Beratung e.K.")}  # the partner view's title is the partner's name
    untranslated = [t for t in visible_texts(at) if "⟦" not in t and not DATA.match(t) and t not in data]
    assert untranslated == []


def test_the_pages_in_german(store):
    at = run_page("notices", lang="de", country=["DE"])
    assert at.title[0].value == "Benachrichtigungen"
    assert "Zu benachrichtigen" in [m.label for m in at.metric]
    assert at.code[0].value.startswith("Sehr geehrte Damen und Herren,")  # a German partner's notice
    at = run_page("partner", lang="de", partner_id="P-0001")
    assert "Nach dem Stichtag" in [m.label for m in at.metric]
    assert at.code[0].value.startswith("Dear Sir or Madam,")  # a British partner gets English whatever the UI says


@pytest.mark.parametrize(
    ("page", "params"),
    [
        ("notices", {}),
        ("notices", {"partner": LINK}),
        ("partner", {"partner_id": "P-1"}),
        ("partner", {"partner_id": "P-3"}),
        ("partner", {"partner_id": f"{LINK}\n\n# HACKED"}),
    ],
)
def test_hostile_partner_names_and_ids_are_shown_as_text(hostile_store, page, params):  # noqa: F811
    at = run_page(page, **params)
    texts = markdown_texts(at)
    assert_text_only(texts)
    joined = "\n".join(texts)
    if params.get("partner_id") in PARTNERS:
        assert md(PARTNERS[params["partner_id"]][0]) in joined  # the title: the name, escaped
