"""`python -m analytics notify` and `touchpoints` on a published snapshot: the list (dry run), drafts into a folder,
sending through a real SMTP server (aiosmtpd) once per partner, snapshot and template, failures per partner, and
the exit codes of the other verbs (2 bad input, 1 when something could not be done)."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import subprocess
import sys

import pytest

from analytics.cli import main
from analytics.dataset import load_files
from analytics.store import Store
from tests.conftest import ROOT
from tests.mailserver import smtp_server
from tests.test_mailer import CONTACTS, FIXTURE

SENDER = "nce@distributor.example"


@pytest.fixture
def store(tmp_path):
    """A store with the metrics fixture (with contact addresses, tests/test_mailer.py) published."""
    folder = tmp_path / "export"
    folder.mkdir()
    with (FIXTURE / "partners.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "partners.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "contact_email", "language"])
        writer.writeheader()
        for row in rows:
            address, language = CONTACTS.get(row["partner_id"], ("", ""))
            writer.writerow({**row, "contact_email": address, "language": language})
    files = [FIXTURE / "subscriptions.csv", folder / "partners.csv", FIXTURE / "customers.csv"]
    store = Store(tmp_path / "store")
    store.publish(load_files(files), [(f.name, f.stat().st_size) for f in files])
    return store


@pytest.fixture
def smtp_env(tmp_path, monkeypatch):
    """Point the SMTP settings at a test server: a config file with a fast rate, the host and sender from the
    environment (as an operator would override them)."""

    def point_at(server):
        config = tmp_path / "server.toml"
        config.write_text("[smtp]\nrate_per_minute = 6000\n", encoding="utf-8")
        monkeypatch.setenv("RADAR_CONFIG", str(config))
        monkeypatch.setenv("RADAR_SMTP_HOST", server.host)
        monkeypatch.setenv("RADAR_SMTP_PORT", str(server.port))
        monkeypatch.setenv("RADAR_SMTP_STARTTLS", "false")
        monkeypatch.setenv("RADAR_SMTP_FROM", SENDER)
        monkeypatch.delenv("RADAR_SMTP_USER", raising=False)

    return point_at


def run(capsys, *args) -> tuple[int, dict | list | str]:
    code = main(list(args))
    out = capsys.readouterr().out
    return code, (json.loads(out) if "--json" in args else out)


def statuses(doc: dict) -> dict[str, str]:
    return {n["partner_id"]: n["status"] for n in doc["notices"]}


def test_notify_without_an_action_lists_who_would_get_what_and_logs_nothing(store, capsys):
    code, doc = run(capsys, "notify", "--store", str(store.path), "--json")
    assert code == 0
    assert doc["snapshot"] == store.current_id() and doc["template"] == "notice"
    assert statuses(doc) == {**dict.fromkeys(CONTACTS, "will_send"), "P4": "no_address"}
    p1 = next(n for n in doc["notices"] if n["partner_id"] == "P1")
    assert (p1["recipient"], p1["language"], p1["migrating_subscriptions"], p1["migrating_seats"]) == (
        "alpha@p1.example",
        "de",
        4,
        38,
    )
    code, log = run(capsys, "touchpoints", "--store", str(store.path), "--json")
    assert (code, log) == (0, [])


def test_notify_country_narrows_to_that_countrys_partners(store, capsys):
    code, doc = run(capsys, "notify", "--store", str(store.path), "--country", "at", "--json")
    assert code == 0 and doc["countries"] == ["AT"]
    assert sorted(statuses(doc)) == ["P1", "P3", "P7", "P9"]


def test_notify_out_writes_one_eml_per_partner_and_the_mailmerge_file_and_logs_them_as_drafted(
    store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("RADAR_SMTP_FROM", SENDER)  # the drafts' From, when the operator configured one
    out = tmp_path / "drafts"
    code, text = run(capsys, "notify", "--store", str(store.path), "--out", str(out))
    assert code == 0
    assert "wrote 8 drafts and mailmerge.csv" in text
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{p}.eml" for p in [*CONTACTS, "P4"]), "mailmerge.csv"])
    draft = email.message_from_bytes((out / "P7.eml").read_bytes(), policy=email.policy.default)
    assert (draft["To"], draft["From"], draft["X-Unsent"]) == ("eta@p7.example", SENDER, "1")
    assert draft["Subject"].startswith("Action needed")
    merge = list(csv.DictReader((out / "mailmerge.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(merge) == 8
    code, log = run(capsys, "touchpoints", "--store", str(store.path), "--json")
    assert sorted(e["partner_id"] for e in log) == sorted([*CONTACTS, "P4"])
    assert {e["kind"] for e in log} == {"drafted"} and all(e["who"].endswith("(command line)") for e in log)


def test_notify_send_sends_once_then_skips_unless_resend(store, smtp_env, capsys):
    with smtp_server() as server:
        smtp_env(server)
        code, doc = run(capsys, "notify", "--store", str(store.path), "--send", "--json")
        assert code == 0
        assert statuses(doc) == {**dict.fromkeys(CONTACTS, "sent"), "P4": "no_address"}
        assert sorted(r.recipients[0] for r in server.received) == sorted(a for a, _ in CONTACTS.values())

        code, doc = run(capsys, "notify", "--store", str(store.path), "--send", "--json")
        assert code == 0 and len(server.received) == len(CONTACTS)
        assert {s for p, s in statuses(doc).items() if p in CONTACTS} == {"already_sent"}

        code, doc = run(capsys, "notify", "--store", str(store.path), "--send", "--dry-run", "--resend", "--json")
        assert code == 0 and len(server.received) == len(CONTACTS)  # a dry run sends nothing
        assert doc["totals"]["will_send"] == len(CONTACTS)

        code, text = run(capsys, "notify", "--store", str(store.path), "--send", "--resend")
        assert code == 0 and len(server.received) == 2 * len(CONTACTS)
        assert "sent: 7" in text
    code, log = run(capsys, "touchpoints", "--store", str(store.path), "--partner", "P1", "--json")
    assert [e["kind"] for e in log] == ["sent", "sent"]


def test_notify_send_reports_a_refused_recipient_and_exits_1(store, smtp_env, capsys):
    with smtp_server(reject={"gamma@p3.example"}) as server:
        smtp_env(server)
        code, doc = run(capsys, "notify", "--store", str(store.path), "--send", "--json")
    assert code == 1
    failed = [n for n in doc["notices"] if n["status"] == "failed"]
    assert [(n["partner_id"], n["detail"][:3]) for n in failed] == [("P3", "550")]
    assert doc["totals"]["sent"] == len(CONTACTS) - 1 and len(server.received) == len(CONTACTS) - 1


def test_touchpoints_lists_calls_and_notices_as_text(store, capsys):
    from analytics.touchpoints import TouchpointLog

    TouchpointLog(store=store.path).record_call("P1", "will_opt_out", "Sends the form\ntoday", "Anna")
    code, text = run(capsys, "touchpoints", "--store", str(store.path))
    assert code == 0
    assert "P1" in text and "call" in text and "will_opt_out" in text and "Anna" in text
    code, text = run(capsys, "touchpoints", "--store", str(store.path), "--partner", "P2")
    assert text.strip() == "no touchpoints"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "analytics", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_bad_input_exits_2_with_one_line_and_no_traceback(store, tmp_path):
    empty = cli("notify", "--store", str(tmp_path / "nothing-published"))
    assert empty.returncode == 2 and "no published snapshot" in empty.stderr
    template = cli("notify", "--store", str(store.path), "--template", "missing")
    assert template.returncode == 2 and "notice template missing.de.subject.txt not found" in template.stderr
    no_smtp = cli(
        "notify", "--store", str(store.path), "--send",
        env={"RADAR_SMTP_HOST": "", "RADAR_SMTP_FROM": "", "RADAR_CONFIG": str(tmp_path / "none.toml")},
    )  # fmt: skip
    assert no_smtp.returncode == 2 and "no SMTP server configured" in no_smtp.stderr
    limit = cli("touchpoints", "--store", str(store.path), "--limit", "0")
    assert limit.returncode == 2
    for done in (empty, template, no_smtp, limit):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
