"""Ingestion: recognise each source's table and columns, parse and validate values in DuckDB, reject bad rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics import schema
from analytics.errors import InputError, MappingError, Note, read_toml
from analytics.readers import PARSER_REASONS, Source, physical_lines, read_file
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
    UNKNOWN_COUNTRY,
    WEAK_PARTNER_KEYS,
    header_key,
    synonym_index,
    synonym_rank,
)

COLUMN_KIND = {c.name: c.kind for cols in TABLES.values() for c in cols}
MAX_TEXT = 1000  # longer text values are cut (a 100,000-character cell is never useful in a chart)

# Reject reasons travel as codes (the rejects table's `code`, with ref_file, ref_line and key as parameters);
# analytics/words.py and the catalogs (`reason.<code>`) turn them into words at the edges.
REASONS = (
    "missing",
    INT,
    DATE,
    BOOL,
    COUNTRY,
    schema.SEGMENT,
    schema.BILLING,
    schema.PROGRAM,
    schema.STATUS,
    schema.LANGUAGE,
    DECIMAL,
    "extra",
    "duplicate_same",
    "duplicate_different",
    *PARSER_REASONS,
)

# Columns read only to order or to derive (a period end, a marketplace): a value that cannot be read leaves them
# empty instead of rejecting the row.
LENIENT = ("period_end", "marketplace")

# The phases of an upload as the Data page shows them: reading the files, checking every value, collapsing
# charge lines and repeated ids, deriving the facts (analytics/dataset.py), handing the result over (the worker).
PHASES = ("read", "check", "collapse", "facts", "publish")

# What a file is, told from its columns (PRODUCT.md section 3): a subscription list has one row per subscription;
# charge lines (reconciliation files) and monthly rows (Insights) repeat it and are collapsed to one.
KINDS = ("subscriptions", "charges", "monthly", "customers", "partners")


@dataclass
class Mapping:
    """Which header of which source feeds which canonical column."""

    source: Source
    table: str
    columns: dict[str, int]  # canonical -> column position
    notes: list[str] = field(default_factory=list)
    kind: str = ""  # one of KINDS; the table's own name when empty
    nce_file: bool = False  # a new-commerce reconciliation file: every row is NCE

    def __post_init__(self):
        self.kind = self.kind or self.table

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
            if c.stored or c.name in self.columns
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
    files: list[dict] = field(default_factory=list)  # per file or sheet: name, kind, rows (read), collapsed
    programs: list[dict] = field(default_factory=list)  # accepted subscriptions per program and deciding rule
    origins: list[dict] = field(default_factory=list)  # per file and canonical field: where its values came from
    unknown: dict = field(default_factory=dict)  # subscriptions whose country, partner or customer is unknown

    def mapping_table(self) -> pd.DataFrame:
        rows = self.mapping_rows if self.mapping_rows is not None else [r for m in self.mappings for r in m.rows()]
        return pd.DataFrame(rows, columns=["file", "table", "column", "source_column"])

    def to_json(self) -> dict:
        """The `ingest --json` report's counts (README "Command line")."""
        return {
            "accepted": dict(self.accepted),
            "rejected": self.rejected,
            "files": [dict(f) for f in self.files],
            "programs": [dict(p) for p in self.programs],
            "unknown": dict(self.unknown),
            "origins": [dict(o) for o in self.origins],
        }


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
        raw = read_toml(path, "mapping file", "not a valid TOML mapping file")
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
    """Match headers to canonical columns (override file first, then synonyms) and decide the table and kind.

    When several headers name one canonical column, the spelling listed first in schema.SYNONYMS wins (e.g.
    Microsoft's subscription GUID `SyndicationPartnerSubscriptionNumber` over the billing system's
    `SubscriptionId` in a legacy reconciliation file), then the one further left.
    """
    keys = [header_key(h) for h in source.headers]
    index = synonym_index()
    rank = synonym_rank()
    columns: dict[str, int] = {}
    notes: list[str] = []
    for canonical, header in overrides.columns.items():
        if header_key(header) in keys:
            columns[canonical] = keys.index(header_key(header))
    taken = set(columns.values())
    candidates: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        canonical = index.get(key)
        if i in taken or canonical is None or canonical in columns:
            continue
        if keys.index(key) != i:
            notes.append(Note.of("duplicate_header", file=source.label, header=source.headers[i]))
            continue
        candidates.setdefault(canonical, []).append(i)
    partner_candidates = candidates.pop("partner_id", [])
    for canonical, found in candidates.items():
        columns[canonical] = min(found, key=lambda i: (rank[keys[i]], i))
    if "partner_id" not in columns and partner_candidates:
        # Reseller columns first: in a distributor's export PartnerId/MpnId name the distributor itself.
        partner_candidates.sort(key=lambda i: (keys[i] not in RESELLER_KEYS, keys[i] in WEAK_PARTNER_KEYS, i))
        for i in partner_candidates:
            if source.rows > 1 and _is_constant(con, source.table, i, keys[i] in RESELLER_KEYS | WEAK_PARTNER_KEYS):
                notes.append(Note.of("constant_partner", file=source.label, header=source.headers[i]))
                continue
            columns["partner_id"] = i
            break
    if "partner_id" not in columns and "partner_name" in columns:
        name = columns["partner_name"]
        if source.rows > 1 and _is_constant(con, source.table, name):
            notes.append(Note.of("constant_partner", file=source.label, header=source.headers[name]))
        else:
            columns["partner_id"] = name
            notes.append(Note.of("partner_by_name", file=source.label, header=source.headers[name]))
    table = _classify(source, columns)
    kind = table
    if table == "subscriptions":
        present = set(keys)
        if present & schema.CHARGE_KEYS:
            kind = "charges"
        elif present & schema.MONTH_KEYS:
            kind = "monthly"
    nce_file = table == "subscriptions" and bool(set(keys) & schema.NCE_FILE_KEYS)
    return Mapping(source=source, table=table, columns=columns, notes=notes, kind=kind, nce_file=nce_file)


def _is_constant(con: duckdb.DuckDBPyConnection, table: str, position: int, reseller: bool = False) -> bool:
    """One value on every row (empty counts as none, and so do the "no reseller" ids -1 and 0 in a Partner
    Center reseller column)."""
    none = "('', '-', '-1', '0')" if reseller else "('', '-')"
    distinct = con.execute(
        f"SELECT count(DISTINCT trim(c{position})) FILTER (trim(c{position}) NOT IN {none}) FROM {table}"
    ).fetchone()[0]
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
    # Seats and an end date without an id: a subscription list whose id column has another name.
    if "seats" in columns or "term_end_date" in columns:
        return "subscriptions"
    raise InputError(
        f"{source.label}: cannot tell which table this is: no subscription, partner or customer id column "
        f"among {', '.join(repr(h) for h in source.headers[:12])}",
        code="unknown_table",
        file=source.label,
    )


# ---------------------------------------------------------------- typing


def _value_sql(
    canonical: str, col: str, decimal_comma: bool, negative: bool = False, no_reseller: tuple[str, ...] = ()
) -> tuple[str, str]:
    """SQL for (typed value, error condition) of one canonical column read from raw text column `col`.

    `col` is always c<n>, one of our own generated names; no user text goes into SQL. `negative`: the rows are
    charge lines, where a negative quantity is a refund or a removal, not a bad seat count. `no_reseller`: the
    values that mean "no reseller" in this id column (Partner Center's -1 and 0 in its reseller columns).
    """
    kind = COLUMN_KIND[canonical]
    # A lone "-" is how Partner Center and distributor reports write "no value" (PRODUCT.md section 3).
    v = f"NULLIF(NULLIF(trim({col}), ''), '-')"
    if kind == ID:
        # One id however it is written: Unicode NFC, fullwidth forms as ASCII (the part of NFKC that ids meet),
        # and no white space, control or format character anywhere (README "Ids" lists them), upper case.
        nfc = f"nfc_normalize({col})"
        narrow = f"CASE WHEN regexp_matches({nfc}, '[{_FULLWIDTH[0]}-{_FULLWIDTH[-1]}]') THEN translate({nfc}, '{_FULLWIDTH}', '{_ASCII}') ELSE {nfc} END"
        expr = f"NULLIF(upper(regexp_replace({narrow}, '{_INVISIBLE}', '', 'g')), '')"
        # The usual id is printable ASCII without a space: nothing to normalise (a seventh of the cost at 1M rows).
        expr = f"CASE WHEN regexp_full_match({col}, '[!-~]+') THEN upper({col}) ELSE {expr} END"
        empty = ", ".join(f"'{value}'" for value in ("-", *no_reseller))
        expr = f"CASE WHEN trim({col}) IN ({empty}) THEN NULL ELSE {expr} END"
        return expr, "false"
    if kind == TEXT:
        # A name of "-" is shown as written (it means nothing, and hides nothing).
        return f"left(NULLIF(trim({col}), ''), {MAX_TEXT})", "false"
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
        if negative:
            expr = (
                f"CASE WHEN starts_with({v}, '-') THEN -({expr.replace(v, f'ltrim({v}, {chr(39)}-{chr(39)})')}) "
                f"ELSE {expr} END"
            )
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
    # Vocabularies (bool, country, segment, billing, program, status, language) are looked up in the vocab
    # table; a spelling whose value is NULL there means "unknown" and is no error.
    alias = f"v_{canonical}"
    if kind == schema.SEGMENT:
        # A spelling not in the list is read by its words, e.g. Insights' "Small, Medium & Corporate Education".
        guess = " ".join(
            f"WHEN regexp_matches(lower({v}), '{words}') THEN '{value}'" for words, value in _SEGMENT_WORDS
        )
        value = f"coalesce({alias}.value, CASE {guess} END)"
        return value, f"{v} IS NOT NULL AND {value} IS NULL"
    if canonical == "marketplace":
        # "IM - Germany" names its country after the dash; "IM Germany" in its last word.
        return f"coalesce({alias}.value, {alias}_last.value)", "false"
    return f"{alias}.value", f"{v} IS NOT NULL AND {alias}.alias IS NULL"


def _fast_sql(kind: str, col: str) -> tuple[str, str] | None:
    """(guard, typed value) for the plain spelling of a value (what an export writes on nearly every row), or
    None: where the guard holds, the value is what _value_sql gives and the value is valid, at a fraction of
    the cost; every other value goes the careful way. tests/test_properties.py checks both ways agree."""
    if kind == ID:
        # Printable ASCII without a space: nothing to trim or normalise (the "-" for no value stays empty).
        return f"regexp_full_match({col}, '[!-~]+') AND {col} <> '-'", f"upper({col})"
    if kind == INT:
        # Up to seven digits: at most 9,999,999 <= MAX_SEATS, with no separator to read.
        return f"regexp_full_match({col}, '[0-9]{{1,7}}')", f"CAST({col} AS BIGINT)"
    if kind == DECIMAL:
        # Digits with at most two decimals after a point read the same whichever mark the column uses.
        return (
            f"regexp_full_match({col}, '-?[0-9]{{1,14}}([.][0-9]{{1,2}})?')",
            f"CAST({col} AS DECIMAL(18, 4))",
        )
    if kind == DATE:
        # An ISO date from 1900 on; TRY_CAST refuses impossible days, which the careful way then rejects.
        return (
            f"length({col}) = 10 AND {col} LIKE '____-__-__' AND TRY_CAST({col} AS DATE) >= DATE '1900-01-01'",
            f"TRY_CAST({col} AS DATE)",
        )
    return None


# Segment words, first match wins ("... Public Sector" is government even when it also says "Corporate").
_SEGMENT_WORDS = (
    ("public sector|government|behörde|öffentlich", "government"),
    ("education|academic|bildung", "education"),
    ("non-?profit|charit|gemeinnützig", "nonprofit"),
    ("commercial|corporate|enterprise|gewerblich", "commercial"),
)


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
    rows += [(schema.PROGRAM, alias, None) for alias in ("-", "unknown", "none")]
    rows += [(COUNTRY, alias, code) for alias, code in schema.countries().items()]
    return pd.DataFrame(rows, columns=["kind", "alias", "value"]).drop_duplicates(["kind", "alias"])


def type_source(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, overrides: Overrides, number: int, careful: bool = False
) -> str:
    """Create typed_<n>: canonical columns, _src, _line, _bad (list of failing canonical columns), _extra.

    `careful`: every value through the full checks of _value_sql, none through the plain-spelling guards of
    _fast_sql (the same result, slower; the property tests compare the two)."""
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
        # Partner Center writes -1 or 0 in its reseller columns where a row has no reseller (PRODUCT.md section 3);
        # in our own partner_id column they are ids like any other.
        reseller = (
            canonical == "partner_id" and header_key(source.headers[position]) in RESELLER_KEYS | WEAK_PARTNER_KEYS
        )
        expr, bad = _value_sql(
            canonical,
            col,
            column_comma,
            negative=mapping.kind == "charges",
            no_reseller=("-1", "0") if reseller else (),
        )
        kind = COLUMN_KIND[canonical]
        fast = None if careful or (kind == ID and reseller) else _fast_sql(kind, col)
        if fast is not None:
            guard, value = fast
            expr, bad = (
                f"CASE WHEN {guard} THEN {value} ELSE {expr} END",
                f"CASE WHEN {guard} THEN false ELSE {bad} END",
            )
        if canonical in LENIENT:
            bad = "false"
            if canonical == "period_end":
                # Insights months may come as YYYY-MM.
                expr = f"coalesce({expr}, TRY_CAST(NULLIF(trim({col}), '') || '-01' AS DATE))"
        if kind == COUNTRY:
            # A marketplace name such as "IM - Germany" (Ingram Micro's Cloud Marketplace on CloudBlue Connect)
            # names its country after the dash.
            joins.append(
                f"LEFT JOIN vocab v_{canonical} ON v_{canonical}.kind = '{kind}' "
                f"AND v_{canonical}.alias = lower(trim(regexp_replace({col}, '^.* - ', '')))"
            )
            if canonical == "marketplace":
                joins.append(
                    f"LEFT JOIN vocab v_{canonical}_last ON v_{canonical}_last.kind = '{kind}' "
                    f"AND v_{canonical}_last.alias = lower(regexp_extract({col}, '([^ ]+)\\s*$', 1))"
                )
        elif kind in schema.VOCABULARIES:
            joins.append(
                f"LEFT JOIN vocab v_{canonical} ON v_{canonical}.kind = '{kind}' "
                f"AND v_{canonical}.alias = lower(trim({col}))"
            )
        selects.append(f"{expr} AS {canonical}")
        errors.append(f"CASE WHEN {bad} THEN '{canonical}' END")
        if canonical in required:
            errors.append(f"CASE WHEN NULLIF(NULLIF(trim({col}), ''), '-') IS NULL THEN '!{canonical}' END")
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
    careful: bool = False,
    progress=None,
) -> IngestResult:
    """Read `files` ((path, display name) pairs) into tables subscriptions, partners, customers, rejects.

    `careful`: check every value the long way and find physical lines by reading the files again (the same
    result, slower: what the fast ways are tested against). `progress(phase)` is told each of PHASES as it
    starts."""
    progress = progress or (lambda _phase: None)
    overrides = overrides or Overrides()
    if not files:
        raise InputError("no file given")
    con.register("vocab_in", _vocab_frame())
    con.execute("CREATE OR REPLACE TABLE vocab AS SELECT * FROM vocab_in")
    con.unregister("vocab_in")
    sources: list[Source] = []
    progress("read")
    for path, name in files:
        sources += read_file(con, path, name, len(sources), max_file_bytes)
    progress("check")
    mappings = [map_source(con, s, overrides) for s in sources]
    warnings = [note for m in mappings for note in m.notes]
    warnings += [Note.of("padded", file=s.label, line=s.padded_line) for s in sources if s.padded_line]
    _check_facts(mappings)
    for m in mappings:
        if m.table == "subscriptions" and "segment" not in m.columns:
            warnings.append(Note.of("no_segment", file=m.source.label))
    typed = [type_source(con, m, overrides, n, careful) for n, m in enumerate(mappings)]
    _collect_rejects(con, mappings, typed)
    # Memory: the raw text tables are the largest; they are not needed once the rejects have their values.
    for m in mappings:
        _drop_raw(con, m.source)
    progress("collapse")
    files_report = [
        {"name": m.source.label, "kind": m.kind, "rows": m.source.rows, "collapsed": _collapse(con, m, typed[n])}
        for n, m in enumerate(mappings)
    ]
    programs: list[dict] = []
    for table in TABLES:
        found = _assemble(con, table, mappings, typed)
        if table == "subscriptions":
            programs = found
    for name in typed:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    _physical_lines(con, sources, careful)
    single = _single_customer(con, mappings)
    warnings += single
    countries_from = _resolve_countries(con)
    unknown = _unknown(con, countries_from)
    warnings += _unknown_notes(unknown)
    accepted = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    rejected = con.execute("SELECT count(*) FROM (SELECT DISTINCT file, line FROM rejects)").fetchone()[0]
    return IngestResult(
        accepted=accepted,
        rejected=rejected,
        mappings=mappings,
        warnings=warnings,
        files=files_report,
        programs=programs,
        origins=_origins(mappings, programs, countries_from, unknown, single_customer=bool(single)),
        unknown=unknown,
    )


def _drop_raw(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Drop a source's raw tables (a CSV's is a view over {table}_load, with its parser rejects)."""
    if source.format == "csv":
        con.execute(f"DROP VIEW IF EXISTS {source.table}")
    else:
        con.execute(f"DROP TABLE IF EXISTS {source.table}")
    for suffix in ("_load", "_rejects", "_scan"):
        con.execute(f"DROP TABLE IF EXISTS {source.table}{suffix}")


# The facts a subscription list cannot do without, as the refusal names them (PRODUCT.md section 3).
REQUIRED_FACTS = ("subscription_id", "seats", "term_end_date")


def _check_facts(mappings: list[Mapping]) -> None:
    """Refuse the upload when no file holds subscriptions, or a subscription file lacks a required fact."""
    if not any(m.table == "subscriptions" for m in mappings):
        from analytics.words import text

        lists = ", ".join(f"{m.source.label} ({text('en', 'kind.' + m.kind)})" for m in mappings)
        raise InputError(
            f"no subscription list: {lists} "
            f"{'is a customer or partner list' if len(mappings) == 1 else 'are customer or partner lists'}; "
            "upload a subscription list as well (a file with a subscription id, the number of seats and the "
            "term end date for each subscription), together with these or on its own",
            code="no_subscriptions",
            files=tuple((m.source.label, m.kind) for m in mappings),
        )
    for m in mappings:
        if m.table != "subscriptions":
            continue
        if m.source.rows == 0:
            raise InputError(f"{m.source.label}: has a header but no data rows", code="no_rows", file=m.source.label)
        missing = tuple(f for f in REQUIRED_FACTS if f not in m.columns)
        if missing:
            from analytics.words import text

            facts = [text("en", f"fact.{f}") for f in missing]
            constant = [note for note in m.notes if getattr(note, "code", None) == "constant_partner"]
            raise MappingError(
                f"{m.source.label}: this subscription list lacks {' and '.join(facts)} "
                f"(columns present: {', '.join(repr(h) for h in m.source.headers[:20])}); "
                "choose the column that holds it in the mapping, or upload the export that has it"
                + (f" ({constant[0]})" if constant else ""),
                [x for x in mappings],
                file=m.source.label,
                facts=missing,
                columns=", ".join(missing),
            )


def _physical_lines(con: duckdb.DuckDBPyConnection, sources: list[Source], careful: bool = False) -> None:
    """Turn the record numbers of CSV rejects (and of the rows they repeat) into physical line numbers.

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
        mapping = physical_lines(source, wanted, careful)
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


def _collect_rejects(con: duckdb.DuckDBPyConnection, mappings: list[Mapping], typed: list[str]) -> None:
    """One rejects table: parser rejects, values that fail validation, and duplicate ids, each with a reason
    code (REASONS) and its parameters (ref_file, ref_line, key), never words."""
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
        [(name, kind if kind in REASONS else "invalid") for name, kind in COLUMN_KIND.items()] + [("_extra", "extra")],
        columns=["canonical", "bad_code"],
    )
    con.register("labels_in", labels)
    con.register("reasons_in", reasons)
    con.execute("CREATE OR REPLACE TEMP TABLE src_labels AS SELECT * FROM labels_in")
    con.execute("CREATE OR REPLACE TEMP TABLE reasons AS SELECT * FROM reasons_in")
    con.unregister("labels_in")
    con.unregister("reasons_in")
    con.execute(f"CREATE OR REPLACE TABLE rejects ({REJECT_COLUMNS})")
    for n, m in enumerate(mappings):
        for line, code, text in m.source.parser_rejects:
            con.execute(
                "INSERT INTO rejects VALUES (?, ?, NULL, ?, left(?, 200), NULL, NULL, NULL, NULL)",
                [m.source.label, line, code, text],
            )
        raw_cases = " ".join(f"WHEN '{c}' THEN r.c{i}" for c, i in m.columns.items())
        raw_cases += f" WHEN '_extra' THEN r.c{len(m.source.headers)}"
        con.execute(
            f"""
            INSERT INTO rejects
            SELECT l.file, b._line, l.header, CASE WHEN b.missing THEN 'missing' ELSE rs.bad_code END,
                   left(CASE b.canonical {raw_cases} END, 200), NULL, NULL, NULL, NULL
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


# The rejects table: where (file, physical line, column as written), why (a REASONS code with its parameters:
# the row it repeats, ref_file and ref_line, and the id column, key), the value, and `reason`, the English text
# that snapshots written before the codes carry (NULL since).
REJECT_COLUMNS = (
    "file VARCHAR, line BIGINT, column_name VARCHAR, code VARCHAR, value VARCHAR, ref_file VARCHAR, "
    "ref_line BIGINT, key VARCHAR, reason VARCHAR"
)


def _collapse(con: duckdb.DuckDBPyConnection, mapping: Mapping, typed: str) -> int:
    """Charge lines and monthly rows: one row per subscription, that of the latest period (by charge or period
    end, then file order); a refund or removal (negative quantity) never gives the seats unless it is all there
    is, and then the seats are 0. Returns how many rows were folded away. A subscription list is left alone: a
    repeated id there is a duplicate to reject (_assemble)."""
    if mapping.kind not in ("charges", "monthly"):
        return 0
    rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT subscription_id) FROM {typed}").fetchone()
    period = "period_end DESC NULLS LAST, " if "period_end" in mapping.columns else ""
    if rows > distinct:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {typed} AS SELECT * EXCLUDE (_k) FROM (
                SELECT *, row_number() OVER (PARTITION BY subscription_id
                                             ORDER BY seats < 0, {period}_line DESC) AS _k
                FROM {typed}
            ) WHERE _k = 1 ORDER BY _line
            """
        )
    con.execute(f"UPDATE {typed} SET seats = 0 WHERE seats < 0")
    return rows - distinct


# Legacy or NCE without a program column (PRODUCT.md section 3), as fixed SQL over the typed columns; the first
# rule that decides wins, and its name is reported. Offer ids: a GUID or MS-AZR-... is a legacy offer; a
# PRODUCT:SKU[:AVAILABILITY] id, or a 12-character product id alone (a reconciliation file's ProductId,
# CloudBlue's "Product ID"), is a new-commerce product. Term: P1M/P1Y/P3Y, or a term-and-billing text.
_GUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
PROGRAM_RULES = (
    ("column", "program", "program IS NOT NULL", "program"),
    (
        "offer_id",
        "offer_id",
        f"regexp_full_match(trim(offer_id), '{_GUID}') OR starts_with(upper(trim(offer_id)), 'MS-AZR-')",
        "'legacy'",
    ),
    (
        "offer_id",
        "offer_id",
        "regexp_matches(upper(trim(offer_id)), '^[A-Z0-9]{12}(:[A-Z0-9]{1,12})*([_:]|$)')",
        "'nce'",
    ),
    (
        "term",
        "term_duration",
        "regexp_full_match(upper(trim(term_duration)), 'P[0-9]+[MY]') "
        "OR regexp_matches(lower(term_duration), 'commitment|term duration|billing')",
        "'nce'",
    ),
)


def _program_sql(present: set[str], nce_file: bool) -> tuple[str, str]:
    """(program, the rule that decided it) for one source's typed rows."""
    program, rule = [], []
    for name, column, condition, value in PROGRAM_RULES:
        if column in present:
            program.append(f"WHEN {condition} THEN {value}")
            rule.append(f"WHEN {condition} THEN '{name}'")
    default = ("'nce'", "'nce_file'") if nce_file else ("'legacy'", "'default'")
    if not program:
        return default
    return (
        f"CASE {' '.join(program)} ELSE {default[0]} END",
        f"CASE {' '.join(rule)} ELSE {default[1]} END",
    )


def _assemble(con: duckdb.DuckDBPyConnection, table: str, mappings: list[Mapping], typed: list[str]) -> list[dict]:
    """Union the valid rows of every source that feeds `table`, then drop repeated ids into rejects.

    For subscriptions, returns the accepted rows per program and the rule that decided it."""
    names = schema.stored_columns(table)
    key = names[0]
    subscriptions = table == "subscriptions"
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
        exprs = []
        for c in names:
            if subscriptions and c == "program":
                program, rule = _program_sql(present, mappings[n].nce_file)
                exprs += [f"{program} AS program", f"{rule} AS _rule"]
            elif subscriptions and c == "country" and "marketplace" in present:
                exprs.append(f"coalesce({'country' if 'country' in present else 'NULL'}, marketplace) AS country")
            else:
                exprs.append(_column_expr(c, present))
        selects.append(f"SELECT {', '.join(exprs)}, _src, _line, {0 if n in direct else 1} AS _derived FROM {typed[n]}")
    if not selects:
        empty = ", ".join(_column_expr(c, set()) for c in names)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {empty} WHERE false")
        return []
    # A view, not a table: the union is read once to count the ids and once to write the table (a copy of a
    # 10M-row table costs more than computing these columns twice).
    con.execute(f"CREATE OR REPLACE TEMP VIEW all_{table} AS {' UNION ALL '.join(selects)}")
    repeated = con.execute(f"SELECT count(*) - count(DISTINCT {key}) FROM all_{table}").fetchone()[0]
    kept = f"all_{table}"
    if repeated:
        same = f"hash({cols}) = first_value(hash({cols})) OVER w" if subscriptions or not derived else "true"
        # Repeated ids: the first occurrence is kept. In a flat file the partner (or customer) repeats on each
        # of its rows: those repeats are not errors; rows from a dedicated file win over the flat file's.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER w AS _n, first_value(_src) OVER w AS _first_src,
                   first_value(_line) OVER w AS _first_line, {same} AS _same
            FROM all_{table} WINDOW w AS (PARTITION BY {key} ORDER BY _derived, _src, _line)
            """
        )
        if subscriptions or direct:
            con.execute(
                f"""
                INSERT INTO rejects
                SELECT l.file, r._line, h.header,
                       CASE WHEN r._same THEN 'duplicate_same' ELSE 'duplicate_different' END,
                       r.{key}, f.file, r._first_line, '{key}', NULL
                FROM ranked r
                JOIN (SELECT DISTINCT src, file FROM src_labels) l ON l.src = r._src
                JOIN (SELECT DISTINCT src, file FROM src_labels) f ON f.src = r._first_src
                LEFT JOIN src_labels h ON h.src = r._src AND h.canonical = '{key}'
                WHERE r._n > 1 AND r._derived = 0
                """
            )
        con.execute(f"DROP VIEW all_{table}")
        kept = "(SELECT * FROM ranked WHERE _n = 1)"
    # The deciding rule is kept until the programs are counted from the table itself, then dropped (no copy).
    rule = ", _rule" if subscriptions else ""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols}{rule} FROM {kept} ORDER BY _src, _line")
    programs = []
    if subscriptions:
        programs = [
            {"program": program, "rule": rule, "subscriptions": int(rows)}
            for program, rule, rows in con.execute(
                f"SELECT program, _rule, count(*) FROM {table} GROUP BY ALL ORDER BY program, _rule"
            ).fetchall()
        ]
        con.execute(f"ALTER TABLE {table} DROP COLUMN _rule")
    con.execute("DROP TABLE IF EXISTS ranked")
    con.execute(f"DROP VIEW IF EXISTS all_{table}")
    return programs


def _single_customer(con: duckdb.DuckDBPyConnection, mappings: list[Mapping]) -> list[Note]:
    """A subscription list without a customer column, uploaded with a customer list of exactly one customer,
    belongs to that customer: Partner Center's Get-PartnerCustomerSubscription lists one customer's
    subscriptions (-CustomerId is required) and its objects do not name the customer."""
    lists = [m for m in mappings if m.table == "subscriptions"]
    if any("customer_id" in m.columns for m in lists) or not any(m.table == "customers" for m in mappings):
        return []
    customers = con.execute("SELECT customer_id FROM customers LIMIT 2").fetchall()
    if len(customers) != 1:
        return []
    rows = con.execute(
        "UPDATE subscriptions SET customer_id = ? WHERE customer_id IS NULL", [customers[0][0]]
    ).fetchone()[0]
    return [Note.of("single_customer", rows=rows, customer=customers[0][0])] if rows else []


def _resolve_countries(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """A subscription without a country takes its customer's, else its partner's, else the unknown country
    (PRODUCT.md section 3). Returns how many subscriptions got their country from where."""
    missing = con.execute("SELECT count(*) FROM subscriptions WHERE country IS NULL").fetchone()[0]
    found = {"row": con.execute("SELECT count(*) FROM subscriptions").fetchone()[0] - missing}
    for source, sql in (
        (
            "customer",
            "UPDATE subscriptions SET country = c.country FROM customers c WHERE subscriptions.country IS NULL "
            "AND c.customer_id = subscriptions.customer_id AND c.country IS NOT NULL",
        ),
        (
            "partner",
            "UPDATE subscriptions SET country = p.country FROM partners p WHERE subscriptions.country IS NULL "
            "AND p.partner_id = subscriptions.partner_id AND p.country IS NOT NULL",
        ),
    ):
        found[source] = con.execute(sql).fetchone()[0] if missing else 0
        missing -= found[source]
    found["unknown"] = missing
    if missing:
        con.execute("UPDATE subscriptions SET country = ? WHERE country IS NULL", [UNKNOWN_COUNTRY])
    return found


def _unknown(con: duckdb.DuckDBPyConnection, countries_from: dict[str, int]) -> dict:
    """Subscriptions (and seats) whose country, partner or customer is unknown."""
    partner, partner_seats, customer = con.execute(
        "SELECT count(*) FILTER (partner_id IS NULL), coalesce(sum(seats) FILTER (partner_id IS NULL), 0), "
        "count(*) FILTER (customer_id IS NULL) FROM subscriptions"
    ).fetchone()
    return {
        "country": int(countries_from["unknown"]),
        "partner": int(partner),
        "partner_seats": int(partner_seats),
        "customer": int(customer),
    }


def _unknown_notes(unknown: dict) -> list[Note]:
    """One warning per unknown fact, saying how many rows and which figures it affects."""
    notes = []
    if unknown["country"]:
        notes.append(Note.of("unknown_country", rows=unknown["country"], zz=UNKNOWN_COUNTRY))
    if unknown["partner"]:
        notes.append(Note.of("unknown_partner", rows=unknown["partner"], seats=unknown["partner_seats"]))
    if unknown["customer"]:
        notes.append(Note.of("unknown_customer", rows=unknown["customer"]))
    return notes


# Where a canonical field comes from when the file has no column for it.
_DEFAULT_VALUES = {"segment": "commercial", "status": "active", "billing_term": "unknown", "program": "legacy"}


def _origins(
    mappings: list[Mapping], programs: list[dict], countries_from: dict, unknown: dict, single_customer: bool = False
) -> list[dict]:
    """For every file and canonical field: the column it was read from, or how it was derived, its default, or
    that it is unknown (with the rows concerned). Codes and parameters; the edges say them in words."""
    rows = []
    for m in mappings:
        for column in TABLES[m.table]:
            name = column.name
            entry = {"file": m.source.label, "table": m.table, "field": name, "origin": "", "column": None}
            entry["detail"], entry["rows"] = None, None
            if name in m.columns and not (name == "partner_id" and m.columns[name] == m.columns.get("partner_name")):
                entry.update(origin="column", column=m.source.headers[m.columns[name]])
            elif m.table != "subscriptions":
                entry.update(origin="unknown" if name not in _DEFAULT_VALUES else "default")
            elif name == "partner_id" and "partner_id" in m.columns:
                entry.update(origin="derived", detail="partner_by_name", column=m.source.headers[m.columns[name]])
            elif name == "program":
                split = ", ".join(f"{p['rule']} {p['program']} {p['subscriptions']}" for p in programs)
                entry.update(origin="derived", detail="program_rules", column=split)
            elif name == "country" and "marketplace" in m.columns:
                entry.update(origin="derived", detail="marketplace", column=m.source.headers[m.columns["marketplace"]])
            elif name == "country":
                found = {k: v for k, v in countries_from.items() if k in ("customer", "partner") and v}
                entry.update(
                    origin="derived" if found else "unknown",
                    detail="country_lookup",
                    counts=found,
                    rows=unknown["country"],
                )
            elif name == "customer_id" and single_customer:
                entry.update(origin="derived", detail="single_customer")
            elif name in _DEFAULT_VALUES:
                entry.update(origin="default", column=_DEFAULT_VALUES[name])
            elif name in ("partner_id", "customer_id"):
                entry.update(origin="unknown", rows=unknown["partner" if name == "partner_id" else "customer"])
            elif not column.stored:
                continue
            else:
                entry.update(origin="unknown")
            rows.append(entry)
    return rows
