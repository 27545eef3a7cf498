"""Publishing: "published by" trusts only the header the operator configured."""

from __future__ import annotations

import pytest
from streamlit.runtime.context import StreamlitHeaders

from analytics.errors import InputError
from analytics.settings import settings
from ui.publishing import publisher_from

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
