"""Run start-up file work stays off the event loop's thread (the studio's GUI thread)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.engine.records import Recorder
from dad_studio.model import FlowDefinition


def _rc(tmp_path: Path, **kw: Any) -> RunContext:
    rc = RunContext(root_component_id="f", project_root=tmp_path, **kw)
    rc.setup_run()
    return rc


def _flow() -> FlowDefinition:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    return flow


async def test_records_open_and_snapshot_off_the_loop_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    original = Recorder.open

    def open_(self: Recorder, manifest: dict[str, Any], snapshot: bytes) -> Any:
        threads.append(threading.current_thread())
        return original(self, manifest, snapshot)

    monkeypatch.setattr(Recorder, "open", open_)
    result = await FlowRunner(_flow(), _rc(tmp_path, observability_settings={"enabled": True})).run()
    assert result.status.value == "completed" and result.run_dir is not None
    assert threads and threading.main_thread() not in threads
    assert (result.run_dir / "trace" / "spans.jsonl").stat().st_size > 0  # telemetry started there too


async def test_cancel_while_opening_leaves_a_closed_cancelled_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening = threading.Event()
    release = threading.Event()
    original = Recorder.open

    def slow_open(self: Recorder, manifest: dict[str, Any], snapshot: bytes) -> Any:
        opening.set()
        release.wait(10)
        return original(self, manifest, snapshot)

    monkeypatch.setattr(Recorder, "open", slow_open)
    rc = _rc(tmp_path, observability_settings={"enabled": False})
    runner = FlowRunner(_flow(), rc)
    task = asyncio.ensure_future(runner.run())
    assert await asyncio.to_thread(opening.wait, 10)
    threading.Timer(0.05, release.set).start()  # the cancelled run waits for the open in progress
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rc.run_dir is not None
    manifest = json.loads((rc.run_dir / "run.json").read_text())
    assert manifest["status"] == "cancelled" and manifest["ended_at"]


async def test_subflow_ref_loaded_off_the_loop_thread_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dad_studio.engine import control

    root = {"id": "child", "kind": "flow", "nodes": {"x": {"type": "noop"}}}
    doc = {"format": "dad-flow", "schema_version": 1, "root": root}
    (tmp_path / "child.dad.json").write_text(json.dumps(doc))
    threads: list[threading.Thread] = []
    original = control.load_subflow_ref

    def load(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(control, "load_subflow_ref", load)
    flow = FlowDefinition(id="f")
    flow.subflow("one", ref="child.dad.json")
    flow.subflow("two", ref="child.dad.json")
    flow.connect("one", "two")
    rc = RunContext(records=False, flow_path=tmp_path / "main.dad.json")
    result = await FlowRunner(flow, rc).run()
    assert result.status.value == "completed" and result.nodes["f.two.x"] == "completed"
    assert len(threads) == 1 and threads[0] is not threading.main_thread()  # loaded once, in a thread
