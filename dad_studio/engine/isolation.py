"""IsolatedExecution: runs that leave the process as they found it.

The engine itself never changes the working directory or the environment (two runs may share a
process), but nodes may: a `python` callable that calls os.chdir, a plugin that sets a variable.
On exit, normal or not, whatever changed is put back, and the run's records are flushed and closed.

What is and is not isolated:

- The working directory and `os.environ` are process-wide state, so their isolation is per process:
  the first block to enter (when no other is open) takes a snapshot of both, and the last block to
  leave restores it, whoever made the changes. Blocks that overlap (a batch of concurrent runs in one
  event loop, the studio running two flows) therefore never undo each other's changes mid-run: when
  run A's block exits while run B's is still open, nothing is restored yet; when B's exits, the
  process is put back as it was before A started.
- Nothing is isolated *during* the blocks: a node's `os.chdir` or `os.environ[...] = ...` is seen at
  once by every other run, node and thread of the process (and by the command nodes they start, which
  inherit both). For runs that must not see each other's changes, use one process per run (the
  `batch` Ray/process backends) or nodes that do not touch process-wide state (command nodes take
  `working_dir` and `env` settings instead of chdir/putenv).
- Not restored at all: anything else a node changes in the process (sys.path, sys.modules, the
  umask, signal handlers, module globals, the default asyncio executor, open files, threads it
  started, child processes it left running), and files it wrote outside the run folder.
- What each block guarantees on its own: its runs' records are closed (run.json final, index written
  and its connection closed) when it exits, whatever ended it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from types import TracebackType
from typing import Any

from dad_studio.engine.run_context import RunContext
from dad_studio.engine.runner import ComponentRunner, RunResult

__all__ = ["IsolatedExecution"]


class _ProcessState:
    """The process's working directory and environment, saved by the first open block and restored by
    the last one to close (one per process: the state it guards is)."""

    def __init__(self) -> None:
        self.open_blocks = 0
        self.environ: dict[str, str] = {}
        self.cwd = ""
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            if self.open_blocks == 0:
                self.environ = dict(os.environ)
                self.cwd = os.getcwd()
            self.open_blocks += 1

    def leave(self) -> None:
        with self.lock:
            self.open_blocks -= 1
            if self.open_blocks:
                return  # another run is still going on: its changes stay until it ends too
            saved, cwd = self.environ, self.cwd
            self.environ, self.cwd = {}, ""
        if os.getcwd() != cwd:
            os.chdir(cwd)
        for key in [k for k in os.environ if k not in saved]:
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


_PROCESS = _ProcessState()


class IsolatedExecution:
    """`async with IsolatedExecution(run_context) as execution: result = await execution.run(runner)`."""

    def __init__(self, run_context: RunContext) -> None:
        self.run_context = run_context
        self._entered = False
        self._runners: list[ComponentRunner] = []

    async def __aenter__(self) -> IsolatedExecution:
        if self._entered:
            raise RuntimeError("an IsolatedExecution block is entered once")
        if self.run_context.run_id is None:
            self.run_context.setup_run()
        _PROCESS.enter()
        self._entered = True
        return self

    async def run(self, runner: ComponentRunner) -> RunResult:
        if runner.run_context is not self.run_context:
            raise ValueError("the runner was built with a different RunContext than this IsolatedExecution")
        self._runners.append(runner)
        return await runner.run()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._entered:
            self._entered = False
            _PROCESS.leave()
        for runner in self._runners:
            state = runner.state
            if state is not None and state.recorder is not None:
                recorder = state.recorder
                recorder.close(status=_status_for(exc_type))
                # Everything the run wrote is finished when the block ends (index connection closed too).
                await recorder.aclosed()


def _status_for(exc_type: Any) -> str:
    if exc_type is None:
        return "completed"
    if isinstance(exc_type, type) and issubclass(exc_type, asyncio.CancelledError):
        return "cancelled"
    return "failed"
