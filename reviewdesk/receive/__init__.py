"""Receive: production traces straight from applications over OTLP/HTTP, made durable in the inbox.

    reviewdesk tokens add my-app              # prints the source's token once
    reviewdesk receive --port 4318            # POST /v1/traces (and /v1/logs), /healthz, /metrics

    from reviewdesk.receive import add_token, create_app
    token = add_token(tokens_path(settings), "my-app")
    app = create_app(settings)                # an ASGI app, e.g. for uvicorn or starlette's TestClient

An accepted request is appended to an inbox segment and fsynced before it is acknowledged; the
receiver never opens DuckDB. The inbox flow (`reviewdesk.ingest.inbox`) ingests closed segments.

Modules: segments (the durable file format, writing, reading and recovering segments), decoding
(bodies into checked OTLP messages, or the status code that refuses them), tokens (per-source
tokens, stored hashed), server (the ASGI app, its limits and the uvicorn runner).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "segments": ["SegmentWriter", "read_segment", "recover_abandoned"],
        "decoding": ["Refused", "decode"],
        "tokens": ["add_token", "load_tokens", "revoke_token"],
        "server": ["ReceiverLimits", "create_app", "serve", "tokens_path"],
    },
)
