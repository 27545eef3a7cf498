"""Warm a starting server before it takes its first request: import what the pages import, open the published
snapshot, and compute every page's unfiltered figures into the caches every session shares.

`serve.py` runs `run()` in the server's startup (Streamlit's `st.App` lifespan), so the server answers
`/_stcore/health` only once this is done: a replica behind a proxy gets its first user only when warm, and that
user's first page reads cached figures. Without it (`streamlit run app.py`) the first request of the process does
this work while its user waits (bench/RESULTS-history.md, "restart").

The figures are the ones analytics.figures.PAGES lists for each page, with the arguments the page starts with,
through the same cached functions the pages call (ui.datasets), so each page finds exactly these cache entries.
A failure here is logged and the server starts anyway: the pages then do the work themselves, as without it.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("radar")


def run() -> dict:
    """Warm this process; returns what was done (seconds per phase, the snapshot, the figures computed)."""
    began = time.perf_counter()
    done: dict = {"snapshot": None, "figures": 0}
    try:
        _imports()
        _first_uses()
        done["imports"] = time.perf_counter() - began
        from ui import datasets

        opened = time.perf_counter()
        dataset = datasets.published_for_warmup()
        done["snapshot"] = dataset.snapshot
        done["open"] = time.perf_counter() - opened
        computed = time.perf_counter()
        done["figures"] = datasets.warm(dataset)
        done["queries"] = time.perf_counter() - computed
    except Exception:  # never stop the server from starting: the pages do this work on their first request
        log.exception("warm-up failed; the first requests will do its work")
        done["failed"] = True
    done["seconds"] = time.perf_counter() - began
    log.warning(
        "warm-up done in %.2f s: snapshot %s, %d figures", done["seconds"], done["snapshot"] or "-", done["figures"]
    )
    return done


def _first_uses() -> None:
    """What a process does once, on the first element, chart or country name it draws (py-spy of a first request
    after this warm-up's imports: 0.5 s in Streamlit's one-time check whether it runs in a REPL, which walks the
    stack with `inspect`; plotly's validators, loaded on a figure's first use; Babel's territory names)."""
    import plotly.graph_objects as go
    from streamlit import delta_generator

    from analytics.schema import country_name
    from ui import widgets
    from ui.i18n import LANGUAGES

    check = getattr(delta_generator, "_maybe_print_use_warning", None)  # private: skipped if it is renamed
    if check is not None:
        check()
    figure = go.Figure()
    figure.add_bar(x=["a"], y=[1])
    figure.add_scatter(x=["a"], y=[1], mode="lines+markers")
    widgets.style(figure, "warm-up")
    for language in LANGUAGES:
        country_name("DE", language)


def _imports() -> None:
    """What the entry script and the pages import on their first run (the heavy part: pandas, pyarrow, plotly,
    DuckDB, Babel), so that no request pays for it."""
    import babel.numbers  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import pyarrow  # noqa: F401
    from pandas.io.formats.style import Styler  # noqa: F401

    import analytics.figures  # noqa: F401
    import analytics.trends  # noqa: F401
    from ui import champion, datasets, filters, history, i18n, publishing, report, sidebar, text, uploading, widgets  # noqa: F401
