"""The run's own duration histogram: the same data points as the SDK's histogram, merged into collections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, HistogramDataPoint, InMemoryMetricReader, Metric, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from dad_studio.observability import ObservabilitySettings, RunTelemetry, parse_line
from dad_studio.observability.histogram import DurationHistogram, with_metrics

VALUES = [0.0, 0.4, 5.0, 5.0001, 12.0, 99.9, 100.0, 7_500.0, 20_000.0, 3.25]
ATTRS = [{"dad.node_type": "noop", "dad.status": "completed"}, {"dad.node_type": "sleep", "dad.status": "failed"}]


def _sdk_points() -> dict[tuple[tuple[str, Any], ...], HistogramDataPoint]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    histogram = provider.get_meter("t").create_histogram("d", unit="ms")
    for i, value in enumerate(VALUES):
        histogram.record(value, ATTRS[i % 2])
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = data.resource_metrics[0].scope_metrics[0].metrics
    provider.shutdown()
    return _points(metric)


def _points(metric: Metric) -> dict[tuple[tuple[str, Any], ...], HistogramDataPoint]:
    assert isinstance(metric.data, Histogram)
    return {tuple((p.attributes or {}).items()): p for p in metric.data.data_points}


def test_points_equal_the_sdk_histogram() -> None:
    ours = DurationHistogram("d", unit="ms", description="")
    assert ours.metric() is None  # nothing recorded: no metric, as the SDK
    for i, value in enumerate(VALUES):
        ours.add(value, ATTRS[i % 2])
    metric = ours.metric()
    assert metric is not None
    mine = _points(metric)
    sdk = _sdk_points()
    assert mine.keys() == sdk.keys()
    for key, point in sdk.items():
        got = mine[key]
        assert (got.count, got.sum, got.min, got.max) == (point.count, point.sum, point.min, point.max)
        assert list(got.bucket_counts) == list(point.bucket_counts)
        assert list(got.explicit_bounds) == list(point.explicit_bounds)


def test_with_metrics_merges_into_the_scope_or_adds_one() -> None:
    ours = DurationHistogram("d", unit="ms", description="")
    ours.add(1.0, {"a": "b"})
    metric = ours.metric()
    assert metric is not None
    resource = Resource.create({"service.name": "x"})
    scope = InstrumentationScope("dad_studio", "1")
    empty = with_metrics(MetricsData(resource_metrics=[]), [metric], resource, scope)
    (rm,) = empty.resource_metrics
    assert rm.resource is resource and rm.scope_metrics[0].scope is scope
    assert [m.name for m in rm.scope_metrics[0].metrics] == ["d"]
    again = with_metrics(empty, [metric], resource, scope)
    assert [m.name for m in again.resource_metrics[0].scope_metrics[0].metrics] == ["d", "d"]
    assert len(again.resource_metrics[0].scope_metrics) == 1


def test_exported_histogram_is_valid_otlp_json(tmp_path: Path, stream: Any) -> None:
    tel = RunTelemetry(tmp_path, ObservabilitySettings(), run_id=stream.run_id)
    stream.run_started()
    for i in range(30):
        stream.node(f"root.n{i}", "noop", duration_ms=float(i))
    stream.run_completed()
    for event in stream.events:
        tel.on_event(event)
    tel.shutdown()
    assert tel.errors == []
    lines = (tmp_path / "trace" / "metrics.jsonl").read_text().splitlines()
    request = parse_line(lines[-1], "metrics")
    (scope,) = request.resource_metrics[0].scope_metrics
    (hist,) = [m for m in scope.metrics if m.name == "dad.node.duration"]
    (point,) = hist.histogram.data_points
    assert (point.count, point.sum, point.min, point.max) == (30, float(sum(range(30))), 0.0, 29.0)
    assert list(point.bucket_counts)[:4] == [1, 5, 5, 15]  # 0 | (0,5] | (5,10] | (10,25]
    assert hist.histogram.aggregation_temporality == 2  # cumulative


def test_run_resource_equals_resource_create(monkeypatch: Any) -> None:
    from dad_studio.observability.telemetry import run_resource

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,team=a")
    attrs = {"service.name": "dad-studio", "dad.run_id": "r1"}
    ours = dict(run_resource(attrs).attributes)
    sdk = dict(Resource.create(attrs).attributes)
    assert ours.pop("service.instance.id") and sdk.pop("service.instance.id")  # one per process, both set
    assert ours == sdk and ours["team"] == "a" and ours["dad.run_id"] == "r1"
