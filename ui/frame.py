"""The frame guard: every page runs inside app.py's navigation and sidebar, even when Streamlit started the page
file on its own (docs/ARCHITECTURE.md, "the `pages/` folder and `st.navigation`").

    app.py:      with frame.running(): page.run()
    each page:   frame.ensure()     (after its imports)
"""

from __future__ import annotations

import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parent.parent / "app.py"
_frame = threading.local()  # Streamlit runs each session's script on its own thread


@contextmanager
def running() -> Iterator[None]:
    """Mark this thread's script run as inside app.py's frame while the page runs."""
    _frame.active = True
    try:
        yield
    finally:
        _frame.active = False


def ensure() -> None:
    """Run the entry script instead when Streamlit started a page file on its own (legacy pages/ mode).

    On a fresh server the first request for /some_page runs pages/some_page.py alone, without app.py's
    navigation and sidebar; running app.py here turns on st.navigation and draws the page in its frame.
    """
    if getattr(_frame, "active", False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
