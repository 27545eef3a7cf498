"""Partner view: one partner's subscriptions, readiness steps, opt-out, touchpoints (and a call to record) and its
notice; bookmarkable as /partner?partner_id=ID (`?partner=` is the sidebar's partner search)."""

import streamlit as st

from analytics import metrics, notices
from analytics.errors import InputError
from analytics.touchpoints import OUTCOMES
from ui import champion, datasets, frame
from ui.filters import describe, selected
from ui.i18n import error_text, fmt_date, t
from ui.text import md
from ui.widgets import empty, kpi, step_label, table

frame.ensure()

filters = selected()
dataset = datasets.current()
choices = datasets.query(metrics.partner_choices, filters)
partner_id = champion.current_partner()
profile = metrics.partner_profile(dataset.cursor(), partner_id) if partner_id else None
if profile is None or profile.empty:
    st.title(t("partner.title"))
    champion.partner_picker(choices, partner_id)
    if partner_id:
        st.warning(t("partner.unknown", id=md(partner_id)), icon=":material/person_off:")
    else:
        empty(t("partner.pick"))
    st.stop()
p = profile.iloc[0]
language = notices.notice_language(p["language"], p["partner_country"])
st.title(md(p["partner_name"]))
champion.partner_picker(choices, partner_id)
st.caption(
    t(
        "partner.caption",
        id=md(partner_id),
        country=md(p["partner_country"] or "–"),
        language=t(f"notices.language_{language}"),
        email=md(
            notices.valid_address(p["contact_email"])
            or t("notices.problem_" + notices.address_problem(p["contact_email"]))
        ),
        showing=describe(filters),
    )
)
if not p["has_partner_row"]:
    st.info(t("partner.no_partner_row"), icon=":material/info:")

subs = datasets.query(metrics.partner_subscriptions, filters, partner_id=partner_id)
in_scope = subs[subs["scope"] == "in_scope"]
cols = st.columns(4)
kpi(cols[0], t("partner.after"), int((in_scope["side"] == "after").sum()), help=t("partner.after_help"))
kpi(cols[1], t("partner.lapse"), int(in_scope["lapse_risk"].sum()), help=t("partner.lapse_help"))
kpi(cols[2], t("partner.projected"), int(in_scope["projected"].sum()), help=t("partner.projected_help"))
steps = dataset.programme.readiness_steps
cols[3].metric(t("partner.steps"), f"{int(p['steps_done'])} / {len(steps)}", border=True)

left, right = st.columns(2)
with left:
    st.subheader(t("partner.readiness_title"))
    table(champion.steps_frame(p, steps, step_label), "partner_steps", partner_links=False)
with right:
    st.subheader(t("partner.opt_out_title"))
    if p["opted_out"]:
        when = fmt_date(p["opt_out_date"])
        st.warning(
            t("partner.opted_out_late" if p["late_opt_out"] else "partner.opted_out", date=when),
            icon=":material/do_not_disturb_on:",
        )
    else:
        st.success(
            t("partner.not_opted_out", deadline=fmt_date(dataset.programme.opt_out_deadline)), icon=":material/check:"
        )

st.subheader(t("partner.subscriptions_title"))
if subs.empty:
    empty(t("partner.no_subscriptions"))
else:
    table(
        champion.subscription_rows(subs),
        f"subscriptions_{notices.safe_name(partner_id)}",
        height=320,
        partner_links=False,
    )

st.subheader(t("partner.touchpoints_title"))
log = champion.touch_log()
user = champion.who_input()
with st.form("record_call", clear_on_submit=True, border=True):
    st.markdown(t("partner.record_call"))
    outcome = st.selectbox(t("partner.outcome"), OUTCOMES, format_func=lambda o: t(f"outcome.{o}"), key="call_outcome")
    note = st.text_area(t("partner.note"), max_chars=2000, key="call_note")
    if st.form_submit_button(t("partner.save_call"), icon=":material/call:", type="primary"):
        try:
            log.record_call(partner_id, outcome, note, user or "", snapshot=notices.data_key(dataset))
            st.success(t("partner.call_saved", outcome=t(f"outcome.{outcome}")), icon=":material/check:")
        except InputError as exc:
            st.error(error_text(exc), icon=":material/error:")
history = log.entries(partner_id=partner_id)
if history.empty:
    st.caption(t("partner.no_touchpoints"))
else:
    table(
        champion.touch_labels(history).drop(columns=["id", "partner_id"]),
        "partner_touchpoints",
        partner_links=False,
        column_config_overrides=champion.time_columns(),
    )

st.subheader(t("partner.notice_title"))
notice = notices.build_notice(dataset.cursor(), dataset.programme, filters, partner_id, champion.templates())
if notice is None:
    empty(t("partner.no_notice"))
else:
    champion.show_notice(notice)
