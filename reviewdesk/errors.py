"""Domain errors: small named classes that the CLI turns into one-line messages with a next step."""


class ReviewdeskError(Exception):
    """Base class: every error a user can act on. `exit_code` follows the CLI convention."""

    exit_code = 2


class ConfigError(ReviewdeskError):
    """The settings, a path or an option is wrong; the message says which and how to fix it."""


class WarehouseLocked(ReviewdeskError):
    """Another process holds the DuckDB warehouse open; DuckDB allows one writer process."""


class InputFileError(ReviewdeskError):
    """An input file is missing, unreadable or of an unknown format."""
