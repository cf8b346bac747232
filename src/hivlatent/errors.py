"""Errors a user can cause. The CLI prints them in one line and exits with code 2."""


class HivLatentError(Exception):
    """Base class: the message names the file, line, column or value and what was expected."""


class DataError(HivLatentError):
    """A data file is missing, unreadable or malformed."""


class ConfigError(HivLatentError):
    """An option, configuration or search space is invalid."""


class ModelError(HivLatentError):
    """A saved model bundle is missing, corrupt or does not fit the data."""
