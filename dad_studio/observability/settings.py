"""What a run records about itself: which signals, where they go, how chatty the logs are."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ObservabilitySettings(BaseModel):
    """Per-run telemetry switches; the CLI maps `--otlp-endpoint` and `--log-level` onto these fields."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Master switch: False records no telemetry at all (the engine then attaches no sink)."""
    traces: bool = True
    metrics: bool = True
    logs: bool = True
    otlp_endpoint: str | None = None
    """Base URL of an OTLP/HTTP receiver (e.g. http://127.0.0.1:4318); /v1/traces, /v1/metrics and
    /v1/logs are appended. None: only the JSONL files in the run folder."""
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    otlp_timeout_s: float = 5.0
    """Per-request timeout of the OTLP/HTTP export, so an unreachable collector cannot hold a run's end."""
    log_level: str = "INFO"
    export_interval_s: float = 5.0
    """How often buffered spans and logs are written while the run goes on (and metrics every
    `metrics_interval_s`); everything left is written at shutdown."""
    metrics_interval_s: float = 30.0

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]
