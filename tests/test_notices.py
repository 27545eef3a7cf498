"""Notices (PRODUCT.md section 8): who gets one, what it says (counted by hand on tests/fixtures/metrics), that it
says what the dashboard shows, in which language, and that partner data never becomes template code, markup or a
mail header."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import zipfile
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError
from python_calamine import CalamineWorkbook

from analytics import metrics, notices
from analytics.dataset import load_files
from analytics.errors import InputError
from analytics.metrics import Filters
from tests.conftest import ROOT, SAMPLE

FIXTURE = ROOT / "tests" / "fixtures" / "metrics"


@pytest.fixture(scope="module")
def fixture_dataset():
    return load_files([FIXTURE / "subscriptions.csv", FIXTURE / "partners.csv", FIXTURE / "customers.csv"])


@pytest.fixture(scope="module")
def sample_dataset():
    return load_files(SAMPLE)


def by_partner(dataset, filters: Filters | None = None) -> dict[str, notices.Notice]:
    built = notices.build_notices(dataset.cursor(), dataset.programme, filters or Filters())
    return {n.partner_id: n for n in built}


def listed(notice: notices.Notice) -> dict[str, tuple[str, object]]:
    """Subscription id -> (what the notice says of it, the day) from the notice's attachment rows."""
    return {
        r["subscription_id"]: (r["notice_status"], str(r["notice_date"]))
        for r in notice.subscriptions.to_dict("records")
    }


# ---------------------------------------------------------------- who gets a notice, and what it says (by hand)

# tests/fixtures/metrics against the default programme (cutoff 2022-07-11, opt-out deadline 2022-06-30):
#   P1 Alpha (DE, ready, no opt-out): S01 ends on the cutoff day -> after, migrates 2022-07; S02 ends the day before,
#      annual, auto-renew -> renewed to 2023-07-10, migrates 2023-07; S03 monthly from 2022-01-31 -> renewed to
#      2022-07-31, migrates 2022-07; S13 (AT) after, migrates 2022-11. S10 is NCE, S11 suspended: not named.
#   P2 Beta (DE, opted out on the deadline): S04 after -> ends 2022-09-30; S05 monthly from 2022-03-15 -> renewed
#      to 2022-07-15, ends then; S12 has no term end. Nothing lapses.
#   P3 Gamma (AT, opted out late): S18 before the cutoff with auto-renew off -> lapses 2022-05-05; S14 ends
#      2022-08-31 without renewal. Steps 2-4 open.
#   P4 Delta (no partner row): S06 after -> 2022-08; S07 monthly from 2022-06-10 -> 2022-08-10. English (no country).
#   P5 Epsilon (CH, opted out): S20 lapses 2022-04-30; S24 is nonprofit (exempt).
#   P6 Zeta: no subscription -> no notice.
#   P7 Eta (AT): S15 after -> 2022-07; S16 annual from 2021-09-15 -> 2022-09-15. S17 government, S19 deleted.
#   P8 Theta (DE): S08 after (auto-renew off does not matter after the cutoff) -> 2022-10; S09 education.
#   P9 Iota (CH): S21 monthly from 2022-02-28 -> 2022-07-28; S22 auto-renew unknown: not named; S23 unknown term
#      (annual) from 2021-12-01 -> 2022-12-01; S25 (AT) after -> 2022-08. Step 4 derived: C23 has not accepted.
EXPECTED = {
    "P1": {
        "S01": ("migrates", "2022-07-11"),
        "S03": ("migrates", "2022-07-31"),
        "S13": ("migrates", "2022-11-30"),
        "S02": ("migrates", "2023-07-10"),
    },
    "P2": {"S05": ("ends", "2022-07-15"), "S04": ("ends", "2022-09-30")},
    "P3": {"S18": ("lapse_risk", "2022-05-05"), "S14": ("ends", "2022-08-31")},
    "P4": {"S07": ("migrates", "2022-08-10"), "S06": ("migrates", "2022-08-15")},
    "P5": {"S20": ("lapse_risk", "2022-04-30")},
    "P7": {"S15": ("migrates", "2022-07-20"), "S16": ("migrates", "2022-09-15")},
    "P8": {"S08": ("migrates", "2022-10-01")},
    "P9": {"S21": ("migrates", "2022-07-28"), "S25": ("migrates", "2022-08-05"), "S23": ("migrates", "2022-12-01")},
}


def test_every_partner_with_lapse_risk_or_after_cutoff_subscriptions_gets_a_notice_naming_exactly_those(
    fixture_dataset,
):
    found = by_partner(fixture_dataset)
    assert set(found) == set(EXPECTED)  # P6 has nothing to say; the subscription without a partner is nobody's
    for partner, subscriptions in EXPECTED.items():
        assert listed(found[partner]) == subscriptions, partner


def test_the_months_of_migration_are_in_the_notice_counted_by_hand(fixture_dataset):
    body = by_partner(fixture_dataset)["P1"].body
    assert "Juli 2022: 2 Abonnements, 18 Lizenzen" in body  # S01 (10) and S03 (8)
    assert "November 2022: 1 Abonnement, 15 Lizenzen" in body  # S13
    assert "Juli 2023: 1 Abonnement, 5 Lizenzen" in body  # S02, renewed once
    assert body.index("Juli 2022:") < body.index("November 2022:") < body.index("Juli 2023:")
    assert "ABONNEMENTS, DIE WIR ZU NCE MIGRIEREN (4, 38 Lizenzen)" in body
    assert (
        "  - Kunde 03: Angebot ohne Namen, 8 Lizenzen,\n"
        "    Laufzeitende 31.01.2022, bis 31.07.2022 zu Legacy-Bedingungen verlängert (Abonnement S03)"
    ) in body
    assert "ERSATZLOS" not in body  # nothing lapses
    assert "NOCH OFFENE SCHRITTE" not in body  # all four steps done


def test_an_opted_out_partner_is_told_its_subscriptions_end_without_renewal(fixture_dataset):
    notice = by_partner(fixture_dataset)["P3"]
    assert notice.opted_out
    assert "ABONNEMENTS, DIE OHNE VERLÄNGERUNG ENDEN (1, 25 Lizenzen)" in notice.body
    assert "Kunde 14: Angebot ohne Namen, 25 Lizenzen,\n    endet am 31.08.2022 (Abonnement S14)" in notice.body
    assert "Kunde 18: Angebot ohne Namen, 1 Lizenz,\n    endet am 05.05.2022 (Abonnement S18)" in notice.body  # lapses
    assert "eingegangen nach der\nFrist am 30.06.2022" in notice.body  # late: 2022-07-01
    assert "MIGRIEREN" not in notice.body
    assert "NOCH OFFENE SCHRITTE" not in notice.body  # steps do not matter after an opt-out
    assert notice.counts["migrating_subscriptions"] == 0


def test_open_readiness_steps_are_named_with_how_to_do_them(fixture_dataset):
    found = by_partner(fixture_dataset)
    assert found["P9"].open_steps == ("mca_all_customers",)  # derived: customer C23 has not accepted
    assert "Microsoft-Kundenvereinbarung (MCA)" in found["P9"].body
    assert "Microsoft Partner Agreement" not in found["P9"].body
    english = found["P4"]  # no partner row: no step counts as done
    assert english.open_steps == ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")
    for how in ("Sign the Microsoft Partner Agreement", "indirect provider", "local MPN ID", "Customer Agreement"):
        assert how in english.body
    assert "send us the opt-out form by\n30 June 2022" in english.body


def test_a_country_filter_narrows_the_notices_to_that_countrys_subscriptions(fixture_dataset):
    found = by_partner(fixture_dataset, Filters(countries=("AT",)))
    assert {p: set(listed(n)) for p, n in found.items()} == {
        "P1": {"S13"},
        "P3": {"S14", "S18"},
        "P7": {"S15", "S16"},
        "P9": {"S25"},
    }


def test_a_partner_with_nothing_to_say_gets_no_notice(fixture_dataset):
    cur = fixture_dataset.cursor()
    assert notices.build_notice(cur, fixture_dataset.programme, Filters(), "P6") is None
    assert notices.build_notice(cur, fixture_dataset.programme, Filters(countries=("CH",)), "P1") is None


@pytest.mark.parametrize("filters", [Filters(), Filters(countries=("DE",)), Filters(segments=("commercial",))])
def test_the_notices_say_what_the_dashboard_shows(sample_dataset, filters):
    """Each notice's counts equal the partner figures of analytics.metrics for the same filters (the pages' lists)."""
    cur = sample_dataset.cursor()
    found = by_partner(sample_dataset, filters)
    partners = metrics.notice_partners(cur, filters).set_index("partner_id")
    exposed = metrics.exposed_partners(cur, filters).set_index("partner_id")
    assert set(found) == set(partners.index)
    assert set(exposed.index) <= set(found)
    assert len(found) > 20
    for pid, notice in found.items():
        row = partners.loc[pid]
        assert notice.counts["lapse_subscriptions"] == row["lapse_risk_subscriptions"]
        assert notice.counts["lapse_seats"] == row["lapse_risk_seats"]
        if not row["opted_out"]:
            assert notice.counts["migrating_subscriptions"] == row["projected_subscriptions"]
            assert notice.counts["migrating_seats"] == row["projected_seats"]
        if pid in exposed.index:
            after = notice.subscriptions[notice.subscriptions["term_end_date"] >= sample_dataset.programme.cutoff]
            assert len(after) == exposed.loc[pid, "after_subscriptions"]


# ---------------------------------------------------------------- language and address


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [("en", "DE", "en"), ("de", "GB", "de"), (None, "DE", "de"), (None, "AT", "de"), (None, "CH", "de"),
     (None, "LI", "de"), (None, "LU", "en"), (None, "GB", "en"), (None, None, "en")],
)  # fmt: skip
def test_the_language_is_the_partners_else_german_in_de_at_ch_li_else_english(language, country, expected):
    assert notices.notice_language(language, country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("kontakt@alpha.example", "kontakt@alpha.example"),
        ("  Alpha IT <kontakt@alpha.example> ", "kontakt@alpha.example"),
        ("kontakt at alpha.example", None),
        ("a@alpha.example, b@alpha.example", None),
        ("a@alpha.example; b@alpha.example", None),
        ("a@alpha.example\r\nBcc: victim@evil.example", None),
        ("a@alpha.example\nBcc: victim@evil.example", None),
        ("Bcc: victim@evil.example", None),
        ("müller@alpha.example", None),
        ("a@localhost", None),
        ("", None),
        (None, None),
    ],
)
def test_only_one_plain_address_is_a_recipient(raw, expected):
    assert notices.valid_address(raw) == expected


# ---------------------------------------------------------------- hostile partner data

HOSTILE_NAME = "Evil {{ 7*7 }} {% if true %}IF{% endif %} <script>alert(1)</script>\r\nBcc: victim@evil.example"
HOSTILE_CUSTOMER = '=HYPERLINK("https://evil.example","click") {{ config }}\nX-Injected: yes'


def write_export(folder: Path, name: str, email_address: str, customer: str = "Kunde 1") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subs, partners = folder / "subscriptions.csv", folder / "partners.csv"
    with subs.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subscription_id", "partner_id", "partner_name", "customer_name", "country", "seats",
                         "term_end_date", "auto_renew", "offer_name"])  # fmt: skip
        writer.writerow(["S-1", "P-1", name, customer, "DE", 12, "2022-08-15", "true", "Microsoft 365 E3"])
        writer.writerow(["S-2", "P-1", name, customer, "DE", 3, "2022-05-15", "false", "Exchange Online (Plan 1)"])
        # A second partner: a column with one value on every row would be taken for the distributor's own id.
        writer.writerow(["S-3", "P-2", "Other GmbH", "Kunde 2", "AT", 5, "2022-09-30", "true", "Microsoft 365 E3"])
    with partners.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partner_id", "partner_name", "country", "contact_email", "language"])
        writer.writerow(["P-1", name, "DE", email_address, ""])
    return [subs, partners]


def notice_for(tmp_path: Path, name: str, email_address: str = "kontakt@p1.example", **kw) -> notices.Notice:
    dataset = load_files(write_export(tmp_path / str(abs(hash((name, email_address)))), name, email_address, **kw))
    return notices.build_notice(dataset.cursor(), dataset.programme, Filters(), "P-1")


def test_a_partner_name_with_template_syntax_markup_and_line_breaks_is_printed_as_text(tmp_path):
    plain = notice_for(tmp_path, "PLAINNAME")
    hostile = notice_for(tmp_path, HOSTILE_NAME)
    one_line = HOSTILE_NAME.replace("\r\n", " ")
    # The template did exactly what it does for any name: the same text, the name put in where it goes.
    assert hostile.body == plain.body.replace("PLAINNAME", one_line)
    assert hostile.subject == plain.subject.replace("PLAINNAME", one_line)
    assert "{{ 7*7 }}" in hostile.body and "49" not in hostile.body
    assert "{% if true %}IF{% endif %}" in hostile.body
    assert "\n" not in hostile.subject and "\r" not in hostile.subject


def test_a_hostile_name_becomes_no_header_and_no_markup_in_the_message(tmp_path):
    notice = notice_for(tmp_path, HOSTILE_NAME, customer=HOSTILE_CUSTOMER)
    raw = notices.message(notice, "NCE Team <nce@distributor.example>").as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert sorted(parsed.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                            "Content-Type"])  # fmt: skip
    assert parsed["To"] == "kontakt@p1.example"
    assert "Bcc" not in parsed and "X-Injected" not in parsed
    assert parsed["Subject"] == notice.subject
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]  # no HTML part: the names are plain text in a plain-text mail
    assert "<script>alert(1)</script>" in parsed.get_body().get_content()
    # Every line of the raw message within the RFC 5322 limit, every header on its own folded lines.
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    # In the raw header block too: every line is a header of ours or the folded rest of one (the name is only in the
    # Subject's encoded text, and in the body).
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    names = [line.split(b":", 1)[0] for line in headers if not line.startswith((b" ", b"\t"))]
    assert sorted(names) == sorted(n.encode() for n in parsed)
    assert not [line for line in headers if b"<script>" in line]


def test_a_contact_address_with_a_line_break_is_no_recipient(tmp_path):
    notice = notice_for(tmp_path, "Alpha", "kontakt@p1.example\r\nBcc: victim@evil.example")
    assert notice.recipient is None and notice.address_problem == "invalid"
    parsed = email.message_from_bytes(notices.message(notice).as_bytes(), policy=email.policy.default)
    assert "To" not in parsed and "Bcc" not in parsed


def test_the_attachments_are_formula_safe_csv_and_excel(tmp_path):
    notice = notice_for(tmp_path, "Alpha", customer=HOSTILE_CUSTOMER)
    csv_bytes, xlsx_bytes = notices.attachments(notice)
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert [r["Abonnement-ID"] for r in rows] == ["S-2", "S-1"]
    assert all(r["Kunde"].startswith("'=HYPERLINK(") for r in rows)
    assert [r["was geschieht"] for r in rows] == ["läuft aus (keine automatische Verlängerung)", "wird zu NCE migriert"]
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(xlsx_bytes)).get_sheet_by_index(0).to_python()
    assert sheet[0][:3] == ["Abonnement-ID", "Kunde", "Angebot"]
    assert sheet[1][1].startswith("'=HYPERLINK(") and sheet[1][0] == "S-2"
    assert sheet[2][4] == 12  # seats stay numbers


# ---------------------------------------------------------------- the template sandbox


def template_folder(tmp_path: Path, body: str, subject: str = "Notice {{ partner.id }}") -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    for lang in ("de", "en"):
        (folder / f"notice.{lang}.subject.txt").write_text(subject, encoding="utf-8")
        (folder / f"notice.{lang}.body.txt").write_text(body, encoding="utf-8")
    return folder


def test_templates_run_in_a_sandbox(tmp_path, fixture_dataset):
    folder = template_folder(tmp_path, "{{ partner.name.__class__.__mro__[1].__subclasses__() }}")
    templates = notices.Templates.load(folder=folder)
    with pytest.raises(SecurityError):
        notices.build_notices(fixture_dataset.cursor(), fixture_dataset.programme, Filters(), templates)


def test_a_missing_or_broken_template_is_an_input_error_naming_the_file(tmp_path):
    folder = template_folder(tmp_path, "{% for s in lapse %}")  # never closed
    with pytest.raises(InputError, match=r"notice\.de\.body\.txt, line 1") as broken:
        notices.Templates.load(folder=folder)
    assert broken.value.code == "template_syntax"
    (folder / "notice.en.subject.txt").unlink()
    (folder / "notice.de.body.txt").write_text("ok", encoding="utf-8")
    with pytest.raises(InputError, match="notice.en.subject.txt not found") as missing:
        notices.Templates.load(folder=folder)
    assert missing.value.code == "template_missing"
    with pytest.raises(InputError, match="template name"):
        notices.Templates.load("../../etc/passwd")


def test_the_bundled_templates_exist_in_german_and_english():
    templates = notices.Templates.load()
    assert {p.name for p in templates.folder.glob("notice.*.txt")} == {
        f"notice.{lang}.{part}.txt" for lang in ("de", "en") for part in ("subject", "body")
    }


# ---------------------------------------------------------------- drafts and the mail-merge file


def test_the_zip_holds_one_eml_draft_per_partner_with_its_subscriptions_attached(fixture_dataset):
    built = notices.build_notices(fixture_dataset.cursor(), fixture_dataset.programme, Filters())
    archive = zipfile.ZipFile(io.BytesIO(notices.drafts_zip(built, "NCE Team <nce@distributor.example>")))
    assert sorted(archive.namelist()) == sorted(f"{p}.eml" for p in EXPECTED)
    draft = email.message_from_bytes(archive.read("P1.eml"), policy=email.policy.default)
    assert draft["Subject"] == "Handlungsbedarf: Ihre Microsoft-CSP-Legacy-Abonnements – Alpha IT GmbH (P1)"
    assert draft["From"] == "NCE Team <nce@distributor.example>"
    assert draft["X-Unsent"] == "1"
    assert "To" not in draft  # the fixture has no contact addresses
    body = draft.get_body().get_content()
    assert "Wir übernehmen das." in body and "Juli 2022: 2 Abonnements, 18 Lizenzen" in body
    names = [part.get_filename() for part in draft.iter_attachments()]
    assert names == ["abonnements-P1.csv", "abonnements-P1.xlsx"]


def test_the_mailmerge_csv_has_one_row_per_notice(fixture_dataset):
    built = notices.build_notices(fixture_dataset.cursor(), fixture_dataset.programme, Filters())
    rows = list(csv.DictReader(io.StringIO(notices.mailmerge_csv(built).decode("utf-8-sig"))))
    assert [r["partner_id"] for r in rows] == [n.partner_id for n in built]
    p1 = next(r for r in rows if r["partner_id"] == "P1")
    assert (p1["language"], p1["migrating_subscriptions"], p1["migrating_seats"], p1["email"]) == ("de", "4", "38", "")
    assert p1["address_problem"] == "missing"
    assert p1["body"] == next(n.body for n in built if n.partner_id == "P1")
    assert p1["first_date"] == "2022-07-11"


def test_eml_file_names_are_safe_and_unique():
    made = [notices.Notice(pid, "x", "en", None, "missing", False, "s", "b", {}, (), None) for pid in
            ("P/1", "P:1", "../x", "")]  # fmt: skip
    assert notices.eml_names(made) == ["P_1.eml", "P_1-2.eml", "x.eml", "partner.eml"]
