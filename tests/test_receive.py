"""The OTLP/HTTP receiver in process (starlette's TestClient): what it accepts, how it answers, what it keeps,
and the inbox segments it keeps them in."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from receive_support import spans_request
from starlette.testclient import TestClient

from reviewdesk.config import Settings
from reviewdesk.receive.decoding import Refused, decode
from reviewdesk.receive.segments import (
    MAGIC,
    OPEN_DIR,
    TRACES,
    DamagedSegment,
    SegmentWriter,
    read_segment,
    recover_abandoned,
)
from reviewdesk.receive.server import ReceiverLimits, create_app, tokens_path
from reviewdesk.receive.tokens import add_token, load_tokens, match_source, revoke_token

PROTOBUF = {"content-type": "application/x-protobuf"}


def stored_spans(inbox: Path) -> list[bytes]:
    """Span ids of every record in every segment, closed or open."""
    found = []
    for path in sorted(inbox.glob("*.seg")) + sorted((inbox / OPEN_DIR).glob("*.seg")):
        for record in read_segment(path):
            assert not isinstance(record, DamagedSegment), record
            request = ExportTraceServiceRequest.FromString(record.payload)
            found += [s.span_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    return found


@pytest.fixture
def client(tmp_path: Path):
    settings_ = Settings(data_dir=tmp_path / "data")
    token = add_token(tokens_path(settings_), "app")
    limits = ReceiverLimits(max_body_bytes=1 << 20, segment_max_bytes=1 << 20)
    with TestClient(create_app(settings_, limits)) as c:
        c.headers["authorization"] = f"Bearer {token}"
        c.inbox = settings_.inbox_dir
        yield c


def test_protobuf_gzip_and_json_requests_are_stored_and_acknowledged(client):
    body = spans_request(3).SerializeToString()
    first = client.post("/v1/traces", content=body, headers=PROTOBUF)
    assert first.status_code == 200 and first.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(first.content) == ExportTraceServiceResponse()  # no partial success
    zipped = client.post("/v1/traces", content=gzip.compress(spans_request(2, start=10).SerializeToString()),
                         headers=PROTOBUF | {"content-encoding": "gzip"})  # fmt: skip
    assert zipped.status_code == 200
    as_json = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat",
         "kind": 3, "unknownField": "ignored, as the spec asks"}]}]}]}  # fmt: skip
    answered = client.post("/v1/traces", json=as_json)
    assert answered.status_code == 200 and answered.json() == {}
    ids = stored_spans(client.inbox)
    assert ids == [i.to_bytes(8, "big") for i in (1, 2, 3, 10, 11)] + [bytes.fromhex("eee19b7ec3c1b174")]


def test_spans_with_bad_ids_are_dropped_as_a_partial_success(client):
    request = spans_request(4)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].span_id = b"\x01\x02"  # 2 bytes
    spans[3].trace_id = bytes(16)  # all zero
    answer = client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_spans == 2
    assert partial.error_message.startswith("span_id must be 8 bytes")
    assert stored_spans(client.inbox) == [(1).to_bytes(8, "big"), (3).to_bytes(8, "big")]
    metrics = client.get("/metrics").text
    assert 'reviewdesk_receive_items_accepted_total{signal="traces"' in metrics
    counted = {line.split("{")[0]: line.split()[-1] for line in metrics.splitlines() if 'signal="traces"' in line}
    assert counted["reviewdesk_receive_items_accepted_total"] == "2"
    assert counted["reviewdesk_receive_items_rejected_total"] == "2"
    assert 'code="200"' in metrics and client.get("/healthz").text == "ok\n"


def test_json_error_answers_are_a_status_in_json(client):
    answer = client.post("/v1/traces", content=b'{"resourceSpans": 5}', headers={"content-type": "application/json"})
    assert answer.status_code == 400
    status = answer.json()
    assert status["code"] == 3 and "not a valid OTLP application/json request" in status["message"]


def test_tokens_are_stored_hashed_matched_in_full_and_revocable(tmp_path: Path):
    path = tmp_path / "tokens.json"
    token = add_token(path, "billing-bot")
    assert token.startswith("rdk_") and len(token) > 40
    assert token not in path.read_text() and oct(path.stat().st_mode)[-3:] == "600"
    sources = load_tokens(path)
    assert match_source(sources, token) == "billing-bot"
    assert match_source(sources, token[:-1]) is None and match_source(sources, token + "x") is None
    revoke_token(path, "billing-bot")
    assert match_source(load_tokens(path), token) is None


def test_a_revoked_token_is_refused_by_the_running_receiver(tmp_path: Path):
    settings_ = Settings(data_dir=tmp_path)
    token = add_token(tokens_path(settings_), "app")
    with TestClient(create_app(settings_)) as c:
        body = spans_request(1).SerializeToString()
        headers = PROTOBUF | {"x-api-key": token}
        assert c.post("/v1/traces", content=body, headers=headers).status_code == 200
        revoke_token(tokens_path(settings_), "app")
        os.utime(tokens_path(settings_), (0, 0))  # a new mtime, whatever the clock's resolution
        c.app.state.receiver.refresh()
        assert c.post("/v1/traces", content=body, headers=headers).status_code == 403


def test_segments_roll_by_size_and_age_and_read_back_in_order(tmp_path: Path):
    writer = SegmentWriter(tmp_path, max_bytes=100, max_age_seconds=3600)
    payloads = [bytes([i]) * 150 for i in range(3)]
    for p in payloads:
        writer.append(TRACES, "app", p)  # each record passes 100 bytes: one segment each
    closed = sorted(tmp_path.glob("*.seg"))
    assert len(closed) == 3 and not list((tmp_path / OPEN_DIR).iterdir())
    assert [r.payload for path in closed for r in read_segment(path)] == payloads
    young = SegmentWriter(tmp_path / "b", max_bytes=1 << 20, max_age_seconds=0)
    young.append(TRACES, "app", b"x")
    young.roll_if_old()
    assert [r.source for r in read_segment(next((tmp_path / "b").glob("*.seg")))] == ["app"]


def test_recovery_cuts_a_torn_tail_and_leaves_a_live_writers_segment_alone(tmp_path: Path):
    live = SegmentWriter(tmp_path, max_bytes=1 << 20, max_age_seconds=3600)
    live.append(TRACES, "app", b"live")
    # A writer killed mid-record: one whole record, then half of the next.
    script = (
        "import os, sys\nfrom pathlib import Path\nfrom reviewdesk.receive.segments import *\n"
        "w = SegmentWriter(Path(sys.argv[1]), 1 << 20, 3600)\nw.append(TRACES, 'app', b'whole')\n"
        "os.write(w._fd, encode_record(TRACES, 'app', b'torn' * 100)[:50])\nos._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert len(list((tmp_path / OPEN_DIR).glob("*.seg"))) == 2
    closed = recover_abandoned(tmp_path)
    assert len(closed) == 1 and [r.payload for r in read_segment(closed[0])] == [b"whole"]
    assert closed[0].stat().st_size == len(MAGIC) + 10 + 3 + 5  # header, record header (10 bytes), source, payload
    assert len(list((tmp_path / OPEN_DIR).glob("*.seg"))) == 1  # the live one, still open
    live.append(TRACES, "app", b"more")
    live.close()
    assert [r.payload for r in read_segment(next(p for p in tmp_path.glob("*.seg") if p not in closed))] == [
        b"live", b"more"]  # fmt: skip


def test_a_flipped_byte_in_a_closed_segment_is_reported_where_it_is(tmp_path: Path):
    writer = SegmentWriter(tmp_path, max_bytes=1 << 20, max_age_seconds=3600)
    for p in (b"first", b"second"):
        writer.append(TRACES, "app", p)
    writer.close()
    path = next(tmp_path.glob("*.seg"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    records = list(read_segment(path))
    assert records[0].payload == b"first" and isinstance(records[1], DamagedSegment)
    assert records[1].offset == records[0].end and "checksum" in str(records[1])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_either_decode_or_are_refused_with_400(body: bytes):
    try:
        decoded = decode(TRACES, body, "application/x-protobuf", None, 1 << 20)
    except Refused as e:
        assert e.status == 400
    else:
        assert decoded.accepted + decoded.rejected >= 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=16, max_size=16), st.binary(min_size=8, max_size=8)), max_size=5))
def test_otlp_json_with_hex_ids_decodes_to_the_same_spans_as_protobuf(ids: list[tuple[bytes, bytes]]):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for trace, span in ids:
        s = scope.spans.add()
        s.trace_id, s.span_id, s.name = trace, span, "x"
    as_json = json_format.MessageToDict(request)
    for s in as_json.get("resourceSpans", [{}])[0].get("scopeSpans", [{}])[0].get("spans", []):
        for key in ("traceId", "spanId"):
            s[key] = base64.b64decode(s[key]).hex()  # OTLP/JSON ids are hex, not protobuf JSON's base64
    from_json = decode(TRACES, json.dumps(as_json).encode(), "application/json", None, 1 << 20)
    from_proto = decode(TRACES, request.SerializeToString(), "application/x-protobuf", None, 1 << 20)
    assert from_json.message == from_proto.message
    assert from_json.accepted == from_proto.accepted


def test_a_gzip_body_of_several_members_is_read_whole(client):
    # Concatenated protobuf messages merge into one: spans 1, 2 and 3.
    body = spans_request(2).SerializeToString() + spans_request(1, start=3).SerializeToString()
    zipped = gzip.compress(body[:7]) + gzip.compress(body[7:])
    answer = client.post("/v1/traces", content=zipped, headers=PROTOBUF | {"content-encoding": "gzip"})
    assert answer.status_code == 200
    assert stored_spans(client.inbox) == [i.to_bytes(8, "big") for i in (1, 2, 3)]


def test_concurrent_appends_share_fsyncs_and_keep_every_record_whole(tmp_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    writer = SegmentWriter(tmp_path, max_bytes=4096, max_age_seconds=3600)
    payloads = [f"{t}-{i}".encode() * 20 for t in range(8) for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: writer.append(TRACES, "app", p), payloads))
    writer.close()
    read = [r.payload for path in sorted(tmp_path.glob("*.seg")) for r in read_segment(path)]
    assert sorted(read) == sorted(payloads) and len(list(tmp_path.glob("*.seg"))) > 1


def test_the_receiver_never_loads_duckdb():
    code = "import sys, reviewdesk.receive.server; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('duckdb', 'pandas', 'pandera')))"  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
