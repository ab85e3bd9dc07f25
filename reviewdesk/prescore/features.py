"""What a scorer sees of a run: a few rendered texts and numbers, read in DuckDB, and the scikit-learn
feature pipeline the trained models share.

Runs are read a chunk at a time and reduced in SQL to the fields scoring needs (the last input and
output message, status, latency, tokens, user feedback), so pre-scoring a batch never holds more
than one chunk of runs in memory. Texts are hashed (HashingVectorizer, then TF-IDF weights): the
pipeline keeps no vocabulary, so it is small on disk, and fitting it learns only IDF weights, which
use no labels. scikit-learn is imported only when the pipeline is built (training), so the rules need none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

# Bump when the features change, or when a name pickled into model files (`numbers`, this module) moves:
# a model trained on other features, or one that no longer loads, must be retrained (see prescore.trained).
# features-2: this module moved from reviewdesk.features to reviewdesk.prescore.features.
FEATURES_VERSION = "features-2"


def _text(column: str) -> str:
    """SQL for a run JSON column's last chat message (OpenAI-style `messages`), else common keys, else the JSON."""
    paths = ("$.messages[#-1].content", "$.generations[0][0].text", "$.output", "$.content", "$.text", "$.input")
    options = ", ".join(f"json_extract_string({column}, '{p}')" for p in paths)
    return f"coalesce({options}, {column}::VARCHAR, '')"


# The run fields scorers take, as SQL over `runs r`, in this order.
RUN_SQL = {
    "run_id": "r.run_id",
    "status": "r.status",
    "error": "r.error",
    "model": "r.model",
    "latency_ms": "r.latency_ms",
    "prompt_tokens": "r.prompt_tokens",
    "completion_tokens": "r.completion_tokens",
    "user_feedback": "r.user_feedback",
    "input_text": _text("r.inputs"),
    "output_text": _text("r.outputs"),
}
RUN_FIELDS = tuple(RUN_SQL)
RUN_SELECT = ", ".join(f"{sql} AS {name}" for name, sql in RUN_SQL.items())
NUMBERS = ["latency_ms", "prompt_tokens", "completion_tokens", "user_feedback", "output_text", "status"]


def runs_frame(rows: Sequence[Sequence[Any]] | Sequence[dict]) -> pd.DataFrame:
    """Run rows (tuples in RUN_FIELDS order, or dicts) as the frame the pipeline takes."""
    if rows and isinstance(rows[0], dict):
        return pd.DataFrame([[r.get(f) for f in RUN_FIELDS] for r in rows], columns=list(RUN_FIELDS))
    return pd.DataFrame(list(rows), columns=list(RUN_FIELDS))


def numbers(frame: pd.DataFrame) -> np.ndarray:
    """Numeric run features: log latency and tokens, thumbs up/down and whether any, output length, error."""
    out = np.empty((len(frame), 7))
    for j, name in enumerate(("latency_ms", "prompt_tokens", "completion_tokens")):
        out[:, j] = np.log1p(pd.to_numeric(frame[name], errors="coerce").fillna(0).clip(lower=0).to_numpy(float))
    feedback = pd.to_numeric(frame["user_feedback"], errors="coerce")
    out[:, 3] = np.sign(feedback.fillna(0).to_numpy(float))
    out[:, 4] = feedback.notna().to_numpy(float)
    out[:, 5] = np.log1p(frame["output_text"].fillna("").str.len().to_numpy(float))
    out[:, 6] = (frame["status"].fillna("") != "success").to_numpy(float)
    return out


def _hashed(n_features: int) -> Pipeline:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        HashingVectorizer(n_features=n_features, ngram_range=(1, 2), alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True),
    )


def feature_pipeline() -> ColumnTransformer:
    """Unfitted: hashed TF-IDF of the output (2^17) and input (2^16) texts, scaled numbers, one-hot status and model."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("output", _hashed(2**17), "output_text"),
            ("input", _hashed(2**16), "input_text"),
            ("numbers", make_pipeline(FunctionTransformer(numbers), StandardScaler()), NUMBERS),
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["status", "model"]),
        ],
        sparse_threshold=1.0,
    )


def prepared(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with missing texts and categories as empty strings (the encoders refuse None)."""
    out = frame.copy()
    for name in ("input_text", "output_text", "status", "model"):
        out[name] = out[name].fillna("").astype(str)
    return out


__all__ = ["FEATURES_VERSION", "RUN_FIELDS", "RUN_SELECT", "feature_pipeline", "prepared", "runs_frame"]
