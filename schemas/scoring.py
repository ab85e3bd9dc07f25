"""Pre-scoring configuration: which scorer suggests answers for a queue's items, and how the HTTP judge is reached.

Declared in a queue's YAML under `prescore:` (all optional). The rubric is hashed on its own, so
changing the scorer never changes the rubric version. Secrets never live here: the judge's API
key is read from the environment variable that `api_key_env` names.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from schemas.base import Strict

ScorerName = Literal["sklearn", "heuristic", "http_judge", "none"]
Value = str | int | float | bool


class Judge(Strict):
    """An OpenAI-compatible chat completions endpoint that answers the rubric as JSON."""

    url: Annotated[str, Field(description="Base URL (…/v1) or the full …/chat/completions URL")]
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key")
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=10)
    concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
        return v.rstrip("/")


class HeuristicValues(Strict):
    """What the cold-start heuristic suggests for a criterion when a run looks bad or good."""

    bad: Value | None = None
    good: Value | None = None


class Prescore(Strict):
    """How a queue's items are pre-scored (see reviewdesk.prescore.factory)."""

    scorer: ScorerName = Field(
        default="sklearn",
        description="sklearn: trained models where they beat the majority baseline, else the heuristic; "
        "heuristic: rules only; http_judge: the `judge` endpoint; none: no suggestions",
    )
    judge: Judge | None = None
    heuristic: dict[str, HeuristicValues] = Field(
        default_factory=dict, description="Per criterion, the values rules suggest (default: inferred from options)"
    )

    def check(self, criteria: dict[str, object]) -> None:
        """Refuse a judge-less http_judge and heuristic values for criteria the rubric lacks."""
        if self.scorer == "http_judge" and self.judge is None:
            raise ValueError("prescore.scorer is http_judge: add `judge: {url: ..., model: ...}` under prescore")
        if unknown := sorted(set(self.heuristic) - set(criteria)):
            raise ValueError(f"prescore.heuristic names criteria the rubric lacks: {', '.join(unknown)}")
        for key, values in self.heuristic.items():
            options = getattr(criteria[key], "options", None)
            for v in (values.bad, values.good):
                if options and v is not None and v not in options:
                    raise ValueError(f"prescore.heuristic.{key}: {v!r} is not one of the options {options}")


__all__ = ["HeuristicValues", "Judge", "Prescore", "ScorerName"]
