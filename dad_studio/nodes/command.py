"""The ``command`` node: run shell commands as asyncio subprocesses, never blocking the loop.

Each command runs in its own session (``start_new_session=True``) so that a timeout, or the node
being cancelled, kills the whole process group: children and grandchildren alike (SIGTERM, then
SIGKILL after a short grace). ``timeout_s`` applies to each command; a command whose output pipe is
still held open by a background child counts as running until the pipe closes or the timeout hits.

Output is read incrementally and capped: the first and last ``CAPTURE_BYTES`` of each stream are
kept and the bytes in between counted (a command printing gigabytes costs no memory). Kept bytes
are decoded as UTF-8 with replacement.

``fail_fast`` (default true): the first command that exits non-zero (or times out) stops the node,
which fails with a message naming the command and its return code; the results so far are kept
in the failure's outcome. ``fail_fast: false`` runs every command and the node completes, with
``all_succeeded: false`` when any failed, so that a flow can branch on it.

``working_dir`` (a template) defaults to the project root and must exist; ``env`` values are
templates merged over the process environment. Refused unless the flow is trusted (trust.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dad_studio.model.settings import CommandSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput
from dad_studio.nodes.trust import untrusted_message

CAPTURE_BYTES = 64 * 1024
READ_CHUNK = 64 * 1024
KILL_GRACE_S = 1.0


class CappedBuffer:
    """Keeps the first and last ``cap`` bytes written and counts the rest."""

    def __init__(self, cap: int = CAPTURE_BYTES) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def write(self, data: bytes) -> None:
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        excess = len(self.tail) - self.cap
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes dropped ...]\n{tail}"
        return head + tail


async def _pump(stream: asyncio.StreamReader | None, buffer: CappedBuffer) -> None:
    if stream is None:
        return
    while chunk := await stream.read(READ_CHUNK):
        buffer.write(chunk)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE_S)
    except TimeoutError:
        pass
    # The leader may be gone while children linger: always finish with SIGKILL on the group.
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


async def run_one(command: str, *, shell: bool, cwd: Path, env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """Run one command; returns its result record (``timed_out`` true when it was killed)."""
    started = time.monotonic()
    out, err = CappedBuffer(), CappedBuffer()
    common: dict[str, Any] = {
        "cwd": str(cwd),
        "env": env,
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.PIPE,
        "start_new_session": True,
    }
    try:
        if shell:
            proc = await asyncio.create_subprocess_shell(command, **common)
        else:
            argv = shlex.split(command)
            if not argv:
                raise ValueError("empty command")
            proc = await asyncio.create_subprocess_exec(*argv, **common)
    except (OSError, ValueError) as exc:
        return {
            "command": command,
            "returncode": 127,
            "stdout": "",
            "stderr": f"cannot start: {exc}",
            "duration_s": round(time.monotonic() - started, 3),
            "timed_out": False,
        }
    timed_out = False
    pumps = asyncio.gather(_pump(proc.stdout, out), _pump(proc.stderr, err), proc.wait())
    try:
        await asyncio.wait_for(asyncio.shield(pumps), timeout_s)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
        try:
            # A descendant that left the group (setsid) may still hold the pipes: do not wait on it.
            await asyncio.wait_for(pumps, KILL_GRACE_S)
        except TimeoutError:
            pass
    except BaseException:
        # Cancelled (the run was stopped): leave no process behind, then propagate.
        await asyncio.shield(_kill_group(proc))
        with contextlib.suppress(BaseException):
            await pumps
        raise
    return {
        "command": command,
        "returncode": proc.returncode,
        "stdout": out.text(),
        "stderr": err.text() + (f"\n[timed out after {timeout_s:g} s; process group killed]" if timed_out else ""),
        "duration_s": round(time.monotonic() - started, 3),
        "timed_out": timed_out,
    }


class CommandExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, CommandSettings)
        if not ctx.trusted:
            raise NodeFailure(untrusted_message("command node", ctx.flow_dir))
        commands = [ctx.render(c) for c in settings.commands]
        cwd = Path(ctx.render(settings.working_dir)) if settings.working_dir else ctx.project_root
        if not cwd.is_absolute():
            cwd = ctx.project_root / cwd
        if not cwd.is_dir():
            raise NodeFailure(f"working_dir does not exist or is not a folder: {cwd}")
        env = dict(os.environ)
        env.update({k: ctx.render(v) for k, v in settings.env.items()})
        record_input = {"commands": commands, "working_dir": str(cwd), "env": sorted(settings.env)}
        results: list[dict[str, Any]] = []
        for command in commands:
            result = await run_one(command, shell=settings.shell, cwd=cwd, env=env, timeout_s=settings.timeout_s)
            results.append(result)
            failed = result["timed_out"] or result["returncode"] != 0
            if failed and settings.fail_fast:
                outcome = {"all_succeeded": False, "results": results}
                why = (
                    f"timed out after {settings.timeout_s:g} s"
                    if result["timed_out"]
                    else f"exited with return code {result['returncode']}"
                )
                tail = result["stderr"].strip()[-500:]
                detail = f": {tail}" if tail else ""
                raise NodeFailure(f"command {command!r} {why}{detail}", outcome=outcome)
        outcome = {
            "all_succeeded": all(r["returncode"] == 0 and not r["timed_out"] for r in results),
            "results": results,
        }
        return NodeOutput(outcome=outcome, input=record_input)
