"""Receiver tokens: one per source, shown once, stored only as a SHA-256 hash.

Tokens are 256 random bits, so a plain hash cannot be reversed or guessed (no salt or slow hash
needed, unlike passwords), and checking one costs microseconds on every request. Every stored
hash is compared in constant time, so timing says nothing about which source, or how much of a
token, matched. The file is written whole (temp file, then rename) and readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from reviewdesk.errors import AlreadyExists, ConfigError, NotFound
from reviewdesk.stores.files import write_text

PREFIX = "rdk_"
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_tokens(path: Path) -> dict[str, dict]:
    """Source name -> {sha256, created_at}; an absent file holds no tokens."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
        return dict(data["sources"])
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"The token file {path} is damaged ({e}). Restore it, or delete it and add the tokens again."
        ) from None


def _save(path: Path, sources: dict[str, dict]) -> None:
    write_text(path, json.dumps({"sources": sources}, indent=2, sort_keys=True))
    path.chmod(0o600)


def add_token(path: Path, source: str) -> str:
    """Create the token of a new source and return it: the only time it is ever shown."""
    if not SOURCE_NAME.match(source):
        raise ConfigError(f"Source name {source!r}: use 1-64 lowercase letters, digits, '.', '_' or '-'.")
    sources = load_tokens(path)
    if source in sources:
        raise AlreadyExists(f"Source {source!r} has a token already: revoke it first to issue a new one.")
    token = PREFIX + secrets.token_urlsafe(32)
    sources[source] = {"sha256": _digest(token), "created_at": datetime.now(UTC).isoformat()}
    _save(path, sources)
    return token


def revoke_token(path: Path, source: str) -> None:
    """Remove a source's token; the receiver refuses it within a second."""
    sources = load_tokens(path)
    if source not in sources:
        raise NotFound(f"No token for source {source!r}: `reviewdesk tokens list` shows the sources.")
    del sources[source]
    _save(path, sources)


def match_source(sources: dict[str, dict], token: str) -> str | None:
    """The source whose token this is, or None; every stored hash is compared, in constant time."""
    digest = _digest(token)
    found = None
    for source, entry in sources.items():
        if hmac.compare_digest(digest, str(entry.get("sha256", ""))):
            found = source
    return found
