"""RunTelemetry: one run's traces, metrics and logs, fed by the engine's event stream.

Each run gets its own TracerProvider, MeterProvider and LoggerProvider (the global ones are never set),
so two runs in one process write two separate sets of files. `on_event` is the engine's hot path: it
updates span state and queues finished spans and metric measurements; a daemon thread per run (and
`shutdown`) does the encoding and writing.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricsData, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext

from dad_studio.observability.exporters import (
    BatchExporter,
    BufferedLogProcessor,
    BufferedSpanProcessor,
    FanOutMetricExporter,
    JsonlMetricExporter,
    jsonl_log_exporter,
    jsonl_span_exporter,
)
from dad_studio.observability.histogram import DurationHistogram, with_metrics
from dad_studio.observability.settings import ObservabilitySettings
from dad_studio.observability.span_json import TextSpanBuilder
from dad_studio.observability.spans import SpanBuilder, model_of, ts_to_ns

_log = logging.getLogger(__name__)
_SCOPE_NAME = "dad_studio"
_RUN_LOGGER_PARENT = "dad_studio.run"
_MAX_QUEUED = 8192
"""Queued events past which the flusher is woken (bounds the memory a long run holds)."""


def _version() -> str:
    """dad-studio's version for the instrumentation scopes: the package's own constant (the same as its
    metadata; importlib.metadata took ~5 ms, paid by the first run of every process)."""
    from dad_studio import __version__

    return __version__


def severity_of(levelno: int) -> SeverityNumber:
    """stdlib level -> OpenTelemetry severity (DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21)."""
    if levelno < logging.DEBUG:
        return SeverityNumber.TRACE
    for floor, base in ((logging.CRITICAL, 21), (logging.ERROR, 17), (logging.WARNING, 13), (logging.INFO, 9)):
        if levelno >= floor:
            return SeverityNumber(min(base + (levelno - floor), base + 3))
    return SeverityNumber(min(5 + levelno - logging.DEBUG, 8))


_SEVERITY_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}


class _RunLogHandler(logging.Handler):
    """Bridges this run's stdlib logger to its LoggerProvider, correlated with the span at `dad_path`."""

    def __init__(self, telemetry: RunTelemetry, level: int) -> None:
        super().__init__(level)
        self._telemetry = telemetry

    def emit(self, record: logging.LogRecord) -> None:
        try:
            attributes: dict[str, Any] = {
                "code.file.path": record.pathname,
                "code.function.name": record.funcName,
                "code.line.number": record.lineno,
                "logger.name": record.name,
            }
            path = getattr(record, "dad_path", None)
            if path:
                attributes["dad.hier_path"] = str(path)
            if record.exc_info and record.exc_info[0] is not None:
                attributes["exception.type"] = record.exc_info[0].__name__
                attributes["exception.message"] = str(record.exc_info[1])
                attributes["exception.stacktrace"] = logging.Formatter().formatException(record.exc_info)
            self._telemetry.emit_log(
                record.getMessage(),
                levelno=record.levelno,
                path=str(path) if path else None,
                timestamp_ns=int(record.created * 1e9),
                attributes=attributes,
            )
        except Exception:
            self.handleError(record)


def run_resource(attributes: Mapping[str, Any]) -> Resource:
    """What `Resource.create(attributes)` gives with the SDK's default detectors (service instance id,
    OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME), without its detection machinery: `create` runs the
    detectors in a new thread pool, 4-9 ms at every run start, on the event loop. Detectors configured
    through OTEL_EXPERIMENTAL_RESOURCE_DETECTORS (or an SDK without the instance id detector) take the
    SDK's own path."""
    from opentelemetry.sdk import resources

    instance_detector = getattr(resources, "ServiceInstanceIdResourceDetector", None)
    if os.environ.get("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "").strip() or instance_detector is None:
        return Resource.create(dict(attributes))
    from opentelemetry.sdk.version import __version__ as sdk_version

    resource = Resource(
        {
            resources.TELEMETRY_SDK_LANGUAGE: "python",
            resources.TELEMETRY_SDK_NAME: "opentelemetry",
            resources.TELEMETRY_SDK_VERSION: sdk_version,
        }
    )
    resource = resource.merge(instance_detector().detect()).merge(resources.OTELResourceDetector().detect())
    return resource.merge(Resource(dict(attributes)))


class RunTelemetry:
    """The telemetry of one run; see the module docstring. Safe to feed from one thread at a time."""

    def __init__(
        self,
        run_dir: Path | None,
        settings: ObservabilitySettings | Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """`settings` may be a plain mapping of ObservabilitySettings fields (how the engine's
        RunContext may carry them); `run_id` defaults to the run folder's name (RUNS.md)."""
        if settings is None:
            settings = ObservabilitySettings()
        elif not isinstance(settings, ObservabilitySettings):
            settings = ObservabilitySettings.model_validate(dict(settings))
        self.settings = settings
        self.run_dir = Path(run_dir) if run_dir is not None else None
        if run_id is None:
            if self.run_dir is None:
                raise ValueError("RunTelemetry needs a run_id when it has no run folder")
            run_id = self.run_dir.name
        self.run_id = run_id
        self._wake = threading.Event()
        self.errors: list[str] = []
        """Export failures (a collector down, a full disk): the run goes on, these say what was lost."""
        self._closed = False
        self.resource = run_resource(
            {"service.name": "dad-studio", "dad.run_id": run_id, **dict(resource_attributes or {})}
        )
        scope = InstrumentationScope(_SCOPE_NAME, _version())
        s = self.settings
        endpoint = s.otlp_endpoint.rstrip("/") if s.otlp_endpoint else None

        self._span_processor: BufferedSpanProcessor | None = None
        self._spans: SpanBuilder | None = None
        self.tracer_provider = TracerProvider(resource=self.resource, shutdown_on_exit=False)
        if s.enabled and s.traces:
            span_exporters: list[BatchExporter[ReadableSpan]] = []
            if self.run_dir is not None:
                span_exporters.append(jsonl_span_exporter(self.run_dir))
            if endpoint:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                span_exporters.append(
                    OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", headers=s.otlp_headers, timeout=s.otlp_timeout_s)
                )
            self._span_processor = BufferedSpanProcessor(span_exporters, self._on_error)
            self._span_processor.wake = self._wake_flusher
            self.tracer_provider.add_span_processor(self._span_processor)
            # Spans that go only to the run's file are rendered as text as they end (TextSpanBuilder);
            # an OTLP/HTTP exporter takes the SDK's span objects, built from SpanBuilder's.
            builder_class = SpanBuilder if endpoint or self.run_dir is None else TextSpanBuilder
            self._spans = builder_class(self._span_processor.on_end, run_id=run_id, resource=self.resource, scope=scope)
            self._span_processor.builder = self._spans

        self._metric_reader: PeriodicExportingMetricReader | None = None
        self._events: deque[Mapping[str, Any]] = deque()
        """Events taken by on_event and not yet fed to the spans, metrics and logs (see `_drain`)."""
        self._drain_lock = threading.RLock()
        self._totals: dict[tuple[int, tuple[str, str | None]], float] = {}
        """Counter increments since the last collection: (instrument, attribute key) -> sum."""
        self._outcome_attrs: dict[tuple[str, str | None], dict[str, Any]] = {}
        metric_exporters: list[MetricExporter] = []
        if s.enabled and s.metrics:
            if self.run_dir is not None:
                metric_exporters.append(JsonlMetricExporter(self.run_dir))
            if endpoint:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

                metric_exporters.append(
                    OTLPMetricExporter(
                        endpoint=f"{endpoint}/v1/metrics", headers=s.otlp_headers, timeout=s.otlp_timeout_s
                    )
                )
            self._metric_reader = PeriodicExportingMetricReader(
                FanOutMetricExporter(metric_exporters, self._on_error, extra=self._add_own_metrics),
                export_interval_millis=math.inf,
            )
        self.meter_provider = MeterProvider(
            resource=self.resource,
            metric_readers=[self._metric_reader] if self._metric_reader is not None else [],
            shutdown_on_exit=False,
        )
        meter = self.meter_provider.get_meter(_SCOPE_NAME, _version())
        self._scope = scope
        self._durations = DurationHistogram("dad.node.duration", unit="ms", description="Duration of executed nodes")
        """Aggregated here, not by an SDK instrument: one SDK record per node cost ~30 µs (see histogram.py)."""
        self._instruments = (
            meter.create_counter("dad.node.outcomes", unit="{node}", description="Nodes settled, by type and status"),
            meter.create_counter("dad.tokens", unit="{token}", description="Model tokens, by model and token type"),
            meter.create_counter("dad.cost", unit="USD", description="Model cost, by model"),
        )

        self._log_processor: BufferedLogProcessor | None = None
        self._log_queue: deque[tuple[str, int, SpanContext | None, int, int, Mapping[str, Any] | None]] = deque()
        self._log_lock = threading.Lock()
        self.logger_provider = LoggerProvider(resource=self.resource, shutdown_on_exit=False)
        self._otel_logger = self.logger_provider.get_logger(_SCOPE_NAME, _version())
        self.logger = logging.Logger(f"{_RUN_LOGGER_PARENT}.{run_id}", s.log_level_number)
        # Built directly (not logging.getLogger) so finished runs do not pile up in logging's registry;
        # records still propagate to the "dad_studio.run" logger for whoever configures console output.
        self.logger.parent = logging.getLogger(_RUN_LOGGER_PARENT)
        self._handler: _RunLogHandler | None = None
        if s.enabled and s.logs:
            log_exporters: list[BatchExporter[ReadableLogRecord]] = []
            if self.run_dir is not None:
                log_exporters.append(jsonl_log_exporter(self.run_dir))
            if endpoint:
                from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

                log_exporters.append(
                    OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", headers=s.otlp_headers, timeout=s.otlp_timeout_s)
                )
            self._log_processor = BufferedLogProcessor(log_exporters, self._on_error)
            self._log_processor.wake = self._wake_flusher
            self.logger_provider.add_log_record_processor(self._log_processor)
            self._handler = _RunLogHandler(self, s.log_level_number)
            self.logger.addHandler(self._handler)

        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if (s.traces or s.metrics or s.logs) and s.enabled and (self.run_dir is not None or endpoint):
            self._flusher = threading.Thread(target=self._flush_loop, name=f"dad-telemetry-{run_id}", daemon=True)
            self._flusher.start()

    # -- the event sink ----------------------------------------------------------------------------

    @property
    def trace_id(self) -> str | None:
        """The run's trace id (32 hex digits), or None when traces are off."""
        return f"{self._spans.trace_id:032x}" if self._spans is not None else None

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Take one engine event (in seq order). Never raises: telemetry must not break a run.

        The event is only queued (a deque append): `_drain` turns the queue into spans, metrics and
        log records in one tight loop, on the flusher thread, when a log record needs the span
        state, or at shutdown. Done one event at a time between the engine's own steps, the same
        work cost ~2x the CPU on a small machine (the caches go cold between events). Events are
        not changed once emitted (the run writer and the recorder keep them too)."""
        if self._closed:
            return
        queue = self._events
        queue.append(event)
        if len(queue) > _MAX_QUEUED:
            self._wake.set()

    def _drain(self) -> None:
        """Feed the queued events to the span builder, the metrics and the logs, in order."""
        with self._drain_lock:
            queue = self._events
            spans = self._spans.on_event if self._spans is not None else None
            measure = self._measure if self._metric_reader is not None else None
            logs = self._log_processor is not None
            while queue:
                try:
                    event = queue.popleft()
                except IndexError:
                    return
                try:
                    if spans is not None:
                        spans(event)
                    kind = event["type"]
                    if kind == "node_completed" or kind == "node_loaded" or kind == "node_skipped":
                        if measure is not None:
                            measure(event, kind)
                    elif kind == "log" and logs:
                        self._log_event(event)
                except Exception as exc:
                    self._on_error(f"event {event.get('seq')} ({event.get('type')}) not recorded", exc)

    def _log_event(self, event: Mapping[str, Any]) -> None:
        level = logging.getLevelNamesMapping().get(str(event.get("level", "INFO")).upper(), logging.INFO)
        if level >= self.settings.log_level_number:
            self._queue_log(
                str(event.get("message", "")),
                levelno=level,
                path=event.get("path"),
                timestamp_ns=ts_to_ns(event["ts"]),
                attributes={"dad.hier_path": str(event.get("path")), "dad.seq": int(event.get("seq") or 0)},
            )

    def _measure(self, event: Mapping[str, Any], kind: str) -> None:
        """Aggregate one node's measurements (under the drain lock): counter totals per attribute set,
        durations into the run's histogram. `_record_measurements` hands the totals to the SDK."""
        status = "loaded" if kind == "node_loaded" else str(event.get("status", "skipped"))
        node_type = event.get("node_type") or ""
        key: tuple[str, str | None] = (node_type if node_type.__class__ is str else str(node_type), status)
        attrs = self._outcome_attrs.get(key)
        if attrs is None:
            attrs = self._outcome_attrs[key] = {"dad.node_type": key[0], "dad.status": status}
        totals = self._totals
        total_key: tuple[int, tuple[str, str | None]] = (1, key)
        totals[total_key] = totals.get(total_key, 0) + 1
        if kind != "node_completed":
            return
        duration = event.get("duration_ms")
        if duration is not None:
            self._durations.add(float(duration), attrs, key)
        usage = event.get("usage")
        if usage:
            model = model_of(event) or "unknown"
            for which, token_type, value in (
                (2, "prompt", int(usage.get("prompt_tokens") or 0)),
                (2, "completion", int(usage.get("completion_tokens") or 0)),
                (3, None, float(usage.get("cost") or 0.0)),
            ):
                total_key = (which, (model, token_type))
                totals[total_key] = totals.get(total_key, 0) + value

    def _record_measurements(self) -> None:
        """Hand the counter totals aggregated since the last collection to the SDK instruments: one
        `add` per attribute set (the exported cumulative sums are the same as one per node, each
        costing ~10 µs)."""
        outcomes, tokens, cost = self._instruments
        with self._drain_lock:
            totals, self._totals = self._totals, {}
            attr_sets = self._outcome_attrs
            for (which, key), total in totals.items():
                if which == 1:
                    outcomes.add(total, attr_sets[key])
                elif which == 2:
                    tokens.add(total, {"dad.model": key[0], "dad.token.type": key[1]})
                else:
                    cost.add(total, {"dad.model": key[0]})

    def _add_own_metrics(self, data: MetricsData) -> MetricsData:
        """The collection the reader made, with the duration histogram added (the exporters' `extra`)."""
        durations = self._durations.metric()
        return with_metrics(data, [durations] if durations is not None else [], self.resource, self._scope)

    # -- logs --------------------------------------------------------------------------------------

    def context_for(self, path: str | None) -> Context | None:
        """An OpenTelemetry context whose current span is the one open at `path` (else the run's)."""
        if self._spans is None:
            return None
        with self._drain_lock:
            self._drain()  # the spans as of the last event taken
            span_context = self._spans.context_for(path)
        return trace.set_span_in_context(NonRecordingSpan(span_context)) if span_context is not None else None

    def emit_log(
        self,
        message: str,
        *,
        levelno: int = logging.INFO,
        path: str | None = None,
        timestamp_ns: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """One OpenTelemetry log record of this run, correlated with the span open at `path`.

        The span is looked up now (it may have ended by the time the record is written), after the
        queued events are taken in; building the SDK record (~100 µs) is left to the flusher.
        """
        if self._log_processor is None or self._closed:
            return
        with self._drain_lock:
            if self._events:
                self._drain()
            self._queue_log(message, levelno=levelno, path=path, timestamp_ns=timestamp_ns, attributes=attributes)

    def _queue_log(
        self,
        message: str,
        *,
        levelno: int,
        path: str | None,
        timestamp_ns: int | None,
        attributes: Mapping[str, Any] | None,
    ) -> None:
        span_context = self._spans.context_for(path) if self._spans is not None else None
        now = time.time_ns()
        self._log_queue.append(
            (message, levelno, span_context, timestamp_ns if timestamp_ns is not None else now, now, attributes)
        )
        if len(self._log_queue) > 8192:
            self._wake.set()

    def _emit_logs(self) -> None:
        with self._log_lock:
            while True:
                try:
                    message, levelno, span_context, ts_ns, observed_ns, attributes = self._log_queue.popleft()
                except IndexError:
                    return
                name = logging.getLevelName(levelno)
                context = None
                if span_context is not None:
                    context = trace.set_span_in_context(NonRecordingSpan(span_context))
                self._otel_logger.emit(
                    timestamp=ts_ns,
                    observed_timestamp=observed_ns,
                    context=context,
                    severity_number=severity_of(levelno),
                    severity_text=_SEVERITY_TEXT.get(name, name),
                    body=message,
                    attributes=dict(attributes or {}),
                )

    # -- flushing ----------------------------------------------------------------------------------

    def _on_error(self, what: str, exc: BaseException) -> None:
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
        _log.warning("run %s telemetry: %s", self.run_id, what, exc_info=exc)

    def _wake_flusher(self) -> None:
        self._wake.set()

    def _flush_loop(self) -> None:
        next_metrics = time.monotonic() + self.settings.metrics_interval_s
        while not self._stop.is_set():
            self._wake.wait(self.settings.export_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.flush(metrics=time.monotonic() >= next_metrics)
            if time.monotonic() >= next_metrics:
                next_metrics = time.monotonic() + self.settings.metrics_interval_s

    def flush(self, *, metrics: bool = True) -> None:
        """Write everything buffered so far (spans still open are written when they end)."""
        try:
            self._drain()
            if self._span_processor is not None:
                self._span_processor.export_pending()
            if self._log_processor is not None:
                self._emit_logs()
                self._log_processor.export_pending()
            if metrics and self._metric_reader is not None:
                self._record_measurements()
                self._metric_reader.collect()
        except Exception as exc:
            self._on_error("flush failed", exc)

    def shutdown(self) -> None:
        """End open spans (as interrupted), write everything, close exporters. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()
        with self._drain_lock:
            self._drain()
            if self._spans is not None:
                try:
                    self._spans.close()
                except Exception as exc:
                    self._on_error("closing open spans failed", exc)
        if self._handler is not None:
            self.logger.removeHandler(self._handler)
        self.flush(metrics=True)  # the metric reader has no timer of its own: this is its last collection
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            try:
                provider.shutdown()
            except Exception as exc:
                self._on_error(f"{type(provider).__name__} shutdown failed", exc)

    def __enter__(self) -> RunTelemetry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
