"""Spans from the engine's event stream: run -> component -> node -> attempt.

Parents come from hierarchy paths (the span of the nearest enclosing path that is open), never from
contextvars, so concurrent branches nest correctly whatever task emitted them. Start and end times are
the events' `ts`. Driving the SDK's Tracer (start_span/end, two spans per node) cost ~140 µs per node
here; the builder keeps each span as one small slotted object of plain values (ids and times as ints,
the status as its integer code) and hands it over when it ends. The flusher encodes it: straight to
OTLP/JSON text for the run's file (span_json.py), or as the SDK's `ReadableSpan` (`readable()`) for an
OTLP/HTTP exporter.
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

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ATTRIBUTE_TEXT = 4096
UNSET, OK, ERROR = 0, 1, 2
"""Status codes as OTLP numbers them (StatusCode values); the hot path keeps the int, not the enum."""


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


def status_code(status: Any) -> tuple[int, str | None]:
    if status == "failed":
        return ERROR, f"status {status}"
    return (OK, None) if status == "completed" else (UNSET, None)


class FinishedSpan:
    """One span, open while its element runs and handed to `emit` when it ends.

    `kind`, `path` and the run id are the first three attributes of every span (`dad.span_kind`,
    `dad.hier_path`, `dad.run_id`); `attributes` holds the others."""

    __slots__ = (
        "attributes",
        "builder",
        "code",
        "end_ts",
        "events",
        "kind",
        "message",
        "name",
        "parent_id",
        "path",
        "span_id",
        "start_ts",
    )

    def __init__(
        self, builder: SpanBuilder, name: str, kind: str, path: str, parent_id: int, start_ts: int, span_id: int = 0
    ) -> None:
        self.builder = builder
        self.name = name
        self.kind = kind
        self.path = path
        self.span_id = span_id or builder.new_id()
        self.parent_id = parent_id
        self.start_ts = start_ts
        self.end_ts = start_ts
        self.code = UNSET
        self.message: str | None = None
        self.attributes: dict[str, Any] = {}
        self.events: list[tuple[str, dict[str, Any], int]] = []

    def all_attributes(self) -> dict[str, Any]:
        return {"dad.span_kind": self.kind, "dad.hier_path": self.path, "dad.run_id": self.builder.run_id} | (
            self.attributes
        )

    def readable(self) -> ReadableSpan:
        """The SDK's span object, for exporters that take them (OTLP/HTTP); built off the hot path."""
        builder = self.builder
        trace_id = builder.trace_id
        return ReadableSpan(
            name=self.name,
            context=SpanContext(trace_id, self.span_id, False, _SAMPLED),
            parent=SpanContext(trace_id, self.parent_id, False, _SAMPLED) if self.parent_id else None,
            resource=builder.resource,
            attributes=self.all_attributes(),
            events=[SpanEvent(name, attrs, ts) for name, attrs, ts in self.events],
            status=Status(StatusCode(self.code), self.message),
            start_time=self.start_ts,
            end_time=max(self.end_ts, self.start_ts),
            instrumentation_scope=builder.scope,
        )


class SpanBuilder:
    """Turns events (in seq order) into finished spans handed to `emit`."""

    def __init__(
        self,
        emit: Callable[[Any], None],
        *,
        run_id: str,
        resource: Resource,
        scope: InstrumentationScope,
        trace_id: int | None = None,
    ) -> None:
        self._emit = emit
        self.run_id = run_id
        self.resource = resource
        self.scope = scope
        self._random = random.Random()
        self.new_id: Callable[[], int] = self._new_id
        self.trace_id = trace_id or self._random.getrandbits(128) or 1
        self._run: FinishedSpan | None = None
        self._components: dict[str, FinishedSpan] = {}
        self._nodes: dict[str, FinishedSpan] = {}
        self._attempts: dict[str, FinishedSpan] = {}
        self._previous_run_id: str | None = None
        self.last_ts = 0
        self._ts_prefix = "-"
        self._ts_base = 0
        self.encoded: Any = None
        """What span_json caches per builder (the request's head, the run id's attribute)."""
        self._handlers: dict[str, Callable[[Mapping[str, Any], int], None]] = {
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

    def _enclosing(self, path: str) -> FinishedSpan | None:
        """The open span of the nearest enclosing path (component first), else None."""
        components, attempts, nodes = self._components, self._attempts, self._nodes
        cut = path.rfind(".")
        while cut > 0:
            path = path[:cut]
            span = components.get(path) or attempts.get(path) or nodes.get(path)
            if span is not None:
                return span
            cut = path.rfind(".")
        return None

    def _innermost(self, path: str) -> FinishedSpan | None:
        """The open span a child of `path` (or a record about it) belongs to, the path itself first."""
        span = self._attempts.get(path) or self._nodes.get(path) or self._components.get(path)
        return span or self._enclosing(path) or self._run

    def _parent_of(self, path: str, *, same_path_node: bool) -> int:
        if same_path_node:
            holder = self._attempts.get(path) or self._nodes.get(path)
            if holder is not None:
                return holder.span_id
        span = self._enclosing(path)
        return span.span_id if span is not None else self._ensure_run(path, self.last_ts).span_id

    def context_for(self, path: str | None) -> SpanContext | None:
        """Span context of the innermost open span at `path` (or of the run): for log correlation."""
        span = self._innermost(path) if path else self._run
        return SpanContext(self.trace_id, span.span_id, False, _SAMPLED) if span is not None else None

    # -- span life ---------------------------------------------------------------------------------

    def _ensure_run(self, path: str, ts: int) -> FinishedSpan:
        if self._run is None:
            root = path.split(".", 1)[0]
            self._run = FinishedSpan(self, f"run {root}", "run", root, 0, ts)
        return self._run

    def _end(self, span: FinishedSpan, end_ts: int, code: int = UNSET, message: str | None = None) -> None:
        span.end_ts = end_ts
        span.code = code
        span.message = message
        self._emit(span)

    # -- events ------------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        handler = self._handlers.get(event["type"])
        if handler is not None:
            ts = event["ts"]
            # The engine's clock writes "YYYY-MM-DDTHH:MM:SS.ffffff+00:00": parse the second once.
            # (Slices and ==, not startswith/endswith: a method call each, measurably dearer here.)
            if ts.__class__ is str and len(ts) == 32 and ts[19] == "." and ts[26:] == "+00:00":
                second = ts[:19]
                if second != self._ts_prefix:
                    self._ts_base = ts_to_ns(second + "+00:00")
                    self._ts_prefix = second
                ts_ns = self._ts_base + int(ts[20:26]) * 1000
            else:
                ts_ns = ts_to_ns(ts)  # here, so a bad timestamp fails with its event
            self.last_ts = ts_ns
            handler(event, ts_ns)

    def _run_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        run = self._ensure_run(event["path"], ts_ns)
        root = event.get("root_component_id") or event["path"]
        run.name = f"run {root}"
        run.attributes["dad.root_component_id"] = root
        self._previous_run_id = event.get("previous_run_id")
        for key in ("previous_run_id", "start_hierarchy_path"):
            if event.get(key):
                run.attributes[f"dad.{key}"] = event[key]

    def _component_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        parent = self._parent_of(path, same_path_node=True)
        span = FinishedSpan(self, path[path.rfind(".") + 1 :], "component", path, parent, ts_ns)
        if event.get("kind"):
            span.attributes["dad.component_kind"] = event["kind"]
        self._components[path] = span

    def _component_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._components.pop(event["path"], None)
        if span is not None:
            status = event.get("status")
            span.attributes["dad.status"] = str(status)
            self._end(span, ts_ns, *status_code(status))

    def _node_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        attempt = event.get("attempt") or 1
        attempt = attempt if attempt.__class__ is int else int(attempt)
        node = self._nodes.get(path)
        if node is None:
            parent = self._enclosing(path)
            parent_id = parent.span_id if parent is not None else self._ensure_run(path, ts_ns).span_id
            node = FinishedSpan(self, path[path.rfind(".") + 1 :], "node", path, parent_id, ts_ns)
            node_type = event.get("node_type")
            if node_type:
                node.attributes["dad.node_type"] = node_type
            self._nodes[path] = node
        else:
            previous = self._attempts.pop(path, None)
            if previous is not None:  # a new attempt means the previous one failed
                previous.attributes["dad.status"] = "failed"
                self._end(previous, ts_ns, ERROR, "retried")
        node.attributes["dad.attempts"] = attempt
        span = FinishedSpan(self, f"attempt {attempt}", "attempt", path, node.span_id, ts_ns)
        span.attributes["dad.attempt"] = attempt
        self._attempts[path] = span

    def _input_required(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.request": _text(event.get("request"))}
            span.events.append(("dad.input_required", attributes, ts_ns))

    def _input_received(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.input_source": str(event.get("source"))}
            span.events.append(("dad.input_received", attributes, ts_ns))

    def _artifact_written(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes: dict[str, Any] = {
                "dad.artifact": str(event.get("artifact")),
                "dad.artifact.size": int(event.get("size") or 0),
                "dad.artifact.media_type": str(event.get("media_type")),
            }
            span.events.append(("dad.artifact_written", attributes, ts_ns))

    @staticmethod
    def _result_attributes(attributes: dict[str, Any], event: Mapping[str, Any], status: str) -> None:
        attributes["dad.status"] = status
        node_type = event.get("node_type")
        if node_type:
            attributes["dad.node_type"] = node_type
        model = model_of(event)
        if model is not None:
            attributes["dad.model"] = model
        usage = event.get("usage")
        if usage:
            attributes["dad.tokens.prompt"] = int(usage.get("prompt_tokens") or 0)
            attributes["dad.tokens.completion"] = int(usage.get("completion_tokens") or 0)
            attributes["dad.tokens.total"] = int(usage.get("total_tokens") or 0)
            attributes["dad.cost"] = float(usage.get("cost") or 0.0)
        duration = event.get("duration_ms")
        if duration is not None:
            attributes["dad.duration_ms"] = duration if duration.__class__ is float else float(duration)
        attempts = event.get("attempts")
        if attempts:
            attributes["dad.attempts"] = attempts if attempts.__class__ is int else int(attempts)

    @staticmethod
    def _error_event(span: FinishedSpan, error: Any, ts_ns: int) -> str:
        """Adds the exception event; returns the status message."""
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
        return f"{kind}: {message}"

    def _node_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        node = self._nodes.pop(path, None)
        if node is None:  # no node_started seen: place it from its own timings
            start = ts_to_ns(event["started_at"]) if event.get("started_at") else ts_ns
            parent_id = self._parent_of(path, same_path_node=False)
            node = FinishedSpan(self, path[path.rfind(".") + 1 :], "node", path, parent_id, start)
        status = event.get("status")
        status_text = status if status.__class__ is str else str(status)
        self._result_attributes(node.attributes, event, status_text)
        error = event.get("error")
        attempt = self._attempts.pop(path, None)
        message: str | None
        if error:
            code, message = ERROR, self._error_event(node, error, ts_ns)
            if attempt is not None:
                self._error_event(attempt, error, ts_ns)
        else:
            code, message = status_code(status)
        if attempt is not None:
            attempt.attributes["dad.status"] = status_text
            self._end(attempt, ts_ns, code, message)
        self._end(node, ts_ns, code, message)

    def _node_loaded(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        parent_id = self._parent_of(path, same_path_node=False)
        span = FinishedSpan(self, path[path.rfind(".") + 1 :], "node", path, parent_id, ts_ns)
        self._result_attributes(span.attributes, event, str(event.get("status")))
        span.attributes["dad.loaded"] = True
        for key in ("dad.tokens.prompt", "dad.tokens.completion", "dad.tokens.total", "dad.cost"):
            span.attributes.pop(key, None)  # spent by the previous run, not this one
        if self._previous_run_id:
            span.attributes["dad.loaded_from"] = self._previous_run_id
        self._end(span, ts_ns, *status_code(event.get("status")))

    def _node_skipped(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        self._nodes.pop(path, None)
        self._attempts.pop(path, None)
        parent_id = self._parent_of(path, same_path_node=False)
        span = FinishedSpan(self, path[path.rfind(".") + 1 :], "node", path, parent_id, ts_ns)
        span.attributes["dad.status"] = "skipped"
        if event.get("reason") is not None:
            span.attributes["dad.skip_reason"] = _text(event["reason"])
        self._end(span, ts_ns)

    def close_open(self, end_ts: int, status: str) -> None:
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

    def _run_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
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
        self._end(run, ts_ns, *status_code(status))

    def close(self, status: str = "interrupted") -> None:
        """End whatever is still open (a run that never completed) at the last time seen."""
        self.close_open(self.last_ts, status)
        if self._run is not None:
            self._run.attributes.setdefault("dad.status", status)
            self._end(self._run, self.last_ts)
            self._run = None
