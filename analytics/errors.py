"""The one exception type for problems a user can act on (bad file, bad option)."""


class InputError(Exception):
    """A message for the user that names the file, line and column where it can."""
