"""Every figure by name: its query function (analytics/metrics.py) and which page asks for it with which arguments.

A page calls the query function itself (`state.query(metrics.expirations, filters, grain=grain)`), so
go-to-definition leads from the page to the function and its SQL. This registry is the one list the rest reads:
the bench times each page's figures from `PAGES` (bench/worker.py), tests/test_query_paths.py proves every
filtered figure equal across the roll-up paths from `FIGURES`, and tests/test_figures_registry.py runs every page
and fails when a page asks for a figure that `PAGES` does not list for it (or no longer asks for one it lists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics import metrics

# The rows a page asks for and draws of a long list (ui/widgets.py table() shows as many; the downloads hold all).
SCREEN_ROWS = 2000


@dataclass(frozen=True)
class Figure:
    """A named query: `function(cursor, filters, **arguments)`, or `function(cursor, **arguments)` when it does
    not take the sidebar's filters (`filtered=False`)."""

    function: Callable[..., Any]
    filtered: bool = True
    # The argument sets tests/test_query_paths.py proves equal across the roll-up paths (suffix -> arguments).
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"": {}})

    @property
    def name(self) -> str:
        return self.function.__name__


def _named(*figures: Figure) -> dict[str, Figure]:
    return {figure.name: figure for figure in figures}


FIGURES: dict[str, Figure] = _named(
    Figure(metrics.headline),
    Figure(metrics.expirations, variants={"month": {"grain": "month"}, "week": {"grain": "week"}}),
    Figure(metrics.exposed_partners, variants={"": {}, "not_opted_out": {"opted_out": False}}),
    Figure(metrics.opted_out_partners),
    Figure(metrics.opt_outs_over_time),
    Figure(metrics.readiness_funnel),
    Figure(metrics.step_completion),
    Figure(metrics.call_list),
    Figure(metrics.projection),
    Figure(metrics.projection_what_if, variants={"": {"share": 0.3}}),
    Figure(metrics.notice_partners),
    Figure(metrics.partner_choices),
    Figure(metrics.partner_subscriptions),
    Figure(metrics.countries, filtered=False, variants={}),
    Figure(metrics.segments, filtered=False, variants={}),
    Figure(metrics.row_counts, filtered=False, variants={}),
    Figure(metrics.rejects, filtered=False, variants={}),
)


@dataclass(frozen=True)
class Use:
    """One figure as a page asks for it: the arguments besides the filters (as the page's controls start), how the
    bench labels it, and `deltas`: under a filter the page also asks for it unfiltered (the KPI cards' "of N")."""

    figure: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    deltas: bool = False

    def __post_init__(self) -> None:
        if self.figure not in FIGURES:
            raise ValueError(f"unknown figure {self.figure!r}")

    @property
    def shown_as(self) -> str:
        return self.label or self.figure


_FIRST_ROWS = f"(first {SCREEN_ROWS:,})"

# What each page (pages/<name>.py; "sidebar" is app.py's frame, on every page) asks for, in the order it asks.
PAGES: dict[str, tuple[Use, ...]] = {
    "sidebar": (Use("countries"), Use("segments")),
    "exposure": (
        Use("headline", deltas=True),
        Use("expirations", {"grain": "month"}),
        Use("exposed_partners", {"limit": SCREEN_ROWS}, f"exposed_partners {_FIRST_ROWS}"),
    ),
    "opt_outs": (
        Use("row_counts"),
        Use("headline", deltas=True),
        Use("opt_outs_over_time"),
        Use("opted_out_partners", {"limit": SCREEN_ROWS}, f"opted_out_partners {_FIRST_ROWS}"),
    ),
    "readiness": (
        Use("row_counts"),
        Use("headline", deltas=True),
        Use("readiness_funnel"),
        Use("step_completion"),
        Use("call_list", {"limit": SCREEN_ROWS, "exclude": ()}, f"call_list {_FIRST_ROWS}"),
        Use("exposed_partners", {"limit": 40, "opted_out": False}, "exposed_partners (first 40 not opted out)"),
    ),
    "projection": (
        Use("headline", deltas=True),
        Use("projection_what_if", {"share": 0.0}),
        Use("projection"),
    ),
    "data": (Use("row_counts"), Use("rejects", {"limit": 5000}, "rejects (first 5,000)")),
}


def call(use: Use, cursor, filters: metrics.Filters):
    """Run one use of a figure as its page does."""
    figure = FIGURES[use.figure]
    if figure.filtered:
        return figure.function(cursor, filters, **use.arguments)
    return figure.function(cursor, **use.arguments)
