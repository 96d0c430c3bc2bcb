"""events.jsonl through a shared memory map (dad_studio.runs.eventlog): what readers see while the log
is open, after its writer is killed, and after it is closed; the window moving on; the fallback."""

from __future__ import annotations

import errno
import json
import mmap
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dad_studio.runs import RunIndex, RunWriter, read_run
from dad_studio.runs import eventlog as eventlog_module
from dad_studio.runs.eventlog import LogFile, data_end, without_padding
from dad_studio.runs.reader import tail_run_completed
from dad_studio.runs.replay import Replay
from dad_studio.runs.testing import EventLog

needs_map = pytest.mark.skipif(
    not hasattr(os, "posix_fallocate"), reason="the log is mapped only where blocks can be reserved (Linux, BSD)"
)


def _lines(n: int, width: int = 100) -> list[bytes]:
    return [json.dumps({"seq": i, "pad": "x" * (width + i % 37)}).encode() + b"\n" for i in range(1, n + 1)]


@needs_map
def test_lines_cross_window_ends_and_the_closed_file_is_exactly_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventlog_module, "WINDOW", mmap.PAGESIZE)  # a new window every page or so
    path = tmp_path / "events.jsonl"
    log = LogFile(path)
    assert log.mapped
    lines = _lines(300)
    big = b'{"seq": 301, "big": "' + b"y" * (3 * mmap.PAGESIZE) + b'"}\n'  # longer than a window
    for line in [*lines, big]:
        log.append(line)
    assert path.stat().st_size > sum(map(len, lines)) + len(big)  # mapped ahead: a zero tail
    assert without_padding(path.read_bytes()) == b"".join(lines) + big  # readers see every line now
    log.close()
    assert path.read_bytes() == b"".join(lines) + big
    log.close()  # a second close does nothing

    again = LogFile(path)  # appending to an existing log (resume) starts at its end
    again.append(b'{"seq": 302}\n')
    again.close()
    assert path.read_bytes().endswith(big + b'{"seq": 302}\n')


@pytest.mark.parametrize("why", ["no posix_fallocate", "mmap refused"])
def test_a_log_that_cannot_be_mapped_gets_one_write_per_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    """macOS and Windows have no posix_fallocate (a mapped page without reserved blocks could SIGBUS);
    a file system without shared maps refuses mmap."""
    if why == "no posix_fallocate":
        monkeypatch.setattr(eventlog_module, "_CAN_RESERVE", False)
    else:

        def refuse(*args: object, **kwargs: object) -> mmap.mmap:
            raise OSError(19, "No such device")  # what a file system without shared maps answers

        monkeypatch.setattr(eventlog_module.mmap, "mmap", refuse)
    path = tmp_path / "events.jsonl"
    log = LogFile(path)
    assert not log.mapped
    lines = _lines(50)
    for line in lines:
        log.append(line)
        assert path.stat().st_size == sum(map(len, lines[: lines.index(line) + 1]))  # no zero tail, ever
    assert path.read_bytes() == b"".join(lines)  # written as they come
    log.sync()
    log.close()
    assert path.read_bytes() == b"".join(lines)
    with pytest.raises(ValueError, match="closed"):
        log.append(b"{}\n")


def test_data_end_skips_a_zero_tail_longer_than_a_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc\n" + b"\0" * (3 * (1 << 16) + 5))
    with open(path, "rb") as f:
        assert data_end(f, path.stat().st_size) == 4
    path.write_bytes(b"\0" * 10)
    with open(path, "rb") as f:
        assert data_end(f, 10) == 0
    assert without_padding(b"a\nb\0\0") == b"a\nb" and without_padding(b"a\n") == b"a\n"


def _open_run(run_dir: Path) -> tuple[RunWriter, EventLog]:
    writer = RunWriter(run_dir)
    writer.open({"root_component_id": "main"}, b"{}")
    log = EventLog(writer)
    log.emit("run_started", "main", run_id=run_dir.name, root_component_id="main", variables={})
    return writer, log


@needs_map
def test_readers_of_a_live_log_see_every_event_and_nothing_of_its_zero_tail(tmp_path: Path) -> None:
    run_root = tmp_path / "runs"
    run_dir = run_root / "run_live"
    writer, log = _open_run(run_dir)
    log.node("main.a")
    assert (run_dir / "events.jsonl").stat().st_size >= eventlog_module.WINDOW  # the window is mapped

    record = read_run(run_dir)
    assert record.status == "running" and record.problems == [] and record.events == log.written
    replay = Replay(run_dir)
    assert len(replay) == len(log.written)
    with RunIndex(run_root) as index:
        (row,) = index.list()
        assert row["status"] == "running" and row["counts"] == {"completed": 1}
        size = (run_dir / "events.jsonl").stat().st_size
        log.node("main.b")  # the log grows inside its window: the file's size does not change
        assert (run_dir / "events.jsonl").stat().st_size == size
        (row,) = index.list()  # a running run is read again all the same
        assert row["counts"] == {"completed": 2}
        assert [r["path"] for r in index.node_results("run_live")] == ["main.a", "main.b"]
    assert replay.refresh() == 2 and len(replay) == len(log.written)

    log.emit("run_completed", "main", status="completed", counts={"completed": 2}, usage={}, duration_ms=1.0)
    completed = tail_run_completed(run_dir / "events.jsonl")  # found before the zero tail
    assert completed is not None and completed["status"] == "completed"
    assert read_run(run_dir, load_events=False).status == "completed"
    writer.close()
    assert (run_dir / "events.jsonl").read_bytes().endswith(b"}\n")  # cut to its lines


KILLED_CHILD = r"""
import os, signal, sys
from pathlib import Path
from dad_studio.runs import RunWriter
from dad_studio.runs.testing import EventLog

writer = RunWriter(Path(sys.argv[1]))
writer.open({"root_component_id": "main"}, b"{}")
log = EventLog(writer)
log.emit("run_started", "main", run_id="run_killed", root_component_id="main", variables={})
log.node("main.a")
assert writer._log is not None and writer._log.mapped
writer._log.append(b'{"seq": 4, "ts": "x", "type": "node_sta')  # killed in the middle of a line
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_map
def test_a_killed_writers_log_reads_back_and_reopening_cuts_the_torn_line_and_the_zeros(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_killed"
    child = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(run_dir)], capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    raw = (run_dir / "events.jsonl").read_bytes()
    assert b'"node_sta' in raw and raw.endswith(b"\0" * 100)  # the torn line, then the window's zeros

    record = read_run(run_dir)
    assert record.status == "interrupted" and record.problems == []
    assert [e["seq"] for e in record.events] == [1, 2, 3]
    # the reader found the writer dead and cut the zeros (under the writer lock, free now): plain JSON
    # lines again for other tools, the torn line kept as a killed write() would have left it
    raw = (run_dir / "events.jsonl").read_bytes()
    assert b"\0" not in raw and raw.endswith(b'"type": "node_sta')
    assert [json.loads(line)["seq"] for line in raw.splitlines()[:-1]] == [1, 2, 3]
    assert Replay(run_dir).status == "interrupted" and len(Replay(run_dir)) == 3
    with RunIndex(tmp_path) as index:
        (row,) = index.list()
        assert row["status"] == "interrupted" and row["counts"] == {"completed": 1}

    again = RunWriter(run_dir)
    again.open({"root_component_id": "main"}, b"{}")  # what --resume does to the old folder's log
    again.append({"seq": 4, "ts": "t", "type": "log", "path": "main", "level": "info", "message": "resumed"})
    again.close(status="completed")
    record = read_run(run_dir)
    assert [e["seq"] for e in record.events] == [1, 2, 3, 4] and record.problems == []
    assert b"\0" not in (run_dir / "events.jsonl").read_bytes()


@needs_map
def test_a_live_writer_keeps_its_log_whole_even_when_its_run_looks_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zero tail is cut only under the writer's flock: a reader that takes a live run for a dead
    one (a wrong pid in run.json) must not cut the file under the writer's map (SIGBUS at its next
    line). And one log has one writer at a time."""
    run_dir = tmp_path / "run_alive"
    writer, log = _open_run(run_dir)
    log.node("main.a")
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["pid"] = 2**22 + 12345  # no such process: the run reads as interrupted
    (run_dir / "run.json").write_text(json.dumps(manifest))
    size = (run_dir / "events.jsonl").stat().st_size
    assert read_run(run_dir).status == "interrupted"
    assert (run_dir / "events.jsonl").stat().st_size == size  # not cut: the writer holds the lock
    assert eventlog_module.cut_padding(run_dir / "events.jsonl") is False

    monkeypatch.setattr(eventlog_module, "LOCK_WAIT_S", 0.05)
    with pytest.raises(BlockingIOError, match="another process is writing"):
        LogFile(run_dir / "events.jsonl")
    log.node("main.b")  # the writer goes on through its map
    writer.close()
    raw = (run_dir / "events.jsonl").read_bytes()
    assert b"\0" not in raw and [json.loads(line)["type"] for line in raw.splitlines()][-1] == "node_completed"
    assert eventlog_module.cut_padding(run_dir / "events.jsonl") is False  # closed: nothing to cut


@needs_map
def test_a_full_disk_is_an_error_of_the_append_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's blocks are reserved before it is mapped: no room is an OSError the run reports
    (a copy into an unbacked page would be a SIGBUS), and the lines so far stay whole."""
    monkeypatch.setattr(eventlog_module, "WINDOW", mmap.PAGESIZE)
    path = tmp_path / "events.jsonl"
    log = LogFile(path)
    lines = _lines(10)
    for line in lines:
        log.append(line)
    real = os.posix_fallocate

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(eventlog_module.os, "posix_fallocate", full)
    more = _lines(200)
    done = 0
    with pytest.raises(OSError, match="No space"):
        for line in more:
            log.append(line)
            done += 1
    assert done < len(more)
    monkeypatch.setattr(eventlog_module.os, "posix_fallocate", real)
    log.close()
    assert path.read_bytes() == b"".join(lines + more[:done])  # every line appended, whole, no zeros


@needs_map
def test_a_file_system_that_cannot_reserve_a_later_window_gets_lines_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventlog_module, "WINDOW", mmap.PAGESIZE)
    path = tmp_path / "events.jsonl"
    log = LogFile(path)
    lines = _lines(200)
    for line in lines[:10]:
        log.append(line)

    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(eventlog_module.os, "posix_fallocate", unsupported)
    for line in lines[10:]:
        log.append(line)
    assert not log.mapped
    assert path.read_bytes() == b"".join(lines)  # written, not mapped: no zero tail while open
    log.close()
    assert path.read_bytes() == b"".join(lines)
