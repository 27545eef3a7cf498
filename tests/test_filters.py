"""Filters own their SQL condition and their sentence (as datasette's filters do): one object, so a query and the
caption above it cannot describe two different selections."""

from __future__ import annotations

import duckdb
import pytest

from analytics.metrics import Filters
from analytics.schema import UNKNOWN_COUNTRY


def test_no_filter_is_the_condition_true_and_binds_nothing():
    assert Filters().where_clause() == ("true", {})


def test_each_filter_adds_its_fragment_and_binds_its_value_never_writes_it_into_the_sql():
    filters = Filters(countries=("DE", "AT"), segments=("commercial",), partner="  Müller'; DROP TABLE x; -- ")
    clause, values = filters.where_clause()
    assert values == {
        "countries": ["DE", "AT"],
        "segments": ["commercial"],
        "partner": "müller'; drop table x; --",
    }
    assert "$countries" in clause and "$segments" in clause and "$partner" in clause
    for value in ("DE", "AT", "commercial", "ller", "DROP"):
        assert value not in clause


def test_the_condition_selects_the_rows_the_filters_describe():
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE t AS SELECT * FROM (VALUES
           ('DE', 'commercial', 'P1', 'Alpha GmbH'), ('AT', 'commercial', 'P2', 'Beta AG'),
           ('DE', 'education', 'P3', 'Gamma GmbH'), ('CH', 'commercial', 'P4', 'Delta GmbH'))
           AS v(country, segment, partner_id, partner_name)"""
    )
    clause, values = Filters(countries=("DE", "CH"), segments=("commercial",), partner="GMBH").where_clause()
    rows = con.execute(f"SELECT partner_id FROM t s WHERE {clause} ORDER BY 1", values).fetchall()
    assert rows == [("P1",), ("P4",)]


def test_a_row_alias_outside_the_allowed_list_is_refused():
    with pytest.raises(ValueError):
        Filters(countries=("DE",)).where_clause(alias="s; DROP TABLE x")


def test_the_sentence_names_every_filter_in_the_readers_language():
    filters = Filters(countries=("DE", UNKNOWN_COUNTRY), segments=("education",), partner="gmbh")
    assert filters.human_clause("en") == "showing DE, Unknown · education · partner contains “gmbh”"
    assert filters.human_clause("de") == "Ansicht: DE, Unbekannt · Bildung · Partner enthält „gmbh“"
    assert Filters().human_clause("en") == "showing all data"


def test_the_sentence_escapes_values_from_the_url_for_where_it_goes():
    filters = Filters(countries=("**X**",), partner="[a](http://x)")
    said = filters.human_clause("en", escape=lambda text: text.replace("*", r"\*").replace("[", r"\["))
    assert said == r"showing \*\*X\*\* · partner contains “\[a](http://x)”"
