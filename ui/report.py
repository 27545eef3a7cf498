"""The upload report on the Data page: what each file is, legacy or NCE and why, where every field came from, the
warnings and the rejected rows, all in the interface language (analytics carries them as codes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.ingest import IngestResult
from analytics.schema import UNKNOWN_COUNTRY
from ui.i18n import catalog, fmt_int, note_text, rejects, t
from ui.widgets import for_download, table

MAX_REJECTS_SHOWN = 5000


def files(result: IngestResult) -> None:
    """One row per file or sheet: its name, what it was recognised as, and the rows read."""
    if not result.files:
        return
    frame = pd.DataFrame(
        [
            {
                "file": f["name"],
                "kind": t(f"kind.{f['kind']}") if f"kind.{f['kind']}" in catalog("en") else f["kind"],
                "rows": f["rows"],
                "collapsed": f.get("collapsed", 0),
            }
            for f in result.files
        ]
    )
    st.markdown(t("report.files"))
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "file": t("col.file"),
            "kind": t("report.kind"),
            "rows": st.column_config.NumberColumn(t("report.rows"), format="localized"),
            "collapsed": st.column_config.NumberColumn(t("report.collapsed"), format="localized"),
        },
    )


def programs(result: IngestResult) -> None:
    """How many accepted subscriptions are legacy and NCE, and which rule decided."""
    if not result.programs:
        return
    parts = [
        t(
            "report.program_part",
            program=t(f"report.program_{p['program']}"),
            rows=fmt_int(p["subscriptions"]),
            rule=t(f"rule.{p['rule']}"),
        )
        for p in result.programs
    ]
    st.markdown(t("report.programs", parts="; ".join(parts)))


def origins(result: IngestResult) -> None:
    """For every canonical field of every file: the column, derived (how), default, or unknown (rows)."""
    if not result.origins:
        return
    rows = []
    for o in result.origins:
        how = o.get("column") or ""
        if o.get("detail") == "program_rules":
            how = ", ".join(
                t(
                    "report.program_part",
                    program=t(f"report.program_{p['program']}"),
                    rows=fmt_int(p["subscriptions"]),
                    rule=t(f"rule.{p['rule']}"),
                )
                for p in result.programs
            )
        elif o.get("detail") == "country_lookup" and o.get("counts"):
            how = t(
                "origin.country_lookup",
                how=", ".join(t(f"report.from_{k}", rows=fmt_int(v)) for k, v in o["counts"].items()),
            )
        elif o.get("detail") and o["origin"] != "unknown":
            how = t(f"origin.{o['detail']}", how=how)
        elif o.get("detail"):
            how = ""
        elif o["origin"] == "default":
            how = t("origin.default_value", value=how)
        if o["field"] == "country" and o.get("rows"):
            how = f"{how}; {t('report.unknown_rows', rows=fmt_int(o['rows']), code=UNKNOWN_COUNTRY)}".strip("; ")
        elif o["origin"] == "unknown" and o.get("rows"):
            how = t("report.unknown_rows", rows=fmt_int(o["rows"]), code="").rstrip(" ()")
        rows.append({"file": o["file"], "field": o["field"], "origin": t(f"origin.{o['origin']}"), "source": how})
    st.markdown(t("report.origins"))
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "file": t("col.file"),
            "field": t("col.column"),
            "origin": t("report.origin"),
            "source": t("report.source"),
        },
    )


def warnings(result: IngestResult) -> None:
    for warning in result.warnings:
        st.warning(note_text(warning), icon=":material/info:")


def rejected(cursor, result: IngestResult, key: str) -> None:
    """The rejected rows with file, line, column, reason (in the interface language) and value."""
    frame = rejects(cursor)
    if not len(frame):
        st.caption(t("data.no_rejects"))
        return
    st.markdown(t("data.rejects", rows=fmt_int(result.rejected), problems=fmt_int(len(frame))))
    many = len(frame) > MAX_REJECTS_SHOWN
    table(frame.head(MAX_REJECTS_SHOWN), key, caption=t("data.rejects_first") if many else None)
    if many:
        from analytics.export import to_csv

        st.download_button(
            t("data.rejects_all"), to_csv(for_download(frame)), f"{key}_all.csv", on_click="ignore", key=f"{key}_all"
        )


def show(result: IngestResult, cursor, key: str) -> None:
    """The whole report of one ingest (a staged upload, or the snapshot shown)."""
    files(result)
    programs(result)
    warnings(result)
    origins(result)
    rejected(cursor, result, key)
