"""Untrusted uploads: their names made safe to show, and their read-and-check run in a worker process with its
own memory, time, disk and shape limits, so that a hostile file can hurt only its own upload.

The worker is a fresh interpreter (`python -m analytics.worker FOLDER`, started with exec, never a fork of a
process that holds DuckDB threads; multiprocessing's spawn is not used because in a Streamlit server `__main__`
is the page script, which spawn would run again in the child). It reads the files, checks them, derives the
facts in its own DuckDB and copies that database into a file in a private temporary folder; this process opens
the file read-only, hardened, and serves it like any other dataset. When the worker dies or is stopped, the
upload is refused with an InputError that names the limit (codes limit_memory, limit_time, limit_disk,
limit_columns, limit_rows, limit_header), and nothing of it stays on disk.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import InputError, MappingError
from analytics.settings import settings

log = logging.getLogger("analytics")
ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.05
PROGRESS_SECONDS = 0.25  # how often the worker's progress is passed on
# The address space of a worker is capped this far above its memory limit: DuckDB and Arrow reserve address
# space they never touch (measured: about 2 GB of a 1M-row ingest's 3.4 GB), and the cap stops an allocation
# burst that the resident-memory watch, which samples every POLL_SECONDS, would see too late.
ADDRESS_SPACE_HEADROOM_MB = 3072
DATABASE = "upload.duckdb"


# ---------------------------------------------------------------- names


def display_name(name: str, fallback: str = "upload") -> str:
    """A file or sheet name as messages and labels show it: no control or format characters (NUL, BOM U+FEFF,
    zero-width and bidirectional marks), line breaks and other white space as one space, at most 200
    characters."""
    kept = "".join(" " if c in "\t\n\r" or unicodedata.category(c) in ("Zs", "Zl", "Zp") else c for c in str(name))
    kept = "".join(c for c in kept if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    kept = re.sub(r"\s+", " ", kept).strip()
    return kept[:200] or fallback


def safe_suffix(name: str) -> str:
    """The extension of an uploaded file's name to store it under on the server (".csv"), or "" when the name
    has none that is plain letters and digits: the name itself never becomes part of a path."""
    suffix = Path(display_name(name)).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""


# ---------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """What one worker may use; None = no limit."""

    memory_mb: int | None
    seconds: float | None
    disk_mb: int | None
    max_columns: int | None
    max_rows: int | None
    max_file_bytes: int | None

    @classmethod
    def upload(cls) -> Limits:
        """A web upload: every limit of config/server.toml [upload]."""
        s = settings()
        return cls(s.worker_memory_mb, s.worker_seconds, s.worker_disk_mb, s.max_columns, s.max_rows, s.max_file_bytes)

    @classmethod
    def command_line(cls, max_file_bytes: int | None = None) -> Limits:
        """The operator's command line: no time, row or size limit (a large weekly export may take minutes), but
        the memory limit of [command_line] and the column limit, so that a memory bomb cannot take the server
        down."""
        s = settings()
        return cls(s.cli_worker_memory_mb, None, s.worker_disk_mb, s.max_columns, None, max_file_bytes)


def limit_error(kind: str, label: str, limits: Limits, detail: str = "") -> InputError:
    """The refusal for a limit, in words and as a code the interface translates."""
    detail = f" {detail}" if detail else ""
    if kind == "memory" and limits.memory_mb is None:
        return InputError(
            f"{label}: refused, reading it needed more memory than this server could give it",
            code="worker_failed",
            file=label,
        )
    if kind == "memory":
        return InputError(
            f"{label}: refused, reading it needs more than {limits.memory_mb:,} MB of memory, the limit for "
            f"reading a file (worker_memory_mb in config/server.toml){detail}",
            code="limit_memory",
            file=label,
            limit=f"{limits.memory_mb:,}",
        )
    if kind == "time":
        return InputError(
            f"{label}: refused, reading and checking it took longer than {limits.seconds:,.0f} seconds, the limit "
            "for reading a file (worker_seconds in config/server.toml)",
            code="limit_time",
            file=label,
            limit=f"{limits.seconds:,.0f}",
        )
    if kind == "disk":
        return InputError(
            f"{label}: refused, reading it needs more than {limits.disk_mb:,} MB of temporary disk space, the limit "
            "for reading a file (worker_disk_mb in config/server.toml)",
            code="limit_disk",
            file=label,
            limit=f"{limits.disk_mb:,}",
        )
    raise ValueError(kind)


# ---------------------------------------------------------------- the worker, seen from here


def load_files_isolated(
    files: list[Path | str] | list[tuple[Path, str]],
    overrides=None,
    programme=None,
    label: str | None = None,
    max_file_bytes: int | None = -1,
    limits: Limits | None = None,
    on_progress=None,
    cancel=None,
):
    """load_files (analytics.dataset) in a worker process within `limits` (default: a web upload's); returns
    the same Dataset, or raises the same InputErrors, plus the limit refusals.

    `max_file_bytes`: -1 for the limit of `limits`, None for none, else that many bytes. `on_progress(state)`
    is called about every PROGRESS_SECONDS while the worker runs, with its phase (analytics.ingest.PHASES), the
    phase's position (`step` of `steps`), how far its running statement has got (`statement`, percent) and
    `seconds`; an exception it raises stops the worker like a cancel. `cancel()`, asked as often, stops the
    worker when true: Cancelled is raised, nothing of the upload stays, and no published data is touched.
    """
    from analytics.dataset import Dataset, file_pairs, open_database
    from analytics.programme import load_programme

    limits = limits or Limits.upload()
    pairs = [(path, display_name(name)) for path, name in file_pairs(files)]
    label = display_name(label) if label else ", ".join(name for _, name in pairs)
    programme = programme or load_programme()
    if max_file_bytes == -1:
        max_file_bytes = limits.max_file_bytes
    folder = Path(tempfile.mkdtemp(prefix="radar-worker-"))
    try:
        request = {
            "files": [(str(Path(path).resolve()), name) for path, name in pairs],
            "overrides": overrides,
            "programme": programme,
            "max_file_bytes": max_file_bytes,
            "limits": limits,
        }
        (folder / "request.pickle").write_bytes(pickle.dumps(request))
        outcome = _run_worker(folder, limits, label, on_progress, cancel)
        con = open_database(folder / DATABASE)
    finally:
        # The open database keeps its file readable until it is closed; nothing of the upload stays on disk.
        shutil.rmtree(folder, ignore_errors=True)
    return Dataset(con=con, programme=programme, result=outcome["result"], version=outcome["version"], label=label)


def _run_worker(folder: Path, limits: Limits, label: str, on_progress=None, cancel=None) -> dict:
    env = {
        **os.environ,
        "TMPDIR": str(folder),  # the worker's own temporary files (transcoded CSVs) go with the folder
        "MALLOC_ARENA_MAX": "2",  # fewer untouched malloc arenas: less address space reserved for nothing
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    with (folder / "worker.log").open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "analytics.worker", str(folder)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        stopped = _watch(process, limits, folder, on_progress, cancel)
    if stopped == "cancel":
        raise Cancelled(label)
    response = _response(folder)
    if stopped is not None:
        raise limit_error(stopped, label, limits)
    if response is None:
        # Died without a word: the kernel's OOM killer (SIGKILL), an allocation failure that aborts
        # (SIGABRT: Rust and C++ code do that), or the address-space cap; a crash on anything else.
        code = process.returncode
        tail = (folder / "worker.log").read_bytes()[-2000:].decode("utf-8", errors="replace")
        log.warning("upload worker ended with %s; its last output:\n%s", code, tail)
        if code is not None and -code in (signal.SIGKILL, signal.SIGABRT):
            raise limit_error("memory", label, limits)
        if "MemoryError" in tail or "Out of Memory" in tail:
            raise limit_error("memory", label, limits)
        raise InputError(
            f"{label}: refused, reading it stopped the file reader (exit status {code})",
            code="worker_failed",
            file=label,
        )
    kind = response[0]
    if kind == "ok":
        return response[1]
    if kind == "limit":
        _, what, detail = response
        raise limit_error(what, label, limits, detail)
    if kind == "input_error":
        _, class_name, message, code, params, mappings = response
        if class_name == "MappingError" and mappings is not None:
            exc = MappingError(message, mappings, **params)
            exc.code = code
            raise exc
        raise InputError(message, code=code, **params)
    # A bug in the worker: its own exception type when that is a builtin one, with the worker's traceback logged.
    _, class_name, message, trace = response
    log.error("upload worker failed:\n%s", trace)
    error = getattr(builtins, class_name, None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        error = RuntimeError
        message = f"{class_name}: {message}"
    raise error(message)


def _watch(
    process: subprocess.Popen, limits: Limits, folder: Path | None = None, on_progress=None, cancel=None
) -> str | None:
    """Wait for the worker; stop it at the memory or time limit, or when `cancel()` says so ("cancel"); pass
    its progress on. Returns the limit it was stopped at, if any. Whatever ends the wait (an exception from
    `on_progress` too) ends the worker."""
    started = time.monotonic()
    told = 0.0
    try:
        while True:
            try:
                process.wait(timeout=POLL_SECONDS)
                return None
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - told >= PROGRESS_SECONDS:
                told = time.monotonic()
                if cancel is not None and cancel():
                    return "cancel"
                if on_progress is not None and folder is not None:
                    state = read_progress(folder)
                    if state is not None:
                        on_progress(state)
            if limits.memory_mb is not None and _resident_mb(process.pid) > limits.memory_mb:
                return "memory"
            if limits.seconds is not None and time.monotonic() - started > limits.seconds:
                return "time"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def read_progress(folder: Path) -> dict | None:
    """The worker's last progress note (analytics/worker.py Progress), or None before its first."""
    from analytics.worker import PROGRESS

    try:
        state = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


class Cancelled(InputError):
    """The user stopped an upload while it was read: nothing of it is kept, the published data is as it was."""

    def __init__(self, label: str):
        super().__init__(f"{label}: cancelled; nothing was changed", code="cancelled", file=label)


def _resident_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc; elsewhere 0: the address-space cap still holds)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _response(folder: Path):
    path = folder / "response.pickle"
    if not path.is_file():
        return None
    # Written by our own worker into our own private folder (mkdtemp: mode 0700).
    return pickle.loads(path.read_bytes())
