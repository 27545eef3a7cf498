"""The exception types for problems a user can act on (bad file, bad option)."""


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
