"""Data: upload an export, check the mapping and the rejected rows, then publish it or explore it privately."""

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import state

state.ensure_frame()

from analytics import metrics  # noqa: E402
from analytics.errors import InputError, MappingError  # noqa: E402
from analytics.export import to_csv  # noqa: E402
from analytics.ingest import Overrides  # noqa: E402
from analytics.schema import TABLES  # noqa: E402
from analytics.uploads import load_files_isolated, safe_suffix  # noqa: E402
from ui.i18n import error_text, fmt_date, fmt_int, reason_text, t  # noqa: E402
from ui.widgets import for_download, table, template_xlsx  # noqa: E402


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


def publisher() -> str:
    """Who publishes: the user a reverse proxy with single sign-on names, else "web"."""
    headers = st.context.headers
    for name in ("X-Forwarded-User", "X-Forwarded-Email", "X-Auth-Request-Email", "X-Remote-User"):
        if headers.get(name):
            return str(headers[name])[:100]
    return "web"


def reset_filters() -> None:
    st.session_state["_filters"] = {"country": [], "segment": [], "partner": ""}
    for name in ("w_country", "w_segment", "w_partner"):
        st.session_state.pop(name, None)


def stage(files, overrides: Overrides, programme):
    """Ingest the uploaded files into a staged dataset; what everyone sees is untouched until published."""
    folder = Path(tempfile.mkdtemp(prefix="radar-upload-"))
    pairs = []
    try:
        for i, upload in enumerate(files):
            path = folder / f"{i}{safe_suffix(upload.name)}"
            path.write_bytes(upload.getvalue())
            pairs.append((path, upload.name))
        return load_files_isolated(pairs, overrides, programme, label=", ".join(u.name for u in files)), None, []
    except MappingError as exc:
        return None, error_text(exc), exc.mappings
    except InputError as exc:
        return None, error_text(exc), []
    finally:
        for path, _ in pairs:
            path.unlink(missing_ok=True)
        folder.rmdir()


dataset = state.current()
counts = metrics.row_counts(dataset.cursor())
st.title(t("data.title"))
st.caption(
    t(
        "data.showing",
        label=state.label(dataset),
        origin=t("data.origin_private") if state.is_private() else t("data.origin_published"),
        when=f"{fmt_date(dataset.loaded_at.date())} {dataset.loaded_at:%H:%M} UTC",
        subscriptions=fmt_int(counts["subscriptions"]),
        partners=fmt_int(counts["partners"]),
        customers=fmt_int(counts["customers"]),
        rejected=fmt_int(counts["rejected"]),
    )
)
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"), icon=":material/check_circle:")
if state.is_private() and st.button(t("data.back"), icon=":material/undo:"):
    st.session_state.pop("private_dataset", None)
    st.rerun()

st.subheader(t("data.upload_title"))
st.markdown(t("data.upload_help"))
uploads = st.file_uploader(
    t("data.files"), type=["csv", "txt", "tsv", "xlsx", "parquet"], accept_multiple_files=True, key="uploads"
)

if uploads:
    signature = hashlib.blake2b(b"".join(u.name.encode() + u.getvalue() for u in uploads), digest_size=8).hexdigest()
    overrides = st.session_state.get("mapping_overrides", {}).get(signature, {})
    staged_key = (signature, tuple(sorted(overrides.items())))
    if st.session_state.get("staged_key") != staged_key:
        with st.status(t("data.validating"), expanded=False) as status:
            staged, error, detected = stage(uploads, Overrides(columns=dict(overrides)), dataset.programme)
            status.update(
                label=t("data.validated") if staged else t("data.refused_status"),
                state="complete" if staged else "error",
            )
        st.session_state.update(
            staged_key=staged_key,
            staged=(staged, error, detected),
            staged_sources=[(u.name, u.size) for u in uploads],
        )
    staged, error, detected = st.session_state["staged"]
    if error:
        st.error(t("data.refused", error=error), icon=":material/block:")
    mappings = staged.result.mappings if staged else detected
    if mappings:
        st.markdown(t("data.mapping"))
        headers = sorted({h for m in mappings for h in m.source.headers if h})
        editor = pd.DataFrame(
            [row for m in mappings for row in m.editor_rows()], columns=["file", "table", "column", "source_column"]
        )
        edited = st.data_editor(
            editor,
            hide_index=True,
            disabled=["file", "table", "column"],
            key=f"mapping_{signature}",
            column_config={
                "file": t("col.file"),
                "table": t("col.table"),
                "column": t("col.column"),
                "source_column": st.column_config.SelectboxColumn(t("col.source_column"), options=headers),
            },
        )
        if st.button(t("data.apply"), icon=":material/sync:"):
            chosen = {row.column: row.source_column for row in edited.itertuples() if row.source_column}
            st.session_state.setdefault("mapping_overrides", {})[signature] = chosen
            st.rerun()
    if staged:
        result = staged.result
        st.success(
            t(
                "data.accepted",
                subscriptions=fmt_int(result.accepted["subscriptions"]),
                partners=fmt_int(result.accepted["partners"]),
                customers=fmt_int(result.accepted["customers"]),
                rejected=fmt_int(result.rejected),
            ),
            icon=":material/task_alt:",
        )
        for warning in result.warnings:
            st.warning(warning, icon=":material/info:")
        if result.accepted["partners"] == 0:
            st.warning(t("data.no_partners"))
        rejects = metrics.rejects(staged.cursor())
        rejects["reason"] = rejects["reason"].map(reason_text)
        if len(rejects):
            st.markdown(t("data.rejects", rows=fmt_int(result.rejected), problems=fmt_int(len(rejects))))
            table(rejects.head(5000), "rejected_rows", caption=t("data.rejects_first") if len(rejects) > 5000 else None)
            if len(rejects) > 5000:
                st.download_button(
                    t("data.rejects_all"),
                    to_csv(for_download(rejects)),
                    "rejected_rows_all.csv",
                    on_click="ignore",
                    key="rejects_all",
                )
        publish_col, explore_col = st.columns(2)
        with publish_col:
            needed = publish_key()
            entered = st.text_input(t("data.publish_key"), type="password", key="publish_key_input") if needed else ""
            if not needed:
                st.caption(t("data.no_key"))
            nothing = result.accepted["subscriptions"] == 0
            before = state.store().shrinks(staged)  # far fewer subscriptions than the current snapshot: confirm
            shrink_ok = before is None or st.checkbox(
                t("data.confirm_shrink", new=fmt_int(result.accepted["subscriptions"]), current=fmt_int(before))
            )
            if st.button(
                t("data.publish"), type="primary", icon=":material/publish:", disabled=nothing or not shrink_ok
            ):
                if not key_ok(entered):
                    st.error(t("data.wrong_key"))
                else:
                    try:
                        snapshot_id = state.store().publish(
                            staged, st.session_state["staged_sources"], publisher(), allow_shrink=before or False
                        )
                    except InputError as exc:
                        st.error(error_text(exc))
                    else:
                        st.session_state.pop("private_dataset", None)
                        reset_filters()
                        st.session_state["flash"] = t("data.published", id=snapshot_id)
                        st.rerun()
        with explore_col:
            if st.button(t("data.explore"), icon=":material/visibility:"):
                st.session_state["private_dataset"] = staged
                reset_filters()
                st.session_state["flash"] = t("data.exploring")
                st.rerun()

st.subheader(t("data.history"))
history = state.store().list()
if not history:
    st.caption(t("data.nothing_published"))
else:
    frame = pd.DataFrame([h.to_json() for h in history])
    frame["subscriptions"] = frame["rows"].map(lambda r: r.get("subscriptions", 0))
    frame["partners"] = frame["rows"].map(lambda r: r.get("partners", 0))
    frame["created"] = pd.to_datetime(frame["created"])
    st.dataframe(
        frame[["current", "id", "created", "label", "subscriptions", "partners", "rejected", "published_by"]],
        hide_index=True,
        column_config={
            "created": st.column_config.DatetimeColumn(t("col.created"), format="YYYY-MM-DD HH:mm"),
            "current": st.column_config.CheckboxColumn(t("col.current")),
            "id": t("col.id"),
            "label": t("col.label"),
            "subscriptions": t("col.subscriptions"),
            "partners": t("col.partners"),
            "rejected": t("col.rejected"),
            "published_by": t("col.published_by"),
        },
    )
    others = [h.id for h in history if not h.current]
    if others:
        chosen = st.selectbox(t("data.snapshot"), others, key="history_choice")
        entered = st.text_input(t("data.publish_key"), type="password", key="rollback_key") if publish_key() else ""
        make_current, delete = st.columns(2)
        if make_current.button(t("data.rollback"), icon=":material/history:"):
            if key_ok(entered):
                state.store().rollback(chosen)
                st.session_state["flash"] = t("data.rolled_back", id=chosen)
                st.rerun()
            st.error(t("data.wrong_key_nothing"))
        if delete.button(t("data.delete"), icon=":material/delete:"):
            if key_ok(entered):
                state.store().delete(chosen)
                st.session_state["flash"] = t("data.deleted", id=chosen)
                st.rerun()
            st.error(t("data.wrong_key_nothing"))

st.subheader(t("data.templates"))
with st.container(horizontal=True):
    for name in TABLES:
        st.download_button(
            t("data.template", table=name),
            to_csv(pd.DataFrame(columns=[c.name for c in TABLES[name]])),
            file_name=f"{name}_template.csv",
            on_click="ignore",
            key=f"tpl_{name}",
        )
    st.download_button(
        t("data.template_xlsx"), template_xlsx(), file_name="radar_template.xlsx", on_click="ignore", key="tpl_xlsx"
    )
    sample = state.ROOT / "data" / "sample" / "nce_sample.xlsx"
    st.download_button(
        t("data.sample"), sample.read_bytes(), file_name=sample.name, on_click="ignore", key="sample_xlsx"
    )

st.subheader(t("data.current"))
mapping_now = dataset.result.mapping_table()
st.dataframe(mapping_now, hide_index=True, column_config={c: t(f"col.{c}") for c in mapping_now.columns})
current_rejects = metrics.rejects(dataset.cursor(), limit=5000)
current_rejects["reason"] = current_rejects["reason"].map(reason_text)
if len(current_rejects):
    table(current_rejects, "current_rejected_rows")
else:
    st.caption(t("data.no_rejects"))
