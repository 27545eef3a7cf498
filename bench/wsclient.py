"""A Streamlit session without a browser: the frontend's side of `/_stcore/stream`, enough to load the server.

Streamlit's frontend talks to the server over one websocket per session (Streamlit 1.67 serves it with Starlette:
`streamlit/web/server/starlette/starlette_websocket.py`). It sends a `BackMsg` whose `rerun_script` (a
`ClientState`) names the page (`page_script_hash`), the URL's query string and the widgets' values; the server
runs the script and streams `ForwardMsg`s back: `navigation` (the pages, with their hashes and URL paths),
`delta`s (the elements), `page_info_changed` (the query string the script wrote) and, last, `script_finished`.
A run that ends in `st.rerun()` finishes with FINISHED_EARLY_FOR_RERUN and the server starts the next run
itself, so a page is done at the first FINISHED_SUCCESSFULLY (or an error status) after the request.

This client does what the frontend does for the three things a user does here (open, switch page, change the
country filter) and nothing it does not need: it never renders, so a page time here is the server's time to run
the page and stream it, not a browser's time to draw it (bench/history.py measures that, one browser at a time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
FINISHED_SUCCESSFULLY = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY


@dataclass
class View:
    """One request and what came back until the page was done."""

    seconds: float
    status: int
    exceptions: list[str] = field(default_factory=list)
    messages: int = 0
    bytes: int = 0
    texts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == FINISHED_SUCCESSFULLY


class Session:
    """One Streamlit session over its own websocket, as one browser tab would hold it."""

    def __init__(self, url: str, locale: str = "en-US"):
        self.url = url
        self.locale = locale
        self.pages: dict[str, str] = {}  # URL path ("" for the default page) -> page_script_hash
        self.page = ""
        self.query = ""
        self.widgets: dict[str, list[str]] = {}  # widget id -> the values this session chose (multiselects)
        self.widget_ids: dict[str, str] = {}  # a widget's label -> its id, as the last run drew it
        self.options: dict[str, list[str]] = {}  # a multiselect's label -> its options as it shows them
        self._ws = None

    async def __aenter__(self) -> Session:
        self._ws = await connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            origin=self.url,
            max_size=None,
            open_timeout=60,
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self._ws.close()

    async def open(self, query: str = "") -> View:
        """The first request of a tab: the default page (or the one the URL's query string seeds)."""
        self.query = query
        return await self._run()

    async def switch(self, path: str) -> View:
        """A click on a sidebar link: the page at URL path `path` ("" is the default page)."""
        self.page = path
        return await self._run()

    async def choose(self, label: str, values: list[str]) -> View:
        """Pick `values` (the options as the widget shows them) in the multiselect labelled `label`."""
        self.widgets[self.widget_ids[label]] = list(values)
        return await self._run()

    async def _run(self) -> View:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.pages.get(self.page, "")
        state.context_info.locale = self.locale
        state.context_info.timezone = "UTC"
        for widget_id, values in self.widgets.items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            widget.string_array_value.data.extend(values)
        began = time.perf_counter()
        await self._ws.send(message.SerializeToString())
        view = View(seconds=0.0, status=-1)
        while True:
            raw = await self._ws.recv()
            view.messages += 1
            view.bytes += len(raw)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.pages = {page.url_pathname: page.page_script_hash for page in forward.navigation.app_pages}
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                self._element(forward.delta.new_element, view)
            elif kind == "script_finished" and forward.script_finished != FINISHED_EARLY_FOR_RERUN:
                view.status = forward.script_finished
                view.seconds = time.perf_counter() - began
                return view

    def _element(self, element, view: View) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            view.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
        elif kind == "multiselect":
            self.widget_ids[element.multiselect.label] = element.multiselect.id
            self.options[element.multiselect.label] = list(element.multiselect.options)
        elif kind == "markdown":
            view.texts.append(element.markdown.body)
        elif kind == "heading":
            view.texts.append(element.heading.body)
