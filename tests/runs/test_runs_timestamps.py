"""One timestamp form in run.json and events.jsonl (RUNS.md: UTC, microseconds); readers take both."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from dad_studio.engine.events import Clock, utc_now
from dad_studio.runs import RunWriter
from dad_studio.runs.common import parse_utc, utc_timestamp
from dad_studio.runs.retention import select_for_deletion
from dad_studio.runs.testing import EventLog

FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def test_runs_timestamps_have_the_engine_event_form() -> None:
    for text in (utc_timestamp(), Clock().now(), utc_now()):
        assert FORM.match(text), text
    moment = dt.datetime(2025, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_timestamp(moment) == "2025-05-01T12:00:00.123456+00:00"
    assert utc_timestamp(dt.datetime(2025, 5, 1, 12, 0)) == "2025-05-01T12:00:00.000000+00:00"  # naive = UTC


def test_runs_manifest_and_events_use_one_form(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run_x")
    writer.open({"root_component_id": "main"}, b"{}")
    log = EventLog(writer)
    log.emit("run_started", "main", run_id="run_x", root_component_id="main", previous_run_id=None, variables={})
    writer.close(status="completed")
    manifest = json.loads((tmp_path / "run_x" / "run.json").read_text())
    assert FORM.match(manifest["started_at"]) and FORM.match(manifest["ended_at"])
    event = json.loads((tmp_path / "run_x" / "events.jsonl").read_text().splitlines()[0])
    assert FORM.match(event["ts"])


def test_runs_parse_utc_reads_both_forms() -> None:
    expected = dt.datetime(2025, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert parse_utc("2025-05-01T12:00:00.123456Z") == expected
    assert parse_utc("2025-05-01T12:00:00.123456+00:00") == expected
    assert parse_utc("2025-05-01T12:00:00.123456") == expected  # naive: UTC
    assert parse_utc(utc_timestamp(expected)) == expected
    for bad in (None, "", "yesterday", 5):
        assert parse_utc(bad) is None


def test_runs_retention_orders_mixed_forms_by_time() -> None:
    manifests = [
        {"run_id": "old", "started_at": "2025-01-01T00:00:00.000000Z"},
        {"run_id": "new", "started_at": "2025-01-03T00:00:00.000000+00:00"},
        {"run_id": "mid", "started_at": "2025-01-02T00:00:00.000000Z"},
    ]
    doomed = select_for_deletion(manifests, keep_last=2)
    assert doomed == ["old"]
