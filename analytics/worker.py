"""The worker process that reads and checks an upload (started by analytics/uploads.py): `python -m
analytics.worker FOLDER` reads FOLDER/request.pickle, limits itself, checks the files' declared shape, builds the
dataset into FOLDER/upload.duckdb and writes FOLDER/response.pickle (the IngestResult, or the refusal)."""

from __future__ import annotations

import json
import os
import pickle
import re
import sys
import time
import traceback
import zipfile
from pathlib import Path

SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*\bref=\"([A-Z]{0,3})(\d*)(?::([A-Z]{1,3})(\d+))?\"")
SST_COUNTS = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
PROGRESS = "progress.json"
PROGRESS_SECONDS = 0.5


def main(argv: list[str]) -> int:
    _die_with_parent()
    folder = Path(argv[0])
    request = pickle.loads((folder / "request.pickle").read_bytes())
    limits = request["limits"]
    _limit_self(limits)
    try:
        response = ("ok", _work(folder, request))
    except BaseException as exc:  # everything goes back to the parent, which decides what the user reads
        response = _classify(exc)
    tmp = folder / "response.tmp"
    tmp.write_bytes(pickle.dumps(response))
    os.replace(tmp, folder / "response.pickle")
    return 0


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the server that started it dies (no orphan keeps reading)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _limit_self(limits) -> None:
    import resource

    from analytics.settings import settings
    from analytics.uploads import ADDRESS_SPACE_HEADROOM_MB

    if limits.memory_mb is not None:
        cap = (limits.memory_mb + ADDRESS_SPACE_HEADROOM_MB) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if limits.seconds is not None:
        # A backstop for a worker whose parent cannot stop it: CPU time never exceeds wall time × threads, so
        # the parent's wall-time limit always comes first.
        cpu = int(limits.seconds * (settings().threads + 1)) + 30
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _work(folder: Path, request: dict) -> dict:
    from analytics.dataset import build, connect, content_version
    from analytics.settings import settings
    from analytics.uploads import DATABASE

    limits = request["limits"]
    pairs = [(Path(path), name) for path, name in request["files"]]
    for path, name in pairs:
        precheck(path, name, limits)
    con = connect(settings().ingest_memory_limit)
    con.execute("SET temp_directory = ?", [str(folder / "spill")])
    if limits.disk_mb is not None:
        con.execute("SET max_temp_directory_size = ?", [f"{limits.disk_mb}MiB"])
    with Progress(folder / PROGRESS, con) as progress:
        result = build(
            con, pairs, request["overrides"], request["programme"], request["max_file_bytes"], progress=progress
        )
        progress("publish")
        target = str(folder / DATABASE).replace("'", "''")  # our own mkdtemp folder, not user text
        con.execute(f"ATTACH '{target}' AS upload_out")
        con.execute("COPY FROM DATABASE memory TO upload_out")
        con.execute("DETACH upload_out")
    con.close()
    return {"result": result, "version": content_version(pairs)}


class Progress:
    """The phase the worker is in (analytics.ingest.PHASES) and how far DuckDB's running statement has got,
    written every PROGRESS_SECONDS into a small JSON file in the worker's private folder, which the server
    reads while it waits (analytics/uploads.py). A file, not a pipe: a reader that stops reading never blocks
    the worker."""

    def __init__(self, path: Path, con):
        import threading

        self.path, self.con = path, con
        self.phase, self.started = "read", time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="progress", daemon=True)
        con.execute("SET enable_progress_bar = true")  # query_progress() reports only with it on
        con.execute("SET enable_progress_bar_print = false")

    def __enter__(self) -> Progress:
        self._write(0.0)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def __call__(self, phase: str) -> None:
        self.phase = phase
        self._write(0.0)

    def _run(self) -> None:
        while not self.stop.wait(PROGRESS_SECONDS):
            try:
                percent = self.con.query_progress()  # another thread may ask; -1 between statements
            except Exception:  # noqa: BLE001 - progress is a nicety; the work goes on without it
                percent = -1
            self._write(max(percent, 0.0))

    def _write(self, statement: float) -> None:
        from analytics.ingest import PHASES

        state = {
            "phase": self.phase,
            "step": PHASES.index(self.phase),
            "steps": len(PHASES),
            "statement": round(float(statement), 1),
            "seconds": round(time.monotonic() - self.started, 1),
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)


def _classify(exc: BaseException) -> tuple:
    from analytics.errors import InputError

    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        text = str(error)
        if "max_temp_directory_size" in text or "temp_directory" in text and "Out of Memory" in text:
            return ("limit", "disk", "")
        if (
            isinstance(error, MemoryError)
            or type(error).__name__ == "OutOfMemoryException"
            or isinstance(error, RuntimeError)
            and "can't start new thread" in text
        ):
            return ("limit", "memory", "")
    if isinstance(exc, InputError):
        return ("input_error", type(exc).__name__, str(exc), exc.code, exc.params, getattr(exc, "mappings", None))
    lines = str(exc).splitlines()
    return ("bug", type(exc).__name__, lines[0] if lines else "", traceback.format_exc())


# ---------------------------------------------------------------- the declared shape, checked before reading


def precheck(path: Path, name: str, limits) -> None:
    """Refuse a file whose declared shape is beyond the limits before it is read: CSV header line and columns
    (and lines, for a web upload), .xlsx declared sheet size and shared-string expansion, Parquet columns, rows
    and uncompressed size. A file that cannot even be opened here is left to the reader, which says why."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        _check_xlsx(path, name, limits)
    elif head.startswith(b"PAR1") or suffix == ".parquet":
        _check_parquet(path, name, limits)
    elif head:
        _check_csv(path, name, limits)


def _refuse(name: str, what: str, found: int, limit: int, code: str) -> None:
    from analytics.errors import InputError

    raise InputError(
        f"{name}: refused, it has {found:,} {what}; the limit is {limit:,} (config/server.toml)",
        code=code,
        file=name,
        found=f"{found:,}",
        limit=f"{limit:,}",
    )


def _check_csv(path: Path, name: str, limits) -> None:
    from analytics.errors import InputError
    from analytics.readers import SNIFF_BYTES, detect_encoding, sniff

    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if len(sample) == SNIFF_BYTES and b"\n" not in sample and b"\r" not in sample:
        raise InputError(
            f"{name}: refused, its first line is longer than {SNIFF_BYTES // 1024:,} KB; a header line is shorter",
            code="limit_header",
            file=name,
            limit=f"{SNIFF_BYTES // 1024:,}",
        )
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    if len(sample) == SNIFF_BYTES:
        text = text[: text.rfind("\n") + 1] or text
    try:
        _delimiter, header, header_line = sniff(text, name)
    except InputError:
        return  # the reader refuses it with the same words
    if limits.max_columns is not None and len(header) > limits.max_columns:
        _refuse(name, "columns", len(header), limits.max_columns, "limit_columns")
    if limits.max_rows is not None:
        # Physical lines bound the records from above; counted in bytes, a few seconds for the largest upload.
        lines, last = 0, b""
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last not in (b"\n", b"")
        if lines - header_line > limits.max_rows:
            _refuse(name, "lines of data", lines - header_line, limits.max_rows, "limit_rows")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_xlsx(path: Path, name: str, limits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except Exception:  # not a zip: the reader says so
        return
    with archive:
        for info in archive.infolist():
            try:
                with archive.open(info) as member:
                    start = member.read(64 * 1024) if SHEET.fullmatch(info.filename) else None
                    if info.filename == "xl/sharedStrings.xml":
                        start = member.read(4096)
            except Exception:  # broken members: the reader says so
                continue
            if start is None:
                continue
            sheet = f"{name} [{Path(info.filename).stem}]"
            if info.filename == "xl/sharedStrings.xml":
                _check_shared_strings(start, info.file_size, name, limits)
                continue
            found = DIMENSION.search(start)
            if not found:
                continue  # no declared size: the worker's memory and time limits still hold
            first_col, first_row, last_col, last_row = found.groups()
            if not last_col:
                continue
            columns = _column_number(last_col) - _column_number(first_col or b"A") + 1
            rows = int(last_row) - int(first_row or b"1") + 1
            if limits.max_columns is not None and columns > limits.max_columns:
                _refuse(sheet, "columns (as declared)", columns, limits.max_columns, "limit_columns")
            if limits.max_rows is not None and rows - 1 > limits.max_rows:
                _refuse(sheet, "rows of data (as declared)", rows - 1, limits.max_rows, "limit_rows")


def _check_shared_strings(start: bytes, size: int, name: str, limits) -> None:
    """Cells refer to shared strings by number, and the reader copies the string into every cell: `count`
    references to `uniqueCount` strings of `size` bytes expand to about count × size / uniqueCount bytes."""
    from analytics.errors import InputError

    if limits.memory_mb is None:
        return
    tag = SST_COUNTS.search(start)
    if not tag:
        return
    count = re.search(rb'\bcount="(\d{1,12})"', tag.group(0))
    unique = re.search(rb'\buniqueCount="(\d{1,12})"', tag.group(0))
    if not count:
        return
    expanded = int(count.group(1)) * size / max(int(unique.group(1)) if unique else 1, 1)
    if expanded > limits.memory_mb * 2**20:
        raise InputError(
            f"{name}: refused, its {int(count.group(1)):,} text cells repeat shared strings that would take about "
            f"{expanded / 2**20:,.0f} MB to read; the limit for reading a file is {limits.memory_mb:,} MB "
            "(worker_memory_mb in config/server.toml)",
            code="limit_memory",
            file=name,
            limit=f"{limits.memory_mb:,}",
        )


def _check_parquet(path: Path, name: str, limits) -> None:
    from analytics.errors import InputError

    try:
        import pyarrow.parquet as pq

        metadata = pq.ParquetFile(path).metadata
        columns = len(pq.ParquetFile(path).schema_arrow)
    except Exception:  # not a Parquet file: the reader says so
        return
    if limits.max_columns is not None and columns > limits.max_columns:
        _refuse(name, "columns", columns, limits.max_columns, "limit_columns")
    if limits.max_rows is not None and metadata.num_rows > limits.max_rows:
        _refuse(name, "rows", metadata.num_rows, limits.max_rows, "limit_rows")
    if limits.memory_mb is not None:
        expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if expanded > limits.memory_mb * 2**20:
            raise InputError(
                f"{name}: refused, its columns expand to {expanded / 2**20:,.0f} MB; the limit for reading a file is "
                f"{limits.memory_mb:,} MB (worker_memory_mb in config/server.toml)",
                code="limit_memory",
                file=name,
                limit=f"{limits.memory_mb:,}",
            )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
