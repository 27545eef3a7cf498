"""The dashboard as a server: `streamlit run serve.py` serves app.py, warmed before its first request.

Streamlit runs an `st.App` it finds here with its own ASGI server (uvicorn); the lifespan below runs before the
server listens, so `/_stcore/health` answers only once the process has imported what the pages need, opened the
published snapshot and computed every page's unfiltered figures (ui/warmup.py). `streamlit run app.py` still
works, without the warm-up (the tests use it; the first request of the process then does that work).
"""

import asyncio
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def warm_first(_app):
    from ui import warmup

    await asyncio.to_thread(warmup.run)
    yield


app = st.App("app.py", lifespan=warm_first)
