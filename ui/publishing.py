"""Who may change what everyone sees, and who did: the publish key, the publisher's name, rollback and delete."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

import streamlit as st

from analytics.errors import InputError
from analytics.settings import settings
from ui import state
from ui.i18n import error_text, t

HISTORY_NOTICE = "history_notice"  # session key: why a rollback or delete did nothing, shown under the buttons


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


def act_on_snapshot(action: str, snapshot_id: str) -> None:
    """The Rollback / Delete buttons' on_click: act on `snapshot_id`, the choice drawn beside the button when the
    user clicked. When that choice is no longer valid (someone made it current or deleted it meanwhile), nothing
    happens and the session is told why."""
    if not key_ok(st.session_state.get("rollback_key", "")):
        st.session_state[HISTORY_NOTICE] = t("data.wrong_key_nothing")
        return
    store = state.store()
    try:
        if action == "rollback":
            if store.current_id() == snapshot_id:
                st.session_state[HISTORY_NOTICE] = t("data.already_current", id=snapshot_id)
                return
            store.rollback(snapshot_id)
            st.session_state["flash"] = t("data.rolled_back", id=snapshot_id)
        else:
            store.delete(snapshot_id)  # refuses the current snapshot and one that is gone, under the store's lock
            st.session_state["flash"] = t("data.deleted", id=snapshot_id)
    except InputError as exc:
        st.session_state[HISTORY_NOTICE] = error_text(exc)
