"""LangSmith run export: JSONL of `Run` objects as the langsmith SDK serialises them."""

from __future__ import annotations

from pathlib import Path

from reviewdesk.ingest.records import stage_json_lines
from reviewdesk.ingest.stage import Stage

FIELDS = [
    "id", "trace_id", "parent_run_id", "session_id", "session_name", "name", "run_type", "start_time",
    "end_time", "inputs", "outputs", "error", "tags", "extra", "prompt_tokens", "completion_tokens",
    "total_tokens", "total_cost", "status", "feedback_stats",
]  # fmt: skip

# LangSmith keeps the model in metadata (ls_model_name) or the invocation params, and the
# conversation id in metadata (thread_id, session_id or conversation_id). Its `session_id` is the
# tracing project, so it names the project when no session_name is exported.
FEEDBACK_KEYS = ["user_feedback", "user_score", "thumbs", "thumbs_up"]
MAPPING = {
    "run_id": "j.id",
    "trace_id": "j.trace_id",
    "parent_run_id": "j.parent_run_id",
    "session_id": "coalesce(json_extract(j.extra, '$.metadata.thread_id'), "
    "json_extract(j.extra, '$.metadata.session_id'), json_extract(j.extra, '$.metadata.conversation_id'))",
    "project": "coalesce(j.session_name, j.session_id)",
    "name": "j.name",
    "run_type": "j.run_type",
    "model": "coalesce(json_extract(j.extra, '$.metadata.ls_model_name'), "
    "json_extract(j.extra, '$.invocation_params.model'), json_extract(j.extra, '$.invocation_params.model_name'))",
    "start_time": "j.start_time",
    "end_time": "j.end_time",
    "prompt_tokens": "j.prompt_tokens",
    "completion_tokens": "j.completion_tokens",
    "total_tokens": "j.total_tokens",
    "cost_usd": "j.total_cost",
    "status": "j.status",
    "error": "j.error",
    "inputs": "j.inputs",
    "outputs": "j.outputs",
    "tags": "j.tags",
    "metadata": "json_extract(j.extra, '$.metadata')",
    "user_feedback": "coalesce("
    + ", ".join(f"json_extract(j.feedback_stats, '$.{k}.avg')" for k in FEEDBACK_KEYS)
    + ")",
}


def stage_file(path: Path, stage: Stage) -> None:
    """Stage a LangSmith JSONL export."""
    stage_json_lines(path, stage, FIELDS, MAPPING)
