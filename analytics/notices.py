"""Per-partner notices (PRODUCT.md section 8): the e-mail Microsoft does not send, in the partner's language.

For each partner within the filters that has lapse-risk or after-cutoff subscriptions: its lapse-risk
subscriptions, those that will be migrated and in which month (or, after an opt-out, that end without renewal),
the readiness steps still open and the opt-out deadline. The figures come from the query functions the pages
use (analytics.metrics: notice_partners, partner_subscriptions), so a notice says what the dashboard shows.

Text comes from template files in config/notices/ (`<name>.<lang>.subject.txt`, `<name>.<lang>.body.txt`),
rendered by Jinja2's SandboxedEnvironment. Partner and customer data only ever enter as variables: a name such
as `{{ 7*7 }}` is printed as it is, never evaluated. Messages are built with the standard library's `email`
package (plain text, UTF-8): the recipient is the partner's validated `contact_email` (one address, nothing
else), the subject is one line; no partner or customer value becomes a header of its own.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import io
import re
import zipfile
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from functools import lru_cache, partial
from pathlib import Path

import duckdb
import pandas as pd
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from analytics import metrics, words
from analytics.errors import InputError
from analytics.export import to_csv, to_xlsx
from analytics.metrics import Filters
from analytics.programme import Programme
from analytics.schema import GERMAN_SPEAKING
from analytics.touchpoints import one_line

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "config" / "notices"
DEFAULT_TEMPLATE = "notice"
LANGUAGES = ("de", "en")
PARTS = ("subject", "body")
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# One plain address: local part and a dotted ASCII domain (international addresses need SMTPUTF8, which we do not
# assume of the operator's server).
ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
# The columns of a notice's attachment, in this order (headers from the catalogs, col.<name>, in its language).
ATTACHMENT_COLUMNS = (
    "subscription_id",
    "customer_name",
    "offer_name",
    "country",
    "seats",
    "term_end_date",
    "auto_renew",
    "notice_status",
    "notice_date",
)


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class Templates:
    """A named set of notice templates (subject and body, German and English) in one folder."""

    name: str = DEFAULT_TEMPLATE
    folder: Path = TEMPLATE_DIR

    @classmethod
    def load(cls, name: str | None = None, folder: str | Path | None = None) -> Templates:
        """The template set `name` (default "notice") from `folder` (default config/notices), checked: every
        file present and valid Jinja."""
        name = name or DEFAULT_TEMPLATE
        if not TEMPLATE_NAME.match(name):
            raise InputError(
                f"template name {name!r}: use lower-case letters, digits, - and _", code="template_name", name=name
            )
        templates = cls(name, Path(folder) if folder else TEMPLATE_DIR)
        for lang in LANGUAGES:
            env = templates.environment(lang)
            for part in PARTS:
                file = templates.file(lang, part)
                try:
                    env.get_template(file)
                except TemplateNotFound:
                    raise InputError(
                        f"notice template {file} not found in {templates.folder}", code="template_missing", file=file
                    ) from None
                except TemplateSyntaxError as exc:
                    raise InputError(
                        f"notice template {file}, line {exc.lineno}: {exc.message}",
                        code="template_syntax",
                        file=file,
                        line=exc.lineno,
                    ) from None
        return templates

    def file(self, lang: str, part: str) -> str:
        return f"{self.name}.{lang}.{part}.txt"

    def environment(self, lang: str) -> SandboxedEnvironment:
        """A sandbox for one language: no autoescaping (plain text), an undefined variable is an error, and the
        filters `date`, `month` and `number` format as that language writes. One per folder and language, so each
        template is compiled once (and again when its file changes)."""
        return _environment(self.folder, lang)

    def render(self, lang: str, context: dict) -> tuple[str, str]:
        """(subject, body) for `context`; the subject on one line."""
        env = self.environment(lang)
        subject = env.get_template(self.file(lang, "subject")).render(context)
        body = env.get_template(self.file(lang, "body")).render(context)
        return one_line(subject, 250), body.strip() + "\n"


@lru_cache(maxsize=32)
def _environment(folder: Path, lang: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(folder),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = partial(_date, lang)
    env.filters["month"] = partial(_month, lang)
    env.filters["number"] = partial(_number, lang)
    return env


def _date(lang: str, value) -> str:
    if value is None or pd.isna(value):
        return ""
    return format_date(value, format="dd.MM.yyyy" if lang == "de" else "d MMMM yyyy", locale=_locale(lang))


def _month(lang: str, value) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value + "-01")
    return format_date(value, format="LLLL y", locale=_locale(lang))


def _number(lang: str, value) -> str:
    return format_decimal(int(value), format="#,##0", locale=_locale(lang))


def _locale(lang: str) -> str:
    return "de_DE" if lang == "de" else "en_GB"


# ---------------------------------------------------------------- who gets what


def notice_language(language: str | None, partner_country: str | None) -> str:
    """The partner's `language`, else German in DE, AT, CH and LI (by the partner's country), else English."""
    if isinstance(language, str) and language in LANGUAGES:
        return language
    return "de" if isinstance(partner_country, str) and partner_country in GERMAN_SPEAKING else "en"


def valid_address(raw: object) -> str | None:
    """The partner's contact address when it is exactly one plain e-mail address (a display name around it is
    dropped), else None: no line breaks or control characters, no list, nothing but the address reaches a
    header."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or any(not c.isprintable() for c in text) or len(text) > 320:
        return None
    addresses = email.utils.getaddresses([text])
    if len(addresses) != 1:
        return None
    _, address = addresses[0]
    # parseaddr accepts garbage it cannot read as ('', ''); the address must also be all the text (or the part
    # in angle brackets) and no second address may hide in it.
    if not ADDRESS.match(address) or (text != address and not text.endswith(f"<{address}>")):
        return None
    return address


def address_problem(raw: object) -> str | None:
    """Why a partner has no usable address: "missing" or "invalid" (None when it has one)."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or (isinstance(raw, str) and not raw.strip()):
        return "missing"
    return None if valid_address(raw) else "invalid"


@dataclass
class Notice:
    """One partner's notice: who, what it says (subject and body), and the subscriptions it names."""

    partner_id: str
    partner_name: str
    language: str
    recipient: str | None  # the validated address, or None (then `address_problem` says why)
    address_problem: str | None
    opted_out: bool
    subject: str
    body: str
    counts: dict[str, int]
    open_steps: tuple[str, ...]
    subscriptions: pd.DataFrame = field(repr=False)  # the attachment's rows (ATTACHMENT_COLUMNS, canonical names)
    first_date: dt.date | None = None  # the first end or migration date the notice names

    def attachment_stem(self) -> str:
        """The attachments' file name without extension: "subscriptions-<id>" in the notice's language."""
        return f"{words.text(self.language, 'notice.attachment_name')}-{safe_name(self.partner_id)}"

    def attachment_frame(self) -> pd.DataFrame:
        """The attachment's table with headers and statuses in the notice's language."""
        frame = self.subscriptions.copy()
        frame["notice_status"] = frame["notice_status"].map(lambda s: words.text(self.language, f"notice_status.{s}"))
        return frame.rename(columns={c: words.text(self.language, f"col.{c}") for c in ATTACHMENT_COLUMNS})


def _row_values(row: dict) -> dict:
    """One subscription as the template sees it: plain values, names on one line."""
    customer = row.get("customer_name") if isinstance(row.get("customer_name"), str) else None
    offer = row.get("offer_name") if isinstance(row.get("offer_name"), str) else None
    migration = _as_date(row.get("migration_date"))
    end = _as_date(row.get("term_end_date"))
    return {
        "id": one_line(row["subscription_id"], 200),
        "customer": one_line(customer, 200) if customer else None,
        "offer": one_line(offer, 200) if offer else None,
        "seats": int(row["seats"]),
        "country": row.get("country"),
        "end_date": end,
        "migration_date": migration,
        "month": f"{migration:%Y-%m}" if migration else None,
        # A before-cutoff subscription with auto-renew on is renewed on legacy terms until it migrates.
        "renewed": row.get("side") == "before",
    }


def _as_date(value) -> dt.date | None:
    if value is None or pd.isna(value):  # NaT is a datetime too
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def compose(partner: dict, records: list[dict], programme: Programme, templates: Templates) -> Notice:
    """The notice of one partner (a row of metrics.notice_partners) from its subscriptions within the same
    filters (rows of metrics.partner_subscriptions, notice_only)."""
    opted_out = bool(partner["opted_out"])
    lapse = [_row_values(r) for r in records if r["lapse_risk"]]
    dated = [_row_values(r) for r in records if _as_date(r["migration_date"]) is not None]
    migrating = [] if opted_out else list(dated)
    ending = [{**r, "end_date": r["migration_date"]} for r in dated] if opted_out else []
    migrating.sort(key=lambda r: (r["migration_date"], r["id"]))
    months = []
    for item in migrating:
        if not months or months[-1]["month"] != item["month"]:
            months.append({"month": item["month"], "subscriptions": 0, "seats": 0, "rows": []})
        months[-1]["subscriptions"] += 1
        months[-1]["seats"] += item["seats"]
        months[-1]["rows"].append(item)
    open_steps = tuple(step for step in programme.readiness_steps if not bool(partner[step]))
    counts = {
        "lapse_subscriptions": len(lapse),
        "lapse_seats": sum(r["seats"] for r in lapse),
        "migrating_subscriptions": len(migrating),
        "migrating_seats": sum(r["seats"] for r in migrating),
        "ending_subscriptions": len(ending),
        "ending_seats": sum(r["seats"] for r in ending),
    }
    name = one_line(partner["partner_name"] or partner["partner_id"], 200)
    language = notice_language(partner.get("language"), partner.get("partner_country"))
    context = {
        "partner": {
            "id": one_line(partner["partner_id"], 200),
            "name": name,
            "country": partner.get("partner_country"),
        },
        "programme": {
            "name": one_line(programme.name, 200),
            "cutoff": programme.cutoff,
            "opt_out_deadline": programme.opt_out_deadline,
            "readiness_deadline": programme.readiness_deadline,
        },
        "opted_out": opted_out,
        "opt_out_date": _as_date(partner.get("opt_out_date")),
        "late_opt_out": bool(partner.get("late_opt_out")),
        "lapse": lapse,
        "months": months,
        "migrating": migrating,
        "ending": ending,
        "open_steps": list(open_steps),
        "totals": counts,
    }
    subject, body = templates.render(language, context)
    listed = sorted(
        (_attachment_row(r, opted_out) for r in records), key=lambda r: (r["notice_date"], r["subscription_id"])
    )
    attachment = pd.DataFrame(listed, columns=list(ATTACHMENT_COLUMNS))
    dates = [d for d in attachment["notice_date"] if d is not None]
    raw_email = partner.get("contact_email")
    return Notice(
        partner_id=partner["partner_id"],
        partner_name=partner["partner_name"] or partner["partner_id"],
        language=language,
        recipient=valid_address(raw_email),
        address_problem=address_problem(raw_email),
        opted_out=opted_out,
        subject=subject,
        body=body,
        counts=counts,
        open_steps=open_steps,
        subscriptions=attachment,
        first_date=min(dates) if dates else None,
    )


def _attachment_row(row: dict, opted_out: bool) -> dict:
    """A subscription as the attachment lists it: what the notice says of it, and the day that happens."""
    if row["lapse_risk"]:
        status, day = "lapse_risk", _as_date(row["term_end_date"])
    else:
        status, day = ("ends" if opted_out else "migrates"), _as_date(row["migration_date"])
    return {
        "subscription_id": row["subscription_id"],
        "customer_name": row["customer_name"],
        "offer_name": row["offer_name"],
        "country": row["country"],
        "seats": int(row["seats"]),
        "term_end_date": _as_date(row["term_end_date"]),
        "auto_renew": None if pd.isna(row["auto_renew"]) else bool(row["auto_renew"]),
        "notice_status": status,
        "notice_date": day,
    }


def build_notices(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    filters: Filters,
    templates: Templates | None = None,
    partner_id: str | None = None,
) -> list[Notice]:
    """The notices for the filters (of one partner when `partner_id` is given), most exposed partner first."""
    templates = templates or Templates.load()
    partners = metrics.notice_partners(con, filters)
    if partner_id is not None:
        partners = partners[partners["partner_id"] == partner_id]
    if partners.empty:
        return []
    groups: dict[str, list[dict]] = {}
    for row in metrics.partner_subscriptions(con, filters, partner_id, notice_only=True).to_dict("records"):
        groups.setdefault(row["partner_id"], []).append(row)
    return [compose(p, groups.get(p["partner_id"], []), programme, templates) for p in partners.to_dict("records")]


def build_notice(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    filters: Filters,
    partner_id: str,
    templates: Templates | None = None,
) -> Notice | None:
    """One partner's notice, or None when it has nothing to say within the filters."""
    found = build_notices(con, programme, filters, templates, partner_id)
    return found[0] if found else None


# ---------------------------------------------------------------- messages and files


def safe_name(partner_id: str) -> str:
    """A file name made of a partner id: letters, digits, '.', '-', '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(partner_id)).strip("._")[:80] or "partner"


def attachments(notice: Notice) -> tuple[bytes, bytes]:
    """The notice's subscription list as CSV and Excel, formula-safe (analytics.export)."""
    frame = notice.attachment_frame()
    sheet = words.text(notice.language, "notice.attachment_sheet")
    return to_csv(frame), to_xlsx(frame, sheet)


def message(notice: Notice, sender: str | None = None, *, draft: bool = False, now: dt.datetime | None = None):
    """The notice as an RFC 5322 message: plain text UTF-8 body, the subscription list attached as CSV and
    Excel. `draft`: marked unsent (X-Unsent: 1), so mail clients open the .eml as a draft to send."""
    msg = EmailMessage(policy=email.policy.SMTP)
    if sender:
        msg["From"] = sender
    if notice.recipient:
        msg["To"] = notice.recipient
    _set_subject(msg, notice.subject)
    msg["Date"] = email.utils.format_datetime(now or dt.datetime.now(dt.UTC))
    domain = email.utils.parseaddr(sender or "")[1].rpartition("@")[2] or "nce-radar.invalid"
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    if draft:
        msg["X-Unsent"] = "1"
    msg.set_content(notice.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    csv_bytes, xlsx_bytes = attachments(notice)
    stem = notice.attachment_stem()
    msg.add_attachment(csv_bytes, maintype="text", subtype="csv", filename=f"{stem}.csv", params={"charset": "utf-8"})
    msg.add_attachment(xlsx_bytes, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=f"{stem}.xlsx")
    return msg


def _set_subject(msg: EmailMessage, subject: str) -> None:
    """The Subject header: one line of text; non-ASCII as RFC 2047 encoded words folded by email.header (Python
    3.11's own folder can emit an empty encoded word before a folded non-ASCII word, which some clients show)."""
    if any(c in subject for c in "\r\n") or any(not c.isprintable() for c in subject):
        raise ValueError("a subject is one line of printable text")
    if subject.isascii():
        msg["Subject"] = subject
    else:
        msg.set_raw("Subject", Header(subject, "utf-8", maxlinelen=76, header_name="Subject").encode())


def eml_names(notices: list[Notice]) -> list[str]:
    """One .eml file name per notice, unique."""
    names, taken = [], set()
    for notice in notices:
        stem = safe_name(notice.partner_id)
        name, n = f"{stem}.eml", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.eml"
        taken.add(name)
        names.append(name)
    return names


def drafts_zip(notices: list[Notice], sender: str | None = None) -> bytes:
    """A ZIP with one .eml draft per notice."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for notice, name in zip(notices, eml_names(notices), strict=True):
            archive.writestr(name, message(notice, sender, draft=True).as_bytes())
    return buffer.getvalue()


MAILMERGE_COLUMNS = (
    "partner_id",
    "partner_name",
    "email",
    "address_problem",
    "language",
    "subject",
    "body",
    "lapse_subscriptions",
    "lapse_seats",
    "migrating_subscriptions",
    "migrating_seats",
    "ending_subscriptions",
    "ending_seats",
    "opted_out",
    "open_steps",
    "first_date",
)


def mailmerge_frame(notices: list[Notice]) -> pd.DataFrame:
    """One row per notice: address, language, subject, body and the counts, for a mail merge."""
    return pd.DataFrame(
        [
            {
                "partner_id": n.partner_id,
                "partner_name": n.partner_name,
                "email": n.recipient or "",
                "address_problem": n.address_problem or "",
                "language": n.language,
                "subject": n.subject,
                "body": n.body,
                **n.counts,
                "opted_out": n.opted_out,
                "open_steps": " ".join(n.open_steps),
                "first_date": n.first_date,
            }
            for n in notices
        ],
        columns=list(MAILMERGE_COLUMNS),
    )


def mailmerge_csv(notices: list[Notice]) -> bytes:
    """The mail-merge CSV (UTF-8 with BOM, formula-safe; column names as MAILMERGE_COLUMNS)."""
    return to_csv(mailmerge_frame(notices))


def write_drafts(notices: list[Notice], folder: Path, sender: str | None = None) -> list[Path]:
    """One .eml per notice and mailmerge.csv into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for notice, name in zip(notices, eml_names(notices), strict=True):
        path = folder / name
        path.write_bytes(message(notice, sender, draft=True).as_bytes())
        written.append(path)
    merge = folder / "mailmerge.csv"
    merge.write_bytes(mailmerge_csv(notices))
    written.append(merge)
    return written


def data_key(dataset) -> str:
    """What a notice was built from, for the touchpoint log: the snapshot id, or the content hash of the sample or
    a private upload."""
    return dataset.snapshot or f"data-{dataset.version}"
