"""Shared pieces of the run store: file names, JSON encoding, atomic writes, run ids, process liveness.

Kept apart from the writer and the reader so both agree on the same encoding and names (RUNS.md).
"""

from __future__ import annotations

import datetime as _dt
import json
import json.encoder
import os
import secrets as _secrets
import socket
import sys
from pathlib import Path
from typing import Any

import orjson as _orjson

from dad_studio import __version__

BLOB_THRESHOLD = 64 * 1024
"""A field whose serialized JSON is longer than this (in bytes) is stored in `blobs/<sha256>`."""

MANIFEST_NAME = "run.json"
FLOW_SNAPSHOT_NAME = "flow.dad.json"
EVENTS_NAME = "events.jsonl"
BLOBS_DIR = "blobs"
ARTIFACTS_DIR = "artifacts"
INDEX_NAME = "index.sqlite"

MANIFEST_FIELDS: tuple[str, ...] = (
    "run_id",
    "status",
    "root_component_id",
    "flow_file",
    "flow_sha256",
    "started_at",
    "ended_at",
    "previous_run_id",
    "start_hierarchy_path",
    "variables",
    "pid",
    "host",
    "dad_studio_version",
    "counts",
    "usage",
)
"""The manifest keys RUNS.md names; `open` fills in every one, so readers never meet a missing key."""

RESULT_EVENT_TYPES = frozenset({"node_completed", "node_loaded", "node_skipped"})
"""Events that settle an element's result (the latest one per hierarchy path wins)."""

REDACTED = "***"


class RunNotFound(LookupError):
    """No readable run at that place; the message says where we looked."""


_orjson_dumps = _orjson.dumps
_ORJSON_OPTIONS = _orjson.OPT_NON_STR_KEYS
_LINE_OPTIONS = _orjson.OPT_NON_STR_KEYS | _orjson.OPT_APPEND_NEWLINE


def _slow_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes. orjson does it in ~1 µs for a small event, against ~10 µs for the stdlib;
    what orjson refuses (integers beyond 64 bits, NaN kept as-is by the stdlib) takes the portable path."""
    try:
        return _orjson_dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except (_orjson.JSONEncodeError, TypeError):
        return _slow_dumps(value).encode()


def dumps_line(value: Any) -> bytes:
    """`dumps_bytes(value) + b"\\n"`, the newline written by orjson (no second copy of the bytes)."""
    try:
        return _orjson_dumps(value, default=_json_default, option=_LINE_OPTIONS)
    except (_orjson.JSONEncodeError, TypeError):
        return _slow_dumps(value).encode() + b"\n"


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def _json_default(obj: Any) -> Any:
    # A value the engine forgot to turn into JSON must not kill the run's record: convert the known
    # kinds faithfully, and anything else to its repr (visible in the log, never silently dropped).
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    if isinstance(obj, _dt.datetime | _dt.date | _dt.time):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).decode("utf-8", errors="replace")
    return repr(obj)


def utc_timestamp(now: _dt.datetime | None = None) -> str:
    """UTC with microseconds, e.g. `2025-05-01T12:00:00.123456+00:00`: the `ts` the engine's event
    clock writes (RUNS.md), so run.json and events.jsonl read alike. A naive `now` is taken as UTC.
    Readers take the older `...Z` form too (`parse_utc`)."""
    moment = now or _dt.datetime.now(_dt.UTC)
    moment = moment.astimezone(_dt.UTC) if moment.tzinfo is not None else moment.replace(tzinfo=_dt.UTC)
    return moment.isoformat(timespec="microseconds")


def parse_utc(value: object) -> _dt.datetime | None:
    """An aware datetime from a run's timestamp (`...+00:00`, or the older `...Z`); None when absent
    or unreadable. A naive timestamp is taken as UTC, as every writer of run records uses UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.UTC)


def new_run_id(prefix: str | None = None, *, rerun: bool = False, now: _dt.datetime | None = None) -> str:
    """`[<prefix>_](run|rerun)_<YYYYmmdd_HHMMSS>_<6 hex>`; local time, since people read folder names."""
    if prefix is not None and (not prefix or "/" in prefix or "\\" in prefix or prefix.startswith(".")):
        raise ValueError(f"invalid run id prefix {prefix!r}")
    moment = now or _dt.datetime.now()
    stem = f"{'rerun' if rerun else 'run'}_{moment.strftime('%Y%m%d_%H%M%S')}_{_secrets.token_hex(3)}"
    return f"{prefix}_{stem}" if prefix else stem


def atomic_write(path: Path, data: bytes, *, fsync: bool = True, sweep_stale: bool = True) -> None:
    """Write temp, fsync, rename: a reader sees the old file or the new one, never half of either.

    The one implementation is `dad_studio.fileformat.canonical.write_atomic`, imported here on
    first use: `dad_studio.runs` alone (`runs list`, the index, retention) must not pay the flow-file
    package's import (~0.4 s with pydantic and the model); the engine, which writes runs, has it loaded.
    """
    from dad_studio.fileformat.canonical import write_atomic

    write_atomic(path, data, fsync=fsync, sweep_stale=sweep_stale)


def host_name() -> str:
    return socket.gethostname()


def process_identity() -> dict[str, Any]:
    """pid, host and the process start time (Linux), so a recycled pid is not taken for our run."""
    identity: dict[str, Any] = {"pid": os.getpid(), "host": host_name(), "dad_studio_version": __version__}
    start = _process_start(os.getpid())
    if start is not None:
        identity["pid_start"] = start
    return identity


def _process_start(pid: int) -> str | None:
    stat = _proc_stat(pid)
    if stat is None or len(stat) < 20:
        return None
    return stat[19]  # field 22 of /proc/<pid>/stat: start time in clock ticks since boot


def _proc_stat(pid: int) -> list[str] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    return raw[raw.rfind(")") + 2 :].split()


def process_alive(manifest: dict[str, Any]) -> bool:
    """Whether the process that wrote this manifest is still running on this host."""
    pid = manifest.get("pid")
    if not isinstance(pid, int) or pid <= 0 or manifest.get("host") != host_name():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is not None:
        if stat[0] in ("Z", "X"):
            return False  # a zombie has ended; only its parent has not reaped it yet
        recorded = manifest.get("pid_start")
        if recorded is not None and len(stat) >= 20 and stat[19] != recorded:
            return False  # the pid now belongs to another process
    return True
