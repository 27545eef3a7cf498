"""Who may change what everyone sees, and who did: the publish key and the publisher's name."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

import streamlit as st

from analytics.settings import settings


def publish_key() -> str:
    """The operator's publish key: RADAR_PUBLISH_KEY, else `publish_key` in Streamlit secrets; empty = open."""
    key = os.environ.get("RADAR_PUBLISH_KEY", "")
    if not key:
        try:
            key = str(st.secrets.get("publish_key", ""))
        except Exception:  # no secrets file on this server
            key = ""
    return key


def key_ok(entered: str) -> bool:
    needed = publish_key()
    return not needed or secrets.compare_digest(entered.encode(), needed.encode())


def publisher_from(headers: Mapping[str, str], trusted_header: str) -> str:
    """Who publishes: the user named in `trusted_header`, the one request header the operator said their proxy
    sets (config/server.toml [auth]); "web" when none is configured, or the request lacks it or carries it twice
    (a client's own header that the proxy appended to instead of replacing). Any client can send any header, so
    no other header counts. The name is kept as plain text (one line, at most 100 characters); it is escaped
    wherever it is shown."""
    if not trusted_header:
        return "web"
    get_all = getattr(headers, "get_all", None)
    values = get_all(trusted_header) if get_all else [headers.get(trusted_header) or ""]
    if len(values) != 1:
        return "web"
    value = " ".join("".join(c if c.isprintable() else " " for c in str(values[0])).split())
    return value[:100] or "web"


def publisher() -> str:
    """The publisher of this request (see publisher_from)."""
    return publisher_from(st.context.headers, settings().trusted_user_header)
