"""The `http_judge` scorer: an OpenAI-compatible chat completions endpoint answers the rubric for each run.

The endpoint (URL, model, API key variable, timeout, retries, concurrency) comes from the queue's
`prescore.judge` (schemas/scoring.py). Each run is one request: the rubric's instructions and
criteria in the system message, the run's last input and output in the user message, and an
answer asked for as a JSON object `{criterion: {"value": ..., "confidence": 0..1, "reason": "..."}}`;
the reason (one short sentence, cut at `MAX_REASON` characters) is shown to reviewers beside the suggestion.

A timeout, a connection error, a 429 or 5xx response, or a reply that is not such a JSON object is
retried (`retries` times, with exponential backoff); other 4xx responses are not. A run the judge
still cannot answer gets the heuristic's suggestions instead, and the scorer's `warnings` say how
many runs that was and why. Values outside a criterion's options are dropped.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import MAX_REASON, Scorer, Suggestion, options
from schemas.rubric import Criterion
from schemas.scoring import Judge

DEFAULT_CONFIDENCE = 0.5  # when the judge gives none
MAX_TEXT = 8_000  # characters of input and of output sent per run
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt


class JudgeError(Exception):
    """One failed request; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def _criterion_line(c: Criterion) -> str:
    allowed = ", ".join(json.dumps(o) for o in options(c))
    return f'- "{c.key}" ({c.type}): one of {allowed}.' + (f" {c.description}" if c.description else "")


def _matching(value: Any, c: Criterion) -> Any:
    """The option `value` names (the judge may write 4 as "4"), or None."""
    for option in options(c):
        if value == option or (not isinstance(option, bool) and str(value) == str(option)):
            return option
    return None


@dataclass
class HttpJudge:
    """A chat endpoint as a scorer, with a fallback (the heuristic) for the runs it cannot answer."""

    config: Judge
    instructions: str
    criteria: list[Criterion]
    fallback: Scorer
    backoff_seconds: float = BACKOFF_SECONDS
    sleep: Callable[[float], None] = time.sleep
    name: str = "http_judge"
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api_key = None
        if self.config.api_key_env:
            self.api_key = os.environ.get(self.config.api_key_env)
            if not self.api_key:
                raise ConfigError(
                    f"The judge's API key variable {self.config.api_key_env} is not set: export it, or remove "
                    "`api_key_env` from the queue's prescore.judge if the endpoint needs no key."
                )
        url = self.config.url
        self.endpoint = url if url.endswith("/chat/completions") else f"{url}/chat/completions"
        self.model_version = f"http_judge:{self.config.model}"
        self.system = "\n".join([
            "You review answers of an LLM application against a rubric.", "", self.instructions.strip(), "",
            "Criteria:", *(_criterion_line(c) for c in self.criteria), "",
            'Reply with only a JSON object: {"<criterion>": {"value": <one of its options>, "confidence": '
            '<your probability, 0 to 1, that the value is right>, "reason": "<why, in one short sentence>"}, ...} '
            "with every criterion.",
        ])  # fmt: skip

    def versions(self) -> dict[str, str]:
        return dict.fromkeys((c.key for c in self.criteria), self.model_version)

    def body(self, run: dict[str, Any]) -> dict[str, Any]:
        """The chat completions request for one run."""
        given, answered = (run.get("input_text") or "")[:MAX_TEXT], (run.get("output_text") or "")[:MAX_TEXT]
        user = f"Input:\n{given}\n\nOutput:\n{answered}"
        if run.get("status") not in (None, "", "success"):
            user += f"\n\nThe call failed: {run.get('error') or run.get('status')}"
        return {
            "model": self.config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": self.system}, {"role": "user", "content": user}],
        }

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """One request; JudgeError (retry or not) for anything but a 2xx JSON response."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.endpoint, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_seconds) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise JudgeError(f"HTTP {e.code} from {self.endpoint}", retry=e.code == 429 or e.code >= 500) from None
        except TimeoutError:
            raise JudgeError(f"no answer from {self.endpoint} within {self.config.timeout_seconds:g} s", True) from None
        except urllib.error.URLError as e:
            timed_out = isinstance(e.reason, TimeoutError)
            what = f"no answer within {self.config.timeout_seconds:g} s" if timed_out else str(e.reason)
            raise JudgeError(f"{self.endpoint}: {what}", retry=True) from None
        except OSError as e:  # a connection reset while reading
            raise JudgeError(f"{self.endpoint}: {e}", retry=True) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise JudgeError("the endpoint's response is not JSON", retry=True) from None

    def parse(self, response: dict[str, Any]) -> dict[str, Suggestion]:
        """The suggestions in a chat completion; JudgeError (retry) if it holds no usable JSON answer."""
        try:
            content = response["choices"][0]["message"]["content"].strip()
            if content.startswith("```"):  # a fenced block despite the instructions
                content = content.strip("`").removeprefix("json").strip()
            answer = json.loads(content)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            raise JudgeError("the reply holds no JSON object", retry=True) from None
        if not isinstance(answer, dict):
            raise JudgeError("the reply is JSON but not an object", retry=True)
        out = {}
        for c in self.criteria:
            given = answer.get(c.key)
            given = given if isinstance(given, dict) else {"value": given}
            value = _matching(given.get("value"), c)
            if value is None:
                continue
            confidence = given.get("confidence", DEFAULT_CONFIDENCE)
            if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0 <= confidence <= 1:
                confidence = DEFAULT_CONFIDENCE
            reason = given.get("reason")
            reason = (" ".join(reason.split())[:MAX_REASON] or None) if isinstance(reason, str) else None
            out[c.key] = Suggestion(value, float(confidence), self.model_version, reason)
        if not out:
            raise JudgeError("the reply answers none of the criteria with one of their options", retry=True)
        return out

    def judge(self, run: dict[str, Any]) -> dict[str, Suggestion] | JudgeError:
        """One run's suggestions, retrying what may pass; the last error if every attempt failed."""
        body = self.body(run)
        error = JudgeError("not tried", retry=False)
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return self.parse(self.post(body))
            except JudgeError as e:
                error = e
                if not e.retry:
                    break
        return error

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        records = runs.to_dict("records")
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            answers = list(pool.map(self.judge, records))
        failed = [i for i, a in enumerate(answers) if isinstance(a, JudgeError)]
        if not failed:
            return answers  # type: ignore[return-value]
        reasons = sorted({str(answers[i]) for i in failed})
        for i, suggestions in zip(failed, self.fallback.score(runs.iloc[failed]), strict=True):
            answers[i] = suggestions
        self.warnings.append(
            f"The judge could not answer {len(failed)} of {len(records)} runs ({'; '.join(reasons[:3])}); "
            "the heuristic suggested their answers instead."
        )
        return answers  # type: ignore[return-value]


__all__ = ["HttpJudge", "JudgeError"]
