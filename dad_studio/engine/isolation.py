"""IsolatedExecution: a run that leaves the process as it found it — for ONE run at a time.

The engine itself never changes the working directory or the environment (two runs may share a
process), but nodes may: a `python` callable that calls os.chdir, a plugin that sets a variable.
On exit, normal or not, whatever changed is put back, and the run's records are flushed and closed.

What is and is not isolated (read this before using it with concurrent runs):

- The working directory and `os.environ` are process-wide state. On entry the block takes a snapshot
  of both; on exit it restores that snapshot — whoever made the changes. Nothing is isolated *during*
  the block: a node's `os.chdir` or `os.environ[...] = ...` is seen at once by every other run, node
  and thread of the process (and by the command nodes they start, which inherit both).
- With several runs in one process (a batch of concurrent runs in one event loop, the studio running
  two flows), blocks overlap: when run A's block exits it restores A's entry snapshot, which undoes
  a change run B made mid-run (B may then lose its working directory or a variable it set), and
  re-adds or removes variables that B is relying on. Restoring is therefore only correct when no
  other run in the process is in progress. For concurrent runs, use one process per run (the
  `batch` Ray/process backends) or nodes that do not touch process-wide state (command nodes take
  `working_dir` and `env` settings instead of chdir/putenv).
- Not restored at all: anything else a node changes in the process (sys.path, sys.modules, the
  umask, signal handlers, module globals, the default asyncio executor, open files, threads it
  started, child processes it left running), and files it wrote outside the run folder.
- What the block does guarantee: its runs' records are closed (run.json final, index written and
  its connection closed) when it exits, whatever ended it.
"""

from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import Any

from dad_studio.engine.run_context import RunContext
from dad_studio.engine.runner import ComponentRunner, RunResult

__all__ = ["IsolatedExecution"]


class IsolatedExecution:
    """`async with IsolatedExecution(run_context) as execution: result = await execution.run(runner)`."""

    def __init__(self, run_context: RunContext) -> None:
        self.run_context = run_context
        self._environ: dict[str, str] | None = None
        self._cwd: str | None = None
        self._runners: list[ComponentRunner] = []

    async def __aenter__(self) -> IsolatedExecution:
        self._environ = dict(os.environ)
        self._cwd = os.getcwd()
        if self.run_context.run_id is None:
            self.run_context.setup_run()
        return self

    async def run(self, runner: ComponentRunner) -> RunResult:
        if runner.run_context is not self.run_context:
            raise ValueError("the runner was built with a different RunContext than this IsolatedExecution")
        self._runners.append(runner)
        return await runner.run()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._restore()
        for runner in self._runners:
            state = runner.state
            if state is not None and state.recorder is not None:
                recorder = state.recorder
                recorder.close(status=_status_for(exc_type))
                # Everything the run wrote is finished when the block ends (index connection closed too).
                await asyncio.get_running_loop().run_in_executor(None, recorder.wait_closed)

    def _restore(self) -> None:
        if self._cwd is not None and os.getcwd() != self._cwd:
            os.chdir(self._cwd)
        if self._environ is not None:
            saved = self._environ
            for key in [k for k in os.environ if k not in saved]:
                del os.environ[key]
            for key, value in saved.items():
                if os.environ.get(key) != value:
                    os.environ[key] = value


def _status_for(exc_type: Any) -> str:
    if exc_type is None:
        return "completed"
    if isinstance(exc_type, type) and issubclass(exc_type, asyncio.CancelledError):
        return "cancelled"
    return "failed"
