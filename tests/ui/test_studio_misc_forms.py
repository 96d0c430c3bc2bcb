"""The variables table and the properties form's choice (Literal -> combo box) and JSON fields,
driven through their widgets; every edit undoable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from PySide6 import QtCore, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.model import NodeType, default_registry
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.properties import JsonEdit, make_editor


class ToneSettings(BaseModel):
    """A plugin-like type whose settings have a Literal and a free JSON field."""

    mood: Literal["calm", "loud", "dry"] = "calm"
    options: dict[str, Any] = Field(default_factory=dict)


@pytest.fixture
def studio(qtbot, qloop, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    registry = default_registry()
    registry.register(NodeType("tone", "Tone", "A test type", ToneSettings, "dad_studio.nodes.testing:NoopExecutor"))
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(registry=registry, settings=settings, state_dir=tmp_path / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def doc_of(win: MainWindow) -> FlowDocument:
    assert win.doc is not None
    return win.doc


# -- variables -------------------------------------------------------------------------------------


def button(panel: QtWidgets.QWidget, text: str) -> QtWidgets.QPushButton:
    return next(b for b in panel.findChildren(QtWidgets.QPushButton) if b.text() == text)


def test_variables_table_add_edit_rename_remove_and_undo(qtbot, studio: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = doc_of(studio)
    panel = studio.variables
    table = panel.table
    qtbot.mouseClick(button(panel, "Add"), QtCore.Qt.MouseButton.LeftButton)
    assert doc.component(()).variables == {"variable": ""}
    assert table.rowCount() == 1 and table.item(0, 0).text() == "variable"

    table.item(0, 1).setText("42")  # as the cell editor commits it
    assert doc.component(()).variables == {"variable": 42}
    table.item(0, 1).setText("plain words")  # not JSON: taken as a string
    assert doc.component(()).variables == {"variable": "plain words"}
    table.item(0, 0).setText("folder")  # rename: one undo step
    assert doc.component(()).variables == {"folder": "plain words"}
    assert table.item(0, 0).text() == "folder"
    depth = doc.undo_count
    table.item(0, 0).setText("run_id")  # a built-in name is refused and the table shows the document again
    assert doc.component(()).variables == {"folder": "plain words"} and doc.undo_count == depth
    assert table.item(0, 0).text() == "folder"

    table.selectRow(0)
    qtbot.mouseClick(button(panel, "Remove"), QtCore.Qt.MouseButton.LeftButton)
    assert doc.component(()).variables == {} and table.rowCount() == 0

    expected = [{"folder": "plain words"}, {"variable": "plain words"}, {"variable": 42}, {"variable": ""}, {}]
    for state in expected:
        studio.actions_by_name["undo"].trigger()
        assert doc.component(()).variables == state
        assert {table.item(r, 0).text() for r in range(table.rowCount())} == set(state)
    studio.actions_by_name["redo"].trigger()
    assert doc.component(()).variables == {"variable": ""}


# -- properties: choice and JSON fields ------------------------------------------------------------


def select_tone(studio: MainWindow) -> FlowDocument:
    doc = doc_of(studio)
    doc.add_node((), "t", "tone", pos=(0, 0))
    doc.clear_undo()
    studio.canvas.scene.select_ids(["t"])
    assert studio.properties.node_id == "t"
    return doc


def test_choice_field_is_a_combo_of_the_literal_and_commits_undoably(studio: MainWindow) -> None:
    doc = select_tone(studio)
    combo = studio.properties.fields["s.mood"].editor
    assert isinstance(combo, QtWidgets.QComboBox)
    assert [combo.itemData(i) for i in range(combo.count())] == ["calm", "loud", "dry"]
    assert combo.currentData() == "calm"
    combo.setCurrentIndex(1)
    combo.activated.emit(1)  # what a user's pick emits
    assert doc.node((), "t").settings["mood"] == "loud"
    assert doc.undo_count == 1
    studio.actions_by_name["undo"].trigger()
    assert "mood" not in doc.node((), "t").settings
    assert studio.properties.fields["s.mood"].editor.currentData() == "calm"  # type: ignore[attr-defined]
    studio.actions_by_name["redo"].trigger()
    assert studio.properties.fields["s.mood"].editor.currentData() == "loud"  # type: ignore[attr-defined]


def test_join_choice_of_the_node_field(studio: MainWindow) -> None:
    doc = select_tone(studio)
    combo = studio.properties.fields["join"].editor
    assert isinstance(combo, QtWidgets.QComboBox)
    index = combo.findData("any")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert doc.node((), "t").join == "any"
    studio.actions_by_name["undo"].trigger()
    assert doc.node((), "t").join == "all"


def test_json_field_shows_errors_commits_only_valid_json_and_undoes(qtbot, studio: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = select_tone(studio)
    field = studio.properties.fields["s.options"]
    edit = field.editor
    assert isinstance(edit, JsonEdit)
    before = doc.to_bytes()
    edit.setFocus()
    edit.setPlainText('{"speed": 2,')
    assert field.error.isVisibleTo(studio.properties) and "not valid JSON" in field.error.text()
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    edit.commit()  # focus out commits the same way
    assert doc.to_bytes() == before and doc.undo_count == 0, "invalid JSON is never committed"

    edit.setPlainText('{"speed": 2, "voices": ["a", "b"]}')
    assert not field.error.isVisibleTo(studio.properties)
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert doc.node((), "t").settings["options"] == {"speed": 2, "voices": ["a", "b"]}
    assert doc.undo_count == 1
    studio.actions_by_name["undo"].trigger()
    assert doc.to_bytes() == before
    assert studio.properties.fields["s.options"].editor.toPlainText() == "{}"  # type: ignore[attr-defined]
    studio.actions_by_name["redo"].trigger()
    assert doc.node((), "t").settings["options"] == {"speed": 2, "voices": ["a", "b"]}


def test_retry_json_field_refused_by_the_model_changes_nothing(qtbot, studio: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = select_tone(studio)
    edit = studio.properties.fields["retry"].editor
    assert isinstance(edit, JsonEdit)
    messages: list[str] = []
    studio.properties.status_message.connect(messages.append)
    edit.setPlainText('{"max_attempts": 0}')  # valid JSON, but the model wants >= 1
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert doc.node((), "t").retry is None and doc.undo_count == 0
    assert messages and "retry" in messages[-1]
    edit.setPlainText('{"max_attempts": 3}')
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    retry = doc.node((), "t").retry
    assert retry is not None and retry.max_attempts == 3
    studio.actions_by_name["undo"].trigger()
    assert doc.node((), "t").retry is None


def test_number_boxes_show_values_they_cannot_hold_without_failing(qapp: QtWidgets.QApplication) -> None:
    """A hand-edited file can give an int setting 2.5, 1e20 or NaN (values a 32-bit box cannot hold):
    the box shows what it can instead of raising inside a Qt slot."""
    committed: list[Any] = []
    spin, load, _ = make_editor("int", int, False, committed.append)
    assert isinstance(spin, QtWidgets.QSpinBox)
    for value, shown in (
        (7, 7),
        (2.5, 2),
        (1e20, spin.maximum()),
        (-1e20, spin.minimum()),
        (float("nan"), 0),
        ("x", 0),
    ):
        load(value)
        assert spin.value() == shown, value
    box, load_float, _ = make_editor("float", float, False, committed.append)
    assert isinstance(box, QtWidgets.QDoubleSpinBox)
    load_float(float("inf"))
    assert box.value() == 0.0
    load_float(1.25)
    assert box.value() == 1.25
    assert committed == []  # loading never commits
