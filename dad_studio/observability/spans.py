"""Spans from the engine's event stream: run -> component -> node -> attempt.

Parents come from hierarchy paths (the span of the nearest enclosing path that is open), never from
contextvars, so concurrent branches nest correctly whatever task emitted them. Start and end times are
the events' `ts`. Spans are built directly as finished `ReadableSpan`s when they end: driving the SDK's
Tracer (start_span/end, two spans per node) costs ~140 µs per node here, building them ~8 µs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from dad_studio.observability.usage import ancestors

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ATTRIBUTE_TEXT = 4096
_OK = Status(StatusCode.OK)
_UNSET = Status(StatusCode.UNSET)
_ERROR_STATUSES = frozenset({"failed"})


def ts_to_ns(ts: Any) -> int:
    """An event timestamp (ISO 8601, UTC if naive; or epoch seconds) as Unix nanoseconds."""
    if isinstance(ts, str):
        moment = datetime.fromisoformat(ts)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(ts, int | float):
        return int(ts * 1_000_000_000)
    raise ValueError(f"unreadable event timestamp {ts!r}")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _MAX_ATTRIBUTE_TEXT else text[:_MAX_ATTRIBUTE_TEXT] + "…"


def _segment(path: str) -> str:
    return path[path.rfind(".") + 1 :]


def model_of(event: Mapping[str, Any]) -> str | None:
    """The model a node used: the event's `model`, else `usage.model`, else `output.model`."""
    model = event.get("model")
    if model.__class__ is str and model:  # plain-class checks: ABC isinstance costs µs on the hot path
        return str(model)
    for key in ("usage", "output"):
        source = event.get(key)
        if source.__class__ is dict or (source is not None and isinstance(source, Mapping)):
            model = source.get("model")
            if isinstance(model, str) and model:
                return model
    return None


class _Open:
    """A span as the hot path keeps it: ids and times (ns) as ints, until it ends."""

    __slots__ = ("attributes", "end_ts", "events", "name", "parent_id", "span_id", "start_ts", "status")

    def __init__(self, name: str, span_id: int, parent_id: int | None, start_ts: Any) -> None:
        self.name = name
        self.span_id = span_id
        self.parent_id = parent_id
        self.start_ts = start_ts
        self.end_ts: Any = None
        self.status: Status = _UNSET
        self.attributes: dict[str, Any] = {}
        self.events: list[tuple[str, dict[str, Any], Any]] = []


class FinishedSpan:
    """A span that ended on the hot path; `readable()` (run on the flusher) makes the SDK object."""

    __slots__ = ("builder", "span")

    def __init__(self, builder: SpanBuilder, span: _Open) -> None:
        self.builder = builder
        self.span = span

    def readable(self) -> ReadableSpan:
        span, builder = self.span, self.builder
        trace_id = builder.trace_id
        start = span.start_ts
        return ReadableSpan(
            name=span.name,
            context=SpanContext(trace_id, span.span_id, False, _SAMPLED),
            parent=SpanContext(trace_id, span.parent_id, False, _SAMPLED) if span.parent_id else None,
            resource=builder.resource,
            attributes=span.attributes,
            events=[SpanEvent(name, attrs, ts) for name, attrs, ts in span.events],
            status=span.status,
            start_time=start,
            end_time=max(span.end_ts, start),
            instrumentation_scope=builder.scope,
        )


class SpanBuilder:
    """Turns events (in seq order) into finished spans handed to `emit`.

    The hot path keeps only plain values (ids and times as ints); building the SpanContext and
    ReadableSpan objects (~15 µs a node) happens in `FinishedSpan.readable()`, off it.
    """

    def __init__(
        self,
        emit: Callable[[FinishedSpan], None],
        *,
        run_id: str,
        resource: Resource,
        scope: InstrumentationScope,
        trace_id: int | None = None,
    ) -> None:
        self._emit = emit
        self._run_id = run_id
        self.resource = resource
        self.scope = scope
        self._random = random.Random()
        self.trace_id = trace_id or self._random.getrandbits(128) or 1
        self._run: _Open | None = None
        self._components: dict[str, _Open] = {}
        self._nodes: dict[str, _Open] = {}
        self._attempts: dict[str, _Open] = {}
        self._previous_run_id: str | None = None
        self.last_ts = 0
        self._ts_prefix = ""
        self._ts_base = 0
        self._handlers: dict[str, Callable[[Mapping[str, Any], Any], None]] = {
            "run_started": self._run_started,
            "component_started": self._component_started,
            "component_completed": self._component_completed,
            "node_started": self._node_started,
            "node_input_required": self._input_required,
            "node_input_received": self._input_received,
            "node_completed": self._node_completed,
            "node_loaded": self._node_loaded,
            "node_skipped": self._node_skipped,
            "artifact_written": self._artifact_written,
            "run_completed": self._run_completed,
        }

    # -- lookups -----------------------------------------------------------------------------------

    def _new_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def _innermost(self, path: str) -> _Open | None:
        """The open span a child of `path` (or a record about it) belongs to, the path itself first."""
        span = self._attempts.get(path) or self._nodes.get(path) or self._components.get(path)
        if span is not None:
            return span
        for parent in ancestors(path):
            span = self._components.get(parent) or self._attempts.get(parent) or self._nodes.get(parent)
            if span is not None:
                return span
        return self._run

    def _parent_of(self, path: str, *, same_path_node: bool) -> int:
        if same_path_node:
            holder = self._attempts.get(path) or self._nodes.get(path)
            if holder is not None:
                return holder.span_id
        for parent in ancestors(path):
            span = self._components.get(parent) or self._attempts.get(parent) or self._nodes.get(parent)
            if span is not None:
                return span.span_id
        return self._ensure_run(path, self.last_ts).span_id

    def context_for(self, path: str | None) -> SpanContext | None:
        """Span context of the innermost open span at `path` (or of the run): for log correlation."""
        span = self._innermost(path) if path else self._run
        return SpanContext(self.trace_id, span.span_id, False, _SAMPLED) if span is not None else None

    # -- span life ---------------------------------------------------------------------------------

    def _ensure_run(self, path: str, ts: Any) -> _Open:
        if self._run is None:
            root = path.split(".", 1)[0]
            self._run = _Open(f"run {root}", self._new_id(), None, ts)
            self._run.attributes.update({"dad.span_kind": "run", "dad.run_id": self._run_id, "dad.hier_path": root})
        return self._run

    def _open(self, name: str, kind: str, path: str, parent_id: int, ts: Any) -> _Open:
        span = _Open(name, self._new_id(), parent_id, ts)
        span.attributes["dad.span_kind"] = kind
        span.attributes["dad.hier_path"] = path
        span.attributes["dad.run_id"] = self._run_id
        return span

    def _end(self, span: _Open, end_ts: Any, status: Status = _UNSET) -> None:
        span.end_ts = end_ts
        span.status = status
        self._emit(FinishedSpan(self, span))

    @staticmethod
    def _status_of(status: Any) -> Status:
        if status in _ERROR_STATUSES:
            return Status(StatusCode.ERROR, f"status {status}")
        return _OK if status == "completed" else _UNSET

    # -- events ------------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        handler = self._handlers.get(event["type"])
        if handler is not None:
            ts = event["ts"]
            # The engine's clock writes "YYYY-MM-DDTHH:MM:SS.ffffff+00:00": parse the second once.
            if ts.__class__ is str and len(ts) == 32 and ts[19] == "." and ts.endswith("+00:00"):
                if ts[:19] != self._ts_prefix:
                    self._ts_base = ts_to_ns(ts[:19] + "+00:00")
                    self._ts_prefix = ts[:19]
                ts_ns = self._ts_base + int(ts[20:26]) * 1000
            else:
                ts_ns = ts_to_ns(ts)  # here, so a bad timestamp fails with its event
            self.last_ts = ts_ns
            handler(event, ts_ns)

    def _run_started(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        run = self._ensure_run(event["path"], ts_ns)
        root = event.get("root_component_id") or event["path"]
        run.name = f"run {root}"
        run.attributes["dad.root_component_id"] = root
        self._previous_run_id = event.get("previous_run_id")
        for key in ("previous_run_id", "start_hierarchy_path"):
            if event.get(key):
                run.attributes[f"dad.{key}"] = event[key]

    def _component_started(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        path = event["path"]
        span = self._open(_segment(path), "component", path, self._parent_of(path, same_path_node=True), ts_ns)
        if event.get("kind"):
            span.attributes["dad.component_kind"] = event["kind"]
        self._components[path] = span

    def _component_completed(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        span = self._components.pop(event["path"], None)
        if span is not None:
            status = event.get("status")
            span.attributes["dad.status"] = str(status)
            self._end(span, ts_ns, self._status_of(status))

    def _node_started(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        path = event["path"]
        attempt = int(event.get("attempt") or 1)
        node = self._nodes.get(path)
        if node is None:
            node = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), ts_ns)
            if event.get("node_type"):
                node.attributes["dad.node_type"] = event["node_type"]
            self._nodes[path] = node
        previous = self._attempts.pop(path, None)
        if previous is not None:  # a new attempt means the previous one failed
            previous.attributes["dad.status"] = "failed"
            self._end(previous, ts_ns, Status(StatusCode.ERROR, "retried"))
        node.attributes["dad.attempts"] = attempt
        span = self._open(f"attempt {attempt}", "attempt", path, node.span_id, ts_ns)
        span.attributes["dad.attempt"] = attempt
        self._attempts[path] = span

    def _input_required(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.request": _text(event.get("request"))}
            span.events.append(("dad.input_required", attributes, ts_ns))

    def _input_received(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.input_source": str(event.get("source"))}
            span.events.append(("dad.input_received", attributes, ts_ns))

    def _artifact_written(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes: dict[str, Any] = {
                "dad.artifact": str(event.get("artifact")),
                "dad.artifact.size": int(event.get("size") or 0),
                "dad.artifact.media_type": str(event.get("media_type")),
            }
            span.events.append(("dad.artifact_written", attributes, ts_ns))

    def _result_attributes(self, span: _Open, event: Mapping[str, Any]) -> None:
        attributes = span.attributes
        attributes["dad.status"] = str(event.get("status"))
        if event.get("node_type"):
            attributes["dad.node_type"] = event["node_type"]
        model = model_of(event)
        if model is not None:
            attributes["dad.model"] = model
        usage = event.get("usage")
        if usage:
            attributes["dad.tokens.prompt"] = int(usage.get("prompt_tokens") or 0)
            attributes["dad.tokens.completion"] = int(usage.get("completion_tokens") or 0)
            attributes["dad.tokens.total"] = int(usage.get("total_tokens") or 0)
            attributes["dad.cost"] = float(usage.get("cost") or 0.0)
        if event.get("duration_ms") is not None:
            attributes["dad.duration_ms"] = float(event["duration_ms"])
        if event.get("attempts"):
            attributes["dad.attempts"] = int(event["attempts"])

    def _error_status(self, span: _Open, error: Any, ts_ns: Any) -> Status:
        if isinstance(error, Mapping):
            message, kind, trace = (
                str(error.get("message", "")),
                str(error.get("type") or "Error"),
                error.get("traceback"),
            )
        else:
            message, kind, trace = str(error), "Error", None
        attributes: dict[str, Any] = {"exception.type": kind, "exception.message": message}
        if trace:
            attributes["exception.stacktrace"] = str(trace)
        span.events.append(("exception", attributes, ts_ns))
        return Status(StatusCode.ERROR, f"{kind}: {message}")

    def _node_completed(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        path = event["path"]
        node = self._nodes.pop(path, None)
        if node is None:  # no node_started seen: place it from its own timings
            start = ts_to_ns(event["started_at"]) if event.get("started_at") else ts_ns
            node = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), start)
        self._result_attributes(node, event)
        error = event.get("error")
        attempt = self._attempts.pop(path, None)
        if error:
            status = self._error_status(node, error, ts_ns)
            if attempt is not None:
                self._error_status(attempt, error, ts_ns)
        else:
            status = self._status_of(event.get("status"))
        if attempt is not None:
            attempt.attributes["dad.status"] = node.attributes["dad.status"]
            self._end(attempt, ts_ns, status)
        self._end(node, ts_ns, status)

    def _node_loaded(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        path = event["path"]
        span = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), ts_ns)
        self._result_attributes(span, event)
        span.attributes["dad.loaded"] = True
        for key in ("dad.tokens.prompt", "dad.tokens.completion", "dad.tokens.total", "dad.cost"):
            span.attributes.pop(key, None)  # spent by the previous run, not this one
        if self._previous_run_id:
            span.attributes["dad.loaded_from"] = self._previous_run_id
        self._end(span, ts_ns, self._status_of(event.get("status")))

    def _node_skipped(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        path = event["path"]
        self._nodes.pop(path, None)
        self._attempts.pop(path, None)
        span = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), ts_ns)
        span.attributes["dad.status"] = "skipped"
        if event.get("reason") is not None:
            span.attributes["dad.skip_reason"] = _text(event["reason"])
        self._end(span, ts_ns)

    def close_open(self, end_ts: Any, status: str) -> None:
        """End every span still open (innermost first), marking it `status`."""
        for table in (self._attempts, self._nodes):
            for span in table.values():
                span.attributes.setdefault("dad.status", status)
                self._end(span, end_ts)
            table.clear()
        for path in sorted(self._components, key=lambda p: p.count("."), reverse=True):
            span = self._components[path]
            span.attributes.setdefault("dad.status", status)
            self._end(span, end_ts)
        self._components.clear()

    def _run_completed(self, event: Mapping[str, Any], ts_ns: Any) -> None:
        self.close_open(ts_ns, "cancelled")
        run = self._ensure_run(event["path"], ts_ns)
        self._run = None
        status = event.get("status")
        run.attributes["dad.status"] = str(status)
        counts = event.get("counts")
        if isinstance(counts, Mapping):
            for key, value in counts.items():
                run.attributes[f"dad.count.{key}"] = int(value)
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            run.attributes["dad.tokens.prompt"] = int(usage.get("prompt_tokens") or 0)
            run.attributes["dad.tokens.completion"] = int(usage.get("completion_tokens") or 0)
            run.attributes["dad.tokens.total"] = int(usage.get("total_tokens") or 0)
            run.attributes["dad.cost"] = float(usage.get("cost") or 0.0)
        if event.get("duration_ms") is not None:
            run.attributes["dad.duration_ms"] = float(event["duration_ms"])
        self._end(run, ts_ns, self._status_of(status))

    def close(self, status: str = "interrupted") -> None:
        """End whatever is still open (a run that never completed) at the last time seen."""
        self.close_open(self.last_ts, status)
        if self._run is not None:
            self._run.attributes.setdefault("dad.status", status)
            self._end(self._run, self.last_ts)
            self._run = None


def _json_value(value: Any) -> dict[str, Any]:
    """An attribute value in the OTLP/JSON form of AnyValue (int64 as a string, as protobuf JSON)."""
    if value.__class__ is bool:
        return {"boolValue": value}
    if value.__class__ is int:
        return {"intValue": str(value)}
    if value.__class__ is float:
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _json_attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _json_value(value)} for key, value in attributes.items()]


def otlp_json_request(spans: list[FinishedSpan]) -> dict[str, Any]:
    """The OTLP/JSON ExportTraceServiceRequest of event spans, built directly.

    Equal to what encode_spans + MessageToDict + hex ids give for the same spans (a test checks it),
    at a fraction of the cost: the protobuf path costs ~100 µs per span, which made the end of a
    1,000-node run take seconds of CPU.
    """
    if not spans:
        return {}
    builder = spans[0].builder
    trace_id = f"{builder.trace_id:032x}"
    out: list[dict[str, Any]] = []
    # Most attribute pairs repeat (run id, span kind, node type, status, the path a node shares with
    # its attempt): each distinct pair is built once per request and shared (the encoder does not mind).
    pairs: dict[tuple[str, type, Any], dict[str, Any]] = {}

    def attributes_of(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
        listed = []
        for key, value in attributes.items():
            cache_key = (key, value.__class__, value)
            try:
                pair = pairs.get(cache_key)
            except TypeError:  # an unhashable value: built each time
                pair = None
                cache_key = None  # type: ignore[assignment]
            if pair is None:
                pair = {"key": key, "value": _json_value(value)}
                if cache_key is not None:
                    pairs[cache_key] = pair
            listed.append(pair)
        return listed

    for finished in spans:
        span = finished.span
        data: dict[str, Any] = {"traceId": trace_id, "spanId": f"{span.span_id:016x}"}
        if span.parent_id:
            data["parentSpanId"] = f"{span.parent_id:016x}"
        data["name"] = span.name
        data["kind"] = 1
        data["startTimeUnixNano"] = str(span.start_ts)
        data["endTimeUnixNano"] = str(max(span.end_ts, span.start_ts))
        if span.attributes:
            data["attributes"] = attributes_of(span.attributes)
        if span.events:
            events = []
            for name, attrs, ts in span.events:
                event: dict[str, Any] = {"timeUnixNano": str(ts), "name": name}
                if attrs:
                    event["attributes"] = _json_attributes(attrs)
                events.append(event)
            data["events"] = events
        status: dict[str, Any] = {}
        if span.status.description:
            status["message"] = span.status.description
        if span.status.status_code.value:
            status["code"] = span.status.status_code.value
        data["status"] = status
        data["flags"] = 256
        out.append(data)
    scope: dict[str, Any] = {"name": builder.scope.name}
    if builder.scope.version:
        scope["version"] = builder.scope.version
    resource = {"attributes": _json_attributes(builder.resource.attributes)}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": scope, "spans": out}]}]}
