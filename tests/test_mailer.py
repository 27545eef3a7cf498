"""Sending notices through a real SMTP server started in the test (aiosmtpd): recipients, subject, UTF-8 body,
both attachments, the rate limit, the dry run, no double send, a refused recipient, STARTTLS and the login; and
the SMTP settings from config and environment."""

from __future__ import annotations

import csv
import io

import pytest
from python_calamine import CalamineWorkbook

from analytics import mailer, notices
from analytics.dataset import load_files
from analytics.errors import InputError
from analytics.mailer import SmtpSettings, smtp_settings
from analytics.metrics import Filters
from analytics.touchpoints import TouchpointLog
from tests.conftest import ROOT
from tests.mailserver import password_checker, smtp_server

FIXTURE = ROOT / "tests" / "fixtures" / "metrics"
SENDER = "NCE Team <nce@distributor.example>"
# tests/fixtures/metrics' partners with contact addresses; P4 has no partner row, so no address.
CONTACTS = {
    "P1": ("alpha@p1.example", ""),
    "P2": ("beta@p2.example", ""),
    "P3": ("gamma@p3.example", ""),
    "P5": ("epsilon@p5.example", ""),
    "P7": ("eta@p7.example", "en"),
    "P8": ("theta@p8.example", ""),
    "P9": ("iota@p9.example", ""),
}
FORMULA = "=SUM(1+1)"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The metrics fixture with contact addresses, and a customer name a spreadsheet would run as a formula."""
    folder = tmp_path_factory.mktemp("export")
    with (FIXTURE / "partners.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "partners.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "contact_email", "language"])
        writer.writeheader()
        for row in rows:
            address, language = CONTACTS.get(row["partner_id"], ("", ""))
            writer.writerow({**row, "contact_email": address, "language": language})
    text = (FIXTURE / "subscriptions.csv").read_text(encoding="utf-8").replace(",C01,Kunde 01,", f",C01,{FORMULA},")
    (folder / "subscriptions.csv").write_text(text, encoding="utf-8")
    return load_files([folder / "subscriptions.csv", folder / "partners.csv", FIXTURE / "customers.csv"])


@pytest.fixture(scope="module")
def built(dataset):
    return notices.build_notices(dataset.cursor(), dataset.programme, Filters())


@pytest.fixture
def log(tmp_path):
    return TouchpointLog(store=tmp_path)


def settings_for(server, **changes) -> SmtpSettings:
    base = SmtpSettings(host=server.host, port=server.port, starttls=False, sender=SENDER, rate_per_minute=6000)
    return SmtpSettings(**{**base.__dict__, **changes})


def send(built, server, log, **kw):
    options = {"snapshot": "snap-1", "template": "notice", "who": "Anna"}
    settings = kw.pop("settings", None) or settings_for(server)
    return mailer.send(built, settings, log, **{**options, **kw})


def by_recipient(server) -> dict:
    return {r.recipients[0]: r for r in server.received}


# ---------------------------------------------------------------- what arrives


def test_each_partner_with_an_address_gets_its_notice_with_subject_utf8_body_and_both_attachments(built, log):
    with smtp_server() as server:
        outcomes = send(built, server, log)
    assert {o.partner_id: o.status for o in outcomes} == {**dict.fromkeys(CONTACTS, "sent"), "P4": "no_address"}
    arrived = by_recipient(server)
    assert sorted(arrived) == sorted(address for address, _ in CONTACTS.values())
    assert all(len(r.recipients) == 1 for r in server.received)
    assert {r.sender for r in server.received} == {"nce@distributor.example"}

    alpha = arrived["alpha@p1.example"].message
    assert alpha["To"] == "alpha@p1.example"
    assert alpha["From"] == SENDER
    assert alpha["Subject"] == "Handlungsbedarf: Ihre Microsoft-CSP-Legacy-Abonnements – Alpha IT GmbH (P1)"
    assert "X-Unsent" not in alpha  # a sent message is no draft
    text = alpha.get_body()
    assert text.get_content_charset() == "utf-8"
    body = text.get_content()
    assert "Wir übernehmen das." in body and "Mit freundlichen Grüßen" in body
    assert "Juli 2022: 2 Abonnements, 18 Lizenzen" in body

    attachments = {part.get_filename(): part for part in alpha.iter_attachments()}
    assert sorted(attachments) == ["abonnements-P1.csv", "abonnements-P1.xlsx"]
    csv_part = attachments["abonnements-P1.csv"]
    assert csv_part.get_content_type() == "text/csv" and csv_part.get_content_charset() == "utf-8"
    table = list(csv.DictReader(io.StringIO(csv_part.get_payload(decode=True).decode("utf-8-sig"))))
    assert [r["Abonnement-ID"] for r in table] == ["S01", "S03", "S13", "S02"]
    assert table[0]["Kunde"] == "'" + FORMULA  # formula-safe
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(attachments["abonnements-P1.xlsx"].get_payload(decode=True)))
    rows = sheet.get_sheet_by_index(0).to_python()
    assert rows[1][0] == "S01" and rows[1][1] == "'" + FORMULA

    eta = arrived["eta@p7.example"].message  # language "en" in the partner data
    assert eta["Subject"].startswith("Action needed: your Microsoft CSP Legacy subscriptions")
    assert [p.get_filename() for p in eta.iter_attachments()] == ["subscriptions-P7.csv", "subscriptions-P7.xlsx"]


def test_every_message_sent_is_a_touchpoint(built, log):
    with smtp_server() as server:
        send(built, server, log)
    sent = log.entries(kinds=["sent"])
    assert sorted(sent["partner_id"]) == sorted(CONTACTS)
    assert set(sent["who"]) == {"Anna"} and set(sent["snapshot"]) == {"snap-1"} and set(sent["template"]) == {"notice"}
    assert dict(zip(sent["partner_id"], sent["recipient"], strict=True)) == {p: a for p, (a, _) in CONTACTS.items()}


def test_the_rate_limit_spaces_the_messages(built, log):
    with smtp_server() as server:
        send(built, server, log, settings=settings_for(server, rate_per_minute=240))  # one every 0.25 s
    times = sorted(r.at for r in server.received)
    assert len(times) == len(CONTACTS)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.25, gaps  # a message starts 0.25 s after the previous one was accepted, or later


def test_the_pacer_waits_only_for_what_is_left_of_the_interval():
    """The rate limit's clock arithmetic, with a clock the test moves: a message that took long to send leaves
    less to wait for the next; the first message never waits."""
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = mailer.Pacer(2.0, clock=lambda: now[0], sleep=sleep)
    pacer.wait()  # the first: no wait
    now[0] += 0.5  # sending took 0.5 s
    pacer.done()
    pacer.wait()  # 2 s after the first was done
    pacer.done()
    now[0] += 3.0  # building the next took longer than the interval
    pacer.wait()
    assert slept == [2.0]
    assert SmtpSettings(rate_per_minute=30).interval == 2.0


# ---------------------------------------------------------------- dry run and no double send


def test_the_dry_run_lists_who_would_get_what_and_sends_and_logs_nothing(built, log):
    with smtp_server() as server:
        planned = mailer.plan(built, log, "snap-1", "notice")
    assert server.received == []
    assert log.entries().empty
    by_partner = {o.partner_id: o for o in planned}
    assert by_partner["P1"].status == "will_send" and by_partner["P1"].recipient == "alpha@p1.example"
    assert by_partner["P1"].subject.startswith("Handlungsbedarf")
    assert (by_partner["P4"].status, by_partner["P4"].detail) == ("no_address", "missing")


def test_a_notice_is_not_sent_twice_for_the_same_partner_snapshot_and_template_unless_asked(built, log):
    with smtp_server() as server:
        send(built, server, log)
        assert len(server.received) == len(CONTACTS)
        again = send(built, server, log)
        assert len(server.received) == len(CONTACTS)  # nothing new
        assert {o.status for o in again if o.partner_id in CONTACTS} == {"already_sent"}
        assert {o.status for o in mailer.plan(built, log, "snap-1", "notice")} == {"already_sent", "no_address"}
        # Another snapshot or another template is another notice.
        send(built, server, log, snapshot="snap-2")
        assert len(server.received) == 2 * len(CONTACTS)
        send(built, server, log, resend=True)
        assert len(server.received) == 3 * len(CONTACTS)
    assert len(log.entries(kinds=["sent"])) == 3 * len(CONTACTS)


def test_a_refused_recipient_is_reported_for_its_partner_and_the_others_are_sent(built, log):
    with smtp_server(reject={"beta@p2.example"}) as server:
        outcomes = {o.partner_id: o for o in send(built, server, log)}
        assert outcomes["P2"].status == "failed"
        assert outcomes["P2"].detail.startswith("550 ") and "mailbox unavailable" in outcomes["P2"].detail
        assert sorted(r.recipients[0] for r in server.received) == sorted(
            address for pid, (address, _) in CONTACTS.items() if pid != "P2"
        )
        failed = log.entries(kinds=["failed"])
        assert list(failed["partner_id"]) == ["P2"] and failed["detail"].iloc[0].startswith("550")
        # A failed notice was not sent: the next run tries it again, and only it.
        server.handler.reject.clear()
        retry = {o.partner_id: o.status for o in send(built, server, log)}
    assert retry["P2"] == "sent"
    assert [r.recipients for r in server.received][-1] == ["beta@p2.example"]


# ---------------------------------------------------------------- the connection


def test_starttls_required_but_not_offered_refuses_before_anything_is_sent(built, log):
    with smtp_server() as server, pytest.raises(InputError, match="cannot send through") as refused:
        send(built, server, log, settings=settings_for(server, starttls=True))
    assert refused.value.code == "smtp_connect"
    assert server.received == [] and log.entries().empty


# aiosmtpd warns that a login without TLS is unsafe: this server only ever listens on 127.0.0.1 in a test.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_login_uses_the_user_and_the_password_from_the_environment(built, log, monkeypatch):
    monkeypatch.setenv("RADAR_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("RADAR_SMTP_USER", "radar")
    configured = smtp_settings()
    assert configured.password == "s3cret" and "s3cret" not in repr(configured)
    with smtp_server(authenticator=password_checker("radar", "s3cret")) as server:
        good = settings_for(server, user=configured.user, password=configured.password)
        send(built, server, log, settings=good)
        assert len(server.received) == len(CONTACTS)
        with pytest.raises(InputError, match="535"):
            send(built, server, log, settings=settings_for(server, user="radar", password="wrong"), resend=True)
    assert len(server.received) == len(CONTACTS)


def test_an_unreachable_server_is_an_input_error_and_nothing_is_logged(built, log):
    from tests.mailserver import free_port

    settings = SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, sender=SENDER, timeout=5)
    with pytest.raises(InputError, match="cannot send through 127.0.0.1"):
        mailer.send(built, settings, log, snapshot="s", template="notice", who="Anna")
    assert log.entries().empty


def test_a_second_send_at_the_same_time_is_refused(built, log):
    with smtp_server() as server, mailer._one_sender(log), pytest.raises(InputError) as busy:
        send(built, server, log)
    assert busy.value.code == "send_busy"
    assert server.received == []


def test_sending_needs_a_host_and_a_sender(built, log):
    with pytest.raises(InputError, match="no SMTP server configured") as missing:
        mailer.send(built, SmtpSettings(), log, snapshot="s", template="notice", who="Anna")
    assert missing.value.code == "smtp_missing"


# ---------------------------------------------------------------- settings


def write_config(tmp_path, text: str):
    path = tmp_path / "server.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_smtp_settings_come_from_the_config_file_and_the_environment_overrides_each(tmp_path, monkeypatch):
    for name in ("HOST", "PORT", "STARTTLS", "FROM", "USER", "PASSWORD"):
        monkeypatch.delenv(f"RADAR_SMTP_{name}", raising=False)
    path = write_config(
        tmp_path,
        '[smtp]\nhost = "mail.distributor.example"\nport = 2525\nstarttls = false\nfrom = "nce@distributor.example"\n'
        'user = "radar"\nrate_per_minute = 12\n',
    )
    configured = smtp_settings(path)
    assert (configured.host, configured.port, configured.starttls, configured.sender, configured.user) == (
        "mail.distributor.example",
        2525,
        False,
        "nce@distributor.example",
        "radar",
    )
    assert configured.interval == 5.0 and configured.password == ""
    monkeypatch.setenv("RADAR_SMTP_HOST", "relay.example")
    monkeypatch.setenv("RADAR_SMTP_PORT", "587")
    monkeypatch.setenv("RADAR_SMTP_STARTTLS", "true")
    monkeypatch.setenv("RADAR_SMTP_FROM", "Radar <radar@relay.example>")
    monkeypatch.setenv("RADAR_SMTP_USER", "")
    overridden = smtp_settings(path, password="from-secrets")
    assert (overridden.host, overridden.port, overridden.starttls, overridden.sender, overridden.user) == (
        "relay.example",
        587,
        True,
        "Radar <radar@relay.example>",
        "",
    )
    assert overridden.password == "from-secrets"  # Streamlit secrets, when the environment has none
    monkeypatch.setenv("RADAR_SMTP_PASSWORD", "from-env")
    assert smtp_settings(path, password="from-secrets").password == "from-env"


@pytest.mark.parametrize(
    ("text", "env", "code"),
    [
        ('[smtp]\npassword = "x"\n', {}, "smtp_password_in_config"),
        ("[smtp]\nport = 70000\n", {}, "smtp_port"),
        ("", {"RADAR_SMTP_PORT": "25a"}, "smtp_port"),
        ("", {"RADAR_SMTP_STARTTLS": "maybe"}, "smtp_starttls"),
        ("", {"RADAR_SMTP_FROM": "a@x.example, b@x.example"}, "smtp_from"),
        ("", {"RADAR_SMTP_FROM": "a@x.example\r\nBcc: b@x.example"}, "smtp_from"),
        ("[smtp]\nrate_per_minute = 0\n", {}, "smtp_rate"),
    ],
)
def test_wrong_smtp_settings_are_refused_with_a_reason(tmp_path, monkeypatch, text, env, code):
    for name in ("HOST", "PORT", "STARTTLS", "FROM", "USER", "PASSWORD"):
        monkeypatch.delenv(f"RADAR_SMTP_{name}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InputError) as refused:
        smtp_settings(write_config(tmp_path, text))
    assert refused.value.code == code


def test_the_bundled_config_sends_nowhere_until_the_operator_says_where(monkeypatch):
    for name in ("HOST", "PORT", "STARTTLS", "FROM", "USER", "PASSWORD"):
        monkeypatch.delenv(f"RADAR_SMTP_{name}", raising=False)
    monkeypatch.delenv("RADAR_CONFIG", raising=False)
    bundled = smtp_settings()
    assert not bundled.configured and bundled.starttls and bundled.port == 587 and bundled.rate_per_minute == 30
