"""Sending notices through the operator's SMTP server: settings, the dry run, the rate limit, no double send.

Settings come from `[smtp]` in config/server.toml (RADAR_CONFIG names another file), each overridable from the
environment (RADAR_SMTP_HOST, RADAR_SMTP_PORT, RADAR_SMTP_STARTTLS, RADAR_SMTP_FROM, RADAR_SMTP_USER); the
password only from the environment (RADAR_SMTP_PASSWORD) or, in the web app, Streamlit secrets (`smtp_password`),
never from a config file. Every send is logged in the touchpoint log (sent or failed, per partner); a notice
already sent for a partner, snapshot and template is skipped unless `resend` is asked for.
"""

from __future__ import annotations

import fcntl
import os
import smtplib
import ssl
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from analytics.errors import InputError
from analytics.notices import Notice, message, valid_address
from analytics.settings import DEFAULT_PATH
from analytics.touchpoints import Touchpoint, TouchpointLog, one_line

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    starttls: bool = True
    sender: str = ""  # the From address ([smtp] from)
    user: str = ""
    password: str = field(default="", repr=False)  # from RADAR_SMTP_PASSWORD or Streamlit secrets only
    rate_per_minute: float = 30.0  # at most this many messages a minute
    timeout: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)

    @property
    def interval(self) -> float:
        """Seconds between two messages."""
        return 60.0 / self.rate_per_minute

    def describe(self) -> dict:
        """What the page and the CLI show: everything but the password, of which only whether it is set."""
        return {
            "host": self.host,
            "port": self.port,
            "starttls": self.starttls,
            "from": self.sender,
            "user": self.user,
            "password_set": bool(self.password),
            "rate_per_minute": self.rate_per_minute,
        }


def smtp_settings(path: str | Path | None = None, password: str | None = None) -> SmtpSettings:
    """[smtp] of the server config, overridden by RADAR_SMTP_*; `password` (e.g. from Streamlit secrets) is
    used when RADAR_SMTP_PASSWORD is not set."""
    path = Path(path or os.environ.get("RADAR_CONFIG") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("smtp", {})
    except FileNotFoundError:
        raw = {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    if "password" in raw:
        raise InputError(
            f"{path.name}: smtp.password does not belong in a config file; set RADAR_SMTP_PASSWORD or smtp_password "
            "in .streamlit/secrets.toml",
            code="smtp_password_in_config",
        )

    def value(key: str, env: str, default):
        return os.environ[env] if env in os.environ else raw.get(key, default)

    host = str(value("host", "RADAR_SMTP_HOST", "")).strip()
    port_text = str(value("port", "RADAR_SMTP_PORT", 587)).strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"SMTP port must be a number from 1 to 65535, not {port_text!r}", code="smtp_port")
    starttls = value("starttls", "RADAR_SMTP_STARTTLS", True)
    if isinstance(starttls, str):
        if starttls.strip().lower() not in TRUE + FALSE:
            raise InputError(f"SMTP STARTTLS must be true or false, not {starttls!r}", code="smtp_starttls")
        starttls = starttls.strip().lower() in TRUE
    sender = str(value("from", "RADAR_SMTP_FROM", "")).strip()
    if sender and not valid_sender(sender):
        raise InputError(f"SMTP sender (from) must be one e-mail address, not {sender!r}", code="smtp_from")
    rate = raw.get("rate_per_minute", 30)
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        rate = -1.0
    if not rate > 0:
        raise InputError(
            f"smtp.rate_per_minute must be a number above 0, not {raw.get('rate_per_minute')!r}", code="smtp_rate"
        )
    return SmtpSettings(
        host=host,
        port=int(port_text),
        starttls=bool(starttls),
        sender=sender,
        user=str(value("user", "RADAR_SMTP_USER", "")).strip(),
        password=os.environ.get("RADAR_SMTP_PASSWORD") or password or "",
        rate_per_minute=rate,
        timeout=float(raw.get("timeout_seconds", 30)),
    )


def valid_sender(text: str) -> bool:
    """The configured From: one address, optionally with a display name, on one line."""
    return valid_address(text) is not None


# ---------------------------------------------------------------- plan and send


@dataclass(frozen=True)
class Outcome:
    """What happened (or, in a dry run, would happen) to one partner's notice."""

    partner_id: str
    partner_name: str
    recipient: str
    language: str
    subject: str
    status: str  # will_send | already_sent | no_address | sent | failed
    detail: str = ""

    def to_json(self) -> dict:
        return {
            "partner_id": self.partner_id,
            "partner_name": self.partner_name,
            "recipient": self.recipient,
            "language": self.language,
            "subject": self.subject,
            "status": self.status,
            "detail": self.detail,
        }


def plan(
    notices: list[Notice], log: TouchpointLog, snapshot: str, template: str, resend: bool = False
) -> list[Outcome]:
    """The dry run: who would get what, and who not (already sent, no usable address). Sends and records nothing."""
    sent = set() if resend else log.sent(snapshot, template)
    outcomes = []
    for n in notices:
        if n.recipient is None:
            status, detail = "no_address", n.address_problem or "missing"
        elif n.partner_id in sent:
            status, detail = "already_sent", ""
        else:
            status, detail = "will_send", ""
        outcomes.append(_outcome(n, status, detail))
    return outcomes


def _outcome(notice: Notice, status: str, detail: str = "") -> Outcome:
    return Outcome(
        notice.partner_id, notice.partner_name, notice.recipient or "", notice.language, notice.subject, status, detail
    )


class Pacer:
    """At most `rate_per_minute` messages a minute: a message starts no earlier than `interval` seconds after the
    previous one was done, so the server sees them at least that far apart."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            remaining = self.last + self.interval - self.clock()
            if remaining > 0:
                self.sleep(remaining)

    def done(self) -> None:
        self.last = self.clock()


@contextmanager
def _one_sender(log: TouchpointLog) -> Iterator[None]:
    """One send run per store at a time (across processes): a second one is refused instead of sending the same
    notices in parallel."""
    lock = log.path.with_name(log.path.name + ".send.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                "another send of notices is running; try again when it is done", code="send_busy"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Connection:
    """An SMTP session that is opened on first use and reopened once after the server dropped it."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password)
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp

    def send(self, msg) -> None:
        if self.smtp is None:
            self.open()
        try:
            self.smtp.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            self.open()
            self.smtp.send_message(msg)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def send(
    notices: list[Notice],
    settings: SmtpSettings,
    log: TouchpointLog,
    *,
    snapshot: str,
    template: str,
    who: str,
    resend: bool = False,
    progress: Callable[[int, int, Outcome], None] | None = None,
    pacer: Pacer | None = None,
) -> list[Outcome]:
    """Send every notice that has an address and was not sent yet for this snapshot and template (all of them with
    `resend`), at most settings.rate_per_minute a minute. Every message is logged (sent, or failed with the
    reason); a failure for one partner never stops the others. Refused before anything is sent when the
    settings are incomplete or the server cannot be reached or refuses the login."""
    if not settings.configured:
        raise InputError(
            "no SMTP server configured: set [smtp] host and from, or RADAR_SMTP_HOST and RADAR_SMTP_FROM",
            code="smtp_missing",
        )
    pacer = pacer or Pacer(settings.interval)
    connection = _Connection(settings)
    outcomes: list[Outcome] = []
    with _one_sender(log):
        planned = plan(notices, log, snapshot, template, resend)
        if any(o.status == "will_send" for o in planned):
            try:
                connection.open()
            except (smtplib.SMTPException, OSError) as exc:
                raise InputError(
                    f"cannot send through {settings.host}:{settings.port}: {_reason(exc)}",
                    code="smtp_connect",
                    server=f"{settings.host}:{settings.port}",
                    reason=_reason(exc),
                ) from None
        try:
            for i, (notice, planned_outcome) in enumerate(zip(notices, planned, strict=True)):
                outcome = planned_outcome
                if planned_outcome.status == "will_send":
                    # Checked again right before the message: another process may have sent it meanwhile.
                    if not resend and log.was_sent(notice.partner_id, snapshot, template):
                        outcome = replace(planned_outcome, status="already_sent")
                    else:
                        outcome = _send_one(notice, settings, connection, log, pacer, snapshot, template, who)
                outcomes.append(outcome)
                if progress is not None:
                    progress(i + 1, len(notices), outcome)
        finally:
            connection.close()
    return outcomes


def _send_one(
    notice: Notice,
    settings: SmtpSettings,
    connection: _Connection,
    log: TouchpointLog,
    pacer: Pacer,
    snapshot: str,
    template: str,
    who: str,
) -> Outcome:
    try:
        msg = message(notice, settings.sender)
        pacer.wait()  # after building it, so that the spacing is the server's, not the time a message takes to build
        try:
            connection.send(msg)
        finally:
            pacer.done()
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        reason = _reason(exc)
        log.record(
            Touchpoint(
                notice.partner_id,
                "failed",
                who=who,
                snapshot=snapshot,
                template=template,
                recipient=notice.recipient,
                detail=reason,
            )
        )
        return _outcome(notice, "failed", reason)
    log.record(
        Touchpoint(notice.partner_id, "sent", who=who, snapshot=snapshot, template=template, recipient=notice.recipient)
    )
    return _outcome(notice, "sent")


def _reason(exc: BaseException) -> str:
    """An SMTP error as one line: the server's code and text where there is one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{code} {_text(text)}" for code, text in exc.recipients.values()]
        return one_line("; ".join(parts) or "recipient refused", 300)
    if isinstance(exc, smtplib.SMTPResponseException):
        return one_line(f"{exc.smtp_code} {_text(exc.smtp_error)}", 300)
    return one_line(f"{type(exc).__name__}: {exc}", 300)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def record_drafts(notices: list[Notice], log: TouchpointLog, *, snapshot: str, template: str, who: str) -> int:
    """Log every notice that went into a ZIP, a folder of drafts or a mail-merge file as drafted."""
    return log.record(
        Touchpoint(n.partner_id, "drafted", who=who, snapshot=snapshot, template=template, recipient=n.recipient)
        for n in notices
    )
