"""Streamlit side of notices and touchpoints: who the user is, the log, the SMTP settings, partner links and the
notice preview shared by the Notices page and the partner view."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics import mailer, notices
from analytics.errors import InputError
from analytics.settings import settings
from analytics.touchpoints import KINDS, MAX_WHO, OUTCOMES, TouchpointLog, one_line, with_last_touch
from ui import datasets, filters, i18n
from ui.i18n import error_text, fmt_int, t
from ui.publishing import publisher
from ui.text import md

PARTNER_PARAM = "partner_id"  # the partner view's URL parameter (?partner= is the sidebar's partner search)
WHO_KEY = "_who"  # session key: the name this user typed, once per session


# ---------------------------------------------------------------- who


def trusted_user() -> str | None:
    """The signed-in user from the operator's trusted proxy header, when one is configured and present."""
    if not settings().trusted_user_header:
        return None
    name = publisher()
    return None if name == "web" else name


def who() -> str | None:
    """Who records a call or sends a notice: the trusted proxy user, else the name typed in this session."""
    return trusted_user() or st.session_state.get(WHO_KEY) or None


def _store_who() -> None:
    st.session_state[WHO_KEY] = one_line(st.session_state.get("w_who", ""), MAX_WHO)


def who_input() -> str | None:
    """Ask for a name once per session (unless the proxy names the user); returns who."""
    user = trusted_user()
    if user:
        st.caption(t("touch.signed_in_as", who=md(user)))
        return user
    st.session_state.setdefault("w_who", st.session_state.get(WHO_KEY, ""))
    st.text_input(
        t("touch.your_name"), key="w_who", on_change=_store_who, help=t("touch.your_name_help"), max_chars=MAX_WHO
    )
    _store_who()
    return who()


# ---------------------------------------------------------------- the log, the settings, the templates


def touch_log() -> TouchpointLog:
    """The touchpoint log of the store this server serves (RADAR_STORE)."""
    return TouchpointLog(store=datasets.store().path)


def smtp() -> mailer.SmtpSettings | None:
    """The SMTP settings (password from RADAR_SMTP_PASSWORD or `smtp_password` in Streamlit secrets); None, with the
    reason shown, when the config is wrong."""
    try:
        secret = str(st.secrets.get("smtp_password", ""))
    except Exception:  # no secrets file on this server
        secret = ""
    try:
        return mailer.smtp_settings(password=secret or None)
    except InputError as exc:
        st.error(error_text(exc), icon=":material/error:")
        return None


def templates() -> notices.Templates:
    """The notice templates, or a stop with the reason when a file is missing or broken."""
    try:
        return notices.Templates.load()
    except InputError as exc:
        st.error(error_text(exc), icon=":material/error:")
        st.stop()


# ---------------------------------------------------------------- partner links


def _selection() -> str:
    """This session's filters and language as URL parameters (after the partner id)."""
    chosen = filters.selected()
    params = [("country", c) for c in chosen.countries] + [("segment", s) for s in chosen.segments]
    if chosen.partner:
        params.append(("partner", chosen.partner))
    params.append(("lang", i18n.lang()))
    return urllib.parse.urlencode(params)


def partner_url(partner_id: str, selection: str | None = None) -> str:
    """The partner view of `partner_id` (relative to the page, so a proxy's base path is kept), with the filters
    and language of this session, so that the view opened in a new tab shows the same selection."""
    selection = _selection() if selection is None else selection
    return f"partner?{urllib.parse.urlencode([(PARTNER_PARAM, partner_id)])}&{selection}"


def link_partners(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """A partner list with its `partner_id` cells as links to the partner view, and their column config."""
    if "partner_id" not in frame.columns or frame.empty:
        return frame, {}
    selection = _selection()
    linked = frame.assign(
        partner_id=frame["partner_id"].map(lambda p: partner_url(p, selection) if isinstance(p, str) else p)
    )
    column = st.column_config.LinkColumn(t("col.partner_id"), display_text=rf"{PARTNER_PARAM}=([^&]*)")
    return linked, {"partner_id": column}


# ---------------------------------------------------------------- notices


def show_notice(notice: notices.Notice) -> None:
    """The notice as it will be sent: recipient, subject, body (as text, never Markdown) and its attachments."""
    if notice.recipient:
        st.caption(t("notices.to", address=md(notice.recipient), language=t(f"notices.language_{notice.language}")))
    else:
        st.warning(t(f"notices.no_address_{notice.address_problem or 'missing'}"), icon=":material/mail_lock:")
    st.text_input(t("notices.subject"), notice.subject, disabled=True, key=f"subject_{notice.partner_id}")
    st.code(notice.body, language=None, wrap_lines=True, height=420)
    csv_bytes, xlsx_bytes = notices.attachments(notice)
    stem = notice.attachment_stem()
    with st.container(horizontal=True, vertical_alignment="center"):
        st.download_button(
            t("notices.attachment_csv"), csv_bytes, f"{stem}.csv", "text/csv", icon=":material/attach_file:"
        )
        st.download_button(
            t("notices.attachment_xlsx"),
            xlsx_bytes,
            f"{stem}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/attach_file:",
        )
        st.caption(t("notices.attachment_rows", count=fmt_int(len(notice.subscriptions))))


def overview(partners: pd.DataFrame, sent: set[str], log: TouchpointLog) -> pd.DataFrame:
    """The notice list as the page shows it: language, address, whether it was sent, the last touch."""
    frame = partners.assign(
        language=[
            notices.notice_language(lang, country)
            for lang, country in zip(partners["language"], partners["partner_country"], strict=True)
        ],
        email=partners["contact_email"].map(lambda raw: notices.valid_address(raw) or ""),
        address_problem=partners["contact_email"].map(
            lambda raw: t(f"notices.problem_{notices.address_problem(raw)}") if notices.address_problem(raw) else ""
        ),
        notice_sent=partners["partner_id"].isin(sent),
    )
    frame = with_last_touch(frame, log)
    return frame[
        [
            "partner_id",
            "partner_name",
            "countries",
            "language",
            "email",
            "address_problem",
            "lapse_risk_subscriptions",
            "after_subscriptions",
            "projected_subscriptions",
            "opted_out",
            "steps_done",
            "notice_sent",
            "last_touch",
            "last_touch_kind",
            "last_outcome",
        ]
    ]


def time_columns() -> dict:
    """Column config for touchpoint times (UTC): date and time, in the session's date format."""
    shown = "DD.MM.YYYY HH:mm" if i18n.lang() == "de" else "YYYY-MM-DD HH:mm"
    return {name: st.column_config.DatetimeColumn(t(f"col.{name}"), format=shown) for name in ("at", "last_touch")}


def touch_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Kinds and outcomes of touchpoints in the interface language."""
    out = frame.copy()
    for column, prefix in (
        ("kind", "touch.kind_"),
        ("last_touch_kind", "touch.kind_"),
        ("outcome", "outcome."),
        ("last_outcome", "outcome."),
    ):
        if column in out.columns:
            out[column] = out[column].map(lambda v, p=prefix: t(f"{p}{v}") if isinstance(v, str) else v)
    if "at" in out.columns:
        out["at"] = out["at"].dt.tz_localize(None)
    if "last_touch" in out.columns:
        out["last_touch"] = pd.to_datetime(out["last_touch"], utc=True).dt.tz_localize(None)
    return out


# ---------------------------------------------------------------- sending


def smtp_caption(settings: mailer.SmtpSettings) -> str:
    """The SMTP settings in one caption (never the password, only whether it is set)."""
    return t(
        "notices.smtp_settings",
        host=md(settings.host or "–"),
        port=settings.port,
        starttls=t("notices.yes") if settings.starttls else t("notices.no"),
        sender=md(settings.sender or "–"),
        user=md(settings.user or "–"),
        password=t("notices.yes") if settings.password else t("notices.no"),
        rate=i18n.fmt_num(settings.rate_per_minute, 0),
    )


def send_blocked(plan, settings: mailer.SmtpSettings | None, user: str | None, will_send: int) -> str:
    """Why the Send button is off ("" when it is on): dry run first, a server, a name, something to send."""
    if settings is None or not settings.configured:
        return t("notices.blocked_smtp")
    if plan is None:
        return t("notices.blocked_dry_run")
    if not user:
        return t("notices.blocked_who")
    if will_send == 0:
        return t("notices.blocked_nothing")
    return ""


STATUS_ORDER = ("failed", "no_address", "will_send", "sent", "already_sent")  # what needs a look comes first


def _outcome_frame(outcomes: list[mailer.Outcome]) -> pd.DataFrame:
    frame = pd.DataFrame([o.to_json() for o in outcomes])
    frame = frame.iloc[frame["status"].map(STATUS_ORDER.index).argsort(kind="stable")]
    frame = frame[["partner_id", "partner_name", "status", "detail", "recipient", "language", "subject"]]
    frame["status"] = frame["status"].map(lambda s: t(f"notices.status_{s}"))
    frame["detail"] = frame["detail"].map(lambda d: t(f"notices.problem_{d}") if d in ("missing", "invalid") else d)
    return frame


def show_outcomes(outcomes: list[mailer.Outcome], name: str) -> None:
    """The dry run: who would get what, who not and why."""
    counts = {s: sum(o.status == s for o in outcomes) for s in ("will_send", "already_sent", "no_address")}
    st.success(
        t(
            "notices.plan_summary",
            send=fmt_int(counts["will_send"]),
            sent=fmt_int(counts["already_sent"]),
            missing=fmt_int(counts["no_address"]),
        ),
        icon=":material/checklist:",
    )
    from ui.widgets import table

    table(_outcome_frame(outcomes), name, height=260)


def show_result(outcomes: list[mailer.Outcome]) -> None:
    """After a send: how many went out, and every failure with its partner and reason."""
    sent = sum(o.status == "sent" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        st.warning(t("notices.result_failed", sent=fmt_int(sent), failed=fmt_int(len(failed))), icon=":material/error:")
    else:
        st.success(t("notices.result_sent", sent=fmt_int(sent)), icon=":material/send:")
    from ui.widgets import table

    table(_outcome_frame(outcomes), "notice_result", height=260)


# ---------------------------------------------------------------- the partner view


VIEW_KEY = "_partner_view"  # session key: the partner the view shows


def _pick_partner() -> None:
    chosen = st.session_state.get("w_partner_view")
    if chosen:
        st.session_state[VIEW_KEY] = chosen
        st.query_params[PARTNER_PARAM] = chosen


def current_partner() -> str | None:
    """The partner the view shows: ?partner_id= (a bookmark or a link), else this session's last choice; kept in
    the URL, so the view can be bookmarked."""
    current = st.query_params.get(PARTNER_PARAM) or st.session_state.get(VIEW_KEY)
    if current:
        st.session_state[VIEW_KEY] = current
        if st.query_params.get(PARTNER_PARAM) != current:
            st.query_params[PARTNER_PARAM] = current
    return current or None


def partner_picker(choices: pd.DataFrame, current: str | None) -> None:
    """A picker over the partners within the filters (most exposed first); a choice changes the view and the URL."""
    names = dict(zip(choices["partner_id"], choices["partner_name"], strict=True))
    options = list(names)
    if current and current not in names:
        options.insert(0, current)
    if current:
        st.session_state["w_partner_view"] = current
    st.selectbox(
        t("partner.choose"),
        options,
        index=0 if current else None,  # with a partner, the session state above holds the choice
        format_func=lambda pid: f"{names[pid]} ({pid})" if pid in names else pid,
        key="w_partner_view",
        on_change=_pick_partner,
        placeholder=t("partner.choose_placeholder"),
    )


def steps_frame(profile: pd.Series, steps, label) -> pd.DataFrame:
    """The readiness steps of a partner: done or not, and whether step 4 was derived from its customers."""
    return pd.DataFrame(
        [
            {
                "step": label(step),
                "done": bool(profile[step]),
                "source": t("partner.derived") if step == "mca_all_customers" and profile["mca_derived"] else "",
            }
            for step in steps
        ]
    )


def subscription_rows(subs: pd.DataFrame) -> pd.DataFrame:
    """A partner's subscriptions as the view lists them, scope and side in words."""
    frame = subs.assign(
        scope=subs["scope"].map(lambda s: t(f"scope.{s}")),
        side=subs["side"].map(lambda s: t(f"side.{s}") if isinstance(s, str) else ""),
    )
    return frame[
        [
            "subscription_id",
            "customer_name",
            "offer_name",
            "country",
            "segment",
            "seats",
            "term_end_date",
            "auto_renew",
            "billing_term",
            "scope",
            "side",
            "lapse_risk",
            "migration_date",
            "projected",
        ]
    ]


def last_touch_labels() -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A function that adds each partner's last touch (when, what, by whom) and last call outcome to a partner list,
    in this session's language. The words are taken now, so a download can run it outside the session."""
    kinds = {k: t(f"touch.kind_{k}") for k in KINDS}
    outcomes = {o: t(f"outcome.{o}") for o in OUTCOMES}
    log = touch_log()

    def add(frame: pd.DataFrame) -> pd.DataFrame:
        out = with_last_touch(frame, log)
        out["last_touch_kind"] = out["last_touch_kind"].map(kinds)
        out["last_outcome"] = out["last_outcome"].map(outcomes)
        out["last_touch"] = pd.to_datetime(out["last_touch"], utc=True).dt.tz_localize(None)
        return out

    return add
