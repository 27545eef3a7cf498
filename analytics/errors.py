"""The one exception type for problems a user can act on (bad file, bad option)."""


class InputError(Exception):
    """A message for the user that names the file, line and column where it can."""


class MappingError(InputError):
    """A whole-upload refusal the user can fix by mapping columns; carries the detected mapping to correct."""

    def __init__(self, message: str, mappings: list):
        super().__init__(message)
        self.mappings = mappings
