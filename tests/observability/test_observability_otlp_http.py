"""OTLP/HTTP export to a receiver on 127.0.0.1 started by the test, bodies decoded as protobuf."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from dad_studio.observability import ObservabilitySettings, RunTelemetry, read_spans

DECODERS: dict[str, Any] = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
}


class Receiver:
    def __init__(self) -> None:
        self.requests: dict[str, list[Any]] = {path: [] for path in DECODERS}
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                decoder = DECODERS.get(self.path)
                if decoder is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.requests[self.path].append(decoder.FromString(body))
                receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()
    rec.thread.join()


def test_all_three_signals_reach_the_endpoint(tmp_path: Path, stream: Any, receiver: Receiver) -> None:
    settings = ObservabilitySettings(otlp_endpoint=receiver.endpoint + "/", otlp_headers={"x-team": "dad"})
    tel = RunTelemetry(tmp_path, settings, run_id=stream.run_id)
    stream.run_started()
    stream.component("root", "flow")
    stream.node("root.a", "ai_model", usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
    stream.component("root", "flow", started=False)
    stream.run_completed()
    for event in stream.events[:3]:
        tel.on_event(event)
    tel.logger.info("sent over http", extra={"dad_path": "root.a"})
    for event in stream.events[3:]:
        tel.on_event(event)
    tel.shutdown()
    assert tel.errors == []

    names = [
        span.name
        for request in receiver.requests["/v1/traces"]
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    assert sorted(names) == sorted(["attempt 1", "a", "root", "run root"])
    assert sorted(names) == sorted(sp["name"] for sp in read_spans(tmp_path))  # the file got the same
    metric_names = {
        m.name
        for request in receiver.requests["/v1/metrics"]
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert {"dad.node.duration", "dad.node.outcomes", "dad.tokens"} <= metric_names
    bodies = [
        rec.body.string_value
        for request in receiver.requests["/v1/logs"]
        for rl in request.resource_logs
        for sl in rl.scope_logs
        for rec in sl.log_records
    ]
    assert bodies == ["sent over http"]
    assert all(h.get("x-team") == "dad" for h in receiver.headers)


def test_unreachable_endpoint_is_an_error_not_a_crash(tmp_path: Path, stream: Any) -> None:
    settings = ObservabilitySettings(otlp_endpoint="http://127.0.0.1:9", otlp_timeout_s=0.5, metrics=False, logs=False)
    tel = RunTelemetry(tmp_path, settings, run_id=stream.run_id)
    tel.on_event(stream.run_started())
    tel.on_event(stream.run_completed())
    tel.shutdown()
    assert [sp["name"] for sp in read_spans(tmp_path)] == ["run root"]  # the file still has it
    assert len(tel.errors) == 1 and tel.errors[0].startswith("span export to OTLPSpanExporter failed")
