"""Read CSV, Excel and Parquet files into raw DuckDB tables of text columns c0..cN, with their headers."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import duckdb
import pyarrow as pa

from analytics.errors import InputError
from analytics.schema import header_key, synonym_index
from analytics.settings import settings

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 256 * 1024
csv.field_size_limit(2**31 - 1)  # a 100,000-character cell is legal CSV
HEADER_SEARCH_ROWS = 30
# An .xlsx is a zip: refuse one that expands more than this ratio (zip bombs); the absolute cap is a setting.
MAX_XLSX_RATIO = 200


@dataclass
class Source:
    """One table-like part of an upload: a CSV file, an Excel sheet or a Parquet file."""

    file: str
    sheet: str | None
    table: str  # the raw DuckDB table holding c0..cN (text) and _line
    headers: list[str]
    header_line: int
    decimal_comma: bool = False
    format: str = "csv"  # csv, xlsx or parquet
    path: Path | None = None  # CSV only: the original file, its encoding and delimiter, to find physical lines
    encoding: str = "utf-8"
    delimiter: str = ","
    parser_rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason code, text)
    rows: int = 0
    padded_line: int | None = None  # the first data line with fewer fields than the header (padded with empties)
    # CSV only: the blank lines after the header, when every record of the file is one line (then a record's
    # physical line follows from them and the parser rejects without reading the file again); None otherwise.
    blank_lines: list[int] | None = None

    @property
    def label(self) -> str:
        return f"{self.file} [{self.sheet}]" if self.sheet else self.file


def read_file(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, first_index: int, max_bytes: int | None = -1
) -> list[Source]:
    """Load one file into raw tables named raw_<n>; `name` is what messages call the file.

    `max_bytes` is the size limit: -1 for the server's upload limit (config/server.toml), None for none.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"{name}: cannot be opened ({exc.strerror})", code="cannot_open", file=name) from None
    if size == 0:
        raise InputError(f"{name}: the file is empty", code="empty", file=name)
    # -1: the server's upload limit; None: no limit (the operator's command line).
    limit = settings().max_file_bytes if max_bytes == -1 else max_bytes
    if limit is not None and size > limit:
        raise InputError(
            f"{name}: too large ({size / 2**20:,.1f} MB; the limit is {limit / 2**20:,.0f} MB)",
            code="too_large",
            file=name,
            size=f"{size / 2**20:,.1f}",
            limit=f"{limit / 2**20:,.0f}",
        )
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(con, path, name, first_index)
    if head.startswith(b"PAR1") or suffix == ".parquet":
        return [_read_parquet(con, path, name, first_index)]
    return [_read_csv(con, path, name, first_index)]


# ---------------------------------------------------------------- CSV


def detect_encoding(sample: bytes) -> str:
    """The encoding to read a text file with; German Excel CSVs are cp1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # UTF-32 before UTF-16: the UTF-32 LE mark (FF FE 00 00) starts with the UTF-16 LE one (FF FE).
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    unmarked = _utf32_without_mark(sample)
    if unmarked:
        return unmarked
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(sample).best()
    guess = (best.encoding if best else "cp1252").replace("-", "_").lower()
    if guess.startswith(("utf_16", "utf_32")):
        return guess
    # A single-byte Western file: cp1252 is what Excel writes in German/English Windows.
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _utf32_without_mark(sample: bytes) -> str | None:
    """UTF-32 without a byte order mark: text of Western characters has three zero bytes in every four."""
    body = sample[: len(sample) // 4 * 4][:4096]
    if len(body) < 8:
        return None
    zero = [body[i::4].count(0) / (len(body) // 4) for i in range(4)]
    if zero[1] == zero[2] == zero[3] == 1.0 and zero[0] < 1.0:
        return "utf-32-le"
    if zero[0] == zero[1] == zero[2] == 1.0 and zero[3] < 1.0:
        return "utf-32-be"
    return None


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, index: int) -> Source:
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    encoding = detect_encoding(sample)
    if b"\x00" in sample and not encoding.startswith(("utf_16", "utf_32", "utf-16", "utf-32")):
        line = sample[: sample.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            f"{name}, line {line}: contains a NUL byte; this is not a text (CSV) file",
            code="nul_byte",
            file=name,
            line=line,
        )
    text = sample.decode(encoding, errors="replace")
    if len(sample) == SNIFF_BYTES:  # drop the possibly cut last line
        text = text[: text.rfind("\n") + 1] or text
    delimiter, header_row, header_line = sniff(text, name)
    readable = path
    tmp = None
    # DuckDB mis-reads a record after a bare CR when other lines end in LF: rewrite such files with one newline.
    mixed = "\n" in text and re.search(r"\r(?!\n)", text) is not None
    if encoding not in ("utf-8", "utf-8-sig") or mixed:
        tmp = _transcode(path, encoding, name, universal_newlines=mixed)
        readable = Path(tmp)
    elif GLOB.search(str(path)):
        # DuckDB expands *, ? and [...] in a path: a file literally named "a*.csv" is read through a link.
        tmp = _literal_link(path)
        readable = Path(tmp)
    table = f"raw_{index}"
    width = len(header_row)
    try:
        rejects = _load_csv(con, table, readable, delimiter, header_line, width + 1)
        # The records as read, numbered by line: record n (from 0) is on line header_line + 1 + n when no
        # record spans lines and no line is blank or refused (physical_lines maps the others). A view, so the
        # numbers cost no copy of the table; row ids stay as they are when empty rows are deleted below.
        con.execute(
            f"CREATE OR REPLACE VIEW {table} AS SELECT *, CAST(rowid AS BIGINT) + {int(header_line) + 1} AS _line "
            f"FROM {table}_load"
        )
        lines = scan_lines(readable, header_line)
        records, empty, short = _shape(con, table, width + 1)
        if empty:
            _drop_empty_rows(con, f"{table}_load", width + 1)
        if lines.nul:
            _refuse_nul(con, table, width + 1, name)
        # One record per line: the file's lines are its records, its blank lines and its refused lines.
        refused = {line for line, _kind, _text in rejects}
        one_per_line = lines.count - header_line == records + len(lines.blank) + len(refused) and not any(
            kind == "LINE SIZE OVER MAXIMUM" or "\n" in (text or "") for _line, kind, text in rejects
        )
        if not one_per_line and _spans_lines(con, table, width + 1, rejects):
            _refuse_swallowing_quote(path, encoding, delimiter, header_line, [str(h) for h in header_row], name)
    except duckdb.OutOfMemoryException:
        raise  # not a property of the file: the worker reports the memory limit
    except duckdb.Error as exc:
        raise InputError(
            f"{name}: cannot be read as CSV ({_first_line(exc, readable, name)})", code="not_csv", file=name
        ) from None
    finally:
        if tmp:
            os.unlink(tmp)
    parser_rejects = [(line, _parser_reason(kind), text) for line, kind, text in rejects]
    rows = records - empty
    source = Source(
        file=name,
        sheet=None,
        table=table,
        headers=[str(h) for h in header_row],
        header_line=header_line,
        decimal_comma=delimiter == ";",
        parser_rejects=parser_rejects,
        rows=rows,
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        blank_lines=lines.blank if one_per_line and not lines.bare_cr else None,
    )
    if short is not None:
        source.padded_line = first_short_line(source, width)
    return source


def _load_csv(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, delimiter: str, header_line: int, width: int
) -> list[tuple[int, str, str]]:
    """Read a CSV into {table}_load (text columns c0..c<width-1>, the last catching surplus fields); returns
    DuckDB's parser rejects (line, error type, text). Read in parallel; DuckDB's parallel scanner refuses a
    file with a line break inside a quoted value (it cannot pad short records then), which is read again on
    one thread."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    for parallel in ("true", "false"):
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE {table}_load AS SELECT * FROM read_csv(?, delim = ?, quote = '\"', "
                f"escape = '\"', header = false, skip = ?, all_varchar = true, columns = {columns}, "
                f"null_padding = true, parallel = {parallel}, strict_mode = false, store_rejects = true, "
                f"rejects_table = '{table}_rejects', rejects_scan = '{table}_scan', max_line_size = 2000000, "
                "auto_detect = false)",
                [str(path), delimiter, header_line],
            )
            break
        except duckdb.OutOfMemoryException:
            raise
        except duckdb.Error as exc:
            if parallel == "false" or "parallel scanner does not support" not in str(exc):
                raise
            for suffix in ("_rejects", "_scan"):
                con.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
    return con.execute(f"SELECT line, error_type, csv_line FROM {table}_rejects ORDER BY line").fetchall()


def _shape(con: duckdb.DuckDBPyConnection, table: str, width: int) -> tuple[int, int, int | None]:
    """A CSV's records: how many, how many are empty (only delimiters), and the line of the first one that
    ends short (its last header column empty). Filters in WHERE, where DuckDB stops at a row's first value."""
    empty = " AND ".join(f"NULLIF(trim(c{i}), '') IS NULL" for i in range(width))
    records = con.execute(f"SELECT count(*) FROM {table}_load").fetchone()[0]
    empties = con.execute(f"SELECT count(*) FROM {table} WHERE {empty}").fetchone()[0]
    short = con.execute(f"SELECT min(_line) FROM {table} WHERE c{width - 2} IS NULL AND NOT ({empty})").fetchone()[0]
    return records, empties, short


@dataclass
class LineScan:
    """What one pass over a UTF-8 file's bytes tells about its lines."""

    count: int  # lines (a last line without a line break counts)
    blank: list[int]  # the empty lines after the header line (DuckDB skips them without numbering a record)
    nul: bool  # a NUL byte somewhere
    bare_cr: bool  # a carriage return not followed by a line feed (a line ending DuckDB reads, this scan not)


SCAN_BYTES = 8 * 1024 * 1024


def scan_lines(path: Path, header_line: int) -> LineScan:
    """Count the lines of a UTF-8 file and find its blank ones, at the speed of bytes.count (no decoding: a
    line feed byte is never part of another UTF-8 character)."""
    count = 0
    blank: list[int] = []
    nul = bare_cr = False
    last = b"\n"
    rest = b""
    with open(path, "rb") as handle:
        while True:
            more = handle.read(SCAN_BYTES)
            chunk = rest + more
            if not chunk:
                break
            cut = chunk.rfind(b"\n") + 1 if more else len(chunk)
            if cut == 0:  # one line longer than a chunk so far
                rest = chunk
                continue
            body, rest = chunk[:cut], chunk[cut:]
            nul = nul or b"\x00" in body
            crs = b"\r" in body
            bare_cr = bare_cr or crs and body.count(b"\r") != body.count(b"\r\n")
            # body starts at a line start (after a line feed): a blank line is "\n" there, else after "\n".
            if count >= header_line and (body.startswith(b"\n") or body.startswith(b"\r\n")):
                blank.append(count + 1)
            for pattern in (b"\n\n", b"\n\r\n") if crs else (b"\n\n",):
                at, seen, lines = body.find(pattern), 0, count
                while at >= 0:
                    lines += body.count(b"\n", seen, at + 1)
                    seen = at + 1
                    if lines >= header_line:
                        blank.append(lines + 1)
                    at = body.find(pattern, at + 1)
            count += body.count(b"\n")
            last = body[-1:]
    blank.sort()
    return LineScan(count=count + (last != b"\n"), blank=blank, nul=nul, bare_cr=bare_cr)


# How much of a file is looked at for rows shorter than the header (they are padded wherever they are; the scan
# only finds the line the warning names, and the export bug it reports shortens every row).
SHORT_ROW_SCAN_BYTES = 2 * 1024 * 1024


def first_short_line(source: Source, width: int) -> int | None:
    """The physical line of the first record with fewer fields than the header (a known export bug, e.g.
    CloudBlue's reports leave out their last, error column) within the first SHORT_ROW_SCAN_BYTES, or None.
    Only read when some record's last field is empty, since DuckDB pads short records without saying so."""
    with open(source.path, "rb") as raw:
        head = raw.read(SHORT_ROW_SCAN_BYTES)
    text = head.decode(source.encoding, errors="replace")
    if len(head) == SHORT_ROW_SCAN_BYTES:
        text = text[: text.rfind("\n") + 1]  # the cut last line is no record
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter)
    consumed = 0
    for row in reader:
        start = consumed + 1
        consumed = reader.line_num
        if consumed <= source.header_line or not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            return start
    return None


GLOB = re.compile(r"[*?\[\]{}]")
# A quoted value that runs over this many lines that look like records of the file is a stray quote.
SWALLOWED_RECORDS = 2


def _literal_link(path: Path) -> str:
    """A symbolic link with a plain, random name to `path` (removed like a transcoded copy)."""
    fd, link = tempfile.mkstemp(suffix=".csv", prefix="radar-")
    os.close(fd)
    os.unlink(link)
    os.symlink(os.path.abspath(path), link)  # fails, rather than follows, should the name be taken meanwhile
    return link


def _spans_lines(con: duckdb.DuckDBPyConnection, table: str, width: int, rejects: list) -> bool:
    """Whether any record runs over more than one line: a value with a line break, or a record DuckDB refused
    as longer than its maximum line (then the file's remainder is gone). Only then is the file scanned."""
    if any(kind == "LINE SIZE OVER MAXIMUM" or "\n" in (text or "") for _line, kind, text in rejects):
        return True
    breaks = " OR ".join(f"strpos(c{i}, chr(10)) > 0 OR strpos(c{i}, chr(13)) > 0" for i in range(width))
    return con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {breaks})").fetchone()[0]


def _refuse_swallowing_quote(
    path: Path, encoding: str, delimiter: str, header_line: int, headers: list[str], name: str
) -> None:
    """Refuse a file in which a quote opens and never closes where it should: the lines after it become one
    value, so their records vanish without a word (DuckDB then reports one long line, or one short record).

    The file is read once with Python's csv module; a value whose line breaks enclose lines that have as many
    delimiters as a record of this file (one such line in a record that ends short, or two or more) is such a
    quote. Quoted values with line breaks of their own (addresses, notes) are read as before.
    """
    width = len(headers)
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        consumed = 0
        for row in reader:
            start, consumed = consumed + 1, reader.line_num
            if consumed <= header_line or consumed == start:
                continue
            for position, value in enumerate(row):
                inner = re.split(r"\r\n|\r|\n", value)
                if len(inner) == 1:
                    continue
                records = sum(1 for line in inner[1:] if line.count(delimiter) >= max(width - 1, 1))
                if records >= SWALLOWED_RECORDS or records and len(row) < width:
                    swallowed = len(inner) - 1 - (inner[-1] == "")
                    line = start + sum(len(re.findall(r"\r\n|\r|\n", v)) for v in row[:position])
                    column = headers[position] if position < width else f"field {position + 1}"
                    character = _quote_position(path, encoding, line, inner[0])
                    raise InputError(
                        f"{name}, line {line}, character {character} (column {column!r}): a quote opens here and "
                        f"is not closed where the value ends, so the next {swallowed:,} lines, which are records "
                        "of their own, would be read as part of this one value and vanish; the file is refused. "
                        'Remove the stray " or write it twice ("")',
                        code="unbalanced_quote",
                        file=name,
                        line=line,
                        column=column,
                        character=character,
                        lines=f"{swallowed:,}",
                    )


def _quote_position(path: Path, encoding: str, line: int, rest: str) -> int:
    """The character (1-based) of the quote on `line` that opens a value whose first line is `rest`."""
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            if number == line:
                text = text.rstrip("\r\n")
                return max(len(text) - len(rest), 1)
    return 1


def _drop_empty_rows(con: duckdb.DuckDBPyConnection, table: str, width: int) -> None:
    """A row of nothing but delimiters (Excel's formatted empty rows) is no record, like a blank line."""
    empty = " AND ".join(f"NULLIF(trim(c{i}), '') IS NULL" for i in range(width))
    con.execute(f"DELETE FROM {table} WHERE {empty}")


def _refuse_nul(con: duckdb.DuckDBPyConnection, table: str, width: int, name: str) -> None:
    """A NUL byte anywhere means the file is not text (the sniffing window only sees its start)."""
    has_nul = " OR ".join(f"strpos(c{i}, chr(0)) > 0" for i in range(width))
    line = con.execute(f"SELECT min(_line) FROM {table} WHERE {has_nul}").fetchone()[0]
    if line is not None:
        raise InputError(
            f"{name}, line {line}: contains a NUL byte; this is not a text (CSV) file",
            code="nul_byte",
            file=name,
            line=line,
        )


def physical_lines(source: Source, record_lines: list[int], careful: bool = False) -> dict[int, int]:
    """Map record-based line numbers (header line + 1 + record index, as stored in _line) to the physical
    line where each record starts.

    When every record of the file is one line (source.blank_lines is known), a record's line is its number
    moved down by each blank or refused line before it; otherwise (or when `careful`) the file is read with
    Python's csv module up to the last record asked for."""
    if source.blank_lines is not None and not careful:
        return _lines_from_gaps(source, record_lines)
    wanted = set(record_lines)
    last = max(wanted)
    skipped = {line for line, _reason, _text in source.parser_rejects}
    found: dict[int, int] = {}
    with open(source.path, encoding=source.encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        consumed = 0
        record = source.header_line + 1
        for row in reader:
            start = consumed + 1
            consumed = reader.line_num
            if consumed <= source.header_line or not row or start in skipped:
                continue
            if record in wanted:
                found[record] = start
            if record >= last:
                break
            record += 1
    return {line: found.get(line, line) for line in wanted}


def _lines_from_gaps(source: Source, record_lines: list[int]) -> dict[int, int]:
    """physical_lines for a file of one-line records: the lines no record is on (blank lines, DuckDB's
    refused lines) push each later record down by one."""
    gaps = sorted(set(source.blank_lines or ()) | {line for line, _reason, _text in source.parser_rejects})
    found: dict[int, int] = {}
    shift = passed = 0
    for record in sorted(set(record_lines)):
        while passed < len(gaps) and gaps[passed] <= record + shift:
            shift += 1
            passed += 1
        found[record] = record + shift
    return found


# DuckDB's CSV error types -> our reject reason codes (catalog `reason.<code>`).
_PARSER_CODES = {
    "MISSING COLUMNS": "fewer_fields",
    "TOO MANY COLUMNS": "more_fields",
    "UNQUOTED VALUE": "unquoted",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
    "INVALID UNICODE": "invalid_unicode",
}
PARSER_REASONS = (*_PARSER_CODES.values(), "unreadable_line")


def _parser_reason(kind: str) -> str:
    return _PARSER_CODES.get(kind, "unreadable_line")


def _transcode(path: Path, encoding: str, name: str, universal_newlines: bool = False) -> str:
    """Stream a file into a UTF-8 temporary file for DuckDB, which reads UTF-8 only; optionally turn every
    CR LF and bare CR into LF (line numbers stay the same: one line ending becomes one line ending)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="radar-")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending_cr = False
    try:
        with path.open("rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(4 * 1024 * 1024):
                text = decoder.decode(chunk)
                if universal_newlines:
                    if pending_cr:
                        text = "\r" + text
                    pending_cr = text.endswith("\r")
                    if pending_cr:
                        text = text[:-1]
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                dst.write(text)
            tail = decoder.decode(b"", final=True) + ("\r" if pending_cr else "")
            dst.write(tail.replace("\r\n", "\n").replace("\r", "\n") if universal_newlines else tail)
    except UnicodeDecodeError as exc:
        os.unlink(tmp)
        raise InputError(
            f"{name}: not readable as {encoding} text (byte {exc.start})", code="encoding", file=name, encoding=encoding
        ) from None
    return tmp


def sniff(text: str, name: str) -> tuple[str, list[str], int]:
    """Find the delimiter and the header row (which may sit below title lines) of a CSV sample."""
    best: tuple[int, int, str, list[str], int] | None = None
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for _ in range(HEADER_SEARCH_ROWS):
                row = next(reader, None)
                if row is None:
                    break
                score = header_score(row)
                if len(row) > 1 and (best is None or (score, len(row)) > (best[0], best[1])):
                    best = (score, len(row), delimiter, row, reader.line_num)
        except csv.Error:
            continue
    if best is None or best[0] < 2:
        raise InputError(
            f"{name}: no header row found in the first {HEADER_SEARCH_ROWS} lines (expected column names such as "
            "subscription_id, partner_id, seats, term_end_date, or their German and Partner Center names)",
            code="no_header",
            file=name,
        )
    _score, _width, delimiter, row, line = best
    # Trailing delimiters give empty header cells at the end: keep the width, the cells map to nothing.
    return delimiter, row, line


def header_score(row: list) -> int:
    index = synonym_index()
    return sum(1 for cell in row if cell is not None and header_key(str(cell)) in index)


# ---------------------------------------------------------------- Excel


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, name: str, first_index: int) -> list[Source]:
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except Exception:  # BadZipFile, OSError, NotImplementedError (unknown zip versions), ...
        raise InputError(
            f"{name}: not an Excel workbook (.xlsx files are zip archives; this one is not)", code="not_xlsx", file=name
        ) from None
    if expanded > settings().max_xlsx_expanded_bytes or expanded > MAX_XLSX_RATIO * path.stat().st_size + 50_000_000:
        raise InputError(
            f"{name}: refused, the workbook would expand to {expanded:,} bytes (a zip bomb?)",
            code="zip_bomb",
            file=name,
        )
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of broken workbook
        raise InputError(
            f"{name}: not a readable Excel workbook ({_first_line(exc, path, name)})", code="bad_xlsx", file=name
        ) from None
    sources = []
    for sheet_name in workbook.sheet_names:
        try:
            rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputError(f"{name} [{sheet_name}]: sheet cannot be read ({_first_line(exc, path, name)})") from None
        found = _find_header(rows)
        if found is None:
            continue  # a notes or pivot sheet; sheets are recognised by their columns
        position, header = found
        width = len(header)
        # Keep Excel's row numbers for messages; rows without any value are no records.
        numbered = [
            (n, r)
            for n, r in enumerate(rows[position + 1 :], start=position + 2)
            if any(v not in (None, "") for v in r)
        ]
        body = [r for _, r in numbered]
        data = {f"c{i}": [_cell_text(r[i]) if i < len(r) else None for r in body] for i in range(width)}
        data[f"c{width}"] = [_extra_cells(r, width) for r in body]
        data["_line"] = [n for n, _ in numbered]
        table = f"raw_{first_index + len(sources)}"
        _load_arrow(con, table, data)
        sources.append(
            Source(
                file=name,
                sheet=sheet_name,
                table=table,
                headers=[str(h) if h is not None else "" for h in header],
                header_line=position + 1,
                rows=len(body),
                format="xlsx",
            )
        )
    if not sources:
        raise InputError(f"{name}: no sheet has a header row with known column names", code="no_sheet", file=name)
    return sources


def _find_header(rows: list[list]) -> tuple[int, list] | None:
    best = None
    for position, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = header_score(row)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, position, row)
    if best is None:
        return None
    row = list(best[2])
    while row and (row[-1] is None or row[-1] == ""):
        row.pop()
    return best[1], row


def _cell_text(value) -> str | None:
    """Excel cell -> the text the CSV path would have seen (ISO dates, true/false, plain numbers)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _extra_cells(row: list, width: int) -> str | None:
    extra = [v for v in row[width:] if v not in (None, "")]
    return _cell_text(extra[0]) if extra else None


# ---------------------------------------------------------------- Parquet


PARQUET_BATCH_ROWS = 122_880
_BINARY = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary, pa.types.is_binary_view)


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str, index: int) -> Source:
    """Read a Parquet file batch by batch into text columns; nested and binary columns are refused by name."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for broken files
        raise InputError(
            f"{name}: not a readable Parquet file ({_first_line(exc, path, name)})", code="bad_parquet", file=name
        ) from None
    for column in schema:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if pa.types.is_nested(kind) or any(is_binary(kind) for is_binary in _BINARY):
            raise InputError(
                f"{name}: column {column.name!r} holds {kind} values (nested or binary data); an export column "
                "holds text, numbers, dates or true/false. Flatten it, or leave it out of the file",
                code="parquet_nested",
                file=name,
                column=column.name,
                type=str(kind),
            )
    headers = list(schema.names)
    raw = f"raw_{index}"
    rows = 0
    try:
        for batch in parquet.iter_batches(PARQUET_BATCH_ROWS):
            data = {f"c{i}": _parquet_text(column) for i, column in enumerate(batch.columns)}
            data[f"c{len(headers)}"] = pa.nulls(batch.num_rows, pa.string())
            data["_line"] = pa.array(range(rows + 2, rows + batch.num_rows + 2), pa.int64())
            _load_arrow(con, raw, data, append=rows > 0)
            rows += batch.num_rows
        if rows == 0:
            _load_arrow(con, raw, {**{f"c{i}": [] for i in range(len(headers) + 1)}, "_line": []})
    except (duckdb.OutOfMemoryException, MemoryError):
        raise  # not a property of the file (the worker reports a memory limit)
    except Exception as exc:  # dates beyond year 9999, text that is not UTF-8, types Python cannot hold
        raise InputError(
            f"{name}: not a readable Parquet file ({_first_line(exc, path, name)})", code="bad_parquet", file=name
        ) from None
    return Source(file=name, sheet=None, table=raw, headers=headers, header_line=1, rows=rows, format="parquet")


def _parquet_text(column: pa.Array) -> pa.Array:
    """A Parquet column as the text the CSV path would have seen (as _cell_text writes it): converted by Arrow
    for text, whole numbers, true/false and dates; value by value for the rest (decimals, times)."""
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.dictionary_decode(), kind.value_type
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        text = pc.cast(column, pa.string())
        text.validate(full=True)  # text that is not UTF-8 (a damaged file) is refused, not handed to DuckDB
        return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_date(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(kind):
        whole = pc.all(pc.equal(pc.trunc(column), column)).as_py()
        if whole is not False:
            try:
                return pc.cast(pc.cast(column, pa.int64()), pa.string())  # 18.0 -> "18", as _cell_text does
            except pa.ArrowInvalid:
                pass  # beyond int64: value by value
    return pa.array([_cell_text(v) for v in column.to_pylist()], pa.string())


def _load_arrow(con: duckdb.DuckDBPyConnection, table: str, data: dict, append: bool = False) -> None:
    arrow = pa.table(
        {
            k: v if isinstance(v, pa.Array) else pa.array(v, type=pa.int64() if k == "_line" else pa.string())
            for k, v in data.items()
        }
    )
    con.register("arrow_in", arrow)
    try:
        if append:
            con.execute(f"INSERT INTO {table} SELECT * FROM arrow_in")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM arrow_in")
    finally:
        con.unregister("arrow_in")


def _first_line(exc: BaseException, path: Path | None = None, name: str = "the file") -> str:
    """The first line of a library's error, without server paths (they say nothing to the user)."""
    text = str(exc).strip().splitlines()
    line = text[0][:300] if text else type(exc).__name__
    if path is not None:
        line = line.replace(str(path), name)
    line = re.sub(r"(?<![\w/])(/[^\s'\"]+)+", "<file>", line)
    return line[:200]
