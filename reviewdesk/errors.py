"""Domain errors: small named classes that the CLI turns into one-line messages with a next step."""


class ReviewdeskError(Exception):
    """Base class: every error a user can act on. `exit_code` follows the CLI convention."""

    exit_code = 2


class ConfigError(ReviewdeskError):
    """The settings, a path or an option is wrong; the message says which and how to fix it."""


class StoreFault(ReviewdeskError):
    """A store cannot be read or written: a full disk, a corrupt or missing file, a lost database server.

    The message names the store, the reason and what to do; the review app shows reviewers a plain
    notice instead, without the store's address.
    """


class StoreUnavailable(StoreFault, ConfigError):
    """A store cannot be opened at all: a wrong URL or path, a damaged file, or its server is down."""


class WarehouseLocked(StoreFault):
    """Another process holds the DuckDB warehouse open; DuckDB allows one writer process."""


class InputFileError(ReviewdeskError):
    """An input file is missing, unreadable or of an unknown format."""


class NotFound(ReviewdeskError):
    """A named thing (queue, batch, run, item) does not exist; the message says how to find the right one."""


class EmptyPopulation(ReviewdeskError):
    """A queue's sampling filter leaves nothing to draw; a scheduled flow may treat this as "nothing new"."""


class AlreadyExists(ReviewdeskError):
    """A thing with that name exists already (e.g. a user); the message says what to do instead."""


class AccessDenied(ReviewdeskError):
    """The user may not do this (role, disabled account, or a queue not assigned to them)."""


class ReviewConflict(ReviewdeskError):
    """A review cannot be taken or stored as asked (e.g. the item already has enough reviews)."""
