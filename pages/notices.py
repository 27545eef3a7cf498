"""Notices: the e-mail Microsoft does not send, one per partner with lapse-risk or after-cutoff subscriptions;
preview, drafts (ZIP of .eml, mail-merge CSV), sending through SMTP after a dry run, and what was sent."""

import streamlit as st

from analytics import (
    mailer,
    metrics,
    notices,
)
from analytics.errors import InputError
from ui import champion, datasets, frame
from ui.filters import describe, selected
from ui.i18n import error_text, fmt_int, t
from ui.publishing import key_ok, publish_key
from ui.text import md
from ui.widgets import MAX_SCREEN_ROWS, empty, kpi, table

frame.ensure()

filters = selected()
dataset = datasets.current()
programme = dataset.programme
st.title(t("notices.title"))
st.caption(t("notices.caption", showing=describe(filters)))
datasets.note_missing_partner_data()
templates = champion.templates()
log = champion.touch_log()
snapshot = notices.data_key(dataset)

partners = datasets.query(metrics.notice_partners, filters)
if partners.empty:
    empty(t("notices.empty"))
    st.stop()
sent = log.sent(snapshot, templates.name)
shown = champion.overview(partners, sent, log)
cols = st.columns(4)
kpi(cols[0], t("notices.partners"), len(partners), help=t("notices.partners_help"))
kpi(cols[1], t("notices.with_address"), int((shown["email"] != "").sum()), help=t("notices.with_address_help"))
kpi(cols[2], t("notices.sent"), int(shown["notice_sent"].sum()), help=t("notices.sent_help", template=templates.name))
kpi(cols[3], t("notices.lapse"), int(partners["lapse_risk_subscriptions"].sum()))

st.subheader(t("notices.preview_title"))
# The most exposed first; a long list offers its first rows (the sidebar's partner search finds any other).
names = dict(zip(partners["partner_id"][:MAX_SCREEN_ROWS], partners["partner_name"][:MAX_SCREEN_ROWS], strict=True))
choice = st.selectbox(
    t("notices.preview_partner"), list(names), format_func=lambda p: f"{names[p]} ({p})", key="notice_partner"
)
notice = notices.build_notice(dataset.cursor(), programme, filters, choice, templates)
champion.show_notice(notice)
st.page_link(
    "pages/partner.py", label=t("notices.open_partner"), icon=":material/person:", query_params={"partner_id": choice}
)

st.subheader(t("notices.list_title"))
table(champion.touch_labels(shown), "notices", height=360, column_config_overrides=champion.time_columns())

st.subheader(t("notices.produce_title"))
st.caption(t("notices.produce_caption", count=fmt_int(len(partners))))
drafter = champion.who() or "web"
settings = champion.smtp()
smtp_from = settings.sender if settings else None


def build_all() -> list[notices.Notice]:
    return notices.build_notices(dataset.cursor(), programme, filters, templates)


def drafts(kind: str) -> bytes:
    """A download's file, built on the click (outside the script run); every notice in it is logged as drafted."""
    built = build_all()
    data = notices.drafts_zip(built, smtp_from) if kind == "zip" else notices.mailmerge_csv(built)
    mailer.record_drafts(built, log, snapshot=snapshot, template=templates.name, who=drafter)
    return data


with st.container(horizontal=True):
    st.download_button(
        t("notices.zip"),
        lambda: drafts("zip"),
        "notices.zip",
        "application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        key="notices_zip",
    )
    st.download_button(
        t("notices.mailmerge"),
        lambda: drafts("csv"),
        "mailmerge.csv",
        "text/csv",
        icon=":material/table:",
        on_click="ignore",
        key="notices_mailmerge",
    )

st.subheader(t("notices.send_title"))
if settings is not None:
    st.caption(champion.smtp_caption(settings))
    if not settings.configured:
        st.info(t("notices.smtp_missing"), icon=":material/info:")
resend = st.checkbox(t("notices.resend"), key="notice_resend", help=t("notices.resend_help"))
user = champion.who_input()
key = st.text_input(t("notices.key"), type="password", key="notice_key") if publish_key() else ""
plan_key = (snapshot, filters, templates.name, resend)
if st.button(t("notices.dry_run"), icon=":material/checklist:", key="notice_dry_run"):
    st.session_state["notice_plan"] = (plan_key, mailer.plan(build_all(), log, snapshot, templates.name, resend))
    st.session_state.pop("notice_result", None)
stored = st.session_state.get("notice_plan")
plan = stored[1] if stored and stored[0] == plan_key else None
if plan is not None:
    champion.show_outcomes(plan, "notice_plan")
will_send = sum(o.status == "will_send" for o in plan or [])
blocked = champion.send_blocked(plan, settings, user, will_send)
if blocked:
    st.caption(blocked)
if st.button(
    t("notices.send", count=fmt_int(will_send)) if plan is not None else t("notices.send_all"),
    type="primary",
    icon=":material/send:",
    disabled=bool(blocked),
    key="notice_send",
):
    if not key_ok(key):
        st.error(t("notices.wrong_key"), icon=":material/key_off:")
    else:
        bar = st.progress(0.0, text=t("notices.sending"))
        try:
            result = mailer.send(
                build_all(),
                settings,
                log,
                snapshot=snapshot,
                template=templates.name,
                who=user,
                resend=resend,
                progress=lambda done, total, o: bar.progress(
                    done / total, text=t("notices.sending_one", partner=md(o.partner_name))
                ),
            )
            st.session_state["notice_result"] = result
            st.session_state.pop("notice_plan", None)
            st.rerun()
        except InputError as exc:  # the server refused or cannot be reached: nothing was sent
            st.error(error_text(exc), icon=":material/error:")
if st.session_state.get("notice_result"):
    champion.show_result(st.session_state["notice_result"])

st.subheader(t("notices.log_title"))
history = log.entries(kinds=("drafted", "sent", "failed"), limit=1000)
if history.empty:
    st.caption(t("notices.log_empty"))
else:
    table(
        champion.touch_labels(history).drop(columns=["id", "outcome", "note"]),
        "notice_log",
        height=300,
        column_config_overrides=champion.time_columns(),
    )
