"""Run-start latency, round 2: the prepared run snapshot and the hidden artifact browser reach the
same state as the direct paths they replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import qasync
import run_latency_helpers as helpers

from dad_studio.editor.commands import AddNode
from dad_studio.engine.trust import code_uses
from dad_studio.model import NodeDefinition
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run import context_panel
from dad_studio.ui.run.artifacts import Entry, scan
from dad_studio.ui.run.context_panel import ContextPanel
from dad_studio.ui.run.snapshot import SnapshotCache


def test_prepared_snapshot_is_a_copy_of_the_document_now(window: MainWindow, tmp_path: Path) -> None:
    assert window.open_file(helpers.chain_flow(tmp_path))
    doc = window.doc
    assert doc is not None
    cache = SnapshotCache()
    assert cache.prepare(doc)
    assert not cache.prepare(doc)  # nothing changed: the prepared one stays
    first = cache.take(doc)
    live = doc.component(())
    assert first is not live
    assert first.model_dump(by_alias=True) == live.model_dump(by_alias=True)
    second = cache.take(doc)  # taken once: the next run gets its own copy
    assert second is not first and second.model_dump(by_alias=True) == first.model_dump(by_alias=True)
    cache.prepare(doc)
    doc.execute(AddNode((), "extra", NodeDefinition(type="noop")))
    third = cache.take(doc)  # the prepared copy is out of date after the edit
    assert "extra" in third.nodes and "extra" not in first.nodes
    assert third.model_dump(by_alias=True) == doc.component(()).model_dump(by_alias=True)
    live.nodes["n000"].type = "python"  # an in-place change of the live model never reaches a copy
    assert third.nodes["n000"].type == "noop"


def test_trust_scan_cached_per_revision(window: MainWindow, tmp_path: Path) -> None:
    path = helpers.chain_flow(tmp_path)
    assert window.open_file(path)
    doc = window.doc
    assert doc is not None
    cache = SnapshotCache()
    component = cache.take(doc)
    assert cache.code_uses(doc, component, window.registry, path) == code_uses(component, window.registry, path) == []
    doc.execute(AddNode((), "py", NodeDefinition(type="python")))
    component = cache.take(doc)
    uses = cache.code_uses(doc, component, window.registry, path)
    assert uses == code_uses(component, window.registry, path) and any("py" in use for use in uses)


def test_controller_prepares_the_snapshot_while_idle(
    window: MainWindow, tmp_path: Path, qloop: qasync.QEventLoop
) -> None:
    assert window.open_file(helpers.chain_flow(tmp_path))
    cache = window.runs.snapshots
    # the snapshot of the document now open (one of the empty document opened first may still be there)
    helpers.pump(qloop, lambda: cache._component is not None and cache._current(window.doc))
    prepared = cache._component
    session = window.runs.start_run()
    assert session is not None and session.component is prepared
    helpers.pump(qloop, lambda: session.finished)
    assert session.status == "completed"


def leaves(entries: list[Entry]) -> list[tuple[str, str]]:
    return sorted((".".join(e.hier), e.label) for e in entries)


def test_hidden_artifact_browser_lists_when_shown(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop
) -> None:
    win, component, events, run_dir = opened
    browser = win.runs.artifacts
    win.docks["validation"].raise_()  # the artifacts tab is behind the Problems tab
    helpers.pump(qloop, browser.hidden)
    session = helpers.new_session(win, component, run_dir, events)
    win.runs.sessions.append(session)
    win.runs.select(session)
    browser.rebuild()  # Refresh / the end-of-run refresh while hidden: still nothing listed
    assert browser.tree.topLevelItemCount() == 0 and browser.entries == []  # nothing listed while hidden
    win.docks["run_artifacts"].raise_()
    helpers.pump(qloop, lambda: bool(browser.entries))
    assert leaves(browser.entries) == leaves(scan(run_dir))
    assert sorted(browser.leaf_entries()) == leaves(scan(run_dir))


def test_deferred_context_layout_ends_like_the_direct_one(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, component, events, run_dir = opened
    half = next(i for i, e in enumerate(events) if e.get("path") == "chain.n030")
    direct_panel = ContextPanel()
    direct_panel.set_session(helpers.new_session(win, component, run_dir, events))
    direct = direct_panel.rows()

    monkeypatch.setattr(context_panel, "DIRECT_LAYOUT_MAX", 10)  # the chain flow counts as big
    panel = ContextPanel()
    panel.show()
    live = helpers.new_session(win, component, run_dir, events[:half])
    panel.set_session(live)
    assert panel.building and panel.items == {}, "a big tree is laid out on the next pass, not in set_session"
    live.pending = list(events[half:])
    changed, batch = live.apply_pending()
    panel.on_events(live, changed, batch)  # before the tree exists: applied when the build ends
    helpers.pump(qloop, lambda: not panel.building)
    assert panel.rows() == direct
    assert panel.scope.topLevelItemCount() == 2  # variables and results of the root
    panel.close()
    for p in (panel, direct_panel):
        assert not p.build_timer.isActive()
        p.deleteLater()
