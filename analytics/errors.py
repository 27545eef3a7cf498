"""The exception types for problems a user can act on (bad file, bad option)."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A message for the user that names the file, line and column where it can.

    `code` and `params` let an interface say the same in its own language (catalog key `error.<code>`);
    the English message stays the command line's text.
    """

    def __init__(self, message: str, *, code: str | None = None, **params):
        super().__init__(message)
        self.code = code
        self.params = params


class MappingError(InputError):
    """A whole-upload refusal the user can fix by mapping columns; carries the detected mapping to correct."""

    def __init__(self, message: str, mappings: list, **params):
        super().__init__(message, code="missing_columns", **params)
        self.mappings = mappings


class Note(str):
    """A warning about an upload: its English text (what the command line prints), with a code and parameters
    so that an interface can say it in its own language (catalog key `note.<code>`)."""

    code: str | None
    params: dict

    def __new__(cls, text: str, code: str | None = None, **params):
        note = super().__new__(cls, text)
        note.code = code
        note.params = params
        return note

    @classmethod
    def of(cls, code: str, **params) -> Note:
        from analytics.words import note

        return cls(note("en", code, params), code, **params)

    def __reduce__(self):
        return (_note, (str(self), self.code, self.params))


def _note(text: str, code: str | None, params: dict) -> Note:
    return Note(text, code, **params)


def read_toml(path: Path, kind: str, not_valid: str) -> dict:
    """A user's TOML file (`kind`: "mapping file", "programme file"), every problem an InputError in words:
    a folder, a missing or unreadable file, text that is not TOML (`not_valid` says what it is not), nesting too
    deep for the parser."""
    import tomllib

    if path.is_dir():
        raise InputError(f"{kind} {path.name}: is a directory, not a file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{kind} not found: {path.name}") from None
    except OSError as exc:
        raise InputError(f"{kind} {path.name}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: {not_valid} ({exc})") from None
    except RecursionError:
        raise InputError(f"{path.name}: not a {kind} (nested too deeply)") from None
