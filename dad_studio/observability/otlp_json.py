"""OTLP/JSON lines: the real OTLP encoders, the spec's JSON flavour, and a reader back.

Each line is one ExportTraceServiceRequest / ExportMetricsServiceRequest / ExportLogsServiceRequest
built by opentelemetry-exporter-otlp-proto-common's encoders and rendered with the protobuf JSON
mapping, with the two deviations the OTLP specification requires of OTLP/JSON (so an OpenTelemetry
Collector's otlpjsonfile receiver, Jaeger or Tempo can ingest the files as they are): trace and span
ids are hex strings instead of base64, and enums are integers. `parse_line` undoes the id encoding and
parses with google.protobuf.json_format, so a line that reads back is a valid request message.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

Signal = Literal["traces", "metrics", "logs"]

FILE_NAMES: dict[Signal, str] = {"traces": "spans.jsonl", "metrics": "metrics.jsonl", "logs": "logs.jsonl"}
"""File of each signal inside `<run_dir>/trace/`."""

REQUEST_TYPES: dict[Signal, type[Any]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def _convert_ids(node: Any, convert: Any) -> None:
    """Rewrite every traceId/spanId/parentSpanId value in a JSON tree in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = convert(value)
            elif isinstance(value, dict | list):
                _convert_ids(value, convert)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _convert_ids(item, convert)


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_b64(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode("ascii")


def message_to_otlp_json(message: Any) -> dict[str, Any]:
    """A request message as an OTLP/JSON object (hex ids, integer enums, lowerCamelCase keys)."""
    data: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=True)
    _convert_ids(data, _b64_to_hex)
    return data


def dumps_line(message: Any) -> str:
    """One JSONL line (with its newline) for a request message."""
    return json.dumps(message_to_otlp_json(message), separators=(",", ":"), ensure_ascii=False) + "\n"


def parse_line(line: str, signal: Signal) -> Any:
    """Parse one OTLP/JSON line into its request message; raises ValueError on anything invalid."""
    try:
        data = json.loads(line)
        _convert_ids(data, _hex_to_b64)
    except (json.JSONDecodeError, binascii.Error, ValueError) as exc:
        raise ValueError(f"not an OTLP/JSON {signal} line: {exc}") from exc
    message = REQUEST_TYPES[signal]()
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise ValueError(f"not an OTLP/JSON {signal} line: {exc}") from exc
    return message


def iter_requests(run_dir: Path, signal: Signal) -> Iterator[Any]:
    """The request messages of one signal file of a run, in order.

    A torn last line (the process was killed while writing it) is skipped, like events.jsonl;
    a bad line anywhere else is an error.
    """
    path = Path(run_dir) / "trace" / FILE_NAMES[signal]
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield parse_line(line, signal)
        except ValueError:
            if index == len(lines) - 1:
                return
            raise


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    raw = getattr(value, kind)
    if kind == "array_value":
        return [_any_value(v) for v in raw.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in raw.values}
    return raw


def attributes_dict(key_values: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in key_values}


_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def read_spans(run_dir: Path) -> list[dict[str, Any]]:
    """Every span of a run, flattened, in file order (spans are written when they end)."""
    spans: list[dict[str, Any]] = []
    for request in iter_requests(run_dir, "traces"):
        for resource_spans in request.resource_spans:
            resource = attributes_dict(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex() or None,
                            "start_time_unix_nano": span.start_time_unix_nano,
                            "end_time_unix_nano": span.end_time_unix_nano,
                            "attributes": attributes_dict(span.attributes),
                            "status": {"code": _STATUS[span.status.code], "message": span.status.message},
                            "events": [
                                {
                                    "name": e.name,
                                    "time_unix_nano": e.time_unix_nano,
                                    "attributes": attributes_dict(e.attributes),
                                }
                                for e in span.events
                            ],
                            "scope": scope_spans.scope.name,
                            "resource": resource,
                        }
                    )
    return spans


def read_logs(run_dir: Path) -> list[dict[str, Any]]:
    """Every log record of a run, flattened."""
    records: list[dict[str, Any]] = []
    for request in iter_requests(run_dir, "logs"):
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    records.append(
                        {
                            "time_unix_nano": record.time_unix_nano,
                            "severity_text": record.severity_text,
                            "severity_number": record.severity_number,
                            "body": _any_value(record.body),
                            "attributes": attributes_dict(record.attributes),
                            "trace_id": record.trace_id.hex() or None,
                            "span_id": record.span_id.hex() or None,
                        }
                    )
    return records


def read_metrics(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The last exported value of every metric: name -> data points (attributes + value fields).

    Metrics are cumulative, so the last line that carries a metric holds its totals.
    """
    latest: dict[str, list[dict[str, Any]]] = {}
    for request in iter_requests(run_dir, "metrics"):
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data")
                    points = []
                    for point in getattr(metric, kind).data_points:
                        entry: dict[str, Any] = {"attributes": attributes_dict(point.attributes)}
                        if kind == "histogram":
                            entry.update(count=point.count, sum=point.sum, bucket_counts=list(point.bucket_counts))
                        else:
                            entry["value"] = point.as_double if point.HasField("as_double") else point.as_int
                        points.append(entry)
                    latest[metric.name] = points
    return latest
