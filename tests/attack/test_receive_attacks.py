"""Hostile requests against the receiver: each gets the OTLP/HTTP status code the spec names, nothing of it
is kept, and everything acknowledged before it is still there, and ingested, afterwards."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receive_support import spans_request
from starlette.testclient import TestClient
from test_receive import stored_spans

from reviewdesk.config import Settings
from reviewdesk.ingest.inbox import ingest_inbox
from reviewdesk.receive.server import ReceiverLimits, create_app, tokens_path
from reviewdesk.receive.tokens import add_token
from reviewdesk.stores.warehouse import Warehouse

LIMIT = 1 << 20
PROTOBUF = {"content-type": "application/x-protobuf"}


def _bomb(inflated: int, members: int = 1) -> bytes:
    """gzip of `inflated` zero bytes in `members` members: about a thousandth of that on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    member = b"".join(packer.compress(block) for _ in range(inflated // members >> 20)) + packer.flush()
    return member * members


ATTACKS = {  # name -> (body, headers, status, words in the refusal)
    "no token": (None, {"authorization": ""}, 401, "No token"),
    "a wrong token": (None, {"authorization": "Bearer rdk_guessed"}, 403, "not valid"),
    "basic auth": (None, {"authorization": "Basic YWRtaW46YWRtaW4="}, 401, "No token"),
    "malformed protobuf": (b"\x0a\xff\xff\xff\xff\x0f garbage", {}, 400, "not a valid OTLP"),
    "a length past the end": (b"\x0a\x05\x01", {}, 400, "not a valid OTLP"),
    "deeply nested protobuf": (b"\x0a\x02" * 200, {}, 400, "not a valid OTLP"),
    "malformed JSON": (b'{"resourceSpans": [', {"content-type": "application/json"}, 400, "not a valid OTLP"),
    "JSON with a non-hex id": (b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
                               {"content-type": "application/json"}, 400, "not hex"),
    "a text body": (b"hello", {"content-type": "text/plain"}, 415, "not supported"),
    "no content type": (b"hello", {"content-type": ""}, 415, "not supported"),
    "multipart": (b"--x--", {"content-type": "multipart/form-data; boundary=x"}, 415, "not supported"),
    "brotli": (b"\x00", {"content-encoding": "br"}, 415, "Content-Encoding"),
    "a body over the limit": (bytes(LIMIT + 1), {}, 413, "limit"),
    "a gzip bomb": (_bomb(256 << 20), {"content-encoding": "gzip"}, 413, "inflates past"),
    "a small gzip bomb just past the limit": (gzip.compress(bytes(LIMIT + 10)), {"content-encoding": "gzip"}, 413,
                                              "inflates past"),
    "a gzip body of many members past the limit": (gzip.compress(bytes(LIMIT // 2)) * 3,
                                                   {"content-encoding": "gzip"}, 413, "inflates past"),
    "a gzip body of too many members": (gzip.compress(b"") * 65, {"content-encoding": "gzip"}, 400, "members"),
    "truncated gzip": (gzip.compress(spans_request(3).SerializeToString())[:-12], {"content-encoding": "gzip"}, 400,
                       "truncated"),
    "damaged gzip": (gzip.compress(b"")[:10] + b"\xff" * 20, {"content-encoding": "gzip"}, 400, "damaged"),
}  # fmt: skip


@pytest.fixture
def receiver(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    token = add_token(tokens_path(settings), "app")
    with TestClient(create_app(settings, ReceiverLimits(max_body_bytes=LIMIT))) as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client, settings


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_hostile_request_gets_its_status_and_loses_nothing_acknowledged(receiver, attack: str):
    client, settings = receiver
    before = spans_request(5).SerializeToString()
    assert client.post("/v1/traces", content=before, headers=PROTOBUF).status_code == 200
    body, headers, status, words = ATTACKS[attack]
    hostile = client.post("/v1/traces", content=body if body is not None else before, headers=PROTOBUF | headers)
    assert hostile.status_code == status, hostile.content
    assert words in hostile.content.decode("utf-8", errors="replace")
    assert client.post("/v1/traces", content=spans_request(2, start=6).SerializeToString(),
                       headers=PROTOBUF).status_code == 200  # fmt: skip  (still serving)
    assert stored_spans(settings.inbox_dir) == [i.to_bytes(8, "big") for i in range(1, 8)]  # ingested: the 503 test


def test_a_gzip_bomb_is_refused_without_inflating_it(receiver):
    client, _ = receiver
    bomb = _bomb(4 << 30, members=64)  # 4 GiB of zeros in 4 MB: over the raw limit too, so raise that limit
    client.app.state.receiver.limits = ReceiverLimits(max_body_bytes=8 << 20)
    tracemalloc.start()
    started = time.perf_counter()
    answer = client.post("/v1/traces", content=bomb, headers=PROTOBUF | {"content-encoding": "gzip"})
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert answer.status_code == 413
    assert peak < 64 << 20 and elapsed < 5  # inflating 4 GiB would take far more of both


def test_a_full_inbox_answers_503_with_retry_after_and_takes_requests_again_once_drained(receiver):
    client, settings = receiver
    receiver_state = client.app.state.receiver
    receiver_state.limits = ReceiverLimits(inbox_max_bytes=100, retry_after_seconds=7)
    body = spans_request(5).SerializeToString()
    assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    receiver_state.refresh()  # the inbox now holds more than 100 bytes
    full = client.post("/v1/traces", content=spans_request(1, start=9).SerializeToString(), headers=PROTOBUF)
    assert (full.status_code, full.headers["retry-after"]) == (503, "7")
    receiver_state.writer.close()
    with Warehouse(settings.warehouse_path) as wh:
        ingest_inbox(wh, settings.inbox_dir)  # drains the inbox into done/
        assert wh.execute("SELECT count(*) FROM runs")[0][0] == 5
    receiver_state.refresh()
    assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200


def test_a_request_whose_spans_are_all_bad_keeps_nothing(receiver):
    client, settings = receiver
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = b"\x01" * 16, b""
    assert client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF).status_code == 200
    assert stored_spans(settings.inbox_dir) == []
