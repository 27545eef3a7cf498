"""NCE Migration Radar: entry script with the navigation and the sidebar every page shares."""

import streamlit as st

from ui import state

st.set_page_config(page_title="NCE Migration Radar", page_icon=":material/radar:", layout="wide")

PAGES = [
    st.Page("pages/exposure.py", title="Exposure", icon=":material/warning:", url_path="exposure", default=True),
    st.Page("pages/opt_outs.py", title="Opt-outs", icon=":material/do_not_disturb_on:", url_path="opt_outs"),
    st.Page("pages/readiness.py", title="Partner readiness", icon=":material/checklist:", url_path="readiness"),
    st.Page("pages/projection.py", title="NCE projection", icon=":material/trending_up:", url_path="projection"),
    st.Page("pages/trends.py", title="Trends", icon=":material/timeline:", url_path="trends"),
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
]

page = st.navigation(PAGES)
with st.sidebar:
    st.markdown("### :material/radar: NCE Migration Radar")
state.sidebar()
state.enter_frame()
try:
    page.run()
finally:
    state.leave_frame()
