"""Data: upload an export, check the mapping and the rejected rows, then publish it or explore it privately."""

import pandas as pd
import streamlit as st

from analytics.export import to_csv
from analytics.schema import TABLES, stored_columns
from ui import datasets, filters, frame, report, uploading
from ui.i18n import fmt_date, fmt_int, t
from ui.publishing import publish_form, snapshot_history
from ui.text import md
from ui.widgets import template_xlsx

frame.ensure()

dataset = datasets.current()
counts = datasets.row_counts()
st.title(t("data.title"))
st.caption(
    t(
        "data.showing",
        label=md(datasets.label(dataset)),
        origin=t("data.origin_private") if datasets.is_private() else t("data.origin_published"),
        when=f"{fmt_date(dataset.loaded_at.date())} {dataset.loaded_at:%H:%M} UTC",
        subscriptions=fmt_int(counts["subscriptions"]),
        partners=fmt_int(counts["partners"]),
        customers=fmt_int(counts["customers"]),
        rejected=fmt_int(counts["rejected"]),
    )
)
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"), icon=":material/check_circle:")
if datasets.is_private() and st.button(t("data.back"), icon=":material/undo:"):
    datasets.use_private(None)
    st.rerun()

st.subheader(t("data.upload_title"))
st.markdown(t("data.upload_help"))
uploads = st.file_uploader(
    t("data.files"), type=["csv", "txt", "tsv", "xlsx", "parquet"], accept_multiple_files=True, key="uploads"
)

if uploads:
    staged, error, detected = uploading.read(uploads, dataset)
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
            key=f"mapping_{uploading.signature(uploads)}",
            column_config={
                "file": t("col.file"),
                "table": t("col.table"),
                "column": t("col.column"),
                "source_column": st.column_config.SelectboxColumn(t("col.source_column"), options=headers),
            },
        )
        if st.button(t("data.apply"), icon=":material/sync:"):
            chosen = {row.column: row.source_column for row in edited.itertuples() if row.source_column}
            uploading.choose_mapping(uploading.signature(uploads), chosen)
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
            publish_form(staged)
        with explore_col:
            if st.button(t("data.explore"), icon=":material/visibility:"):
                datasets.use_private(staged)
                filters.reset()
                st.session_state["flash"] = t("data.exploring")
                st.rerun()

st.subheader(t("data.history"))
snapshot_history()

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
    sample = datasets.ROOT / "data" / "sample" / "nce_sample.xlsx"
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
