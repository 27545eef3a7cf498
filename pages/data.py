"""Data: upload an export, check the column mapping and the rejected rows, then explore it."""

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
from analytics.dataset import load_files  # noqa: E402
from analytics.errors import InputError  # noqa: E402
from analytics.export import to_csv  # noqa: E402
from analytics.ingest import COLUMN_KIND, Overrides  # noqa: E402
from analytics.schema import TABLES  # noqa: E402
from ui.widgets import table, template_xlsx  # noqa: E402

st.title("Data")
dataset = state.current()
counts = metrics.row_counts(dataset.cursor())
st.caption(
    f"Showing **{dataset.label}** ({'your private upload' if state.is_private() else 'published'}), "
    f"loaded {dataset.loaded_at:%Y-%m-%d %H:%M} UTC · {counts['subscriptions']:,} subscriptions, "
    f"{counts['partners']:,} partners, {counts['customers']:,} customers, {counts['rejected']:,} rows rejected"
)
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"), icon=":material/check_circle:")
if state.is_private() and st.button("Back to the published data", icon=":material/undo:"):
    st.session_state.pop("private_dataset", None)
    st.rerun()

st.subheader("Upload an export")
st.markdown(
    "CSV (any delimiter, UTF-8/UTF-16/Windows-1252, German or English dates and numbers), Excel `.xlsx` or Parquet. "
    "Either one flat file with a row per subscription, or separate files or sheets for subscriptions, partners and "
    "customers; which is which is recognised from the columns. Column names may be English, German or Partner "
    "Center names."
)
uploads = st.file_uploader(
    "Export files", type=["csv", "txt", "tsv", "xlsx", "parquet"], accept_multiple_files=True, key="uploads"
)


def publish_key() -> str:
    """The operator's publish key: RADAR_PUBLISH_KEY, else `publish_key` in Streamlit secrets; empty = open."""
    key = os.environ.get("RADAR_PUBLISH_KEY", "")
    if not key:
        try:
            key = str(st.secrets.get("publish_key", ""))
        except Exception:  # no secrets file on this server
            key = ""
    return key


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


def stage(files, overrides: Overrides):
    """Ingest the uploaded files into a staged dataset (never touches what is shown until loaded)."""
    folder = Path(tempfile.mkdtemp(prefix="radar-upload-"))
    pairs = []
    for i, upload in enumerate(files):
        path = folder / f"{i}{Path(upload.name).suffix.lower()}"
        path.write_bytes(upload.getvalue())
        pairs.append((path, upload.name))
    try:
        return load_files(pairs, overrides, dataset.programme, label=", ".join(u.name for u in files)), None
    except InputError as exc:
        return None, str(exc)
    finally:
        for path, _ in pairs:
            path.unlink(missing_ok=True)
        folder.rmdir()


if uploads:
    signature = hashlib.blake2b(b"".join(u.name.encode() + u.getvalue() for u in uploads), digest_size=8).hexdigest()
    overrides = st.session_state.get("mapping_overrides", {}).get(signature, {})
    key = (signature, tuple(sorted(overrides.items())))
    if st.session_state.get("staged_key") != key:
        with st.status("Reading and validating…", expanded=False) as status:
            staged, error = stage(uploads, Overrides(columns=dict(overrides)))
            status.update(label="Validated" if staged else "Refused", state="complete" if staged else "error")
        st.session_state["staged_key"] = key
        st.session_state["staged"] = (staged, error)
        st.session_state["staged_sources"] = [(u.name, u.size) for u in uploads]
    staged, error = st.session_state["staged"]
    if error:
        st.error(f"The upload was refused and nothing changed: {error}", icon=":material/block:")
    else:
        result = staged.result
        accepted = result.accepted
        st.success(
            f"Accepted {accepted['subscriptions']:,} subscriptions, {accepted['partners']:,} partners, "
            f"{accepted['customers']:,} customers · rejected {result.rejected:,} rows.",
            icon=":material/task_alt:",
        )
        for warning in result.warnings:
            st.warning(warning, icon=":material/info:")
        if accepted["partners"] == 0:
            st.warning("No partner data: opt-outs and readiness steps count as not done for every partner.")
        st.markdown("**Column mapping** — correct a row by choosing another source column, then apply.")
        mapping = result.mapping_table()
        headers = sorted({h for m in result.mappings for h in m.source.headers if h})
        edited = st.data_editor(
            mapping,
            hide_index=True,
            disabled=["file", "table", "column"],
            key=f"mapping_{signature}",
            column_config={"source_column": st.column_config.SelectboxColumn("source column", options=headers)},
        )
        extra = st.multiselect(
            "Map a column that was not recognised",
            sorted(COLUMN_KIND),
            key=f"extra_{signature}",
            help="Pick the canonical column, then choose its source column in the table above after applying.",
        )
        if st.button("Apply mapping", icon=":material/sync:"):
            chosen = {row.column: row.source_column for row in edited.itertuples() if row.source_column}
            for name in extra:
                chosen.setdefault(name, "")
            st.session_state.setdefault("mapping_overrides", {})[signature] = {k: v for k, v in chosen.items() if v}
            st.rerun()
        rejects = metrics.rejects(staged.cursor())
        if len(rejects):
            st.markdown(f"**Rejected rows** ({result.rejected:,} rows, {len(rejects):,} problems)")
            table(
                rejects.head(5000),
                "rejected_rows",
                caption="First 5,000 problems shown; the download has them all" if len(rejects) > 5000 else None,
            )
            st.download_button(
                "Download all rejected rows (CSV)",
                to_csv(rejects),
                "rejected_rows_all.csv",
                on_click="ignore",
                key="rejects_all",
            )
        publish_col, explore_col = st.columns(2)
        with publish_col:
            needed = publish_key()
            entered = st.text_input("Publish key", type="password", key="publish_key_input") if needed else ""
            if not needed:
                st.caption("No publish key is set on this server: anyone with the link can publish.")
            if st.button("Publish for everyone", type="primary", icon=":material/publish:"):
                if needed and not secrets.compare_digest(entered.encode(), needed.encode()):
                    st.error("Wrong publish key; nothing was published.")
                else:
                    snapshot_id = state.store().publish(staged, st.session_state["staged_sources"], publisher())
                    st.session_state.pop("private_dataset", None)
                    reset_filters()
                    st.session_state["flash"] = f"Published snapshot {snapshot_id}; every user now sees it."
                    st.rerun()
        with explore_col:
            if st.button("Explore privately (only you see it)", icon=":material/visibility:"):
                st.session_state["private_dataset"] = staged
                reset_filters()
                st.session_state["flash"] = "You are now exploring your upload; nobody else sees it."
                st.rerun()

st.subheader("Published snapshots")
history = state.store().list()
if not history:
    st.caption("Nothing published yet: everyone sees the bundled sample.")
else:
    frame = pd.DataFrame([h.to_json() for h in history])
    frame["subscriptions"] = frame["rows"].map(lambda r: r.get("subscriptions", 0))
    frame["partners"] = frame["rows"].map(lambda r: r.get("partners", 0))
    frame["created"] = pd.to_datetime(frame["created"])
    st.dataframe(
        frame[["current", "id", "created", "label", "subscriptions", "partners", "rejected", "published_by"]],
        hide_index=True,
        column_config={
            "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "current": st.column_config.CheckboxColumn(),
        },
    )
    others = [h.id for h in history if not h.current]
    if others:
        chosen = st.selectbox("Snapshot", others, key="history_choice")
        needed = publish_key()
        entered = st.text_input("Publish key", type="password", key="rollback_key") if needed else ""
        make_current, delete = st.columns(2)
        allowed = not needed or secrets.compare_digest(entered.encode(), needed.encode())
        if make_current.button("Make current (roll back)", icon=":material/history:"):
            if allowed:
                state.store().rollback(chosen)
                st.session_state["flash"] = f"Snapshot {chosen} is current again."
                st.rerun()
            st.error("Wrong publish key; nothing changed.")
        if delete.button("Delete from history", icon=":material/delete:"):
            if allowed:
                state.store().delete(chosen)
                st.session_state["flash"] = f"Snapshot {chosen} deleted."
                st.rerun()
            st.error("Wrong publish key; nothing changed.")

st.subheader("Templates and sample data")
cols = st.columns(4)
for i, name in enumerate(TABLES):
    cols[i].download_button(
        f"{name}.csv template",
        to_csv(pd.DataFrame(columns=[c.name for c in TABLES[name]])),
        file_name=f"{name}_template.csv",
        on_click="ignore",
        key=f"tpl_{name}",
    )
cols[3].download_button(
    "Excel template (3 sheets)", template_xlsx(), file_name="radar_template.xlsx", on_click="ignore", key="tpl_xlsx"
)
sample = state.ROOT / "data" / "sample" / "nce_sample.xlsx"
st.download_button(
    "Sample export (Excel)", sample.read_bytes(), file_name=sample.name, on_click="ignore", key="sample_xlsx"
)

st.subheader("Current data: column mapping and rejected rows")
st.dataframe(dataset.result.mapping_table(), hide_index=True)
current_rejects = metrics.rejects(dataset.cursor(), limit=5000)
if len(current_rejects):
    table(current_rejects, "current_rejected_rows")
else:
    st.caption("No rows were rejected.")
