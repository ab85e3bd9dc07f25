"""A target by name, its address and credentials read from the tools' own environment variables.

    LangSmith  LANGSMITH_API_KEY (or LANGCHAIN_API_KEY); LANGSMITH_ENDPOINT, default https://api.smith.langchain.com
    Langfuse   LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY; LANGFUSE_HOST (or LANGFUSE_BASE_URL), default cloud
    Phoenix    PHOENIX_COLLECTOR_ENDPOINT (or PHOENIX_BASE_URL), the server's address; PHOENIX_API_KEY if auth is on

These are the names each vendor's SDK reads, so a team that already traces to a tool needs nothing new.
An explicit `url` wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from reviewdesk.errors import ConfigError
from reviewdesk.feedback.contracts import Target

TARGETS = ("langsmith", "langfuse", "phoenix")
LANGSMITH_URL = "https://api.smith.langchain.com"
LANGFUSE_URL = "https://cloud.langfuse.com"


def _first(env: Mapping[str, str], *names: str) -> str | None:
    return next((env[n] for n in names if env.get(n)), None)


def get_target(name: str, url: str | None = None, env: Mapping[str, str] | None = None) -> Target:
    """The target called `name`, ready to send; a ConfigError says which variable is missing."""
    env = os.environ if env is None else env
    if name == "langsmith":
        key = _first(env, "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
        if not key:
            raise ConfigError("No LangSmith API key: set LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT for a "
                              "self-hosted LangSmith), then push again.")  # fmt: skip
        from reviewdesk.feedback.to_langsmith import LangSmithTarget

        return LangSmithTarget(url or _first(env, "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT") or LANGSMITH_URL, key)
    if name == "langfuse":
        public, secret = env.get("LANGFUSE_PUBLIC_KEY"), env.get("LANGFUSE_SECRET_KEY")
        if not (public and secret):
            raise ConfigError("No Langfuse keys: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (and LANGFUSE_HOST "
                              "for a self-hosted Langfuse), then push again.")  # fmt: skip
        from reviewdesk.feedback.to_langfuse import LangfuseTarget

        return LangfuseTarget(url or _first(env, "LANGFUSE_HOST", "LANGFUSE_BASE_URL") or LANGFUSE_URL, public, secret)
    if name == "phoenix":
        address = url or _first(env, "PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_BASE_URL")
        if not address:
            raise ConfigError("No Phoenix address: set PHOENIX_COLLECTOR_ENDPOINT (e.g. http://127.0.0.1:6006) or "
                              "pass --url, then push again.")  # fmt: skip
        from reviewdesk.feedback.to_phoenix import PhoenixTarget

        return PhoenixTarget(address, env.get("PHOENIX_API_KEY"))
    raise ConfigError(f"Unknown target {name!r}: use one of {', '.join(TARGETS)}.")


__all__ = ["TARGETS", "get_target"]
