"""Open, save, recovery copies, external-change detection and cached validation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dad_studio.editor import FlowDocument, FlowFileError, recovery_path
from dad_studio.fileformat import save_flow
from dad_studio.model import FlowDefinition


def write_flow(path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="ai_model", settings={"model": "echo", "prompt": "hi"})
    flow.node("b", type="ai_model", settings={"model": "echo", "prompt": "$hier{a.outcome.text}"})
    flow.layout["a"] = (0, 0)
    save_flow(path, flow)


def test_open_edit_save_roundtrip(tmp_path: Path, recorder_factory: Any) -> None:
    path = tmp_path / "f.dad.json"
    write_flow(path)
    original = path.read_bytes()
    doc = FlowDocument.open(path)
    assert doc.path == path and not doc.dirty and doc.to_bytes() == original
    assert [(e.source, e.target) for e in doc.component().edges or []] == [("a", "b")]
    rec = recorder_factory(doc)
    doc.move_nodes((), {"a": (10, 20)})
    doc.save()
    assert not doc.dirty and rec.of("dirty_changed") == [("dirty_changed", True), ("dirty_changed", False)]
    assert FlowDocument.open(path).component().layout["a"] == (10, 20)
    doc.undo()
    assert doc.dirty
    doc.save(tmp_path / "copy.dad.json")
    assert doc.path == tmp_path / "copy.dad.json"
    assert (tmp_path / "copy.dad.json").read_bytes() == original


def test_open_unusable_file_raises_with_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.dad.json"
    path.write_text("{not json")
    with pytest.raises(FlowFileError) as info:
        FlowDocument.open(path)
    assert info.value.problems
    with pytest.raises(FlowFileError):
        FlowDocument.open(tmp_path / "missing.dad.json")


def test_autosave_and_recover(tmp_path: Path) -> None:
    path = tmp_path / "f.dad.json"
    write_flow(path)
    doc = FlowDocument.open(path)
    doc.set_setting((), "a", ("prompt",), "edited")
    where = recovery_path(path, state_dir=tmp_path / "state")
    assert where == doc.recovery_path(state_dir=tmp_path / "state")
    assert where.parent == tmp_path / "state" / "recovery" and where.name.endswith(".dad.json")
    assert where != recovery_path(tmp_path / "other.dad.json", state_dir=tmp_path / "state")
    doc.autosave(where)
    assert doc.dirty and path.read_bytes() != doc.to_bytes()
    back = FlowDocument.recover(where, path)
    assert back.dirty and back.path == path
    assert back.component().nodes["a"].settings["prompt"] == "edited"
    assert not back.disk_changed()
    back.save()
    assert not back.dirty and path.read_bytes() == doc.to_bytes()


def test_disk_changed(tmp_path: Path) -> None:
    path = tmp_path / "f.dad.json"
    write_flow(path)
    doc = FlowDocument.open(path)
    assert not doc.disk_changed()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert not doc.disk_changed()  # touched, same bytes
    path.write_bytes(path.read_bytes().replace(b'"hi"', b'"ho"'))
    assert doc.disk_changed()
    doc.save()
    assert not doc.disk_changed()
    path.unlink()
    assert doc.disk_changed()


def test_problems_are_cached_per_revision_and_grouped_by_node(tmp_path: Path) -> None:
    doc = FlowDocument()
    doc.add_node((), "a", "ai_model", {"model": "echo", "prompt": "$hier{nobody}"})
    doc.add_node((), "sub", "subflow")
    doc.add_node(("sub",), "inner", "ai_model", {"model": "echo", "prompt": "$var{unknown_name}"})
    first = doc.problems()
    assert doc.problems() is first  # no revalidation without a change
    by_node = doc.problems_by_node()
    assert set(by_node) >= {"a", "sub"}
    inner = doc.problems_by_node(("sub",))
    assert "inner" in inner and all("/nodes/sub/settings/body/nodes/inner" in p.pointer for p in inner["inner"])
    doc.set_setting((), "a", ("prompt",), "fine")
    assert doc.problems() is not first
    assert "a" not in doc.problems_by_node()
