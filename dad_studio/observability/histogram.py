"""The node duration histogram, aggregated by the run itself and exported with the SDK's other metrics.

One `Histogram.record` of the OpenTelemetry SDK costs ~10-30 µs here (attribute cleaning and hashing,
a measurement object, the view matching), once per executed node: a third of what telemetry added to
the end of a 1,000-node run. The aggregation itself is a bisect and a few additions, so the run does it
(`DurationHistogram.add`) and hands the SDK-shaped result (`Metric` with cumulative
`HistogramDataPoint`s, the SDK's default explicit bucket boundaries) to the exporters, merged into the
`MetricsData` the reader collected (`with_metrics`). The encoding (OTLP/JSON, protobuf for OTLP/HTTP) is
the SDK's, so the files and the wire format are the same as with an SDK instrument.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

__all__ = ["DEFAULT_BOUNDARIES", "DurationHistogram", "with_metrics"]

DEFAULT_BOUNDARIES: tuple[float, ...] = (0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0)
DEFAULT_BOUNDARIES += (2500.0, 5000.0, 7500.0, 10000.0)
"""The SDK's default explicit bucket boundaries (ExplicitBucketHistogramAggregation)."""


class _Point:
    __slots__ = ("attributes", "buckets", "count", "max", "min", "start_ns", "sum")

    def __init__(self, attributes: Mapping[str, Any], n_buckets: int) -> None:
        self.attributes = dict(attributes)
        self.start_ns = time.time_ns()
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.buckets = [0] * n_buckets


class DurationHistogram:
    """A cumulative explicit-bucket histogram per attribute set; thread-safe.

    Buckets as the SDK counts them: bucket i holds bounds[i-1] < value <= bounds[i] (bisect_left),
    the last one everything above the last bound."""

    def __init__(
        self, name: str, *, unit: str, description: str, boundaries: Sequence[float] = DEFAULT_BOUNDARIES
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.boundaries = tuple(float(b) for b in boundaries)
        self._points: dict[tuple[tuple[str, Any], ...], _Point] = {}
        self._lock = threading.Lock()

    def add(self, value: float, attributes: Mapping[str, Any], key: Any = None) -> None:
        """`key`: a hashable the caller has already made for this attribute set (it must always give
        the same one for the same set); by default the attributes' items."""
        if key is None:
            key = tuple(attributes.items())
        with self._lock:
            point = self._points.get(key)
            if point is None:
                point = self._points[key] = _Point(attributes, len(self.boundaries) + 1)
            point.count += 1
            point.sum += value
            if value < point.min:
                point.min = value
            if value > point.max:
                point.max = value
            point.buckets[bisect_left(self.boundaries, value)] += 1

    def metric(self, now_ns: int | None = None) -> Metric | None:
        """The histogram as the SDK's cumulative Metric, or None before the first value (as the SDK)."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            points = [
                HistogramDataPoint(
                    attributes=dict(p.attributes),
                    start_time_unix_nano=p.start_ns,
                    time_unix_nano=now_ns,
                    count=p.count,
                    sum=p.sum,
                    bucket_counts=tuple(p.buckets),
                    explicit_bounds=self.boundaries,
                    min=p.min,
                    max=p.max,
                )
                for p in self._points.values()
            ]
        if not points:
            return None
        data = Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)
        return Metric(name=self.name, description=self.description, unit=self.unit, data=data)


def with_metrics(
    data: MetricsData, extra: Sequence[Metric], resource: Resource, scope: InstrumentationScope
) -> MetricsData:
    """`data` with `extra` metrics added under `scope` (its ScopeMetrics if the reader collected one,
    else a new one in the first ResourceMetrics, else a new ResourceMetrics for `resource`)."""
    if not extra:
        return data
    resources = list(data.resource_metrics)
    for i, rm in enumerate(resources):
        scopes = list(rm.scope_metrics)
        for j, sm in enumerate(scopes):
            if sm.scope.name == scope.name and sm.scope.version == scope.version:
                scopes[j] = ScopeMetrics(scope=sm.scope, metrics=[*sm.metrics, *extra], schema_url=sm.schema_url)
                resources[i] = ResourceMetrics(resource=rm.resource, scope_metrics=scopes, schema_url=rm.schema_url)
                return MetricsData(resource_metrics=resources)
    own = ScopeMetrics(scope=scope, metrics=list(extra), schema_url=scope.schema_url or "")
    if resources:
        rm = resources[0]
        resources[0] = ResourceMetrics(
            resource=rm.resource, scope_metrics=[*rm.scope_metrics, own], schema_url=rm.schema_url
        )
    else:
        resources = [ResourceMetrics(resource=resource, scope_metrics=[own], schema_url="")]
    return MetricsData(resource_metrics=resources)
