"""Errors a user can cause. The CLI prints them in one line and exits with code 2.

Each is also the builtin exception a Python caller would catch for it: every one is a
:class:`ValueError` (bad input, option, configuration or model), and a file or folder that does
not exist is also a :class:`FileNotFoundError` (so an :class:`OSError`)::

    try:
        hivlatent.load_dataset("missing.txt")
    except FileNotFoundError: ...        # or ValueError, or hivlatent.errors.DataError
"""


class HivLatentError(ValueError):
    """Base class: the message names the file, line, column or value and what was expected."""


class DataError(HivLatentError):
    """A data file is missing, unreadable or malformed."""


class ConfigError(HivLatentError):
    """An option, configuration or search space is invalid."""


class ModelError(HivLatentError):
    """A saved model bundle is missing, corrupt or does not fit the data."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file or folder (a table, a cutoffs file, an input) does not exist."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """No model bundle at the path given."""
