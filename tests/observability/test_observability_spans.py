"""Span trees from synthetic event streams, read back from the run folder's OTLP/JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from dad_studio.observability import ObservabilitySettings, RunTelemetry, parse_line, read_spans

EventStream = Any  # the conftest's stream class, passed in through fixtures

AI_USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.25}


def full_flow(s: EventStream) -> None:
    """A flow with a subflow, a loop of two iterations, a fan-out, a retry, a failure, an input wait."""
    s.run_started()
    s.component("root", "flow")
    s.node("root.a", "ai_model", usage=AI_USAGE, model="echo")
    s.component("root.sub", "subflow")
    s.node("root.sub.x")
    s.component("root.sub", "subflow", started=False)
    s.component("root.loop", "loop")
    for i in range(2):
        s.component(f"root.loop.iter_{i}", "iteration")
        s.node(f"root.loop.iter_{i}.body")
        s.component(f"root.loop.iter_{i}", "iteration", started=False)
    s.component("root.loop", "loop", started=False)
    # fan-out: two branches interleaved, finishing in the other order
    s.node_started("root.fan_a")
    s.node_started("root.fan_b")
    s.node_completed("root.fan_b")
    s.node_completed("root.fan_a")
    s.node_started("root.flaky", attempt=1)
    s.node_started("root.flaky", attempt=2)
    s.node_completed("root.flaky")
    s.node_started("root.ask", "input")
    s.emit("node_input_required", "root.ask", node_type="input", request={"fields": ["name"]})
    s.emit("node_input_received", "root.ask", advance_ms=50, input={"name": "Ada"}, source="handler")
    s.node_completed("root.ask", "input")
    s.node_started("root.bad", "command")
    s.node_completed("root.bad", "command", status="failed", error={"message": "exit 2", "type": "CommandError"})
    s.emit("node_skipped", "root.after_bad", reason="root.bad -> root.after_bad (on_success) is dead")
    s.component("root", "flow", status="failed", started=False)
    s.run_completed("failed")


def run_stream(tmp_path: Path, s: EventStream, **settings: Any) -> list[dict[str, Any]]:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(**settings), run_id=s.run_id)
    for event in s.events:
        tel.on_event(event)
    tel.shutdown()
    assert tel.errors == []
    return read_spans(tmp_path)


def by_path(spans: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {sp["attributes"]["dad.hier_path"]: sp for sp in spans if sp["attributes"]["dad.span_kind"] == kind}


def test_span_tree_of_subflow_loop_and_fan_out(tmp_path: Path, stream: EventStream) -> None:
    full_flow(stream)
    spans = run_stream(tmp_path, stream)
    ids = {sp["span_id"]: sp for sp in spans}
    assert len(ids) == len(spans)
    assert {sp["trace_id"] for sp in spans} == {spans[0]["trace_id"]}
    roots = [sp for sp in spans if sp["parent_span_id"] is None]
    assert [r["name"] for r in roots] == ["run root"]
    run = roots[0]
    assert run["attributes"]["dad.run_id"] == stream.run_id
    assert run["attributes"]["dad.status"] == "failed"

    components = by_path(spans, "component")
    nodes = by_path(spans, "node")
    assert set(components) == {"root", "root.sub", "root.loop", "root.loop.iter_0", "root.loop.iter_1"}
    assert components["root"]["parent_span_id"] == run["span_id"]
    assert components["root.loop.iter_1"]["parent_span_id"] == components["root.loop"]["span_id"]
    assert components["root.loop"]["attributes"]["dad.component_kind"] == "loop"
    expected_parent = {
        "root.a": "root",
        "root.sub.x": "root.sub",
        "root.loop.iter_0.body": "root.loop.iter_0",
        "root.loop.iter_1.body": "root.loop.iter_1",
        "root.fan_a": "root",
        "root.fan_b": "root",
        "root.flaky": "root",
        "root.ask": "root",
        "root.bad": "root",
        "root.after_bad": "root",
    }
    assert set(nodes) == set(expected_parent)
    for path, component in expected_parent.items():
        assert nodes[path]["parent_span_id"] == components[component]["span_id"], path
        assert nodes[path]["name"] == path.rsplit(".", 1)[1]

    attempts = [sp for sp in spans if sp["attributes"]["dad.span_kind"] == "attempt"]
    for attempt in attempts:
        assert ids[attempt["parent_span_id"]] is nodes[attempt["attributes"]["dad.hier_path"]]
    flaky = sorted(
        (a for a in attempts if a["attributes"]["dad.hier_path"] == "root.flaky"),
        key=lambda a: a["attributes"]["dad.attempt"],
    )
    assert [a["name"] for a in flaky] == ["attempt 1", "attempt 2"]
    assert [a["status"]["code"] for a in flaky] == ["ERROR", "OK"]
    assert nodes["root.flaky"]["attributes"]["dad.attempts"] == 2
    # loaded/skipped nodes did not execute: no attempt
    assert "root.after_bad" not in {a["attributes"]["dad.hier_path"] for a in attempts}
    assert nodes["root.after_bad"]["attributes"]["dad.status"] == "skipped"

    # every child lies within its parent's time range
    for sp in spans:
        if sp["parent_span_id"] is not None:
            parent = ids[sp["parent_span_id"]]
            assert parent["start_time_unix_nano"] <= sp["start_time_unix_nano"]
            assert sp["end_time_unix_nano"] <= parent["end_time_unix_nano"]


def test_times_and_attributes_come_from_events(tmp_path: Path, stream: EventStream) -> None:
    full_flow(stream)
    spans = run_stream(tmp_path, stream)
    nodes = by_path(spans, "node")
    started = next(e for e in stream.events if e["type"] == "node_started" and e["path"] == "root.a")
    completed = next(e for e in stream.events if e["type"] == "node_completed" and e["path"] == "root.a")
    a = nodes["root.a"]
    assert a["start_time_unix_nano"] == stream.ts_ns(started)
    assert a["end_time_unix_nano"] == stream.ts_ns(completed)
    assert a["attributes"] == {
        "dad.span_kind": "node",
        "dad.hier_path": "root.a",
        "dad.run_id": stream.run_id,
        "dad.node_type": "ai_model",
        "dad.attempts": 1,
        "dad.status": "completed",
        "dad.model": "echo",
        "dad.tokens.prompt": 10,
        "dad.tokens.completion": 5,
        "dad.tokens.total": 15,
        "dad.cost": 0.25,
        "dad.duration_ms": 1.0,
    }
    ask = next(
        sp
        for sp in spans
        if sp["attributes"]["dad.span_kind"] == "attempt" and sp["attributes"]["dad.hier_path"] == "root.ask"
    )
    assert [e["name"] for e in ask["events"]] == ["dad.input_required", "dad.input_received"]
    assert json.loads(ask["events"][0]["attributes"]["dad.request"]) == {"fields": ["name"]}
    assert ask["events"][1]["attributes"]["dad.input_source"] == "handler"
    assert ask["events"][1]["time_unix_nano"] - ask["events"][0]["time_unix_nano"] == 50_000_000


def test_error_is_recorded_on_node_and_attempt(tmp_path: Path, stream: EventStream) -> None:
    full_flow(stream)
    spans = run_stream(tmp_path, stream)
    bad = [sp for sp in spans if sp["attributes"]["dad.hier_path"] == "root.bad"]
    assert {sp["attributes"]["dad.span_kind"] for sp in bad} == {"node", "attempt"}
    for sp in bad:
        assert sp["status"] == {"code": "ERROR", "message": "CommandError: exit 2"}
        (exception,) = [e for e in sp["events"] if e["name"] == "exception"]
        assert exception["attributes"] == {"exception.type": "CommandError", "exception.message": "exit 2"}
    ok = by_path(spans, "node")["root.a"]
    assert ok["status"]["code"] == "OK" and not ok["events"]


def test_file_is_otlp_json_that_parses_into_the_request_proto(tmp_path: Path, stream: EventStream) -> None:
    full_flow(stream)
    spans = run_stream(tmp_path, stream)
    lines = (tmp_path / "trace" / "spans.jsonl").read_text().splitlines()
    assert lines
    count = 0
    for line in lines:
        raw = json.loads(line)
        first = raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        # OTLP/JSON: hex ids and integer enums, not protobuf's base64 and enum names
        assert len(first["traceId"]) == 32 and int(first["traceId"], 16)
        assert len(first["spanId"]) == 16 and int(first["spanId"], 16)
        assert first["kind"] == 1
        request = parse_line(line, "traces")
        assert isinstance(request, ExportTraceServiceRequest)
        for rs in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            assert resource["dad.run_id"] == stream.run_id
            assert resource["service.name"] == "dad-studio"
            for ss in rs.scope_spans:
                assert ss.scope.name == "dad_studio"
                for span in ss.spans:
                    assert len(span.trace_id) == 16 and len(span.span_id) == 8
                    count += 1
    assert count == len(spans)


def test_interrupted_run_closes_open_spans_at_shutdown(tmp_path: Path, stream: EventStream) -> None:
    stream.run_started()
    stream.component("root", "flow")
    stream.node("root.a")
    stream.node_started("root.b")
    spans = run_stream(tmp_path, stream)
    kinds = {(sp["attributes"]["dad.span_kind"], sp["attributes"]["dad.hier_path"]): sp for sp in spans}
    assert set(kinds) == {
        ("run", "root"),
        ("component", "root"),
        ("node", "root.a"),
        ("attempt", "root.a"),
        ("node", "root.b"),
        ("attempt", "root.b"),
    }
    for key in [("run", "root"), ("component", "root"), ("node", "root.b"), ("attempt", "root.b")]:
        assert kinds[key]["attributes"]["dad.status"] == "interrupted"
        assert kinds[key]["end_time_unix_nano"] == stream.ts_ns(stream.events[-1])


def test_loaded_node_from_previous_run(tmp_path: Path, make_stream: Any) -> None:
    s = make_stream(run_id="rerun_x")
    s.emit(
        "run_started",
        "root",
        run_id="rerun_x",
        root_component_id="root",
        previous_run_id="run_prev",
        start_hierarchy_path="root.b",
        variables={},
    )
    s.component("root", "flow")
    s.emit(
        "node_loaded",
        "root.a",
        node_type="ai_model",
        status="completed",
        input={},
        output={},
        outcome=None,
        error=None,
        usage=AI_USAGE,
        started_at=None,
        ended_at=None,
        duration_ms=900.0,
    )
    s.node("root.b")
    s.component("root", "flow", started=False)
    s.run_completed()
    spans = run_stream(tmp_path, s)
    run = next(sp for sp in spans if sp["parent_span_id"] is None)
    assert run["attributes"]["dad.previous_run_id"] == "run_prev"
    assert run["attributes"]["dad.start_hierarchy_path"] == "root.b"
    loaded = by_path(spans, "node")["root.a"]
    assert loaded["attributes"]["dad.loaded"] is True
    assert loaded["attributes"]["dad.loaded_from"] == "run_prev"
    assert "dad.tokens.total" not in loaded["attributes"]
    assert loaded["start_time_unix_nano"] == loaded["end_time_unix_nano"]


def test_two_interleaved_runs_write_separate_traces(tmp_path: Path, make_stream: Any) -> None:
    streams = [make_stream(run_id="run_one"), make_stream(run_id="run_two")]
    for s in streams:
        full_flow(s)
    dirs = [tmp_path / "one", tmp_path / "two"]
    tels = [RunTelemetry(d, ObservabilitySettings(), run_id=s.run_id) for d, s in zip(dirs, streams, strict=True)]
    for first, second in zip(streams[0].events, streams[1].events, strict=True):
        tels[0].on_event(first)
        tels[1].on_event(second)
    for tel in tels:
        tel.shutdown()
    results = [read_spans(d) for d in dirs]
    assert len(results[0]) == len(results[1]) > 10
    trace_ids = [{sp["trace_id"] for sp in spans} for spans in results]
    assert trace_ids == [{tels[0].trace_id}, {tels[1].trace_id}]
    assert tels[0].trace_id != tels[1].trace_id
    for spans, s in zip(results, streams, strict=True):
        assert {sp["attributes"]["dad.run_id"] for sp in spans} == {s.run_id}
        assert {sp["resource"]["dad.run_id"] for sp in spans} == {s.run_id}
        ids = {sp["span_id"] for sp in spans}
        assert all(sp["parent_span_id"] in ids for sp in spans if sp["parent_span_id"])


def test_traces_off_writes_no_span_file(tmp_path: Path, stream: EventStream) -> None:
    full_flow(stream)
    tel = RunTelemetry(tmp_path, ObservabilitySettings(traces=False), run_id=stream.run_id)
    for event in stream.events:
        tel.on_event(event)
    tel.shutdown()
    tel.shutdown()  # idempotent
    assert tel.trace_id is None
    assert not (tmp_path / "trace" / "spans.jsonl").exists()
    assert (tmp_path / "trace" / "metrics.jsonl").exists()


def test_bad_event_is_reported_not_raised(tmp_path: Path, stream: EventStream) -> None:
    stream.run_started()
    tel = RunTelemetry(tmp_path, ObservabilitySettings(), run_id=stream.run_id)
    tel.on_event(stream.events[0])
    tel.on_event({"seq": 2, "ts": "not a time", "type": "node_started", "path": "root.a"})
    tel.shutdown()
    assert len(tel.errors) == 1 and "event 2 (node_started)" in tel.errors[0]
    assert [sp["name"] for sp in read_spans(tmp_path)] == ["run root"]


def test_direct_span_encoding_equals_the_real_encoder(stream: EventStream) -> None:
    """The fast path of the span file must write exactly what the OTLP encoders would."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from dad_studio.observability.otlp_json import message_to_otlp_json
    from dad_studio.observability.span_json import otlp_json_line
    from dad_studio.observability.spans import SpanBuilder

    full_flow(stream)
    stream.emit("artifact_written", "root.a", artifact="root/a/out.txt", size=3, media_type="text/plain")
    finished: list[Any] = []
    builder = SpanBuilder(
        finished.append,
        run_id=stream.run_id,
        resource=Resource.create({"service.name": "dad-studio", "dad.run_id": stream.run_id, "n": 3, "f": 0.5}),
        scope=InstrumentationScope("dad_studio", "1.2.3"),
    )
    for event in stream.events:
        builder.on_event(event)
    builder.close()
    assert len(finished) > 20
    expected = message_to_otlp_json(encode_spans([f.readable() for f in finished]))
    line = otlp_json_line(finished)
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == expected
    assert len(parse_line(json.dumps(expected), "traces").resource_spans[0].scope_spans[0].spans) == len(finished)


def test_text_encoding_of_awkward_values_equals_the_real_encoder(make_stream: Any) -> None:
    """Quotes, backslashes, control and non-ASCII characters, non-finite floats, bools, lists and
    error messages must come out as the protobuf JSON mapping renders them."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from dad_studio.observability.otlp_json import message_to_otlp_json
    from dad_studio.observability.span_json import otlp_json_line
    from dad_studio.observability.spans import SpanBuilder

    s = make_stream(root='r"\\é')
    s.run_started()
    s.component(s.root, "flow")
    path = f'{s.root}.nœud\t"x"'
    s.node_started(path, "ai_model")
    s.node_completed(path, "ai_model", status="failed", error={"message": 'bad "quote"\n€', "type": "E"})
    s.run_completed("failed")
    finished: list[Any] = []
    builder = SpanBuilder(
        finished.append,
        run_id=s.run_id,
        resource=Resource({"service.name": "dad-studio", "list": ("a", "b"), "on": True, "n": -3}),
        scope=InstrumentationScope("dad_studio", "1"),
    )
    for event in s.events:
        builder.on_event(event)
    node = next(f for f in finished if f.kind == "node")
    node.attributes.update(
        {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "yes": True, "big": 2**62, "x": 1e-7}
    )
    builder.close()
    expected = message_to_otlp_json(encode_spans([f.readable() for f in finished]))
    got = json.loads(otlp_json_line(finished))
    assert got == expected
    request = parse_line(otlp_json_line(finished), "traces")  # protobuf's own parser takes it
    names = [sp.name for sp in request.resource_spans[0].scope_spans[0].spans]
    assert 'nœud\t"x"' in names


def _seeded_builder(cls: type[Any], emit: Any, run_id: str) -> Any:
    """A SpanBuilder (or TextSpanBuilder) with fixed trace id and seeded span ids: two builders fed the
    same events make the same ids."""
    import random

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    builder = cls(
        emit,
        run_id=run_id,
        resource=Resource({"service.name": "dad-studio"}),
        scope=InstrumentationScope("dad_studio", "1"),
        trace_id=7,
    )
    builder._random = random.Random(42)
    return builder


def _normalized(line: str) -> list[dict[str, Any]]:
    """Spans of a line with each attribute list as a dict (the two builders may order them differently)."""
    spans = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for span in spans:
        span["attributes"] = {a["key"]: a["value"] for a in span["attributes"]}
    return list(spans)


def test_text_builder_writes_what_the_object_builder_writes(make_stream: Any) -> None:
    """TextSpanBuilder (file-only runs) renders a node's spans straight from its events; the result
    must be the spans SpanBuilder + otlp_json_line give, for every shape of node result."""

    from dad_studio.observability.span_json import TextSpanBuilder, otlp_json_line
    from dad_studio.observability.spans import SpanBuilder

    s = make_stream()
    full_flow(s)  # retries, failures, input waits, skips, subflows: the general path
    s.events.pop()  # reopen the run for more nodes
    s.node("root.plain", "noop", duration_ms=0.25)
    s.node("root.int_ms", "noop", duration_ms=3)
    s.node("root.ai", "ai_model", usage=AI_USAGE, model="echo")
    s.node_started("root.out", "ai_model")
    s.emit("node_completed", "root.out", node_type="ai_model", status="completed", output={"model": "m2"})
    s.node("root.cancelled", "noop", status="cancelled", duration_ms=None)
    s.node("root.failed_no_error", "noop", status="failed")
    s.node_started("root.untyped", node_type="")
    s.node_completed("root.untyped", node_type="", attempts=2)
    s.run_completed("failed")

    lines = []
    for cls in (SpanBuilder, TextSpanBuilder):
        items: list[Any] = []
        builder = _seeded_builder(cls, items.append, s.run_id)
        for event in s.events:
            builder.on_event(event)
        builder.close()
        if cls is TextSpanBuilder:
            assert all(isinstance(item, str) for item in items)
        lines.append(otlp_json_line(items, builder))
    objects, text = (_normalized(line) for line in lines)
    assert len(objects) > 30
    assert text == objects
    parse_line(lines[1], "traces")


def test_text_builder_promotes_light_nodes_when_their_spans_are_needed(make_stream: Any) -> None:
    """A node's first attempt is kept light (a tuple) until it completes; a log correlated with it, an
    element nested in it, an input wait, a retry and a run closing under it each need its spans. Every
    such case must give the spans SpanBuilder gives (the same ids, parents, attributes, times); the
    spans still open at the end are ended in the order each builder kept them, so they are compared
    by id."""

    from dad_studio.observability.span_json import TextSpanBuilder, otlp_json_line
    from dad_studio.observability.spans import SpanBuilder

    s = make_stream()
    s.run_started()
    s.component("root", "flow")
    s.node_started("root.a")  # light, then a log at its path asks for its span context
    s.node_started("root.loop", "for_each")  # light, then an iteration inside it
    s.component("root.loop.iter_0", "flow")
    s.node("root.loop.iter_0.x")
    s.component("root.loop.iter_0", "flow", started=False)
    s.node_started("root.ask", "human_input")  # light, then an input wait
    s.emit("node_input_required", "root.ask", request={"prompt": "who?"})
    s.node_started("root.flaky")  # light, then its second attempt
    s.node_started("root.flaky", attempt=2)
    s.node_started("root.open_1")  # still light when the run is cut off
    s.node_started("root.open_2", "")
    s.node("root.plain")

    def build(cls: type[SpanBuilder]) -> tuple[list[dict[str, Any]], list[str | None]]:
        items: list[Any] = []
        builder = _seeded_builder(cls, items.append, s.run_id)
        contexts: list[str | None] = []
        for event in s.events:
            builder.on_event(event)
            if event["type"] == "node_started" and event["path"] == "root.a":
                context = builder.context_for("root.a")
                contexts.append(f"{context.span_id:016x}" if context is not None else None)
        builder.close()
        line = otlp_json_line(items, builder)
        return sorted(_normalized(line), key=lambda span: span["spanId"]), contexts

    objects, object_contexts = build(SpanBuilder)
    text, text_contexts = build(TextSpanBuilder)
    assert len(objects) == 20
    assert text == objects
    assert text_contexts == object_contexts and object_contexts[0] is not None
    by_id = {span["spanId"]: span for span in text}
    a_attempt = by_id[text_contexts[0]]
    assert a_attempt["name"] == "attempt 1" and a_attempt["attributes"]["dad.hier_path"] == {"stringValue": "root.a"}
