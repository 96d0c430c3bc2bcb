"""The append-only event log (events.jsonl) written through a shared memory map.

A `write()` per event was most of what records cost a no-op node: ~3 µs when the loop is idle, 6-9 µs
on average inside a run (the syscall, ext4's block accounting, and the GIL released and taken back
with the records thread beside it). Here an event is a copy into a `MAP_SHARED` window of the file:
the bytes are in the kernel's page cache the moment the copy ends, so a process killed at any instant
(kill -9) loses at most the line being copied, exactly as with `write()`; the kernel writes the pages
back after the process is gone. A power cut is another matter: `--durability power` syncs the map
and fsyncs the file at `node_completed`, as before.

The window is mapped ahead of the data, so the file is longer than its events while the log is open:
the bytes past the last event are zeros (a sparse tail, no disk used). `close` cuts the file to its
data. A log whose writer was killed keeps its zero tail: readers stop at the first NUL byte
(`without_padding`, `data_end`); no JSON line can contain one (a NUL inside a string is written
escaped, as \\u0000). Reopening the log (`--resume`) cuts the torn line and the zeros first, and a
reader that finds the writer dead cuts the zeros (`cut_padding`), so the file is plain JSON lines
again for other tools (jq, tail). The writer holds an exclusive `flock` on the log while it is open:
that is how a reader knows nobody writes past the data any more (a cut under a live writer's map
would kill that writer with SIGBUS at its next line).

Each window's blocks are reserved (`posix_fallocate`) before it is mapped: a copy into a page the
disk has no room for would kill the process with SIGBUS, where a full disk must be an error the run
reports. So the map is used only where that reservation exists (Linux, the BSDs). Elsewhere, and on a
file system that cannot reserve or map (some network and FUSE file systems), the log falls back to
one `write()` per line on its `O_APPEND` descriptor, the way it was written before.
"""

from __future__ import annotations

import errno
import logging
import mmap
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # not POSIX: no writer lock, and no map (so no zero tail to cut either)
    fcntl = None  # type: ignore[assignment]

__all__ = ["WINDOW", "LogFile", "cut_padding", "data_end", "read_appended", "without_padding"]

log = logging.getLogger(__name__)

WINDOW = 1 << 20
"""Bytes mapped at a time (1 MiB: a thousand no-op nodes); the next window is mapped when a line
would cross the end of this one."""
_GRANULARITY = mmap.ALLOCATIONGRANULARITY
_PAGE = mmap.PAGESIZE
_CHUNK = 1 << 16
_CAN_RESERVE = hasattr(os, "posix_fallocate")
_CANNOT_MAP = frozenset(
    getattr(errno, name)
    for name in ("EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EINVAL", "ENODEV", "EACCES")
    if hasattr(errno, name)
)
"""What a file system that cannot reserve blocks or map a file answers: the log writes lines instead."""
LOCK_WAIT_S = 2.0
"""How long a new writer waits for the log's lock: a reader's cut holds it for microseconds."""
_NO_LOCKS = frozenset(
    getattr(errno, name) for name in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS") if hasattr(errno, name)
)
"""What a file system without flock answers."""


class LogFile:
    """Lines appended to one file; used from one thread (the run writer's)."""

    __slots__ = ("_base", "_end", "_fd", "_limit", "_map", "mapped")

    def __init__(self, path: Path) -> None:
        """Open the log, creating it; an existing one first loses what a killed writer left after its
        last whole line (the window's zeros, a partial line), so appending starts on a fresh line."""
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        try:
            _take_writer_lock(fd, path)  # released when the descriptor closes
            _cut_tail(fd, torn_line=True)
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        self._end = os.fstat(fd).st_size
        """Where the next line goes: the end of the data (the file's size once closed)."""
        self._map: mmap.mmap | None = None
        self._base = 0
        self._limit = 0
        self.mapped = False
        """Whether lines go through the map (False: one `write()` each, the fallback)."""
        if _CAN_RESERVE:
            self.mapped = True
            try:
                self._move_window(0)
            except BaseException:
                self.close()
                raise

    def append(self, data: bytes) -> None:
        """Add one line (`data` ends with a newline). Durable against kill -9 when it returns."""
        end = self._end + len(data)
        if self.mapped:
            if end > self._limit:
                self._move_window(len(data))
            mapping = self._map
            if mapping is not None:
                base = self._base
                mapping[self._end - base : end - base] = data
                self._end = end
                return
        fd = self._fd
        if fd is None:
            raise ValueError("append to a closed event log")
        view = memoryview(data)
        while view:  # regular files write everything unless the disk is full; be sure
            view = view[os.write(fd, view) :]
        self._end = end

    def sync(self) -> None:
        """Make every line so far durable against a power cut (the map's pages, then the file)."""
        if self._map is not None:
            self._map.flush()
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        """Unmap, cut the file to its data and close it; a second call does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._map is not None:
                self._map.close()
                self._map = None
            if self.mapped:
                os.ftruncate(fd, self._end)
        finally:
            os.close(fd)

    def _move_window(self, need: int) -> None:
        """Map a window that starts at the data's end (rounded down as mmap requires) and holds at
        least `need` more bytes, its blocks reserved first (a full disk raises OSError here). A file
        system that cannot do either gets lines written from now on."""
        fd = self._fd
        if fd is None:
            raise ValueError("append to a closed event log")
        if self._map is not None:
            self._map.close()
            self._map = None
        base = self._end - self._end % _GRANULARITY
        size = max(WINDOW, -(-(self._end - base + need) // _PAGE) * _PAGE)
        try:
            os.posix_fallocate(fd, base, size)  # also makes the file that long
            self._map = mmap.mmap(fd, size, offset=base)
        except OSError as exc:
            self.mapped = False
            os.ftruncate(fd, self._end)  # no reserved tail: appends go right after the data
            if exc.errno not in _CANNOT_MAP:
                raise
            return
        self._base = base
        self._limit = base + size


def without_padding(raw: bytes) -> bytes:
    """The log's text without the zero tail of a log whose writer is still open or was killed."""
    cut = raw.find(b"\0")
    return raw if cut < 0 else raw[:cut]


def data_end(f: BinaryIO, size: int) -> int:
    """The offset just past the log's last non-zero byte (its size when it has no zero tail): the tail
    can be up to a window of zeros."""
    return _scan_back(f, size, lambda block: len(block.rstrip(b"\0")))


def _scan_back(f: BinaryIO, end: int, found: Callable[[bytes], int]) -> int:
    """Read backwards from `end` in chunks until `found(chunk)` is not 0: the offset it points at
    (`found` returns a position within the chunk plus one); 0 when no chunk has it."""
    while end > 0:
        start = max(0, end - _CHUNK)
        f.seek(start)
        at = found(f.read(end - start))
        if at:
            return start + at
        end = start
    return 0


def _cut_tail(fd: int, *, torn_line: bool) -> bool:
    """Cut the log open at `fd` after its data (the zero tail a killed writer left), and with
    `torn_line` also after its last newline (a line the writer never finished); True when it was cut."""
    with open(fd, "rb", closefd=False) as f:
        size = f.seek(0, os.SEEK_END)
        end = data_end(f, size)
        if torn_line:
            end = _scan_back(f, end, lambda block: block.rfind(b"\n") + 1)
    if end == size:
        return False
    os.ftruncate(fd, end)
    return True


def _take_writer_lock(fd: int, path: Path) -> None:
    """Hold the log's exclusive flock (see the module docstring). Another writer holding it is an
    error; a file system without locks is not (the log is written as before, never cut by readers)."""
    if fcntl is None:
        return
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise BlockingIOError(errno.EWOULDBLOCK, f"another process is writing {path}") from None
            time.sleep(0.01)
        except OSError as exc:
            if exc.errno in _NO_LOCKS:
                return
            raise


def cut_padding(path: Path) -> bool:
    """Cut the zero tail that a killed writer left after its last line, if no writer holds the log;
    True when something was cut. For a reader that has found the writer dead: the file becomes plain
    JSON lines again. A partial last line stays (readers skip it; `--resume` cuts it). Best effort: a
    log that cannot be opened for writing (read-only copy, another owner) or locked is left as it is,
    and readers still stop at its first NUL byte."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live writer (or a file system without locks): no
        return _cut_tail(fd, torn_line=False)
    except OSError as exc:
        log.debug("left the zero tail of %s: %s", path, exc)
        return False
    finally:
        os.close(fd)  # and with it the lock


def read_appended(path: Path, offset: int) -> tuple[bytes, int] | None:
    """The whole lines of the log from `offset` on, and the offset just after them (what a follower of
    a live log reads each time it looks); a partial last line and the zero tail wait for later. None
    when the file is now shorter than `offset` (it was rewritten: start again from 0). A log not
    created yet has no lines."""
    try:
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) < offset:
                return None
            f.seek(offset)
            raw = without_padding(f.read())
    except FileNotFoundError:
        return b"", offset
    end = raw.rfind(b"\n") + 1
    return raw[:end], offset + end
