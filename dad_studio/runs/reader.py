"""Reading a run folder back: manifest, events in seq order, latest result per element (RUNS.md).

The event log is the truth; run.json is a convenience that may lag behind it (a killed process never
rewrites it), so the status is derived from the log: `run_completed` says how the run ended, and a
log without it belongs to a live process (`running`) or to one that died (`interrupted`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.runs.common import (
    ARTIFACTS_DIR,
    BLOBS_DIR,
    EVENTS_NAME,
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    RESULT_EVENT_TYPES,
    RunNotFound,
    host_name,
    process_alive,
)
from dad_studio.runs.eventlog import cut_padding, data_end, without_padding

_COMMON_KEYS = frozenset({"seq", "ts", "type", "path"})
_TAIL_BYTES = 1 << 16


@dataclass
class RunRecord:
    """One run as read from its folder."""

    run_id: str
    run_dir: Path
    manifest: dict[str, Any]
    status: str
    events: list[dict[str, Any]] = field(default_factory=list)
    """In seq order; empty when read with `load_events=False`."""
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Hierarchy path -> fields of the latest node_completed / node_loaded / node_skipped event."""
    counts: dict[str, int] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """What was wrong with the log (unreadable lines, gaps in seq); reported, never fatal."""

    def blob_bytes(self, ref: dict[str, Any]) -> bytes:
        """The raw bytes of a `{"$blob": sha, "size": n}` reference."""
        sha = ref.get("$blob") if isinstance(ref, dict) else None
        if not isinstance(sha, str) or not sha.isalnum():
            raise ValueError(f"not a blob reference: {ref!r}")
        try:
            return (self.run_dir / BLOBS_DIR / sha).read_bytes()
        except OSError as exc:
            raise RunNotFound(f"blob {sha} of run {self.run_id} is missing ({exc.strerror})") from exc

    def load_blob(self, ref: dict[str, Any]) -> Any:
        """The value an event field held before it was moved to a blob (blobs of events are JSON)."""
        return json.loads(self.blob_bytes(ref))

    def resolve(self, value: Any) -> Any:
        """`value` with every blob reference in it (at any depth) replaced by the value it stands for."""
        if isinstance(value, dict):
            if is_blob_ref(value):
                return self.load_blob(value)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def is_blob_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 2 and "$blob" in value and "size" in value


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """run.json as a dict; RunNotFound when it is missing or unreadable."""
    path = Path(run_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise RunNotFound(f"no run at {run_dir} (no {MANIFEST_NAME})") from None
    except (OSError, ValueError) as exc:
        raise RunNotFound(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RunNotFound(f"{path} does not hold a JSON object")
    for key in MANIFEST_FIELDS:
        data.setdefault(key, None)
    data["run_id"] = data["run_id"] or Path(run_dir).name
    return data


def parse_events(raw: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """Events in seq order and the problems met; a last line without its newline is torn, ignored,
    and so is the zero tail of a log still open or whose writer was killed (`runs.eventlog`)."""
    lines = without_padding(raw).split(b"\n")
    lines.pop()  # after the last newline: empty, or a line the writer never finished
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    loads = json.loads
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            event = loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
            problems.append(f"line {number}: not an event (no integer seq)")
            continue
        events.append(event)
    if any(events[i]["seq"] >= events[i + 1]["seq"] for i in range(len(events) - 1)):
        events.sort(key=lambda e: e["seq"])
    expected = 1
    for event in events:
        if event["seq"] != expected:
            problems.append(f"seq {expected} is followed by seq {event['seq']}")
        expected = event["seq"] + 1
    return events, problems


def results_of(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest settled result per hierarchy path."""
    results: dict[str, dict[str, Any]] = {}
    for event in events:
        etype = event.get("type")
        if etype in RESULT_EVENT_TYPES:
            record = {k: v for k, v in event.items() if k not in _COMMON_KEYS}
            if etype == "node_skipped":
                record.setdefault("status", "skipped")
            results[event["path"]] = record
    return results


def read_run(run_dir: Path, *, load_events: bool = True) -> RunRecord:
    """Read a run folder; RunNotFound for a missing or unreadable one."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunNotFound(f"no run folder at {run_dir}")
    manifest = read_manifest(run_dir)
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    completed: dict[str, Any] | None = None
    events_path = run_dir / EVENTS_NAME
    if load_events:
        try:
            raw = events_path.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            raise RunNotFound(f"cannot read {events_path}: {exc}") from exc
        events, problems = parse_events(raw)
        completed = next((e for e in reversed(events) if e.get("type") == "run_completed"), None)
    else:
        completed = tail_run_completed(events_path)
    results = results_of(events)
    status = derive_status(manifest, completed)
    if status == "interrupted" and manifest.get("status") in (None, "running") and manifest.get("host") == host_name():
        # its writer died on this host: the log's zero tail (runs.eventlog) is cut, under the writer lock
        cut_padding(events_path)
    counts = _mapping(completed, "counts") or _mapping(manifest, "counts")
    usage = _mapping(completed, "usage") or _mapping(manifest, "usage")
    if load_events and not counts:
        for record in results.values():
            key = str(record.get("status"))
            counts[key] = counts.get(key, 0) + 1
    if load_events and not usage:
        usage = _sum_usage(results)
    return RunRecord(
        run_id=str(manifest["run_id"]),
        run_dir=run_dir,
        manifest=manifest,
        status=status,
        events=events,
        results=results,
        counts=counts,
        usage=usage,
        problems=problems,
    )


def derive_status(manifest: dict[str, Any], completed: dict[str, Any] | None) -> str:
    """`run_completed` decides; without it, a live writer means running, a dead one interrupted."""
    if completed is not None and completed.get("status"):
        return str(completed["status"])
    recorded = manifest.get("status")
    if recorded not in (None, "running"):
        return str(recorded)  # closed by the writer without a run_completed event
    return "running" if process_alive(manifest) else "interrupted"


def tail_run_completed(events_path: Path) -> dict[str, Any] | None:
    """The run_completed event if it is the log's last complete line, reading only the tail."""
    try:
        with open(events_path, "rb") as f:
            size = data_end(f, f.seek(0, os.SEEK_END))
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read(size - f.tell())
    except OSError:
        return None
    end = tail.rfind(b"\n")
    if end < 0:
        return None
    start = tail.rfind(b"\n", 0, end) + 1
    line = tail[start:end]
    if b'"run_completed"' not in line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("type") == "run_completed" else None


def _mapping(source: dict[str, Any] | None, key: str) -> dict[str, Any]:
    value = source.get(key) if source else None
    return dict(value) if isinstance(value, dict) else {}


def _sum_usage(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for record in results.values():
        usage = record.get("usage")
        if isinstance(usage, dict):
            for key, value in usage.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    total[key] = total.get(key, 0) + value
    return total


def find_run(run_root: Path, run_id: str) -> Path:
    """The folder of `run_id` under `run_root`; RunNotFound saying where we looked."""
    run_root = Path(run_root)
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
        raise RunNotFound(f"invalid run id {run_id!r}")
    run_dir = run_root / run_id
    if not (run_dir / MANIFEST_NAME).is_file():
        raise RunNotFound(f"no run {run_id!r} under {run_root}")
    return run_dir


def load_previous_results(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Completed elements of a previous run, blobs resolved: what continuation copies as node_loaded."""
    record = read_run(run_dir)
    return {
        path: record.resolve(result) for path, result in record.results.items() if result.get("status") == "completed"
    }


def copy_artifacts(prev_run_dir: Path, new_run_dir: Path, hier_path: str) -> int:
    """Copy an element's artifact folder (children included) from a previous run; returns files copied.

    Copies rather than hard-links: a node of the new run that rewrites a file in place must not change
    the previous run's record.
    """
    parts = hier_path.split(".")
    if not hier_path or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
        raise ValueError(f"invalid hierarchy path {hier_path!r}")
    source = Path(prev_run_dir).joinpath(ARTIFACTS_DIR, *parts)
    if not source.is_dir():
        return 0
    target = Path(new_run_dir).joinpath(ARTIFACTS_DIR, *parts)
    copied = 0
    for folder, _dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        destination = target / relative
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            dest_file = destination / name
            src_file = Path(folder) / name
            if dest_file.exists() and dest_file.stat().st_size == src_file.stat().st_size:
                continue  # already copied with a parent element
            shutil.copy2(src_file, dest_file)
            copied += 1
    return copied
