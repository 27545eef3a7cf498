"""NCE Migration Radar: entry script with the navigation and the sidebar every page shares."""

import streamlit as st

from ui import frame, sidebar
from ui.i18n import t

st.set_page_config(page_title="NCE Migration Radar", page_icon=":material/radar:", layout="wide")
sidebar.start_language()

EXPOSURE = st.Page("pages/exposure.py", title=t("nav.exposure"), icon=":material/warning:", url_path="exposure")


def home() -> None:
    """The root URL opens Exposure at its own address, /exposure (Streamlit serves its default page only at the
    root), with the query of the link (a shared view's filters)."""
    st.switch_page(EXPOSURE, query_params={key: st.query_params.get_all(key) for key in st.query_params})


PAGES = [
    st.Page(home, title=t("nav.exposure"), url_path="home", default=True, visibility="hidden"),
    EXPOSURE,
    st.Page("pages/opt_outs.py", title=t("nav.opt_outs"), icon=":material/do_not_disturb_on:", url_path="opt_outs"),
    st.Page("pages/readiness.py", title=t("nav.readiness"), icon=":material/checklist:", url_path="readiness"),
    st.Page("pages/projection.py", title=t("nav.projection"), icon=":material/trending_up:", url_path="projection"),
    st.Page("pages/trends.py", title=t("nav.trends"), icon=":material/timeline:", url_path="trends"),
    st.Page("pages/notices.py", title=t("nav.notices"), icon=":material/outgoing_mail:", url_path="notices"),
    st.Page("pages/partner.py", title=t("nav.partner"), icon=":material/person:", url_path="partner"),
    st.Page("pages/data.py", title=t("nav.data"), icon=":material/upload_file:", url_path="data"),
]

page = st.navigation(PAGES)
with st.sidebar:
    st.markdown(f"### :material/radar: {t('app.name')}")
sidebar.draw()
with frame.running():
    page.run()
