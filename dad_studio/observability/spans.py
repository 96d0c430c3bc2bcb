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
    for source in (event, event.get("usage"), event.get("output")):
        if isinstance(source, Mapping):
            model = source.get("model")
            if isinstance(model, str) and model:
                return model
    return None


class _Open:
    """A span that has started: what a ReadableSpan needs, collected until it ends."""

    __slots__ = ("attributes", "context", "events", "name", "parent", "start_ns")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, start_ns: int) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.start_ns = start_ns
        self.attributes: dict[str, Any] = {}
        self.events: list[SpanEvent] = []


class SpanBuilder:
    """Turns events (in seq order) into finished spans handed to `emit`."""

    def __init__(
        self,
        emit: Callable[[ReadableSpan], None],
        *,
        run_id: str,
        resource: Resource,
        scope: InstrumentationScope,
        trace_id: int | None = None,
    ) -> None:
        self._emit = emit
        self._run_id = run_id
        self._resource = resource
        self._scope = scope
        self._random = random.Random()
        self.trace_id = trace_id or self._random.getrandbits(128) or 1
        self._run: _Open | None = None
        self._components: dict[str, _Open] = {}
        self._nodes: dict[str, _Open] = {}
        self._attempts: dict[str, _Open] = {}
        self._previous_run_id: str | None = None
        self.last_ns = 0
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

    def _new_context(self) -> SpanContext:
        return SpanContext(self.trace_id, self._random.getrandbits(64) or 1, False, _SAMPLED)

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

    def _parent_of(self, path: str, *, same_path_node: bool) -> SpanContext:
        if same_path_node:
            holder = self._attempts.get(path) or self._nodes.get(path)
            if holder is not None:
                return holder.context
        for parent in ancestors(path):
            span = self._components.get(parent) or self._attempts.get(parent) or self._nodes.get(parent)
            if span is not None:
                return span.context
        return self._ensure_run(path, self.last_ns).context

    def context_for(self, path: str | None) -> SpanContext | None:
        """Span context of the innermost open span at `path` (or of the run): for log correlation."""
        span = self._innermost(path) if path else self._run
        return span.context if span is not None else None

    # -- span life ---------------------------------------------------------------------------------

    def _ensure_run(self, path: str, ts_ns: int) -> _Open:
        if self._run is None:
            root = path.split(".", 1)[0]
            self._run = _Open(f"run {root}", self._new_context(), None, ts_ns)
            self._run.attributes.update({"dad.span_kind": "run", "dad.run_id": self._run_id, "dad.hier_path": root})
        return self._run

    def _open(self, name: str, kind: str, path: str, parent: SpanContext, ts_ns: int) -> _Open:
        span = _Open(name, self._new_context(), parent, ts_ns)
        span.attributes["dad.span_kind"] = kind
        span.attributes["dad.hier_path"] = path
        span.attributes["dad.run_id"] = self._run_id
        return span

    def _end(self, span: _Open, end_ns: int, status: Status = _UNSET) -> None:
        self._emit(
            ReadableSpan(
                name=span.name,
                context=span.context,
                parent=span.parent,
                resource=self._resource,
                attributes=span.attributes,
                events=span.events,
                status=status,
                start_time=span.start_ns,
                end_time=max(end_ns, span.start_ns),
                instrumentation_scope=self._scope,
            )
        )

    @staticmethod
    def _status_of(status: Any) -> Status:
        if status in _ERROR_STATUSES:
            return Status(StatusCode.ERROR, f"status {status}")
        return _OK if status == "completed" else _UNSET

    # -- events ------------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> None:
        handler = self._handlers.get(event["type"])
        if handler is not None:
            ts_ns = ts_to_ns(event["ts"])
            self.last_ns = ts_ns
            handler(event, ts_ns)

    def _run_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        run = self._ensure_run(event["path"], ts_ns)
        run.start_ns = min(run.start_ns, ts_ns)
        root = event.get("root_component_id") or event["path"]
        run.name = f"run {root}"
        run.attributes["dad.root_component_id"] = root
        self._previous_run_id = event.get("previous_run_id")
        for key in ("previous_run_id", "start_hierarchy_path"):
            if event.get(key):
                run.attributes[f"dad.{key}"] = event[key]

    def _component_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        span = self._open(_segment(path), "component", path, self._parent_of(path, same_path_node=True), ts_ns)
        if event.get("kind"):
            span.attributes["dad.component_kind"] = event["kind"]
        self._components[path] = span

    def _component_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._components.pop(event["path"], None)
        if span is not None:
            status = event.get("status")
            span.attributes["dad.status"] = str(status)
            self._end(span, ts_ns, self._status_of(status))

    def _node_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
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
        span = self._open(f"attempt {attempt}", "attempt", path, node.context, ts_ns)
        span.attributes["dad.attempt"] = attempt
        self._attempts[path] = span

    def _input_required(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.request": _text(event.get("request"))}
            span.events.append(SpanEvent("dad.input_required", attributes, ts_ns))

    def _input_received(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes = {"dad.hier_path": event["path"], "dad.input_source": str(event.get("source"))}
            span.events.append(SpanEvent("dad.input_received", attributes, ts_ns))

    def _artifact_written(self, event: Mapping[str, Any], ts_ns: int) -> None:
        span = self._innermost(event["path"])
        if span is not None:
            attributes: dict[str, Any] = {
                "dad.artifact": str(event.get("artifact")),
                "dad.artifact.size": int(event.get("size") or 0),
                "dad.artifact.media_type": str(event.get("media_type")),
            }
            span.events.append(SpanEvent("dad.artifact_written", attributes, ts_ns))

    def _result_attributes(self, span: _Open, event: Mapping[str, Any]) -> None:
        attributes = span.attributes
        attributes["dad.status"] = str(event.get("status"))
        if event.get("node_type"):
            attributes["dad.node_type"] = event["node_type"]
        model = model_of(event)
        if model is not None:
            attributes["dad.model"] = model
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            attributes["dad.tokens.prompt"] = int(usage.get("prompt_tokens") or 0)
            attributes["dad.tokens.completion"] = int(usage.get("completion_tokens") or 0)
            attributes["dad.tokens.total"] = int(usage.get("total_tokens") or 0)
            attributes["dad.cost"] = float(usage.get("cost") or 0.0)
        if event.get("duration_ms") is not None:
            attributes["dad.duration_ms"] = float(event["duration_ms"])
        if event.get("attempts"):
            attributes["dad.attempts"] = int(event["attempts"])

    def _error_status(self, span: _Open, error: Any, ts_ns: int) -> Status:
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
        span.events.append(SpanEvent("exception", attributes, ts_ns))
        return Status(StatusCode.ERROR, f"{kind}: {message}")

    def _node_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
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

    def _node_loaded(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        span = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), ts_ns)
        self._result_attributes(span, event)
        span.attributes["dad.loaded"] = True
        for key in ("dad.tokens.prompt", "dad.tokens.completion", "dad.tokens.total", "dad.cost"):
            span.attributes.pop(key, None)  # spent by the previous run, not this one
        if self._previous_run_id:
            span.attributes["dad.loaded_from"] = self._previous_run_id
        self._end(span, ts_ns, self._status_of(event.get("status")))

    def _node_skipped(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        self._nodes.pop(path, None)
        self._attempts.pop(path, None)
        span = self._open(_segment(path), "node", path, self._parent_of(path, same_path_node=False), ts_ns)
        span.attributes["dad.status"] = "skipped"
        if event.get("reason") is not None:
            span.attributes["dad.skip_reason"] = _text(event["reason"])
        self._end(span, ts_ns)

    def close_open(self, end_ns: int, status: str) -> None:
        """End every span still open (innermost first), marking it `status`."""
        for table in (self._attempts, self._nodes):
            for span in table.values():
                span.attributes.setdefault("dad.status", status)
                self._end(span, end_ns)
            table.clear()
        for path in sorted(self._components, key=lambda p: p.count("."), reverse=True):
            span = self._components[path]
            span.attributes.setdefault("dad.status", status)
            self._end(span, end_ns)
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
        self._end(run, ts_ns, self._status_of(status))

    def close(self, status: str = "interrupted") -> None:
        """End whatever is still open (a run that never completed) at the last time seen."""
        self.close_open(self.last_ns, status)
        if self._run is not None:
            self._run.attributes.setdefault("dad.status", status)
            self._end(self._run, self.last_ns)
            self._run = None
