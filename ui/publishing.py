"""Who may change what everyone sees, and who did: the publish key, the publisher's name, the Data page's publish
form, its snapshot history with rollback and delete."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from analytics.dataset import Dataset
from analytics.errors import InputError
from analytics.settings import settings
from ui import datasets, filters, uploading
from ui.i18n import error_text, fmt_int, t

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
    store = datasets.store()
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


def publish_form(staged: Dataset) -> None:
    """The publish key (when the operator set one), the confirmation a much smaller export needs, and Publish."""
    result = staged.result
    needed = publish_key()
    entered = st.text_input(t("data.publish_key"), type="password", key="publish_key_input") if needed else ""
    if not needed:
        st.caption(t("data.no_key"))
    nothing = result.accepted["subscriptions"] == 0
    before = datasets.store().shrinks(staged)  # far fewer subscriptions than the current snapshot: confirm
    shrink_ok = before is None or st.checkbox(
        t("data.confirm_shrink", new=fmt_int(result.accepted["subscriptions"]), current=fmt_int(before))
    )
    if not st.button(t("data.publish"), type="primary", icon=":material/publish:", disabled=nothing or not shrink_ok):
        return
    if not key_ok(entered):
        st.error(t("data.wrong_key"))
        return
    try:
        snapshot_id = datasets.store().publish(staged, uploading.sources(), publisher(), allow_shrink=before or False)
    except InputError as exc:
        st.error(error_text(exc))
        return
    datasets.use_private(None)
    filters.reset()
    st.session_state["flash"] = t("data.published", id=snapshot_id)
    st.rerun()


def snapshot_history() -> None:
    """The published snapshots, newest first, with Rollback and Delete for the one chosen."""
    history = datasets.store().list()
    if len(history) < 2:
        st.caption(t("data.sample_history"))
    if not history:
        st.caption(t("data.nothing_published"))
        return
    frame = pd.DataFrame([h.to_json() for h in history])
    frame["subscriptions"] = frame["rows"].map(lambda r: r.get("subscriptions", 0))
    frame["partners"] = frame["rows"].map(lambda r: r.get("partners", 0))
    frame["created"] = pd.to_datetime(frame["created"])
    columns = ["current", "id", "created", "label", "subscriptions", "partners", "rejected", "published_by"]
    config = {c: t(f"col.{c}") for c in columns}
    config["created"] = st.column_config.DatetimeColumn(t("col.created"), format="YYYY-MM-DD HH:mm")
    config["current"] = st.column_config.CheckboxColumn(t("col.current"))
    st.dataframe(frame[columns], hide_index=True, column_config=config)
    # The user's choice stays an option while it exists, even once someone else made it current, so the box never
    # slides to another snapshot; the buttons carry the id drawn beside them and act on nothing else.
    kept = st.session_state.get("history_choice")
    choices = [h.id for h in history if not h.current or h.id == kept]
    if choices:
        chosen = st.selectbox(t("data.snapshot"), choices, key="history_choice")
        if publish_key():
            st.text_input(t("data.publish_key"), type="password", key="rollback_key")
        make_current, delete = st.columns(2)
        make_current.button(
            t("data.rollback"), icon=":material/history:", on_click=act_on_snapshot, args=("rollback", chosen)
        )
        delete.button(t("data.delete"), icon=":material/delete:", on_click=act_on_snapshot, args=("delete", chosen))
    if HISTORY_NOTICE in st.session_state:
        st.error(st.session_state.pop(HISTORY_NOTICE), icon=":material/block:")
