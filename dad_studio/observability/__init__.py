"""dad_studio.observability: per-run OpenTelemetry traces, metrics and logs, built from run events.

The engine feeds `RunTelemetry.on_event` with every event; nothing in the engine knows what the
telemetry does with them. `UsageAggregator` sums usage for run.json and the index; `read_spans`,
`read_logs` and `read_metrics` read a run folder's OTLP/JSON files back.
"""

from dad_studio.observability.otlp_json import iter_requests, parse_line, read_logs, read_metrics, read_spans
from dad_studio.observability.settings import ObservabilitySettings
from dad_studio.observability.telemetry import RunTelemetry
from dad_studio.observability.usage import UsageAggregator

__all__ = [
    "ObservabilitySettings",
    "RunTelemetry",
    "UsageAggregator",
    "iter_requests",
    "parse_line",
    "read_logs",
    "read_metrics",
    "read_spans",
]
