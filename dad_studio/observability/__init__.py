"""dad_studio.observability: per-run OpenTelemetry traces, metrics and logs."""
