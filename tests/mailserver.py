"""A real SMTP server for tests (aiosmtpd on a free local port) that keeps every message it accepts, with the
time it arrived; it can refuse chosen recipients with 550 and ask for a login."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes
    at: float  # time.monotonic() when the server accepted it

    @property
    def message(self):
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass
class Collector:
    """The server's handler: refuses the addresses in `reject` at RCPT (550), keeps every message it accepts."""

    reject: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.monotonic())
            )
        return "250 Message accepted for delivery"


@dataclass
class Server:
    host: str
    port: int
    handler: Collector

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def password_checker(user: str, password: str):
    """An aiosmtpd authenticator that accepts exactly this user and password."""

    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == (password.encode())
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    return check


@contextlib.contextmanager
def smtp_server(reject: Iterable[str] = (), authenticator=None) -> Iterator[Server]:
    """A running SMTP server on 127.0.0.1 (no TLS; a login only when `authenticator` is given, then required)."""
    handler = Collector(reject=set(reject))
    port = free_port()
    options = {}
    if authenticator is not None:
        options = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server("127.0.0.1", port, handler)
    finally:
        controller.stop()
