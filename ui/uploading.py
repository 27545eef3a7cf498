"""The Data page's upload: the files read in a worker process (analytics/uploads.py) with its phases shown and a
Cancel button, staged per session until the user publishes or explores them. Nothing here touches the published
data."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from analytics.dataset import Dataset
from analytics.errors import InputError, MappingError
from analytics.ingest import PHASES, Overrides
from analytics.uploads import load_files_isolated, safe_suffix
from ui.i18n import error_text, fmt_int, t

STAGED = "staged"  # session key: (dataset or None, error or None, detected mappings) of the files below
STAGED_KEY = "staged_key"  # session key: which files and mapping choices STAGED was read from
SOURCES = "staged_sources"  # session key: [(file name, bytes)] of the staged files, for the publish record
CANCELLED = "cancelled_key"  # session key: the staged key whose reading the user cancelled
OVERRIDES = "mapping_overrides"  # session key: {signature: {column: source column}} chosen in the mapping editor


def signature(uploads) -> str:
    """The uploaded files' identity: names and bytes."""
    return hashlib.blake2b(b"".join(u.name.encode() + u.getvalue() for u in uploads), digest_size=8).hexdigest()


def overrides(files_signature: str) -> dict:
    return st.session_state.get(OVERRIDES, {}).get(files_signature, {})


def choose_mapping(files_signature: str, chosen: dict) -> None:
    """Read the files again with these source columns for the canonical columns."""
    st.session_state.setdefault(OVERRIDES, {})[files_signature] = chosen


def stage(files, column_overrides: Overrides, programme, on_progress=None):
    """Ingest the uploaded files into a staged dataset; what everyone sees is untouched until published."""
    folder = Path(tempfile.mkdtemp(prefix="radar-upload-"))
    pairs = []
    try:
        for i, upload in enumerate(files):
            path = folder / f"{i}{safe_suffix(upload.name)}"
            path.write_bytes(upload.getvalue())
            pairs.append((path, upload.name))
        label = ", ".join(u.name for u in files)
        return load_files_isolated(pairs, column_overrides, programme, label=label, on_progress=on_progress), None, []
    except MappingError as exc:
        return None, error_text(exc), exc.mappings
    except InputError as exc:
        return None, error_text(exc), []
    finally:
        for path, _ in pairs:
            path.unlink(missing_ok=True)
        folder.rmdir()


def _cancel(key) -> None:
    st.session_state[CANCELLED] = key


def show_progress(bar, progress: dict) -> None:
    """The worker's phase (analytics.ingest.PHASES) with how far it has got: the phases done, plus the running
    statement's share of the current one."""
    steps = max(int(progress.get("steps", 1)), 1)
    step = min(max(int(progress.get("step", 0)), 0), steps - 1)
    phase = progress.get("phase")
    done = (step + min(max(float(progress.get("statement", 0.0)), 0.0), 100.0) / 100) / steps
    text = t(
        f"data.phase_{phase}" if phase in PHASES else "data.phase_start",
        step=step + 1,
        steps=steps,
        seconds=fmt_int(float(progress.get("seconds", 0))),
    )
    bar.progress(min(done, 1.0), text=text)


def read(uploads, dataset: Dataset) -> tuple[Dataset | None, str | None, list]:
    """The uploads read once per choice of files and mapping (staged in the session), with progress and Cancel:
    (the staged dataset or None, the refusal or None, the detected mappings)."""
    files_signature = signature(uploads)
    chosen = overrides(files_signature)
    key = (files_signature, tuple(sorted(chosen.items())))
    if st.session_state.get(CANCELLED) == key:
        # Cancelled while it was read: nothing was staged, nothing changed; reading again is one click.
        st.info(t("data.cancelled"), icon=":material/cancel:")
        if st.button(t("data.read_again"), icon=":material/refresh:"):
            st.session_state.pop(CANCELLED, None)
            st.rerun()
        return None, None, []
    if st.session_state.get(STAGED_KEY) != key:
        with st.status(t("data.validating"), expanded=True) as status:
            bar = st.progress(0.0, text=t("data.phase_start"))
            # A click stops this run (Streamlit reruns at once); the exception that stops it ends the worker, and
            # the next run finds the upload cancelled.
            st.button(t("data.cancel"), icon=":material/cancel:", on_click=_cancel, args=(key,))
            staged = stage(uploads, Overrides(columns=dict(chosen)), dataset.programme, lambda p: show_progress(bar, p))
            bar.empty()
            status.update(
                label=t("data.validated") if staged[0] else t("data.refused_status"),
                state="complete" if staged[0] else "error",
                expanded=False,
            )
        st.session_state.update({STAGED_KEY: key, STAGED: staged, SOURCES: [(u.name, u.size) for u in uploads]})
    return st.session_state[STAGED]


def sources() -> list[tuple[str, int]]:
    """The staged files' names and sizes."""
    return st.session_state[SOURCES]
