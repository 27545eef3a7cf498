"""Text stays text: values from URLs, files, config and request headers are escaped before Streamlit's Markdown
and Plotly's HTML subset draw them (ui/text.py), on every page."""

from __future__ import annotations

import re

import pytest

from ui.text import md, plot, plot_all, plot_frame

LINK = "[Session expired](https://evil.example/phish)"
IMAGE = "![x](https://evil.example/pixel.png)"
HEADING = "\n\n# HACKED"
ANCHOR = '<a href="https://evil.example/a">click</a>'
SPAN = '<span style="color:red">styled</span>'

# Markdown syntax that must not survive md(): a link or image, a heading, HTML, a directive, LaTeX, a shortcode,
# a bare link that GitHub Markdown turns into an anchor.
UNESCAPED = re.compile(
    r"(?<!\\)\]\(|(?<!\\)!(?<!\\)\[|(^|\n)\s*#|(?<!\\)<[a-z/!]|(?<!\\):[a-z]+(?<!\\)\[|(?<!\\)\$"
    r"|:[\w+-]+:|https?://|www\.|\w@\w|\n"
)


@pytest.mark.parametrize(
    "value",
    [
        LINK,
        IMAGE,
        HEADING,
        ANCHOR,
        SPAN,
        ":red[alarm] :material/warning: :material_warning: :streamlit: :smile:",
        "$x^2$ and $$y$$",
        "https://evil.example/bare www.evil.example phish@evil.example <https://evil.example/auto>",
        "- item\n1. first\n> quote\n| a | b |\n---",
        "**bold** _it_ ~~gone~~ `code` &#91;entity&#93; back\\slash",
    ],
)
def test_markdown_escaping_leaves_no_syntax(value):
    escaped = md(value)
    assert not UNESCAPED.search(escaped), escaped
    # Every ASCII punctuation character of the value is escaped, so nothing of it is Markdown.
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)), escaped


def test_markdown_escaping_keeps_the_text_readable():
    # What a reader sees once Markdown has removed the escapes: the value itself, on one line.
    shown = re.sub(r"\\(.)", r"\1", md(LINK + HEADING)).replace("\u2060", "")
    assert shown == LINK + " # HACKED"
    assert md("Müller Systemhaus GmbH") == "Müller Systemhaus GmbH"
    assert md(None) == ""
    assert md(42) == "42"


def test_plotly_escaping_turns_tags_into_entities():
    assert plot(ANCHOR) == '&lt;a href="https://evil.example/a"&gt;click&lt;/a&gt;'
    assert plot("A & B <br>") == "A &amp; B &lt;br&gt;"
    assert plot(None) is None and plot(3) == 3
    assert plot_all([SPAN, None]) == ['&lt;span style="color:red"&gt;styled&lt;/span&gt;', None]


def test_plotly_escaping_of_a_frame_touches_text_only():
    import pandas as pd

    frame = pd.DataFrame({"name": [ANCHOR, None], "seats": [1, 2]})
    escaped = plot_frame(frame)
    assert escaped["name"].iloc[0].startswith("&lt;a href")
    assert list(escaped["seats"]) == [1, 2]
    assert frame["name"].iloc[0] == ANCHOR  # the table beside the chart keeps the value as it is
