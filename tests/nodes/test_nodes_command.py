"""command: success, failures, fail_fast, timeouts killing the process group, output caps, trust."""

from __future__ import annotations

import asyncio
import os
import time
import tracemalloc

import pytest
from pydantic import ValidationError

from dad_studio.model.settings import CommandSettings
from dad_studio.nodes.base import NodeFailure
from dad_studio.nodes.command import CAPTURE_BYTES, CappedBuffer, CommandExecutor


async def run(ctx, **settings):
    return await CommandExecutor().execute(ctx, CommandSettings(**settings))


async def test_runs_commands_with_templates_env_and_working_dir(make_ctx, tmp_path):
    (tmp_path / "work").mkdir()
    ctx = make_ctx(variables={"name": "world", "sub": "work"})
    out = await run(
        ctx,
        commands=["echo hello $var{name}", "pwd", "echo $GREETING", "echo err >&2"],
        working_dir="$var{sub}",
        env={"GREETING": "hi $var{name}"},
    )
    r = out.outcome["results"]
    assert out.outcome["all_succeeded"] is True
    assert [x["returncode"] for x in r] == [0, 0, 0, 0]
    assert r[0]["stdout"] == "hello world\n" and r[0]["command"] == "echo hello world"
    assert r[1]["stdout"].strip() == str(tmp_path / "work")
    assert r[2]["stdout"] == "hi world\n"
    assert r[3]["stderr"] == "err\n"
    assert all(x["duration_s"] >= 0 for x in r)
    assert out.input["env"] == ["GREETING"]


async def test_shell_false_splits_arguments(make_ctx):
    out = await run(make_ctx(), commands=["printf '%s|' 'a b' c"], shell=False)
    assert out.outcome["results"][0]["stdout"] == "a b|c|"


async def test_shell_false_missing_program(make_ctx):
    with pytest.raises(NodeFailure, match="return code 127"):
        await run(make_ctx(), commands=["no-such-program-xyz"], shell=False)


async def test_fail_fast_stops_at_first_failure(make_ctx, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(NodeFailure) as info:
        await run(make_ctx(), commands=["echo ok", "echo bad >&2; exit 3", f"touch {marker}"])
    assert "'echo bad >&2; exit 3' exited with return code 3: bad" in info.value.message
    assert len(info.value.outcome["results"]) == 2 and info.value.outcome["all_succeeded"] is False
    assert not marker.exists()


async def test_without_fail_fast_runs_all_and_completes(make_ctx, tmp_path):
    marker = tmp_path / "ran"
    out = await run(make_ctx(), commands=["exit 4", f"touch {marker}"], fail_fast=False)
    assert out.outcome["all_succeeded"] is False
    assert [r["returncode"] for r in out.outcome["results"]] == [4, 0]
    assert marker.exists()


async def test_missing_working_dir(make_ctx):
    with pytest.raises(NodeFailure, match="working_dir does not exist"):
        await run(make_ctx(), commands=["true"], working_dir="nope")


async def test_refused_when_untrusted(make_ctx, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(NodeFailure, match=r"not trusted.*dad-studio run --trust FLOW.*dad-studio trust"):
        await run(make_ctx(trusted=False), commands=[f"touch {marker}"])
    assert not marker.exists()


def test_bad_settings():
    for bad in (
        {"commands": []},
        {"commands": ["x"], "timeout_s": 0},
        {"commands": "echo"},
        {"commands": ["x"], "typo": 1},
    ):
        with pytest.raises(ValidationError):
            CommandSettings(**bad)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (it is reaped by its parent or init).
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_timeout_kills_the_whole_process_group(make_ctx, tmp_path):
    pidfile = tmp_path / "pids"
    # The shell starts a grandchild that ignores SIGTERM and sleeps; both must be gone after the timeout.
    script = f"(trap '' TERM; sleep 30) & echo $! > {pidfile}; echo $$ >> {pidfile}; sleep 30"
    started = time.monotonic()
    with pytest.raises(NodeFailure, match=r"timed out after 0\.5 s") as info:
        await run(make_ctx(), commands=[script], timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert info.value.outcome["results"][0]["timed_out"] is True
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    await asyncio.sleep(0.1)
    assert not any(_alive(p) for p in pids)


async def test_timeout_without_fail_fast_continues(make_ctx):
    out = await run(make_ctx(), commands=["sleep 10", "echo after"], timeout_s=0.3, fail_fast=False)
    first, second = out.outcome["results"]
    assert first["timed_out"] and "timed out" in first["stderr"]
    assert second["stdout"] == "after\n" and out.outcome["all_succeeded"] is False


async def test_cancellation_kills_the_process_group(make_ctx, tmp_path):
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(run(make_ctx(), commands=[f"sleep 30 & echo $! > {pidfile}; wait"], timeout_s=60))
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert not _alive(pid)


async def test_huge_output_is_capped_without_memory_growth(make_ctx):
    total = 200_000_000
    tracemalloc.start()
    try:
        started = time.monotonic()
        out = await run(make_ctx(), commands=[f"yes | head -c {total}"], timeout_s=60)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stdout = out.outcome["results"][0]["stdout"]
    dropped = total - 2 * CAPTURE_BYTES
    assert f"[... {dropped} bytes dropped ...]" in stdout
    assert stdout.startswith("y\ny\n") and stdout.endswith("y\n")
    assert len(stdout) < 2 * CAPTURE_BYTES + 100
    assert peak < 20_000_000, f"peak traced memory {peak} bytes"
    assert elapsed < 30


def test_capped_buffer_keeps_head_and_tail():
    buf = CappedBuffer(cap=4)
    for piece in (b"ab", b"cdef", b"ghij", b"k"):
        buf.write(piece)
    assert bytes(buf.head) == b"abcd" and bytes(buf.tail) == b"hijk" and buf.dropped == 3
    assert buf.text() == "abcd\n[... 3 bytes dropped ...]\nhijk"
    small = CappedBuffer(cap=10)
    small.write(b"short")
    assert small.text() == "short" and small.dropped == 0
