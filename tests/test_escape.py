"""Text stays text: values from URLs, files, config and request headers are escaped before Streamlit's Markdown
and Plotly's HTML subset draw them (ui/text.py), on every page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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


# ---------------------------------------------------------------- every page, with hostile values everywhere

PAGES = ["exposure", "opt_outs", "readiness", "projection", "trends", "data"]
APP = str(Path(__file__).resolve().parent.parent / "app.py")
# P-1's name holds the ?partner= value below, so that filter still finds a partner and every chart is drawn.
PARTNERS = {
    "P-1": (f"Evil {LINK} {ANCHOR} GmbH", "DE", False),
    "P-2": (f"{IMAGE} AG", "AT", True),
    "P-3": (f"{SPAN} & Co :red[alarm] $x$", "DE", False),
}
LABEL_FILES = (f"{LINK}.csv", f"{ANCHOR}.csv")
PUBLISHER = f"{LINK} <img src=https://evil.example/by.png>"
PROGRAMME = f"{LINK} :red[Programme] $x^2$"
SCENARIOS = {
    "no filter": {},
    "partner link": {"partner": LINK},
    "hostile filters": {"partner": HEADING, "country": [f"[X]({'https://evil.example/c'})"], "segment": [ANCHOR]},
}
# Markup that must never reach Streamlit's Markdown unescaped.
ACTIVE = [
    re.compile(r"\]\(http"),  # a link or an image
    re.compile(r"(?<!\\)!\\?\["),  # an image
    re.compile(r"(^|\n)\s*#+\s*HACKED"),  # a heading
    re.compile(r"(?<!\\)<(a|img|span)\b"),  # HTML
    re.compile(r"(?<!\\):red(?<!\\)\["),  # a colour directive
    re.compile(r"https?://"),  # a bare link (GitHub Markdown makes one of it)
]


def write_export(folder: Path) -> list[tuple[Path, str]]:
    """A subscriptions and a partners file with hostile partner names, under hostile display names."""
    import csv

    subscriptions, partners = folder / "subscriptions.csv", folder / "partners.csv"
    with subscriptions.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["subscription_id", "partner_id", "partner_name", "customer_id", "country", "seats", "term_end_date"]
        )
        for i, (pid, (name, country, _)) in enumerate(PARTNERS.items()):
            writer.writerow([f"S-{i}a", pid, name, f"C-{i}", country, 10 + i, "2022-08-15"])
            writer.writerow([f"S-{i}b", pid, name, f"C-{i}", country, 3, "2022-05-15"])
    with partners.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partner_id", "partner_name", "country", "mpa_signed", "opted_out", "opt_out_date"])
        for pid, (name, country, opted_out) in PARTNERS.items():
            writer.writerow([pid, name, country, "true", str(opted_out).lower(), "2022-06-01" if opted_out else ""])
    return [(subscriptions, LABEL_FILES[0]), (partners, LABEL_FILES[1])]


@pytest.fixture
def hostile_store(tmp_path, monkeypatch):
    """A store with two published snapshots of the hostile export (Trends draws with two), published by a hostile
    proxy user name, under a programme whose name is Markdown."""
    import streamlit as st

    from analytics.dataset import load_files
    from analytics.store import Store

    programme = tmp_path / "programme.toml"
    programme.write_text(
        f"name = {json.dumps(PROGRAMME)}\ncutoff = 2022-07-11\nopt_out_deadline = 2022-06-30\n"
        "readiness_deadline = 2022-06-30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RADAR_PROGRAMME", str(programme))
    store = Store(tmp_path / "store")
    files = write_export(tmp_path)
    for _ in range(2):
        store.publish(load_files(files), [(name, 1) for _, name in files], PUBLISHER)
    monkeypatch.setenv("RADAR_STORE", str(store.path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store
    st.cache_data.clear()
    st.cache_resource.clear()


def run_page(page: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown_texts(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown: text elements, alerts, toasts, widget labels, help."""
    texts = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success", "toast"):
        texts += [e.value for e in at.get(kind)]
    texts += [m.label for m in at.metric] + [m.help for m in at.metric if m.help]
    for kind in ("multiselect", "text_input", "selectbox", "button", "segmented_control", "slider", "file_uploader"):
        for widget in at.get(kind):
            texts += [getattr(widget.proto, "label", ""), getattr(widget.proto, "help", "")]
    return [t for t in texts if t]


def assert_text_only(texts: list[str]) -> None:
    for text in texts:
        for pattern in ACTIVE:
            assert not pattern.search(text), (pattern.pattern, text)


def chart_specs(at: AppTest) -> list[str]:
    """The Plotly figures as drawn, as JSON text (non-ASCII and < > & unescaped, as the browser reads them)."""
    return [json.dumps(json.loads(chart.proto.spec), ensure_ascii=False) for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_hostile_values_as_text(hostile_store, page, scenario):
    at = run_page(page, SCENARIOS[scenario])
    texts = markdown_texts(at)
    assert_text_only(texts)
    joined = "\n".join(texts)
    # Shown, escaped: the snapshot label (file names), who published it, the programme's name.
    assert md(", ".join(LABEL_FILES)) in joined
    assert md(PUBLISHER) in joined
    assert md(PROGRAMME) in joined
    if scenario == "partner link" and page != "data":
        assert md(LINK) in joined  # the page caption names the filter
    if scenario == "hostile filters" and page != "data":
        assert md("[X](HTTPS://EVIL.EXAMPLE/C)") in joined and md(ANCHOR) in joined and "\\# HACKED" in joined
    for spec in chart_specs(at):
        assert "<a " not in spec and "<span" not in spec and "<img" not in spec, spec
    if scenario != "hostile filters" and page in ("exposure", "readiness"):
        assert any("&lt;a href" in spec and "\\[Session" not in spec for spec in chart_specs(at))


def test_an_upload_with_a_hostile_file_name_is_reported_and_published_as_text(hostile_store, tmp_path):
    """The file name reaches a warning (no segment column), the published label and the toast that announces it;
    a refused file's name reaches the error. All as text."""
    (subscriptions, _), _ = write_export(tmp_path)
    at = run_page("data")
    at.file_uploader[0].set_value((f"{LINK}{HEADING}.csv", subscriptions.read_bytes(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any(md(f"{LINK}{HEADING}.csv") in w for w in warnings), warnings
    next(b for b in at.button if b.label == "Publish for everyone").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(md(f"{LINK}{HEADING}.csv") in toast.value for toast in at.toast)
    assert_text_only(markdown_texts(at))

    at.file_uploader[0].set_value((f"{IMAGE}.csv", b"", "text/csv")).run()
    errors = [e.value for e in at.error]
    assert any(md(f"{IMAGE}.csv") in e for e in errors), errors
    assert_text_only(markdown_texts(at))
