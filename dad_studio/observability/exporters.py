"""Exporters and buffers of one run's telemetry.

The engine calls the telemetry on its hot path, and the OTLP encoders cost ~100 µs per span on a
small machine, so nothing is encoded there: finished spans and log records are appended to a deque,
and the run's flusher thread (or shutdown) encodes and writes them in batches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExportResult

from dad_studio.observability.otlp_json import FILE_NAMES, Signal, dumps_line
from dad_studio.observability.span_json import otlp_json_line

_Item = TypeVar("_Item")
_Item_contra = TypeVar("_Item_contra", contravariant=True)
_Result = TypeVar("_Result")


class ExportFailed(Exception):
    """An exporter said FAILURE (a collector down or refusing): reported in RunTelemetry.errors."""


class _JsonlFile:
    """Appends whole lines to one signal file; one write() per line, flushed.

    The file is created (empty) when the exporter is made, at telemetry start, so a run with no
    log records still has the trace/logs.jsonl that RUNS.md lists; a folder that cannot be
    written is left for the first write(), whose error the processor reports.
    """

    def __init__(self, run_dir: Path, signal: Signal) -> None:
        self.path = Path(run_dir) / "trace" / FILE_NAMES[signal]
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError:
            pass

    def write(self, line: str) -> None:
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class JsonlExporter(Generic[_Item, _Result]):
    """Writes each batch of one signal as one OTLP/JSON request line of `trace/<signal file>`.

    `encode` is the OTLP encoder of the signal (`encode_spans`, `encode_logs`) and `success` the
    SDK's success value the buffered processors compare with; see `jsonl_span_exporter` and
    `jsonl_log_exporter`. The SDK exporter base classes add nothing the processors use.
    """

    def __init__(
        self, run_dir: Path, signal: Signal, encode: Callable[[Sequence[_Item]], Any], success: _Result
    ) -> None:
        self.signal = signal
        self._file = _JsonlFile(run_dir, signal)
        self._encode = encode
        self._success = success

    def export(self, batch: Sequence[_Item]) -> _Result:
        if batch:
            self._file.write(dumps_line(self._encode(batch)))
        return self._success

    def export_direct(self, line: str) -> None:
        """Write an already encoded line (the event spans' fast path, span_json.otlp_json_line)."""
        if line:
            self._file.write(line)

    def shutdown(self) -> None:
        self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def jsonl_span_exporter(run_dir: Path) -> JsonlExporter[ReadableSpan, SpanExportResult]:
    """`trace/spans.jsonl`: ExportTraceServiceRequest lines."""
    return JsonlExporter(run_dir, "traces", encode_spans, SpanExportResult.SUCCESS)


def jsonl_log_exporter(run_dir: Path) -> JsonlExporter[ReadableLogRecord, LogRecordExportResult]:
    """`trace/logs.jsonl`: ExportLogsServiceRequest lines."""
    return JsonlExporter(run_dir, "logs", encode_logs, LogRecordExportResult.SUCCESS)


class BatchExporter(Protocol[_Item_contra]):
    """What the buffered processors need of an exporter: an SDK one or a JsonlExporter."""

    def export(self, batch: Sequence[_Item_contra], /) -> Any: ...

    def shutdown(self) -> None: ...


class JsonlMetricExporter(MetricExporter):
    """Writes each collection as one ExportMetricsServiceRequest line of `trace/metrics.jsonl`."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})
        self._file = _JsonlFile(run_dir, "metrics")

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if any(scope.metrics for rm in metrics_data.resource_metrics for scope in rm.scope_metrics):
            self._file.write(dumps_line(encode_metrics(metrics_data)))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._file.close()


class FanOutMetricExporter(MetricExporter):
    """One metric reader feeding several exporters (the run's file and an OTLP endpoint)."""

    def __init__(
        self,
        exporters: Sequence[MetricExporter],
        on_error: Callable[[str, BaseException], None],
        extra: Callable[[MetricsData], MetricsData] | None = None,
    ) -> None:
        """`extra`: adds the metrics the run aggregates itself (the duration histogram) to each collection."""
        super().__init__(
            preferred_temporality={cls: AggregationTemporality.CUMULATIVE for cls in _INSTRUMENT_CLASSES},
            preferred_aggregation={},
        )
        self._exporters = list(exporters)
        self._on_error = on_error
        self._extra = extra

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if self._extra is not None:
            metrics_data = self._extra(metrics_data)
        result = MetricExportResult.SUCCESS
        for exporter in self._exporters:
            try:
                if exporter.export(metrics_data, timeout_millis=timeout_millis) is not MetricExportResult.SUCCESS:
                    raise ExportFailed("metrics not accepted")
            except Exception as exc:
                self._on_error(f"metric export to {type(exporter).__name__} failed", exc)
                result = MetricExportResult.FAILURE
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return all(exporter.force_flush(timeout_millis) for exporter in self._exporters)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        for exporter in self._exporters:
            exporter.shutdown(timeout_millis=timeout_millis)


def _instrument_classes() -> tuple[type[Any], ...]:
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )

    return (Counter, Histogram, ObservableCounter, ObservableGauge, ObservableUpDownCounter, UpDownCounter)


_INSTRUMENT_CLASSES = _instrument_classes()


class _Deferred(Protocol):
    def readable(self) -> ReadableSpan: ...


class _DrainOnClose:
    """The buffered processors' common part: their queue settings, and shutdown / force_flush that
    export what is pending, then close."""

    def __init__(
        self,
        exporters: Sequence[BatchExporter[Any]],
        on_error: Callable[[str, BaseException], None],
        *,
        max_pending: int = 8192,
        batch_size: int = 2048,
    ) -> None:
        self._exporters = list(exporters)
        self._on_error = on_error
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._export_lock = threading.Lock()
        self.wake: Callable[[], None] = lambda: None
        """Called when the queue passes `max_pending`, to export early and bound memory."""

    def export_pending(self) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        self.export_pending()
        for exporter in self._exporters:
            exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.export_pending()
        return True


class BufferedSpanProcessor(_DrainOnClose, SpanProcessor):
    """Keeps finished spans in a deque; `export_pending` (flusher thread, shutdown) writes them.

    `on_end` is a deque append (thread-safe, ~0.1 µs), so the engine never waits on an encoder.
    `wake` is called when the buffer passes `max_pending`, to export early and bound memory.
    """

    def __init__(
        self,
        exporters: Sequence[BatchExporter[ReadableSpan]],
        on_error: Callable[[str, BaseException], None],
        *,
        max_pending: int = 8192,
        batch_size: int = 2048,
    ) -> None:
        super().__init__(exporters, on_error, max_pending=max_pending, batch_size=batch_size)
        self._pending: deque[ReadableSpan | _Deferred | str] = deque()
        self.builder: Any = None
        """The SpanBuilder whose spans come already rendered as text (span_json.TextSpanBuilder), if any."""

    def on_end(self, span: ReadableSpan | _Deferred | str) -> None:
        """A finished span: an SDK span (from `tracer_provider`), one whose `readable()` builds it, or
        one rendered as OTLP/JSON text by `builder` (only for a run whose spans go to its file alone)."""
        self._pending.append(span)
        if len(self._pending) > self._max_pending:
            self.wake()

    def export_pending(self) -> None:
        with self._export_lock:
            pending = self._pending
            popleft = pending.popleft
            while pending:
                # only this (locked) method takes items: at least len(pending) are there
                items: list[Any] = [popleft() for _ in range(min(len(pending), self._batch_size))]
                sdk_spans: list[ReadableSpan]
                if any(map(isinstance, items, repeat(ReadableSpan))):
                    sdk_spans = [item for item in items if isinstance(item, ReadableSpan)]
                    deferred = [item for item in items if not isinstance(item, ReadableSpan)]
                else:  # the common case: spans rendered as text, or ones made readable on demand
                    sdk_spans, deferred = [], items
                self._export(sdk_spans, deferred)

    def _export(self, sdk_spans: list[ReadableSpan], deferred: list[Any]) -> None:
        direct: str | None = None
        built: list[ReadableSpan] | None = None
        for exporter in self._exporters:
            batch = sdk_spans
            if deferred and isinstance(exporter, JsonlExporter) and exporter.signal == "traces":
                try:
                    if direct is None:
                        direct = otlp_json_line(deferred, self.builder)
                    exporter.export_direct(direct)
                except Exception as exc:
                    self._on_error("span export to JsonlExporter failed", exc)
            elif deferred:
                if built is None:
                    built = []
                    for item in deferred:
                        try:
                            built.append(item.readable())
                        except Exception as exc:
                            self._on_error("a span could not be built", exc)
                batch = sdk_spans + built
            if batch:
                try:
                    if exporter.export(batch) is not SpanExportResult.SUCCESS:
                        raise ExportFailed(f"{len(batch)} spans not accepted")
                except Exception as exc:
                    self._on_error(f"span export to {type(exporter).__name__} failed", exc)


class BufferedLogProcessor(_DrainOnClose, LogRecordProcessor):
    """The log-record counterpart of BufferedSpanProcessor."""

    def __init__(
        self,
        exporters: Sequence[BatchExporter[ReadableLogRecord]],
        on_error: Callable[[str, BaseException], None],
        *,
        max_pending: int = 8192,
        batch_size: int = 2048,
    ) -> None:
        super().__init__(exporters, on_error, max_pending=max_pending, batch_size=batch_size)
        self._pending: deque[ReadableLogRecord] = deque()

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        resource = log_record.resource if log_record.resource is not None else Resource.get_empty()
        self._pending.append(
            ReadableLogRecord(
                log_record=log_record.log_record,
                resource=resource,
                instrumentation_scope=log_record.instrumentation_scope,
                limits=log_record.limits,
            )
        )
        if len(self._pending) > self._max_pending:
            self.wake()

    def export_pending(self) -> None:
        with self._export_lock:
            while self._pending:
                batch: list[ReadableLogRecord] = []
                try:
                    while len(batch) < self._batch_size:
                        batch.append(self._pending.popleft())
                except IndexError:
                    pass
                for exporter in self._exporters:
                    try:
                        if exporter.export(batch) is not LogRecordExportResult.SUCCESS:
                            raise ExportFailed(f"{len(batch)} log records not accepted")
                    except Exception as exc:
                        self._on_error(f"log export to {type(exporter).__name__} failed", exc)
