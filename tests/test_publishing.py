"""Publishing: "published by" trusts only the header the operator configured, and rollback and delete act on the
snapshot the user chose, or on nothing, saying why."""

from __future__ import annotations

import pytest
from streamlit.runtime.context import StreamlitHeaders
from streamlit.testing.v1 import AppTest

from analytics.dataset import load_files
from analytics.errors import InputError
from analytics.settings import settings
from analytics.store import Store
from tests.conftest import ROOT
from ui.publishing import publisher_from
from ui.text import md

EXPORT = "subscription_id,partner_id,customer_id,country,seats,term_end_date\nS1,P1,C1,DE,{seats},2022-08-01\n"


# ---------------------------------------------------------------- trust only what is configured


def headers(*pairs: tuple[str, str]) -> StreamlitHeaders:
    return StreamlitHeaders(pairs)


def test_without_a_trusted_header_every_web_publish_is_by_web_whatever_the_client_sends():
    sent = headers(("X-Forwarded-User", "ceo@example.com"), ("X-Remote-User", "admin"))
    assert publisher_from(sent, "") == "web"


def test_the_configured_header_names_the_publisher_and_no_other_header_does():
    sent = headers(("x-forwarded-user", "anna.berg"), ("X-Remote-User", "admin"))
    assert publisher_from(sent, "X-Forwarded-User") == "anna.berg"  # header names are case-insensitive
    assert publisher_from(sent, "X-Auth-Request-Email") == "web"  # configured, but not in this request


def test_a_trusted_header_sent_twice_is_not_trusted():
    """A proxy that appends to the client's own header instead of replacing it: which value is the proxy's?"""
    sent = headers(("X-Forwarded-User", "forged"), ("X-Forwarded-User", "anna.berg"))
    assert publisher_from(sent, "X-Forwarded-User") == "web"


def test_a_trusted_publisher_name_stays_plain_text_of_one_line():
    sent = headers(("X-Forwarded-User", "[Session expired](https://evil.example)\n\n# HACKED" + "x" * 200))
    name = publisher_from(sent, "X-Forwarded-User")
    assert "\n" not in name and len(name) == 100
    assert name.startswith("[Session expired](https://evil.example) # HACKED")  # escaped where it is shown


@pytest.fixture
def server_config(tmp_path, monkeypatch):
    """Point RADAR_CONFIG at a file of the test's own; the settings cache is cleared before and after."""
    config = tmp_path / "server.toml"
    monkeypatch.setenv("RADAR_CONFIG", str(config))
    monkeypatch.delenv("RADAR_TRUSTED_USER_HEADER", raising=False)
    settings.cache_clear()
    yield config
    settings.cache_clear()


def test_the_trusted_header_is_empty_by_default(server_config):
    server_config.write_text("[duckdb]\nthreads = 1\n", encoding="utf-8")
    assert settings().trusted_user_header == ""


def test_the_trusted_header_comes_from_server_toml_and_the_environment_overrides_it(server_config, monkeypatch):
    server_config.write_text('[auth]\ntrusted_user_header = "X-Forwarded-User"\n', encoding="utf-8")
    assert settings().trusted_user_header == "X-Forwarded-User"
    monkeypatch.setenv("RADAR_TRUSTED_USER_HEADER", "X-Auth-Request-Email")
    settings.cache_clear()
    assert settings().trusted_user_header == "X-Auth-Request-Email"
    monkeypatch.setenv("RADAR_TRUSTED_USER_HEADER", "")  # the environment can also switch it off
    settings.cache_clear()
    assert settings().trusted_user_header == ""


def test_a_trusted_header_that_is_not_a_header_name_is_refused(server_config):
    server_config.write_text('[auth]\ntrusted_user_header = "X-User: admin"\n', encoding="utf-8")
    with pytest.raises(InputError, match="must be a header name"):
        settings()


# ---------------------------------------------------------------- act on what the user chose


@pytest.fixture
def three_snapshots(tmp_path, monkeypatch):
    """A store with snapshots A, B, C (C current), which the app serves."""
    import streamlit as st

    store = Store(tmp_path / "store")
    ids = []
    for seats in (1, 2, 3):
        path = tmp_path / f"export{seats}.csv"
        path.write_text(EXPORT.format(seats=seats), encoding="utf-8")
        ids.append(store.publish(load_files([path]), [(path.name, 1)]))
    monkeypatch.setenv("RADAR_STORE", str(store.path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store, ids
    st.cache_data.clear()
    st.cache_resource.clear()


def data_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_delete_of_a_snapshot_someone_made_current_meanwhile_deletes_nothing_and_says_why(three_snapshots):
    store, (a, b, c) = three_snapshots
    at = data_page()
    choice = at.selectbox(key="history_choice")
    assert choice.options == [b, a]  # the current one (C) is not offered
    choice.select(a).run()
    store.rollback(a)  # another user makes A current
    click(at, "Delete from history")
    assert {s.id for s in store.list()} == {a, b, c}  # B, the box's first option once A is current, is still there
    assert store.current_id() == a
    assert any(md(a) in e.value and "is the current one now" in e.value for e in at.error), [e.value for e in at.error]
    assert at.selectbox(key="history_choice").value == a  # the box still shows what the user chose


def test_rollback_to_a_snapshot_someone_deleted_meanwhile_changes_nothing_and_says_why(three_snapshots):
    store, (a, b, c) = three_snapshots
    at = data_page()
    at.selectbox(key="history_choice").select(a).run()
    store.delete(a)  # another user deletes A
    click(at, "Make current (roll back)")
    assert store.current_id() == c  # not B
    assert any(md(a) in e.value and "no longer exists" in e.value for e in at.error), [e.value for e in at.error]


def test_rollback_to_a_snapshot_that_became_current_meanwhile_says_so(three_snapshots):
    store, (a, b, _) = three_snapshots
    at = data_page()
    at.selectbox(key="history_choice").select(a).run()
    store.rollback(a)
    click(at, "Make current (roll back)")
    assert store.current_id() == a
    assert any("already the current one" in e.value for e in at.error)


def test_delete_and_rollback_act_on_the_chosen_snapshot(three_snapshots):
    store, (a, b, c) = three_snapshots
    at = data_page()
    at.selectbox(key="history_choice").select(a).run()
    click(at, "Delete from history")
    assert {s.id for s in store.list()} == {b, c}
    assert any(f"Snapshot {a} deleted." in s.value for s in at.success)
    at.selectbox(key="history_choice").select(b).run()
    click(at, "Make current (roll back)")
    assert store.current_id() == b


def test_with_a_publish_key_a_wrong_key_changes_nothing(three_snapshots, monkeypatch):
    store, (a, b, c) = three_snapshots
    monkeypatch.setenv("RADAR_PUBLISH_KEY", "s3cret")
    at = data_page()
    at.selectbox(key="history_choice").select(a).run()
    at.text_input(key="rollback_key").input("wrong").run()
    click(at, "Delete from history")
    assert {s.id for s in store.list()} == {a, b, c}
    assert any("Wrong publish key" in e.value for e in at.error)


def test_the_store_refuses_to_delete_the_current_snapshot_or_one_that_is_gone(three_snapshots):
    store, (a, _, c) = three_snapshots
    with pytest.raises(InputError) as current:
        store.delete(c)
    assert current.value.code == "snapshot_current" and current.value.params == {"id": c}
    store.delete(a)
    with pytest.raises(InputError) as gone:
        store.delete(a)
    assert gone.value.code == "snapshot_missing"
