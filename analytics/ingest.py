"""Ingestion: recognise each source's table and columns, parse and validate values in DuckDB, reject bad rows."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics import schema
from analytics.errors import InputError, MappingError
from analytics.readers import Source, physical_lines, read_file
from analytics.schema import (
    BOOL,
    COUNTRY,
    CUSTOMER_ONLY,
    DATE,
    DECIMAL,
    ID,
    INT,
    PARTNER_ONLY,
    RESELLER_KEYS,
    TABLES,
    TEXT,
    WEAK_PARTNER_KEYS,
    header_key,
    synonym_index,
)

COLUMN_KIND = {c.name: c.kind for cols in TABLES.values() for c in cols}
MAX_TEXT = 1000  # longer text values are cut (a 100,000-character cell is never useful in a chart)

REASONS = {
    "missing": "required value missing",
    INT: "not a whole number of seats (0 to 10,000,000)",
    DATE: "not a date (YYYY-MM-DD, DD.MM.YYYY or MM/DD/YYYY, four-digit year)",
    BOOL: "not a yes/no value (true/false, yes/no, ja/nein, 1/0, Y/N)",
    COUNTRY: "unknown country (use an ISO code such as DE, or an English or German name)",
    schema.SEGMENT: "unknown segment (commercial, education, government, nonprofit)",
    schema.BILLING: "unknown billing term (monthly, annual)",
    schema.PROGRAM: "unknown program (legacy, nce)",
    schema.STATUS: "unknown status (active, suspended, deleted)",
    DECIMAL: "not a number",
}


@dataclass
class Mapping:
    """Which header of which source feeds which canonical column."""

    source: Source
    table: str
    columns: dict[str, int]  # canonical -> column position
    notes: list[str] = field(default_factory=list)

    def editor_rows(self) -> list[dict]:
        """Every column of the recognised table, with the source header feeding it (None when unmapped)."""
        return [
            {
                "file": self.source.label,
                "table": self.table,
                "column": c.name,
                "source_column": self.source.headers[self.columns[c.name]] if c.name in self.columns else None,
            }
            for c in TABLES[self.table]
        ]

    def rows(self) -> list[dict]:
        return [
            {
                "file": self.source.label,
                "table": self.table,
                "column": canonical,
                "source_column": self.source.headers[i],
            }
            for canonical, i in self.columns.items()
        ]


@dataclass
class IngestResult:
    accepted: dict[str, int]
    rejected: int
    mappings: list[Mapping]
    warnings: list[str]
    mapping_rows: list[dict] | None = None  # a published snapshot keeps only these, not the sources

    def mapping_table(self) -> pd.DataFrame:
        rows = self.mapping_rows if self.mapping_rows is not None else [r for m in self.mappings for r in m.rows()]
        return pd.DataFrame(rows, columns=["file", "table", "column", "source_column"])

    def to_json(self) -> dict:
        return {"accepted": dict(self.accepted), "rejected": self.rejected}


@dataclass(frozen=True)
class Overrides:
    """A mapping file: `[columns]` canonical = "Source header", `[options]` decimal = "," or "."."""

    columns: dict[str, str] = field(default_factory=dict)
    decimal: str | None = None

    @classmethod
    def load(cls, path: str | Path | None) -> Overrides:
        """Read and check a mapping file; every problem is an InputError in words (the command line exits 2)."""
        if not path:
            return cls()
        path = Path(path)
        if path.is_dir():
            raise InputError(f"mapping file {path.name}: is a directory, not a file")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"mapping file not found: {path.name}") from None
        except OSError as exc:
            raise InputError(f"mapping file {path.name}: cannot be read ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name}: not a valid TOML mapping file ({exc})") from None
        except RecursionError:
            raise InputError(f"{path.name}: not a mapping file (nested too deeply)") from None
        unknown_sections = sorted(set(raw) - {"columns", "options"})
        if unknown_sections:
            raise InputError(
                f"{path.name}: unknown section(s) {unknown_sections}; a mapping file has [columns] and [options]",
            )
        table, options = raw.get("columns", {}), raw.get("options", {})
        if not isinstance(table, dict) or not isinstance(options, dict):
            raise InputError(
                f'{path.name}: [columns] and [options] must be tables (lines such as seats = "Anzahl")',
            )
        wrong = sorted(k for k, v in table.items() if not isinstance(v, str) or not v.strip())
        if wrong:
            raise InputError(
                f'{path.name}: [columns] {", ".join(wrong)} must name a header as text, such as seats = "Anzahl"',
            )
        unknown = sorted(set(table) - set(COLUMN_KIND))
        if unknown:
            raise InputError(f"{path.name}: unknown column name(s) {unknown}; allowed: {sorted(COLUMN_KIND)}")
        unknown_options = sorted(set(options) - {"decimal"})
        if unknown_options:
            raise InputError(f"{path.name}: unknown option(s) {unknown_options}; allowed: decimal")
        decimal = options.get("decimal")
        if decimal not in (None, ",", "."):
            raise InputError(f'{path.name}: options.decimal must be "," or "."')
        overrides = cls(columns=dict(table), decimal=decimal)
        overrides.check(path.name)
        return overrides

    def check(self, name: str = "the mapping") -> None:
        """One header feeds one column: a header named for two or more columns is refused."""
        fields: dict[str, list[str]] = {}
        for canonical, header in self.columns.items():
            fields.setdefault(header_key(header), []).append(canonical)
        for canonical, header in self.columns.items():
            named = fields[header_key(header)]
            if len(named) > 1 and canonical == named[0]:
                raise InputError(
                    f"{name}: the header {header!r} is mapped to {', '.join(named)}; one column can feed one field",
                    code="mapping_twice",
                    header=header,
                    columns=", ".join(named),
                )

    def refuse_unknown_headers(self, sources: list[Source]) -> None:
        """A header named in the mapping that no uploaded file or sheet has is a mistake, not a choice."""
        present = {header_key(h) for source in sources for h in source.headers}
        for canonical, header in self.columns.items():
            if header_key(header) not in present:
                files = ", ".join(dict.fromkeys(s.label for s in sources))
                raise InputError(
                    f"the mapping names the header {header!r} for {canonical}, but {files} has no such column",
                    code="mapping_unknown_header",
                    header=header,
                    column=canonical,
                    file=files,
                )


# ---------------------------------------------------------------- mapping


def map_source(con: duckdb.DuckDBPyConnection, source: Source, overrides: Overrides) -> Mapping:
    """Match headers to canonical columns (override file first, then synonyms) and decide the table."""
    keys = [header_key(h) for h in source.headers]
    index = synonym_index()
    columns: dict[str, int] = {}
    notes: list[str] = []
    for canonical, header in overrides.columns.items():
        if header_key(header) in keys:
            columns[canonical] = keys.index(header_key(header))
    taken = set(columns.values())
    partner_candidates: list[int] = []
    for i, key in enumerate(keys):
        canonical = index.get(key)
        if i in taken or canonical is None:
            continue
        if canonical == "partner_id":
            partner_candidates.append(i)
        elif canonical in columns:
            if keys.index(key) != i:
                notes.append(f"column '{source.headers[i]}' appears twice; the first one is used")
        else:
            columns[canonical] = i
    if "partner_id" not in columns and partner_candidates:
        # Reseller columns first: in a distributor's export PartnerId/MpnId name the distributor itself.
        partner_candidates.sort(key=lambda i: (keys[i] not in RESELLER_KEYS, keys[i] in WEAK_PARTNER_KEYS, i))
        for i in partner_candidates:
            if source.rows > 1 and _is_constant(con, source.table, i):
                notes.append(f"'{source.headers[i]}' holds the same value on every row, so it is not the partner")
                continue
            columns["partner_id"] = i
            break
    if "partner_id" not in columns and "partner_name" in columns:
        columns["partner_id"] = columns["partner_name"]
        notes.append(f"no partner id column: the partner is identified by '{source.headers[columns['partner_name']]}'")
    return Mapping(source=source, table=_classify(source, columns), columns=columns, notes=notes)


def _is_constant(con: duckdb.DuckDBPyConnection, table: str, position: int) -> bool:
    distinct = con.execute(f"SELECT count(DISTINCT c{position}) FROM {table}").fetchone()[0]
    return distinct <= 1


def _classify(source: Source, columns: dict[str, int]) -> str:
    if "subscription_id" in columns:
        return "subscriptions"
    if "partner_id" in columns and any(c in columns for c in PARTNER_ONLY):
        return "partners"
    if "customer_id" in columns:
        return "customers"
    if "partner_id" in columns:
        return "partners"
    raise InputError(
        f"{source.label}: cannot tell which table this is: no subscription, partner or customer id column "
        f"among {', '.join(repr(h) for h in source.headers[:12])}",
        code="unknown_table",
        file=source.label,
    )


# ---------------------------------------------------------------- typing


def _value_sql(canonical: str, col: str, decimal_comma: bool) -> tuple[str, str]:
    """SQL for (typed value, error condition) of one canonical column read from raw text column `col`.

    `col` is always c<n>, one of our own generated names; no user text goes into SQL.
    """
    kind = COLUMN_KIND[canonical]
    v = f"NULLIF(trim({col}), '')"
    if kind == ID:
        # One id however it is written: Unicode NFC, fullwidth forms as ASCII (the part of NFKC that ids meet),
        # and no white space, control or format character anywhere (README "Ids" lists them), upper case.
        nfc = f"nfc_normalize({col})"
        narrow = f"CASE WHEN regexp_matches({nfc}, '[{_FULLWIDTH[0]}-{_FULLWIDTH[-1]}]') THEN translate({nfc}, '{_FULLWIDTH}', '{_ASCII}') ELSE {nfc} END"
        expr = f"NULLIF(upper(regexp_replace({narrow}, '{_INVISIBLE}', '', 'g')), '')"
        return expr, "false"
    if kind == TEXT:
        return f"left({v}, {MAX_TEXT})", "false"
    if kind == INT:
        # Seats are whole numbers: digits grouped by threes with one separator ("1.234", "1,234", "1 234") can
        # only mean thousands, whatever the file's decimal mark; "1,5" or "-3" are rejected. At most MAX_SEATS per
        # row, so that no sum of seats can leave BIGINT (a hundred billion rows would be needed).
        number = (
            f"CASE WHEN regexp_full_match({v}, '\\d{{1,15}}') THEN TRY_CAST({v} AS BIGINT) "
            f"WHEN regexp_full_match({v}, '\\d{{1,3}}([.]\\d{{3}})+|\\d{{1,3}}(,\\d{{3}})+|\\d{{1,3}}({_GROUPING}\\d{{3}})+') "
            f"THEN TRY_CAST(regexp_replace({v}, '[^0-9]', '', 'g') AS BIGINT) "
            f"WHEN regexp_full_match({v}, '\\d{{1,15}}[.,]0+') THEN TRY_CAST(regexp_extract({v}, '^\\d+') AS BIGINT) END"
        )
        expr = f"CASE WHEN ({number}) <= {MAX_SEATS} THEN ({number}) END"
        return expr, f"{v} IS NOT NULL AND ({expr}) IS NULL"
    if kind == DECIMAL:
        return _decimal_sql(v, decimal_comma), f"{v} IS NOT NULL AND ({_decimal_sql(v, decimal_comma)}) IS NULL"
    if kind == DATE:
        expr = (
            # Four-digit years from 1900 on: "0022" is a typo, not the year 22. A time after the date must be a
            # time of day (Partner Center writes one); anything else after it makes the value no date.
            f"CASE WHEN regexp_full_match({v}, '{_YEAR}-\\d{{2}}-\\d{{2}}([T ]{_TIME}{_ZONE})?') "
            f"THEN TRY_CAST(substr({v}, 1, 10) AS DATE) "
            f"WHEN regexp_full_match({v}, '\\d{{1,2}}\\.\\d{{1,2}}\\.{_YEAR}( {_TIME})?') "
            f"THEN CAST(try_strptime(split_part({v}, ' ', 1), '%d.%m.%Y') AS DATE) "
            f"WHEN regexp_full_match({v}, '\\d{{1,2}}/\\d{{1,2}}/{_YEAR}( ({_TIME}|{_TIME_12}))?') "
            f"THEN CAST(try_strptime(split_part({v}, ' ', 1), '%m/%d/%Y') AS DATE) END"
        )
        return expr, f"{v} IS NOT NULL AND ({expr}) IS NULL"
    # Vocabularies (bool, country, segment, billing, program, status) are looked up in the vocab table.
    alias = f"v_{canonical}"
    return f"{alias}.value", f"{v} IS NOT NULL AND {alias}.value IS NULL"


_YEAR = "(19|[2-9][0-9])[0-9]{2}"
# A time of day after a date: 0:00 to 23:59:59 with optional fractions; 12:00:00 AM style; a UTC offset or Z.
_TIME = "([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?"
_TIME_12 = "(0?[1-9]|1[0-2]):[0-5][0-9](:[0-5][0-9])? ?[AaPp][Mm]"
_ZONE = "( ?(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9]))?"
MAX_SEATS = 10_000_000  # per row (README "Numbers")
# Fullwidth ASCII forms (U+FF01..U+FF5E) and the ASCII characters they stand for, for translate().
_FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_ASCII = "".join(chr(c) for c in range(0x21, 0x7F)).replace("'", "''")
# White space, separators, control and format characters (U+00A0, U+202F, U+3000, U+FEFF, U+200B..U+200D,
# U+2060, U+00AD, direction marks, ...): never part of an id.
_INVISIBLE = "[\\s\\p{Z}\\p{Cc}\\p{Cf}]+"
# Spaces (also no-break and narrow no-break) and the Swiss apostrophe group digits too.
_GROUPING = "[ \u00a0\u202f'']"


def _decimal_sql(v: str, decimal_comma: bool) -> str:
    """A decimal with either mark: when both '.' and ',' appear the last one is the decimal mark; a lone mark
    repeated, or one that groups digits by threes against the column's decimal mark, separates thousands."""
    mark, other = (",", ".") if decimal_comma else (".", ",")
    t = f"regexp_replace({v}, '{_GROUPING}', '', 'g')"
    return (
        f"TRY_CAST(CASE "
        f"WHEN NOT regexp_full_match({t}, '-{{0,1}}[0-9.,]*[0-9]') THEN NULL "
        f"WHEN strpos({t}, '.') > 0 AND strpos({t}, ',') > 0 THEN "
        f"  CASE WHEN instr(reverse({t}), '.') < instr(reverse({t}), ',') "
        f"       THEN replace({t}, ',', '') ELSE replace(replace({t}, '.', ''), ',', '.') END "
        f"WHEN length({t}) - length(replace({t}, '{other}', '')) > 1 "
        f"  OR regexp_full_match({t}, '-?\\d{{1,3}}(\\{other}\\d{{3}})+') AND '{other}' <> '{mark}' "
        f"  AND NOT regexp_full_match({t}, '-?\\d+\\{other}\\d{{1,2}}') "
        f"  THEN replace({t}, '{other}', '') "
        f"WHEN length({t}) - length(replace({t}, '{mark}', '')) > 1 THEN replace({t}, '{mark}', '') "
        f"ELSE replace({t}, ',', '.') END AS DECIMAL(18, 4))"
    )


def _decimal_comma(con: duckdb.DuckDBPyConnection, table: str, position: int, default: bool) -> bool:
    """Which mark a decimal column uses: the one followed by one or two digits at the end in most values."""
    comma, point = con.execute(
        f"SELECT count(*) FILTER (regexp_full_match(trim(c{position}), '-?[0-9.]*[0-9],[0-9]{{1,2}}')), "
        f"count(*) FILTER (regexp_full_match(trim(c{position}), '-?[0-9,]*[0-9][.][0-9]{{1,2}}')) "
        f"FROM (SELECT c{position} FROM {table} LIMIT 100000)"
    ).fetchone()
    if comma == point:
        return default
    return comma > point


def _vocab_frame() -> pd.DataFrame:
    rows = [(kind, alias, value) for kind, vocab in schema.VOCABULARIES.items() for alias, value in vocab.items()]
    rows += [(COUNTRY, alias, code) for alias, code in schema.countries().items()]
    return pd.DataFrame(rows, columns=["kind", "alias", "value"]).drop_duplicates(["kind", "alias"])


def type_source(con: duckdb.DuckDBPyConnection, mapping: Mapping, overrides: Overrides, number: int) -> str:
    """Create typed_<n>: canonical columns, _src, _line, _bad (list of failing canonical columns), _extra."""
    source = mapping.source
    # Workbooks and Parquet carry typed numbers (written with '.'), so only CSV text needs a decimal mark.
    decimal_comma = source.decimal_comma
    if source.format == "csv" and overrides.decimal is not None:
        decimal_comma = overrides.decimal == ","
    selects = ["CAST(? AS INTEGER) AS _src", "r._line AS _line"]
    errors = []
    joins = []
    required = {c.name for c in TABLES[mapping.table] if c.required}
    for canonical, position in mapping.columns.items():
        col = f"r.c{position}"
        column_comma = decimal_comma
        if COLUMN_KIND[canonical] == DECIMAL and source.format == "csv" and overrides.decimal is None:
            column_comma = _decimal_comma(con, source.table, position, decimal_comma)
        expr, bad = _value_sql(canonical, col, column_comma)
        kind = COLUMN_KIND[canonical]
        if kind in schema.VOCABULARIES or kind == COUNTRY:
            joins.append(
                f"LEFT JOIN vocab v_{canonical} ON v_{canonical}.kind = '{kind}' "
                f"AND v_{canonical}.alias = lower(trim({col}))"
            )
        selects.append(f"{expr} AS {canonical}")
        errors.append(f"CASE WHEN {bad} THEN '{canonical}' END")
        if canonical in required:
            errors.append(f"CASE WHEN NULLIF(trim({col}), '') IS NULL THEN '!{canonical}' END")
    width = len(source.headers)
    errors.append(f"CASE WHEN NULLIF(trim(r.c{width}), '') IS NOT NULL THEN '_extra' END")
    selects.append(f"list_filter([{', '.join(errors)}], lambda x: x IS NOT NULL) AS _bad")
    table = f"typed_{number}"
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(selects)} FROM {source.table} r {' '.join(joins)}",
        [number],
    )
    return table


# ---------------------------------------------------------------- assembling the dataset

FINAL_TYPES = {
    ID: "VARCHAR",
    TEXT: "VARCHAR",
    COUNTRY: "VARCHAR",
    INT: "BIGINT",
    DATE: "DATE",
    BOOL: "BOOLEAN",
    DECIMAL: "DECIMAL(18, 4)",
}
DEFAULTS = {"segment": "'commercial'", "program": "'legacy'", "status": "'active'", "billing_term": "'unknown'"}


def _column_expr(name: str, present: set[str]) -> str:
    kind = COLUMN_KIND[name]
    sql_type = FINAL_TYPES.get(kind, "VARCHAR")
    if name not in present:
        return f"CAST({DEFAULTS.get(name, 'NULL')} AS {sql_type}) AS {name}"
    if kind == BOOL:
        return f"CAST({name} AS BOOLEAN) AS {name}"
    if name in DEFAULTS:
        return f"coalesce({name}, {DEFAULTS[name]}) AS {name}"
    return f"CAST({name} AS {sql_type}) AS {name}"


def ingest(
    con: duckdb.DuckDBPyConnection,
    files: list[tuple[Path, str]],
    overrides: Overrides | None = None,
    max_file_bytes: int | None = -1,
) -> IngestResult:
    """Read `files` ((path, display name) pairs) into tables subscriptions, partners, customers, rejects."""
    overrides = overrides or Overrides()
    if not files:
        raise InputError("no file given")
    con.register("vocab_in", _vocab_frame())
    con.execute("CREATE OR REPLACE TABLE vocab AS SELECT * FROM vocab_in")
    con.unregister("vocab_in")
    sources: list[Source] = []
    for path, name in files:
        sources += read_file(con, path, name, len(sources), max_file_bytes)
    mappings = [map_source(con, s, overrides) for s in sources]
    warnings = [f"{m.source.label}: {note}" for m in mappings for note in m.notes]
    if not any(m.table == "subscriptions" for m in mappings):
        raise InputError(
            "no subscriptions found: no file or sheet has a subscription id column "
            f"({', '.join(m.source.label + ' looks like ' + m.table for m in mappings)})",
            code="no_subscriptions",
        )
    for m in mappings:
        if m.table == "subscriptions" and m.source.rows == 0:
            raise InputError(f"{m.source.label}: has a header but no data rows", code="no_rows", file=m.source.label)
        if m.table == "subscriptions" and "segment" not in m.columns:
            warnings.append(f"{m.source.label}: no segment column, every subscription is taken as commercial")
        missing = [c.name for c in TABLES[m.table] if c.required and c.name not in m.columns]
        constant = [note for note in m.notes if "same value on every row" in note]
        if "partner_id" in missing and constant:
            raise MappingError(
                f"{m.source.label}: no partner column: {constant[0]} (in a distributor's export that is the "
                "distributor itself); map the reseller column (e.g. Tier2MpnId or a reseller name)",
                mappings,
                file=m.source.label,
                columns="partner_id",
            )
        if missing:
            raise MappingError(
                f"{m.source.label}: required column(s) {', '.join(missing)} not found "
                f"(columns present: {', '.join(repr(h) for h in m.source.headers[:20])}); "
                "name them in a mapping file if they are there under another name",
                mappings,
                file=m.source.label,
                columns=", ".join(missing),
            )
    typed = [type_source(con, m, overrides, n) for n, m in enumerate(mappings)]
    _collect_rejects(con, mappings, typed)
    # Memory: the raw text tables are the largest; they are not needed once the rejects have their values.
    for m in mappings:
        for suffix in ("", "_rejects", "_scan"):
            con.execute(f"DROP TABLE IF EXISTS {m.source.table}{suffix}")
    for table in TABLES:
        _assemble(con, table, mappings, typed)
    for name in typed:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    _physical_lines(con, sources)
    accepted = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    rejected = con.execute("SELECT count(*) FROM (SELECT DISTINCT file, line FROM rejects)").fetchone()[0]
    return IngestResult(accepted=accepted, rejected=rejected, mappings=mappings, warnings=warnings)


def _physical_lines(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> None:
    """Turn the record numbers of CSV rejects into physical line numbers, and finish the duplicate reasons.

    DuckDB numbers records; blank lines and quoted line breaks make lines and records differ, so the few
    rejected lines are looked up by reading the file up to the last of them.
    """
    for source in sources:
        if source.format != "csv":
            continue
        wanted = [
            r[0]
            for r in con.execute(
                "SELECT line FROM rejects WHERE file = ? AND column_name IS NOT NULL "
                "UNION SELECT ref_line FROM rejects WHERE ref_file = ? AND ref_line IS NOT NULL",
                [source.label, source.label],
            ).fetchall()
        ]
        if not wanted:
            continue
        mapping = physical_lines(source, wanted)
        frame = pd.DataFrame({"record_line": list(mapping), "physical": list(mapping.values())})
        con.register("line_map", frame)
        con.execute(
            "UPDATE rejects SET line = m.physical FROM line_map m "
            "WHERE rejects.file = ? AND rejects.column_name IS NOT NULL AND rejects.line = m.record_line",
            [source.label],
        )
        con.execute(
            "UPDATE rejects SET ref_line = m.physical FROM line_map m "
            "WHERE rejects.ref_file = ? AND rejects.ref_line = m.record_line",
            [source.label],
        )
        con.unregister("line_map")
    con.execute(
        "UPDATE rejects SET reason = replace(reason, '{ref}', CASE WHEN ref_file = file THEN 'line ' || ref_line "
        "ELSE ref_file || ' line ' || ref_line END) WHERE ref_line IS NOT NULL"
    )
    con.execute("ALTER TABLE rejects DROP COLUMN ref_file")
    con.execute("ALTER TABLE rejects DROP COLUMN ref_line")


def _collect_rejects(con: duckdb.DuckDBPyConnection, mappings: list[Mapping], typed: list[str]) -> None:
    """One rejects table: parser rejects, values that fail validation, and duplicate ids."""
    labels = pd.DataFrame(
        [
            (n, m.source.label, m.table, c, m.source.headers[i])
            for n, m in enumerate(mappings)
            for c, i in m.columns.items()
        ]
        + [(n, m.source.label, m.table, "_extra", "(beyond the last column)") for n, m in enumerate(mappings)],
        columns=["src", "file", "tbl", "canonical", "header"],
    )
    reasons = pd.DataFrame(
        [(name, REASONS["missing"], REASONS.get(kind, "invalid value")) for name, kind in COLUMN_KIND.items()]
        + [("_extra", "", "more fields than the header")],
        columns=["canonical", "missing_reason", "bad_reason"],
    )
    con.register("labels_in", labels)
    con.register("reasons_in", reasons)
    con.execute("CREATE OR REPLACE TEMP TABLE src_labels AS SELECT * FROM labels_in")
    con.execute("CREATE OR REPLACE TEMP TABLE reasons AS SELECT * FROM reasons_in")
    con.unregister("labels_in")
    con.unregister("reasons_in")
    con.execute(
        "CREATE OR REPLACE TABLE rejects (file VARCHAR, line BIGINT, column_name VARCHAR, reason VARCHAR, "
        "value VARCHAR, ref_file VARCHAR, ref_line BIGINT)"
    )
    for n, m in enumerate(mappings):
        for line, reason, text in m.source.parser_rejects:
            con.execute(
                "INSERT INTO rejects VALUES (?, ?, NULL, ?, left(?, 200), NULL, NULL)",
                [m.source.label, line, reason, text],
            )
        raw_cases = " ".join(f"WHEN '{c}' THEN r.c{i}" for c, i in m.columns.items())
        raw_cases += f" WHEN '_extra' THEN r.c{len(m.source.headers)}"
        con.execute(
            f"""
            INSERT INTO rejects
            SELECT l.file, b._line, l.header,
                   CASE WHEN b.missing THEN rs.missing_reason ELSE rs.bad_reason END,
                   left(CASE b.canonical {raw_cases} END, 200), NULL, NULL
            FROM (
                SELECT _line, ltrim(e, '!') AS canonical, starts_with(e, '!') AS missing
                FROM (SELECT _line, unnest(_bad) AS e FROM {typed[n]} WHERE len(_bad) > 0)
            ) b
            JOIN src_labels l ON l.src = ? AND l.canonical = b.canonical
            JOIN reasons rs ON rs.canonical = b.canonical
            LEFT JOIN {m.source.table} r ON r._line = b._line
            """,
            [n],
        )
        con.execute(f"DELETE FROM {typed[n]} WHERE len(_bad) > 0")


def _assemble(con: duckdb.DuckDBPyConnection, table: str, mappings: list[Mapping], typed: list[str]) -> None:
    """Union the valid rows of every source that feeds `table`, then drop repeated ids into rejects."""
    names = [c.name for c in TABLES[table]]
    key = names[0]
    parts = []
    for n, m in enumerate(mappings):
        present = set(m.columns)
        if m.table == table:
            parts.append((n, present))
        elif (
            table == "partners"
            and m.table == "subscriptions"
            and present & set(PARTNER_ONLY)
            or table == "customers"
            and m.table == "subscriptions"
            and present & set(CUSTOMER_ONLY)
        ):
            parts.append((n, present & set(names)))
    direct = [n for n, _ in parts if mappings[n].table == table]
    derived = [n for n, _ in parts if mappings[n].table != table]
    cols = ", ".join(names)
    selects = []
    for n, present in parts:
        exprs = ", ".join(_column_expr(c, present) for c in names)
        selects.append(f"SELECT {exprs}, _src, _line, {0 if n in direct else 1} AS _derived FROM {typed[n]}")
    if not selects:
        empty = ", ".join(_column_expr(c, set()) for c in names)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {empty} WHERE false")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_{table} AS {' UNION ALL '.join(selects)}")
    repeated = con.execute(f"SELECT count(*) - count(DISTINCT {key}) FROM all_{table}").fetchone()[0]
    if repeated == 0:
        # The usual case: every id once, nothing to rank (a window over millions of rows is the slow part).
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols} FROM all_{table} ORDER BY _src, _line")
        con.execute(f"DROP TABLE all_{table}")
        return
    if table == "subscriptions" or not derived:
        # Repeated ids: the first occurrence is kept, every later one is rejected and says where the first is.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER w AS _n, first_value(_src) OVER w AS _first_src,
                   first_value(_line) OVER w AS _first_line,
                   hash({cols}) = first_value(hash({cols})) OVER w AS _same
            FROM all_{table} WINDOW w AS (PARTITION BY {key} ORDER BY _derived, _src, _line)
            """
        )
    else:
        # A flat file repeats the partner (or customer) on each of its rows: those repeats are not errors.
        # Rows from a dedicated file win; the flat file fills in ids the dedicated file lacks.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER w AS _n, first_value(_src) OVER w AS _first_src,
                   first_value(_line) OVER w AS _first_line, true AS _same
            FROM all_{table} WINDOW w AS (PARTITION BY {key} ORDER BY _derived, _src, _line)
            """
        )
    if table == "subscriptions" or direct:
        con.execute(
            f"""
            INSERT INTO rejects
            SELECT l.file, r._line, h.header,
                   CASE WHEN r._same THEN 'duplicate of {{ref}} (same content, ignored)'
                        ELSE 'duplicate {key} with different content; {{ref}} is kept' END,
                   r.{key}, f.file, r._first_line
            FROM ranked r
            JOIN (SELECT DISTINCT src, file FROM src_labels) l ON l.src = r._src
            JOIN (SELECT DISTINCT src, file FROM src_labels) f ON f.src = r._first_src
            LEFT JOIN src_labels h ON h.src = r._src AND h.canonical = '{key}'
            WHERE r._n > 1 AND r._derived = 0
            """
        )
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols} FROM ranked WHERE _n = 1 ORDER BY _src, _line")
    con.execute(f"DROP TABLE all_{table}")
    con.execute("DROP TABLE ranked")
