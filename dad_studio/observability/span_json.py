"""The run's spans as one OTLP/JSON ExportTraceServiceRequest line, written as text.

The same JSON that the SDK's `encode_spans` + protobuf's MessageToDict + hex ids give (a test parses
both and compares), without either: the protobuf path cost ~100 µs a span, and building a dict tree
for orjson still ~10 µs a span here, most of it in per-span dicts and lists that are thrown away at
once. Here each span is one f-string; the pieces that repeat (the request's head, the run id, the span
kinds, an attribute pair such as `dad.status` = "completed", the path a node shares with its attempt)
are rendered once per request (or once per run) and reused as text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring  # the C encoder: quotes and escapes, keeps non-ASCII
from typing import Any

from dad_studio.observability.spans import UNSET, FinishedSpan, SpanBuilder, model_of, status_code

__all__ = ["TextSpanBuilder", "any_value", "attributes_json", "otlp_json_line"]

_NON_FINITE = {math.inf: '"Infinity"', -math.inf: '"-Infinity"'}


def any_value(value: Any) -> str:
    """An attribute value as OTLP/JSON AnyValue text (int64 as a string, as protobuf's JSON mapping)."""
    cls = value.__class__
    if cls is str:
        return '{"stringValue":' + encode_basestring(value) + "}"
    if cls is bool:
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if cls is int:
        return f'{{"intValue":"{value}"}}'
    if cls is float:
        if math.isfinite(value):
            return '{"doubleValue":' + repr(value) + "}"
        return '{"doubleValue":' + _NON_FINITE.get(value, '"NaN"') + "}"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return '{"arrayValue":{"values":[' + ",".join(any_value(item) for item in value) + "]}}"
    return '{"stringValue":' + encode_basestring(str(value)) + "}"


def _pair(key: str, value: Any) -> str:
    return '{"key":' + encode_basestring(key) + ',"value":' + any_value(value) + "}"


def attributes_json(attributes: Mapping[str, Any]) -> str:
    """The items of an OTLP/JSON attribute list (without the brackets)."""
    return ",".join([_pair(key, value) for key, value in attributes.items()])


class _Encoded:
    """What one builder's spans share across requests: the line's head and tail, the run id pair."""

    __slots__ = ("head", "run_id", "tail", "trace_id")

    def __init__(self, builder: SpanBuilder) -> None:
        scope = '{"name":' + encode_basestring(builder.scope.name)
        if builder.scope.version:
            scope += ',"version":' + encode_basestring(builder.scope.version)
        resource = '{"attributes":[' + attributes_json(builder.resource.attributes) + "]}"
        self.head = f'{{"resourceSpans":[{{"resource":{resource},"scopeSpans":[{{"scope":{scope}}},"spans":['
        self.tail = "]}]}]}\n"
        self.run_id = _pair("dad.run_id", builder.run_id)
        self.trace_id = f"{builder.trace_id:032x}"


_KINDS = {kind: _pair("dad.span_kind", kind) for kind in ("run", "component", "node", "attempt")}
_MAX_CACHED = 4096


class _Renderer:
    """Renders spans of one builder; remembers the text of repeated attribute pairs."""

    def __init__(self, builder: SpanBuilder) -> None:
        shared: _Encoded | None = builder.encoded
        if shared is None:
            shared = builder.encoded = _Encoded(builder)
        self.shared = shared
        self.pairs: dict[tuple[str, type, Any], str] = {}

    def pair(self, key: str, value: Any) -> str:
        """`_pair(key, value)`, from the cache when seen before (floats are not cached: mostly unique)."""
        cls = value.__class__
        if cls is float:
            return _pair(key, value)
        cache_key = (key, cls, value)
        try:
            pair = self.pairs.get(cache_key)
        except TypeError:  # an unhashable value (a list)
            return _pair(key, value)
        if pair is None:
            if len(self.pairs) >= _MAX_CACHED:
                self.pairs.clear()
            pair = self.pairs[cache_key] = _pair(key, value)
        return pair

    @staticmethod
    def path(path: str) -> str:
        """The `dad.hier_path` pair (not cached: a path is mostly one element's own)."""
        return '{"key":"dad.hier_path","value":{"stringValue":' + encode_basestring(path) + "}}"

    def span(self, span: FinishedSpan) -> str:
        kind = _KINDS.get(span.kind) or _pair("dad.span_kind", span.kind)
        attributes = f"{kind},{self.path(span.path)},{self.shared.run_id}"
        if span.attributes:
            pair = self.pair
            attributes += "," + ",".join([pair(key, value) for key, value in span.attributes.items()])
        events = ""
        if span.events:
            rendered = []
            for name, attrs, ts in span.events:
                event = f'{{"timeUnixNano":"{ts}","name":{encode_basestring(name)}'
                if attrs:
                    event += ',"attributes":[' + attributes_json(attrs) + "]"
                rendered.append(event + "}")
            events = ',"events":[' + ",".join(rendered) + "]"
        return self.text(
            span.span_id,
            span.parent_id,
            span.name,
            span.start_ts,
            span.end_ts,
            attributes,
            events,
            span.code,
            span.message,
        )

    def text(
        self,
        span_id: int,
        parent_id: int,
        name: str,
        start: int,
        end: int,
        attributes: str,
        events: str,
        code: int,
        message: str | None,
    ) -> str:
        """One span object; `attributes` and `events` already rendered."""
        parent = f'"parentSpanId":"{parent_id:016x}",' if parent_id else ""
        if end < start:
            end = start
        if code:
            if code == 2 and message:
                status = f'{{"message":{encode_basestring(message)},"code":2}}'
            else:
                status = f'{{"code":{code}}}'
        else:
            status = "{}"
        return (
            f'{{"traceId":"{self.shared.trace_id}","spanId":"{span_id:016x}",{parent}"name":{encode_basestring(name)},'
            f'"kind":1,"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{attributes}]'
            f'{events},"status":{status},"flags":256}}'
        )


def otlp_json_line(spans: Sequence[FinishedSpan | str], builder: SpanBuilder | None = None) -> str:
    """One JSONL line (with its newline) holding `spans`, all from one SpanBuilder; "" for none.

    A str item is a span (or a node's two spans, joined by a comma) a TextSpanBuilder already
    rendered; `builder` is needed when every item is."""
    if not spans:
        return ""
    if builder is None:
        builder = next(span.builder for span in spans if not isinstance(span, str))
    renderer = _Renderer(builder)
    render = renderer.span
    out = [span if span.__class__ is str else render(span) for span in spans]  # type: ignore[arg-type]
    return renderer.shared.head + ",".join(out) + renderer.shared.tail  # type: ignore[arg-type]


class TextSpanBuilder(SpanBuilder):
    """A SpanBuilder that hands each span to `emit` already rendered as OTLP/JSON text (for a run whose
    spans go only to its file): the span object is dropped as it ends, and a node's result goes from
    its event straight into the text of the node and attempt spans (the common case: no error, no
    span events), without filling the attribute dicts first. The text equals what
    `otlp_json_line` writes for SpanBuilder's spans (a test feeds both the same streams).

    A node's first attempt is kept as one tuple (`_light`: its two span ids, parent, start, type)
    until it completes; only when something else needs its spans (an input wait, an artifact, a log
    correlated with it, a child element, a retry, a failure, the run closing under it) is it made
    into the two FinishedSpans SpanBuilder would hold (`_promote`: same ids, same attributes)."""

    def __init__(self, emit: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(emit, **kwargs)
        self.renderer = _Renderer(self)
        self._node_kind = _KINDS["node"]
        self._attempt_kind = _KINDS["attempt"]
        self._prefix = f'{{"traceId":"{self.renderer.shared.trace_id}","spanId":"'
        self._shared_text: dict[tuple[str, str | None, int, int], tuple[str, ...]] = {}
        self._light: dict[str, tuple[int, int, int, int, Any]] = {}
        """path -> (node span id, attempt span id, parent span id, start ns, node_type)."""

    # -- nodes kept light until something needs their spans ---------------------------------------

    def _promote(self, path: str) -> None:
        """Make the light node at `path` (if any) the node and attempt FinishedSpans it stands for."""
        light = self._light.pop(path, None)
        if light is None:
            return
        node_id, attempt_id, parent_id, start, node_type = light
        node = FinishedSpan(self, path[path.rfind(".") + 1 :], "node", path, parent_id, start, node_id)
        if node_type:
            node.attributes["dad.node_type"] = node_type
        node.attributes["dad.attempts"] = 1
        self._nodes[path] = node
        attempt = FinishedSpan(self, "attempt 1", "attempt", path, node_id, start, attempt_id)
        attempt.attributes["dad.attempt"] = 1
        self._attempts[path] = attempt

    def _enclosing(self, path: str) -> FinishedSpan | None:
        light = self._light
        if light:  # an element inside a light node (a loop's iteration, a subflow): the node first
            cut = path.rfind(".")
            while cut > 0:
                path_up = path[:cut]
                if path_up in light:
                    self._promote(path_up)
                    break
                cut = path_up.rfind(".")
        return SpanBuilder._enclosing(self, path)

    def _innermost(self, path: str) -> FinishedSpan | None:
        if path in self._light:
            self._promote(path)
        return SpanBuilder._innermost(self, path)

    def _parent_of(self, path: str, *, same_path_node: bool) -> int:
        if same_path_node and path in self._light:
            self._promote(path)
        return SpanBuilder._parent_of(self, path, same_path_node=same_path_node)

    def _node_started(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        light = self._light
        if event.get("attempt", 1) == 1 and path not in light and path not in self._nodes:
            parent = self._enclosing(path) if light else SpanBuilder._enclosing(self, path)
            parent_id = parent.span_id if parent is not None else self._ensure_run(path, ts_ns).span_id
            new_id = self.new_id
            node_id = new_id()  # the node's id first, then its attempt's: SpanBuilder's order
            light[path] = (node_id, new_id(), parent_id, ts_ns, event.get("node_type"))
            return
        self._promote(path)
        SpanBuilder._node_started(self, event, ts_ns)

    def _node_skipped(self, event: Mapping[str, Any], ts_ns: int) -> None:
        self._light.pop(event["path"], None)
        SpanBuilder._node_skipped(self, event, ts_ns)

    def close_open(self, end_ts: int, status: str) -> None:
        for path in list(self._light):
            self._promote(path)
        SpanBuilder.close_open(self, end_ts, status)

    def _end(self, span: FinishedSpan, end_ts: int, code: int = UNSET, message: str | None = None) -> None:
        span.end_ts = end_ts
        span.code = code
        span.message = message
        self._emit(self.renderer.span(span))

    def _node_completed(self, event: Mapping[str, Any], ts_ns: int) -> None:
        path = event["path"]
        status = event.get("status")
        light = self._light.pop(path, None)
        if light is not None:
            node_id, attempt_id, parent_id, attempt_start, started_type = light
            node_start = attempt_start
            node_type = event.get("node_type") or started_type or None
            attempts = event.get("attempts") or 1
            number = 1
            plain = True
        else:
            node = self._nodes.get(path)
            attempt = self._attempts.get(path)
            node_type = event.get("node_type") or (node.attributes.get("dad.node_type") if node is not None else None)
            attempts = event.get("attempts") or (node.attributes.get("dad.attempts") if node is not None else None)
            plain = not (
                node is None
                or attempt is None
                or node.events
                or attempt.events
                or len(node.attributes) > 2
                or len(attempt.attributes) > 1
            )
        if (
            not plain
            or event.get("error")
            or status.__class__ is not str
            or (node_type is not None and node_type.__class__ is not str)
            or attempts.__class__ is not int
        ):
            if light is not None:
                self._light[path] = light
                self._promote(path)
            super()._node_completed(event, ts_ns)
            return
        if light is None:
            node = self._nodes.pop(path)
            attempt = self._attempts.pop(path)
            node_id, parent_id, node_start = node.span_id, node.parent_id, node.start_ts
            attempt_id, attempt_start = attempt.span_id, attempt.start_ts
            number = attempt.attributes["dad.attempt"]
        r = self.renderer
        key = (status, node_type, attempts, number)
        shared = self._shared_text.get(key)
        if shared is None:
            shared = self._shared_text[key] = self._render_shared(status, node_type, attempts, number)
        attempt_name, attempt_attributes, node_attributes, tail = shared
        path_pair = r.path(path)
        prefix = self._prefix
        start = attempt_start
        attempt_text = (
            f'{prefix}{attempt_id:016x}","parentSpanId":"{node_id:016x}","name":{attempt_name},'
            f'"kind":1,"startTimeUnixNano":"{start}","endTimeUnixNano":"{ts_ns if ts_ns > start else start}",'
            f'"attributes":[{self._attempt_kind},{path_pair},{attempt_attributes}]{tail}'
        )
        if event.get("model") or event.get("usage") or event.get("output"):
            model = model_of(event)
            if model is not None:
                node_attributes += "," + r.pair("dad.model", model)
            usage = event.get("usage")
            if usage:
                pair = r.pair
                node_attributes += (
                    f",{pair('dad.tokens.prompt', int(usage.get('prompt_tokens') or 0))}"
                    f",{pair('dad.tokens.completion', int(usage.get('completion_tokens') or 0))}"
                    f",{pair('dad.tokens.total', int(usage.get('total_tokens') or 0))}"
                    f",{_pair('dad.cost', float(usage.get('cost') or 0.0))}"
                )
        duration = event.get("duration_ms")
        if duration is not None:
            if duration.__class__ is float and duration - duration == 0.0:  # finite
                node_attributes += ',{"key":"dad.duration_ms","value":{"doubleValue":' + repr(duration) + "}}"
            else:
                node_attributes += "," + _pair("dad.duration_ms", float(duration))
        start = node_start
        # both spans as one item: the line joins its items with "," (one hand-over instead of two)
        self._emit(
            f'{attempt_text},{prefix}{node_id:016x}","parentSpanId":"{parent_id:016x}",'
            f'"name":{encode_basestring(path[path.rfind(".") + 1 :])},"kind":1,"startTimeUnixNano":"{start}",'
            f'"endTimeUnixNano":"{ts_ns if ts_ns > start else start}",'
            f'"attributes":[{self._node_kind},{path_pair},{node_attributes}]{tail}'
        )

    def _render_shared(self, status: str, node_type: str | None, attempts: int, number: int) -> tuple[str, ...]:
        """The text a node's two spans share with other nodes of the same type, status and attempts:
        the attempt's name and attributes after its path, the node's attributes after its path up to
        its status, and the span's end (status, flags)."""
        r = self.renderer
        run_id, status_pair = r.shared.run_id, r.pair("dad.status", status)
        node = f"{run_id},"
        if node_type:
            node += r.pair("dad.node_type", node_type) + ","
        node += f"{r.pair('dad.attempts', attempts)},{status_pair}"
        code, message = status_code(status)
        if code == 2 and message:
            status_text = f'{{"message":{encode_basestring(message)},"code":2}}'
        else:
            status_text = f'{{"code":{code}}}' if code else "{}"
        if len(self._shared_text) >= _MAX_CACHED:
            self._shared_text.clear()
        return (
            encode_basestring(f"attempt {number}"),
            f"{run_id},{r.pair('dad.attempt', number)},{status_pair}",
            node,
            f',"status":{status_text},"flags":256}}',
        )
