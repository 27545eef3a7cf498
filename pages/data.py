"""Data: upload an export, check the mapping and the rejected rows, then publish it or explore it privately."""

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import state

state.ensure_frame()

from analytics import metrics  # noqa: E402
from analytics.errors import InputError, MappingError  # noqa: E402
from analytics.export import to_csv  # noqa: E402
from analytics.ingest import PHASES, Overrides  # noqa: E402
from analytics.schema import TABLES, stored_columns  # noqa: E402
from analytics.uploads import load_files_isolated, safe_suffix  # noqa: E402
from ui import report  # noqa: E402
from ui.i18n import error_text, fmt_date, fmt_int, t  # noqa: E402
from ui.publishing import HISTORY_NOTICE, act_on_snapshot, key_ok, publish_key, publisher  # noqa: E402
from ui.text import md  # noqa: E402
from ui.widgets import template_xlsx  # noqa: E402


def reset_filters() -> None:
    st.session_state["_filters"] = {"country": [], "segment": [], "partner": ""}
    for name in ("w_country", "w_segment", "w_partner"):
        st.session_state.pop(name, None)


def stage(files, overrides: Overrides, programme, on_progress=None):
    """Ingest the uploaded files into a staged dataset; what everyone sees is untouched until published."""
    folder = Path(tempfile.mkdtemp(prefix="radar-upload-"))
    pairs = []
    try:
        for i, upload in enumerate(files):
            path = folder / f"{i}{safe_suffix(upload.name)}"
            path.write_bytes(upload.getvalue())
            pairs.append((path, upload.name))
        label = ", ".join(u.name for u in files)
        return load_files_isolated(pairs, overrides, programme, label=label, on_progress=on_progress), None, []
    except MappingError as exc:
        return None, error_text(exc), exc.mappings
    except InputError as exc:
        return None, error_text(exc), []
    finally:
        for path, _ in pairs:
            path.unlink(missing_ok=True)
        folder.rmdir()


def cancel_upload(key) -> None:
    st.session_state["cancelled_key"] = key


def show_progress(bar, progress: dict) -> None:
    """The worker's phase (analytics.ingest.PHASES) with how far it has got: the phases done, plus the running
    statement's share of the current one."""
    steps = max(int(progress.get("steps", 1)), 1)
    step = min(max(int(progress.get("step", 0)), 0), steps - 1)
    phase = progress.get("phase")
    done = (step + min(max(float(progress.get("statement", 0.0)), 0.0), 100.0) / 100) / steps
    text = t(
        f"data.phase_{phase}" if phase in PHASES else "data.phase_start",
        step=step + 1,
        steps=steps,
        seconds=fmt_int(float(progress.get("seconds", 0))),
    )
    bar.progress(min(done, 1.0), text=text)


dataset = state.current()
counts = metrics.row_counts(dataset.cursor())
st.title(t("data.title"))
st.caption(
    t(
        "data.showing",
        label=md(state.label(dataset)),
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
    cancelled = st.session_state.get("cancelled_key") == staged_key
    if cancelled:
        # Cancelled while it was read: nothing was staged, nothing changed; reading again is one click.
        st.info(t("data.cancelled"), icon=":material/cancel:")
        if st.button(t("data.read_again"), icon=":material/refresh:"):
            st.session_state.pop("cancelled_key", None)
            st.rerun()
    elif st.session_state.get("staged_key") != staged_key:
        with st.status(t("data.validating"), expanded=True) as status:
            bar = st.progress(0.0, text=t("data.phase_start"))
            # A click stops this run (Streamlit reruns at once); the exception that stops it ends the worker, and
            # the next run finds the upload cancelled.
            st.button(t("data.cancel"), icon=":material/cancel:", on_click=cancel_upload, args=(staged_key,))
            staged, error, detected = stage(
                uploads, Overrides(columns=dict(overrides)), dataset.programme, lambda p: show_progress(bar, p)
            )
            bar.empty()
            status.update(
                label=t("data.validated") if staged else t("data.refused_status"),
                state="complete" if staged else "error",
                expanded=False,
            )
        st.session_state.update(
            staged_key=staged_key,
            staged=(staged, error, detected),
            staged_sources=[(u.name, u.size) for u in uploads],
        )
    staged, error, detected = (None, None, []) if cancelled else st.session_state["staged"]
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
        if result.accepted["partners"] == 0:
            st.warning(t("data.no_partners"))
        report.show(result, staged.cursor(), "rejected_rows")
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
if len(history) < 2:
    st.caption(t("data.sample_history"))
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

st.subheader(t("data.templates"))
with st.container(horizontal=True):
    for name in TABLES:
        st.download_button(
            t("data.template", table=name),
            to_csv(pd.DataFrame(columns=stored_columns(name))),
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
report.files(dataset.result)
report.programs(dataset.result)
report.origins(dataset.result)
report.rejected(dataset.cursor(), dataset.result, "current_rejected_rows")
