"""Batch progress on stderr: a rich progress bar on a terminal, a plain line now and then otherwise.

Both show rows done / total, failed rows, rows per second and the time left. Rows skipped because a
previous session finished them count as done from the start and do not inflate the rate.
"""

from __future__ import annotations

import time
from typing import IO, Any

from dad_studio.batch.job import RowResult

__all__ = ["BatchProgress", "NullProgress", "PlainProgress", "RichProgress", "make_progress"]


class BatchProgress:
    """Counts shared by every display; subclasses decide how (and how often) to show them."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.failed = 0
        self.not_passed = 0
        self.ran = 0
        self.t0 = time.monotonic()

    def start(self, batch_id: str, total: int, already_done: int, already_failed: int = 0) -> None:
        self.batch_id = batch_id
        self.total = total
        self.done = already_done
        self.failed = already_failed
        self.t0 = time.monotonic()

    def advance(self, result: RowResult) -> None:
        self.done += 1
        self.ran += 1
        if result.status != "completed":
            self.failed += 1
        if not result.passed:
            self.not_passed += 1
        self.show(final=False)

    def finish(self) -> None:
        self.show(final=True)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.t0
        return self.ran / elapsed if elapsed > 0 else 0.0

    def eta_s(self) -> float | None:
        rate = self.rate()
        return (self.total - self.done) / rate if rate > 0 else None

    def line(self) -> str:
        eta = self.eta_s()
        eta_text = "-" if eta is None else f"{eta:.0f}s"
        return (
            f"batch {self.batch_id}: {self.done}/{self.total} done, {self.failed} failed, "
            f"{self.not_passed} not passed, {self.rate():.1f} rows/s, ETA {eta_text}"
        )

    def show(self, *, final: bool) -> None:
        """Display the counts; `final` once at the end."""


class NullProgress(BatchProgress):
    """No display (library callers, tests)."""


class PlainProgress(BatchProgress):
    """One line every `interval` seconds and at the end: for pipes, logs and CI."""

    def __init__(self, stream: IO[str], interval: float = 2.0) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        self._last = 0.0

    def show(self, *, final: bool) -> None:
        now = time.monotonic()
        if final or now - self._last >= self.interval:
            self._last = now
            print(self.line(), file=self.stream, flush=True)


class RichProgress(BatchProgress):
    """A rich progress bar (transient: the summary replaces it at the end)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task: Any = None

    def start(self, batch_id: str, total: int, already_done: int, already_failed: int = 0) -> None:
        super().start(batch_id, total, already_done, already_failed)
        self._progress.start()
        self._task = self._progress.add_task(f"batch {batch_id}", total=total, completed=already_done, extra="")

    def show(self, *, final: bool) -> None:
        if self._task is None:
            return
        extra = f"{self.failed} failed, {self.not_passed} not passed, {self.rate():.1f} rows/s"
        self._progress.update(self._task, completed=self.done, extra=extra)
        if final:
            self._progress.stop()


def make_progress(stream: IO[str]) -> BatchProgress:
    return RichProgress(stream) if stream.isatty() else PlainProgress(stream)
