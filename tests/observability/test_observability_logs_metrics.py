"""Logs (the per-run logger and `log` events) and metrics, read back from the run folder."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from dad_studio.observability import ObservabilitySettings, RunTelemetry, read_logs, read_metrics, read_spans

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10, "cost": 0.5}


def test_logger_records_are_correlated_with_the_span_at_their_path(tmp_path: Path, stream: Any) -> None:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(), run_id=stream.run_id)
    for event in (stream.run_started(), stream.component("root", "flow"), stream.node_started("root.a")):
        tel.on_event(event)
    tel.logger.info("calling %s", "the model", extra={"dad_path": "root.a"})
    tel.logger.warning("run-level note")
    tel.on_event(stream.node_completed("root.a"))
    tel.on_event(stream.emit("log", "root", level="ERROR", message="from the engine"))
    tel.on_event(stream.component("root", "flow", started=False))
    tel.on_event(stream.run_completed())
    tel.shutdown()
    assert tel.errors == []

    spans = read_spans(tmp_path)
    attempt = next(sp for sp in spans if sp["name"] == "attempt 1")
    root_component = next(
        sp for sp in spans if sp["attributes"]["dad.span_kind"] == "component" and sp["name"] == "root"
    )
    logs = {rec["body"]: rec for rec in read_logs(tmp_path)}
    assert set(logs) == {"calling the model", "run-level note", "from the engine"}
    model_call = logs["calling the model"]
    assert (model_call["trace_id"], model_call["span_id"]) == (attempt["trace_id"], attempt["span_id"])
    assert model_call["severity_text"] == "INFO" and model_call["severity_number"] == 9
    assert model_call["attributes"]["dad.hier_path"] == "root.a"
    assert model_call["attributes"]["code.function.name"] == (
        "test_logger_records_are_correlated_with_the_span_at_their_path"
    )
    run_span = next(sp for sp in spans if sp["parent_span_id"] is None)
    assert logs["run-level note"]["span_id"] == run_span["span_id"]
    assert logs["run-level note"]["severity_text"] == "WARN"
    engine_log = logs["from the engine"]
    assert engine_log["span_id"] == root_component["span_id"]
    assert engine_log["severity_number"] == 17
    assert engine_log["time_unix_nano"] == stream.ts_ns(stream.events[-3])


def test_log_level_filters_both_kinds_of_records(tmp_path: Path, stream: Any) -> None:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(log_level="warning"), run_id=stream.run_id)
    tel.on_event(stream.run_started())
    tel.logger.info("dropped")
    tel.logger.error("kept", exc_info=ValueError("boom"))
    tel.on_event(stream.emit("log", "root", level="DEBUG", message="dropped too"))
    tel.on_event(stream.emit("log", "root", level="WARNING", message="kept too"))
    tel.shutdown()
    records = read_logs(tmp_path)
    assert [r["body"] for r in records] == ["kept", "kept too"]
    assert records[0]["attributes"]["exception.type"] == "ValueError"


def test_run_logger_is_private_to_the_run(tmp_path: Path, stream: Any) -> None:
    one = RunTelemetry(tmp_path / "one", ObservabilitySettings(), run_id="one")
    two = RunTelemetry(tmp_path / "two", ObservabilitySettings(), run_id="two")
    assert one.logger is not two.logger
    assert logging.getLogger().handlers == [h for h in logging.getLogger().handlers if h not in one.logger.handlers]
    one.logger.warning("for one")
    two.logger.warning("for two")
    logging.getLogger("dad_studio.run").warning("for nobody")
    one.shutdown()
    two.shutdown()
    assert [r["body"] for r in read_logs(tmp_path / "one")] == ["for one"]
    assert [r["body"] for r in read_logs(tmp_path / "two")] == ["for two"]
    assert one.logger.handlers == []  # detached at shutdown


def test_metrics_durations_outcomes_tokens_and_cost(tmp_path: Path, stream: Any) -> None:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(), run_id=stream.run_id)
    stream.run_started()
    stream.node("root.a", "ai_model", usage=USAGE, model="openai:gpt-4o-mini", duration_ms=120.0)
    stream.node("root.b", "ai_model", usage=USAGE, model="openai:gpt-4o-mini", duration_ms=80.0)
    stream.node("root.c", "noop", duration_ms=2.0)
    stream.node_started("root.d", "command")
    stream.node_completed("root.d", "command", status="failed", error={"message": "x"}, duration_ms=5.0)
    stream.emit("node_skipped", "root.e", reason="dead edge")
    stream.run_completed()
    for event in stream.events:
        tel.on_event(event)
    tel.shutdown()
    metrics = read_metrics(tmp_path)

    def point(name: str, **attrs: str) -> dict[str, Any]:
        (found,) = [p for p in metrics[name] if all(p["attributes"].get(k) == v for k, v in attrs.items())]
        return found

    ai = point("dad.node.duration", **{"dad.node_type": "ai_model", "dad.status": "completed"})
    assert (ai["count"], ai["sum"]) == (2, 200.0)
    assert point("dad.node.duration", **{"dad.node_type": "command"})["sum"] == 5.0
    assert point("dad.node.outcomes", **{"dad.node_type": "command", "dad.status": "failed"})["value"] == 1
    assert point("dad.node.outcomes", **{"dad.status": "skipped"})["value"] == 1
    assert sum(p["value"] for p in metrics["dad.node.outcomes"]) == 5
    model = "openai:gpt-4o-mini"
    assert point("dad.tokens", **{"dad.model": model, "dad.token.type": "prompt"})["value"] == 14
    assert point("dad.tokens", **{"dad.model": model, "dad.token.type": "completion"})["value"] == 6
    assert point("dad.cost", **{"dad.model": model})["value"] == 1.0


def test_periodic_flush_writes_while_the_run_goes_on(tmp_path: Path, stream: Any) -> None:
    settings = ObservabilitySettings(export_interval_s=0.05, metrics_interval_s=0.05)
    tel = RunTelemetry(tmp_path, settings, run_id=stream.run_id)
    tel.on_event(stream.run_started())
    tel.on_event(stream.node_started("root.a"))
    tel.on_event(stream.node_completed("root.a"))
    tel.logger.warning("early")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if read_spans(tmp_path) and read_logs(tmp_path) and read_metrics(tmp_path):
            break
        time.sleep(0.02)
    assert {sp["name"] for sp in read_spans(tmp_path)} == {"a", "attempt 1"}  # the run span is still open
    assert [r["body"] for r in read_logs(tmp_path)] == ["early"]
    assert "dad.node.outcomes" in read_metrics(tmp_path)
    tel.shutdown()
    assert "run root" in {sp["name"] for sp in read_spans(tmp_path)}


def test_all_three_trace_files_exist_from_the_start_even_without_log_records(tmp_path: Path, stream: Any) -> None:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(), run_id=stream.run_id)
    trace = tmp_path / "trace"
    assert sorted(p.name for p in trace.iterdir()) == ["logs.jsonl", "metrics.jsonl", "spans.jsonl"]
    tel.on_event(stream.run_started())
    tel.on_event(stream.emit("run_completed", "root", status="completed"))
    tel.shutdown()
    assert (trace / "logs.jsonl").read_text() == ""
    assert read_logs(tmp_path) == []
    assert read_spans(tmp_path)  # the run span still lands in its file


def test_trace_files_of_disabled_signals_are_not_created(tmp_path: Path, stream: Any) -> None:
    RunTelemetry(tmp_path, ObservabilitySettings(logs=False, metrics=False), run_id=stream.run_id).shutdown()
    assert sorted(p.name for p in (tmp_path / "trace").iterdir()) == ["spans.jsonl"]


def test_a_long_queue_of_events_wakes_the_flusher(tmp_path: Path, stream: Any, monkeypatch: Any) -> None:
    """on_event only queues; past _MAX_QUEUED events the flusher writes them before its interval."""
    from dad_studio.observability import telemetry

    monkeypatch.setattr(telemetry, "_MAX_QUEUED", 40)
    tel = RunTelemetry(tmp_path, ObservabilitySettings(export_interval_s=600), run_id=stream.run_id)
    tel.on_event(stream.run_started())
    nodes = 21
    for i in range(nodes):
        tel.on_event(stream.node_started(f"root.n{i}"))
        tel.on_event(stream.node_completed(f"root.n{i}"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (tmp_path / "trace" / "spans.jsonl").stat().st_size:
        time.sleep(0.02)
    written = len(read_spans(tmp_path))
    tel.shutdown()
    assert 0 < written <= 2 * nodes  # before shutdown (how many: where the flusher caught up with the feed)
    assert len(read_spans(tmp_path)) == 2 * nodes + 1 and not tel.errors
