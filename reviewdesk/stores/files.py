"""Files under the data directory (datasets, exports, reports): written whole or not at all, and only where
they belong.

A file is written to a hidden temporary file in its own folder, flushed to disk, then renamed over its
target in one step. A full disk, a file-size limit or a crash leaves the old file (or none), never a
half-written one, and the temporary file is removed. Paths that must stay inside a folder are compared
after resolving symlinks, so neither `..` nor a link leads out.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reviewdesk.errors import ReviewdeskError


class WriteFailed(ReviewdeskError):
    """A file could not be written (full disk, size limit, permissions); nothing half-written was left."""


def within(path: Path, root: Path) -> bool:
    """Whether `path` is `root` or lies inside it once both have their symlinks and `..` resolved (False if
    they cannot be resolved)."""
    try:
        real, home = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # a symlink loop, or a folder we may not read: not shown to be inside
        return False
    return real == home or real.is_relative_to(home)


@contextmanager
def replacing(target: Path) -> Iterator[BinaryIO]:
    """A binary file for `target`'s new content (its folder made if need be), renamed over `target` only when
    the block succeeds.

    Any OSError while writing (ENOSPC, EFBIG, EACCES) becomes WriteFailed, which says what to do."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    created = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any new file
        created = True
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        created = False
    except OSError as e:
        raise WriteFailed(
            f"Could not write {target}: {e.strerror or e}. Nothing was written. Free some disk space or check "
            "the folder's permissions (or choose another place), then try again."
        ) from e
    finally:
        if created:
            tmp.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `target` whole or not at all; returns `target`."""
    with replacing(target) as f:
        f.write(text.encode("utf-8"))
    return target


__all__ = ["WriteFailed", "replacing", "within", "write_text"]
