"""Write the hostile and broken input corpus of tests/test_bad_input.py, byte for byte the same on every run.

    python tests/data/bad/make_corpus.py            # rewrites the files beside this script
    python tests/data/bad/make_corpus.py DIR        # writes them into DIR

Only small files are stored. The big ones (a real zip bomb, a file over the upload limit, a NUL byte past the
sniffing window, a 100,000-character field) are written by the functions at the end of this file into the
test's tmp_path when the test runs. Every workbook here is built by hand (stored, uncompressed zip members
and fixed timestamps), so no library version changes a byte. What each file is and what the app must do
with it is in README.md.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import sys
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

HEADER = [
    "subscription_id",
    "partner_id",
    "partner_name",
    "customer_id",
    "country",
    "segment",
    "seats",
    "term_end_date",
]


def sub(n: int, seats: str = "10", end: str = "2022-08-01", **changes: str) -> list[str]:
    """A valid subscription row S-00n of partner P-00n (every row its own partner: a column with one value on
    every row is never taken as the partner, see constant_partner_id.csv)."""
    row = {
        "subscription_id": f"S-{n:03d}",
        "partner_id": f"P-{n:03d}",
        "partner_name": f"Partner {n}",
        "customer_id": f"C-{n:03d}",
        "country": "DE",
        "segment": "commercial",
        "seats": seats,
        "term_end_date": end,
    }
    row.update(changes)
    return [row[c] for c in HEADER]


def csv_bytes(rows: list[list[str]], delimiter: str = ",", newline: str = "\n", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def lines(*text: str) -> bytes:
    """Raw lines joined as given (each argument carries its own line ending)."""
    return "".join(text).encode("utf-8")


HOSTILE = [
    "'; DROP TABLE subscriptions; --",
    '") UNION SELECT * FROM partners --',
    "/etc/passwd",
    "read_csv('/etc/passwd')",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1)",
]
FORMULAS = [h for h in HOSTILE if h.startswith(("=", "+", "-", "@"))]


# ---------------------------------------------------------------- hand-built zip and xlsx


def build_zip(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip from (name, method, data as stored, crc32, declared uncompressed size); no zip64, fixed times."""
    local, central = bytearray(), bytearray()
    stamp_time, stamp_date = 0, 0x21  # 1980-01-01 00:00
    for name, method, data, crc, declared in members:
        raw_name = name.encode()
        offset = len(local)
        local += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            method,
            stamp_time,
            stamp_date,
            crc,
            len(data),
            declared,
            len(raw_name),
            0,
        )
        local += raw_name + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            stamp_time,
            stamp_date,
            crc,
            len(data),
            declared,
            len(raw_name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw_name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return bytes(local + central + end)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def sheet_xml(rows: list[list], doctype: str = "") -> bytes:
    """A worksheet with inline strings (str) and numbers (int/float); None leaves the cell out."""
    out = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if value is None:
                continue
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + doctype
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(out)
        + "</sheetData></worksheet>"
    ).encode("utf-8")


def xlsx_members(sheets: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The parts of a minimal workbook: (sheet name, worksheet XML) in order."""
    x = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    ns = "http://schemas.openxmlformats.org"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    content_types = (
        f'{x}<Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{overrides}</Types>"
    )
    rels = (
        f'{x}<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_list = "".join(
        f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(sheets, 1)
    )
    workbook = (
        f'{x}<workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>{sheet_list}</sheets></workbook>'
    )
    workbook_rels = (
        f'{x}<Relationships xmlns="{ns}/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        + "</Relationships>"
    )
    members = [
        ("[Content_Types].xml", content_types.encode()),
        ("_rels/.rels", rels.encode()),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.encode()),
    ]
    return members + [(f"xl/worksheets/sheet{i}.xml", data) for i, (_, data) in enumerate(sheets, 1)]


def xlsx(sheets: list[tuple[str, list[list] | bytes]], declared: dict[str, int] | None = None) -> bytes:
    """A stored (uncompressed) workbook; `declared` overrides a member's declared uncompressed size."""
    declared = declared or {}
    parts = [(name, data if isinstance(data, bytes) else sheet_xml(data)) for name, data in sheets]
    return build_zip(
        [(n, 0, d, zlib.crc32(d), declared.get(n, len(d))) for n, d in xlsx_members(parts)],
    )


# ---------------------------------------------------------------- the stored corpus


def _binary(no_nul: bool) -> bytes:
    rng = random.Random(20220711)
    data = bytes(rng.randrange(1 if no_nul else 0, 256) for _ in range(4096))
    return data


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    doctype = f"<!DOCTYPE worksheet [{entities}]>"
    xml = sheet_xml([HEADER, [*sub(1)[:2], "LAUGH", *sub(1)[3:]]], doctype)
    return xml.replace(b"LAUGH", b"&lol9;")


def corpus() -> dict[str, bytes]:
    """File name -> content of every stored case (see README.md)."""
    h = ",".join(HEADER)
    files: dict[str, bytes] = {}
    files["good.csv"] = csv_bytes([HEADER, sub(1), sub(2, "5", "2022-05-01", country="AT"), sub(3, "7")])

    # ---- refused as a whole
    files["empty.csv"] = b""
    files["empty.xlsx"] = b""
    files["header_only.csv"] = lines(h, "\r\n")
    files["header_only.xlsx"] = xlsx([("Abos", [HEADER])])
    files["header_empty_rows.csv"] = lines(h, "\r\n", ",,,,,,,\r\n", ",,,,,,,\r\n", "\r\n", ",,,,,,,\r\n")
    files["binary_garbage.csv"] = _binary(no_nul=False)
    files["binary_no_nul.csv"] = _binary(no_nul=True)
    files["not_a_zip.xlsx"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + _binary(no_nul=False)[:2040]  # an old .xls
    files["zip_bomb_declared.xlsx"] = xlsx(
        [("Abos", [HEADER, sub(1)])], declared={"xl/worksheets/sheet1.xml": 3 * 1024**3}
    )
    files["xml_entity_bomb.xlsx"] = xlsx([("Abos", _billion_laughs())])
    files["nul_byte.csv"] = csv_bytes([HEADER, sub(1), sub(2, partner_name="Beta\x00AG"), sub(3)])
    files["constant_partner_id.csv"] = csv_bytes(
        [
            ["subscription_id", "partner_id", "customer_id", "country", "seats", "term_end_date"],
            ["S-001", "P-001", "C-001", "DE", "10", "2022-08-01"],
            ["S-002", "P-001", "C-002", "DE", "4", "2022-09-01"],
        ]
    )

    # ---- partly rejected or accepted: the structure of the file
    files["ragged_rows.csv"] = lines(
        h + "\n",  # 1
        ",".join(sub(1)) + "\n",  # 2
        ",".join(sub(2)[:-1]) + "\n",  # 3: 7 fields, the end date is missing
        ",".join(sub(3)) + ",surplus\n",  # 4: 9 fields
        ",".join(sub(4)) + ",x,y,z\n",  # 5: 11 fields
        "S-005,P-005\n",  # 6: 2 fields
        ",".join(sub(6)) + "\n",  # 7
    )
    files["duplicate_headers.csv"] = csv_bytes(
        [
            ["subscription_id", "partner_id", "customer_id", "country", "seats", "seats", "Country", "term_end_date"],
            ["S-001", "P-001", "C-001", "DE", "10", "99", "FR", "2022-08-01"],
            ["S-002", "P-002", "C-002", "AT", "5", "98", "IT", "2022-05-01"],
        ]
    )
    files["title_lines.csv"] = lines(
        "Partner Center export: subscriptions\r\n",  # 1
        "Created 01.06.2022,,,\r\n",  # 2
        "\r\n",  # 3
        h + "\r\n",  # 4
        ",".join(sub(1)) + "\r\n",  # 5
        ",".join(sub(2, "-1")) + "\r\n",  # 6
        ",".join(sub(3)) + "\r\n",  # 7
    )
    files["quoted_fields.csv"] = csv_bytes(
        [
            HEADER,  # 1
            sub(1, partner_name='Müller "Cloud"\nGmbH & Co, KG'),  # 2-3
            sub(2, partner_name='He said ""hi""', country="AT"),  # 4
            sub(3, "-5", partner_name="multi\n\nline"),  # 5-7
            sub(4, "zehn"),  # 8
            sub(5),  # 9
        ]
    )
    files["mixed_line_endings.csv"] = lines(
        h + "\r\n",  # 1
        ",".join(sub(1)) + "\n",  # 2
        ",".join(sub(2)) + "\r",  # 3
        ",".join(sub(3, "-1")) + "\r\n",  # 4
        ",".join(sub(4)) + "\n",  # 5
        ",".join(sub(5, "-2")) + "\r",  # 6
        ",".join(sub(6)) + "\r",  # 7
    )
    files["trailing_delimiters.csv"] = lines(
        h + ",\n",
        ",".join(sub(1)) + ",\n",
        ",".join(sub(2)) + ",\n",
        ",".join(sub(3, "-3")) + ",\n",  # 4
        ",".join(sub(4)) + ",\n",
    )
    files["trailing_empty_rows.csv"] = lines(
        h + "\n", ",".join(sub(1)) + "\n", ",".join(sub(2)) + "\n", ",,,,,,,\n", ",,,,,,,\n"
    )
    files["blank_rows.xlsx"] = xlsx([("Abos", [HEADER, sub(1), [], sub(2), [None, None, ""], sub(3)])])
    umlauts = [
        HEADER,
        sub(1, partner_name="Müller & Söhne IT GmbH"),
        sub(2, partner_name="Straßen-IT Weiß KG", country="AT"),
        sub(3, partner_name="Zürcher Systemhaus AG", country="CH"),
    ]
    files["bom_utf8.csv"] = b"\xef\xbb\xbf" + csv_bytes(umlauts, newline="\r\n")
    files["bom_utf16le.csv"] = b"\xff\xfe" + csv_bytes(umlauts, ";", "\r\n", "utf-16-le")
    files["bom_utf16be.csv"] = b"\xfe\xff" + csv_bytes(umlauts, "\t", "\r\n", "utf-16-be")

    # ---- partly rejected or accepted: the values
    files["thousands_semicolon.csv"] = csv_bytes(
        [HEADER, sub(1, "1.234"), sub(2, "12.345"), sub(3, "1.234.567"), sub(4, "1,5")], ";", "\r\n"
    )
    files["thousands_comma.csv"] = csv_bytes([HEADER, sub(1, "1,234"), sub(2, "1,234,567"), sub(3, "1.234")])
    files["impossible_dates.csv"] = csv_bytes(
        [
            HEADER,
            sub(1, end="31.02.2022"),  # 2
            sub(2, end="2022-13-01"),  # 3
            sub(3, end="2022-02-29"),  # 4
            sub(4, end="13/31/2022"),  # 5
            sub(5, end="31.06.2022"),  # 6
            sub(6, end="29.02.2024"),  # 7 a leap day: valid
            sub(7, end="11.07.2022"),  # 8 valid
        ]
    )
    files["two_digit_years.csv"] = csv_bytes(
        [
            HEADER,
            sub(1, end="11.07.22"),  # 2
            sub(2, end="7/11/22"),  # 3
            sub(3, end="22-07-11"),  # 4
            sub(4, end="1.7.22"),  # 5
            sub(5, end="11.07.2022"),  # 6 valid
        ]
    )
    files["bad_seats.csv"] = csv_bytes(
        [
            HEADER,
            sub(1, "-5"),  # 2
            sub(2, "2.5"),  # 3
            sub(3, "1,5"),  # 4
            sub(4, "1e3"),  # 5
            sub(5, "zehn"),  # 6
            sub(6, ""),  # 7
            sub(7, "0"),  # 8 valid
            sub(8, " 7 "),  # 9 valid
        ]
    )
    files["unknown_codes.csv"] = csv_bytes(
        [
            HEADER,
            sub(1, country="Atlantis"),  # 2
            sub(2, country="XX"),  # 3
            sub(3, segment="military"),  # 4
            sub(4, country="Deutschland", segment="EDU"),  # 5 valid: DE, education
            sub(5, country="uk", segment="Behörde"),  # 6 valid: GB, government
        ]
    )
    files["duplicate_ids.csv"] = csv_bytes(
        [
            HEADER,
            sub(1),  # 2
            sub(2, "5"),  # 3
            sub(1),  # 4 same content as line 2
            sub(2, "6"),  # 5 other seats than line 3
            sub(1, subscription_id=" s-001 "),  # 6 the same id written differently, same content
            sub(3),  # 7
        ]
    )
    files["partner_id_variants.csv"] = csv_bytes(
        [
            HEADER,
            sub(1, partner_id=" p-001", partner_name="Alpha IT"),
            sub(2, partner_id="P-001 ", partner_name="Alpha IT"),
            sub(3, partner_id="p-001", partner_name="Alpha IT"),
            sub(4, partner_id="P-002", partner_name="Beta AG"),
        ]
    )
    files["partner_id_variants_partners.csv"] = csv_bytes(
        [
            ["partner_id", "partner_name", "opted_out"],
            ["p-001 ", "Alpha IT", "true"],
            [" P-002", "Beta AG", "false"],
        ]
    )
    files["all_rows_rejected.csv"] = csv_bytes([HEADER, sub(1, "-5"), sub(2, end="31.02.2022")])

    # ---- hostile text: SQL, paths, HTML, formulas as values, header names, sheet and file names
    files["hostile_values.csv"] = csv_bytes(
        [
            [*HEADER, "customer_name", *HOSTILE],
            *[[*sub(i + 1, str(i + 1), partner_name=value), value, *HOSTILE] for i, value in enumerate(HOSTILE)],
            [*sub(len(HOSTILE) + 1, "-5", partner_name="Plain GmbH"), "Plain", *HOSTILE],
        ]
    )
    files["hostile_headers.csv"] = csv_bytes(
        [
            [
                "subscription_id",
                "partner_id",
                HOSTILE[0],  # -> partner_name (mapping override)
                "customer_id",
                HOSTILE[5],  # -> customer_name
                "country",
                HOSTILE[1],  # -> seats
                HOSTILE[3],  # -> offer_name
                "term_end_date",
                HOSTILE[2],
                HOSTILE[4],
                HOSTILE[6],
            ],
            ["S-001", "P-001", "Alpha IT", "C-001", "Kunde 1", "DE", "10", "E3", "2022-08-01", "a", "b", "c"],
            ["S-002", "P-002", "Beta AG", "C-002", "Kunde 2", "AT", "-5", "E5", "2022-05-01", "a", "b", "c"],
        ]
    )
    files["hostile.xlsx"] = xlsx(
        [
            (
                "DROP TABLE subscriptions; --",
                [
                    [
                        "subscription_id",
                        "partner_id",
                        "partner_name",
                        "customer_id",
                        "country",
                        "seats",
                        "term_end_date",
                    ],
                    *[
                        [f"S-{i:03d}", f"P-{i:03d}", value, f"C-{i:03d}", "DE", i, "2022-08-01"]
                        for i, value in enumerate(HOSTILE, 1)
                    ],
                    ["S-099", "P-099", "Plain GmbH", "C-099", "DE", -5, "2022-08-01"],
                ],
            )
        ]
    )
    return files


def write_corpus(folder: Path = HERE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in corpus().items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


# ---------------------------------------------------------------- generated at test time (too big to store)

SNIFF_WINDOW = 256 * 1024  # analytics.readers.SNIFF_BYTES: the part of a CSV looked at before DuckDB reads it


def nul_after_sniff_window(path: Path) -> int:
    """A valid CSV whose only NUL byte sits past the first 256 KiB; returns the NUL's (physical) line."""
    rows = [HEADER]
    size = len(csv_bytes(rows))
    while size < SNIFF_WINDOW + 10_000:
        rows.append(sub(len(rows)))
        size += len(csv_bytes(rows[-1:]))
    n = len(rows)
    rows.append(sub(n, partner_name="Beta\x00AG"))
    rows.append(sub(n + 1))
    path.write_bytes(csv_bytes(rows))
    return len(rows) - 1


LONG = 100_000


def long_field(path: Path) -> None:
    """100,000-character values: a partner name and a customer name (text) on line 2, seats on line 3."""
    rows = [
        [*HEADER, "customer_name"],
        [*sub(1, partner_name="A" * LONG), "K" * LONG],  # 2
        [*sub(2, "9" * LONG), "Kunde 2"],  # 3
        [*sub(3), "Kunde 3"],  # 4
    ]
    path.write_bytes(csv_bytes(rows))


def _deflate_repeated(head: bytes, unit: bytes, times: int, tail: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of head + unit * times + tail without building it: one full-flushed block repeated.
    Returns (stream, crc32, uncompressed size)."""
    per_block = max(1, (1 << 20) // len(unit))
    block_text = unit * per_block
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [deflater.compress(head) + deflater.flush(zlib.Z_FULL_FLUSH)]
    blocks, rest = divmod(times, per_block)
    crc = zlib.crc32(head)
    if blocks:
        block = deflater.compress(block_text) + deflater.flush(zlib.Z_FULL_FLUSH)
        parts.append(block * blocks)  # after a full flush the same input gives the same bytes
        for _ in range(blocks):
            crc = zlib.crc32(block_text, crc)
    last = unit * rest + tail
    parts.append(deflater.compress(last) + deflater.flush(zlib.Z_FINISH))
    crc = zlib.crc32(last, crc)
    return b"".join(parts), crc, len(head) + len(unit) * times + len(tail)


def _bomb_sheet(megabytes: int) -> tuple[bytes, int, int]:
    """A worksheet of about `megabytes` MB: the header row, then one-cell rows repeated, deflated."""
    xml = sheet_xml([HEADER])
    cut = xml.index(b"</sheetData>")
    unit = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    return _deflate_repeated(xml[:cut], unit, (megabytes << 20) // len(unit), xml[cut:])


def zip_bomb(path: Path, megabytes: int = 300, lie: bool = False) -> int:
    """An .xlsx of a few hundred kB whose worksheet inflates to `megabytes` MB. With `lie` the zip directory
    declares the worksheet as 4 kB, so only a reader that stops at the declared size is safe.
    Returns the real uncompressed size."""
    sheet, crc, size = _bomb_sheet(megabytes)
    members = []
    for name, data in xlsx_members([("Abos", b"")]):
        if name == "xl/worksheets/sheet1.xml":
            members.append((name, 8, sheet, crc, 4096 if lie else size))
        else:
            members.append((name, 0, data, zlib.crc32(data), len(data)))
    path.write_bytes(build_zip(members))
    return size


def oversized(path: Path, size: int) -> None:
    """A sparse file of `size` bytes (takes no disk space): the start of a valid CSV, then zeros."""
    with path.open("wb") as handle:
        handle.write(csv_bytes([HEADER, sub(1)]))
        handle.truncate(size)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for written in write_corpus(target):
        print(f"{written.stat().st_size:>8}  {written}")
