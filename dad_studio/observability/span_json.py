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
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring  # the C encoder: quotes and escapes, keeps non-ASCII
from typing import Any

from dad_studio.observability.spans import FinishedSpan, SpanBuilder

__all__ = ["any_value", "attributes_json", "otlp_json_line"]

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


def otlp_json_line(spans: Sequence[FinishedSpan]) -> str:
    """One JSONL line (with its newline) holding `spans`, all from one SpanBuilder; "" for none."""
    if not spans:
        return ""
    builder = spans[0].builder
    shared: _Encoded | None = builder.encoded
    if shared is None:
        shared = builder.encoded = _Encoded(builder)
    trace_id = shared.trace_id
    run_id = shared.run_id
    kinds = _KINDS
    # Text of each attribute pair seen in this request, by (key, type, value): most repeat.
    pairs: dict[tuple[str, type, Any], str] = {}
    paths: dict[str, str] = {}
    out: list[str] = []
    append = out.append
    for span in spans:
        path = paths.get(span.path)
        if path is None:
            path = paths[span.path] = _pair("dad.hier_path", span.path)
        kind = kinds.get(span.kind) or _pair("dad.span_kind", span.kind)
        attributes = f"{kind},{path},{run_id}"
        for key, value in span.attributes.items():
            cache_key = (key, value.__class__, value)
            try:
                pair = pairs.get(cache_key)
            except TypeError:  # an unhashable value (a list): rendered each time
                attributes += "," + _pair(key, value)
                continue
            if pair is None:
                pair = pairs[cache_key] = _pair(key, value)
            attributes += "," + pair
        parent = f'"parentSpanId":"{span.parent_id:016x}",' if span.parent_id else ""
        start = span.start_ts
        end = span.end_ts if span.end_ts > start else start
        if span.code:
            if span.code == 2 and span.message:
                status = f'{{"message":{encode_basestring(span.message)},"code":2}}'
            else:
                status = f'{{"code":{span.code}}}'
        else:
            status = "{}"
        events = ""
        if span.events:
            rendered = []
            for name, attrs, ts in span.events:
                event = f'{{"timeUnixNano":"{ts}","name":{encode_basestring(name)}'
                if attrs:
                    event += ',"attributes":[' + attributes_json(attrs) + "]"
                rendered.append(event + "}")
            events = ',"events":[' + ",".join(rendered) + "]"
        append(
            f'{{"traceId":"{trace_id}","spanId":"{span.span_id:016x}",{parent}"name":{encode_basestring(span.name)},'
            f'"kind":1,"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{attributes}]'
            f'{events},"status":{status},"flags":256}}'
        )
    return shared.head + ",".join(out) + shared.tail
