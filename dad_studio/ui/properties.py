"""The properties panel: a form built from the node type's pydantic settings model.

Every editor commits when editing is finished (Enter, focus out, a toggle, a pick), never per
keystroke, and each commit is one undoable document command. Values coming back from the
document (undo, redo) are written into the editors with their signals blocked.
"""

from __future__ import annotations

import functools
import json
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from PySide6 import QtCore, QtWidgets

from dad_studio.editor import CommandError
from dad_studio.model import BUILTIN_VARIABLES
from dad_studio.ui.template_edit import TemplateEdit

ComponentPath = tuple[str, ...]
Commit = Callable[[Any], None]


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(inner type, allows None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    return annotation, False


def field_kind(annotation: Any, info: FieldInfo) -> str:
    """Which editor a settings field gets: text, multiline, int, float, bool, choice, list, json."""
    inner, _optional = unwrap_optional(annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if inner is str:
        return "multiline" if extra.get("multiline") else "text"
    if inner is bool:
        return "bool"
    if inner is int:
        return "int"
    if inner is float:
        return "float"
    if typing.get_origin(inner) is Literal:
        return "choice"
    if typing.get_origin(inner) is list and typing.get_args(inner) == (str,):
        return "list"
    return "json"


class JsonEdit(QtWidgets.QPlainTextEdit):
    """JSON editor: validated as you type, committed on focus out / Ctrl+Enter when valid."""

    committed = QtCore.Signal(object)
    error_changed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setMinimumHeight(60)
        self.setMaximumHeight(140)
        self._last: Any = None
        self.textChanged.connect(self._check)

    def set_value(self, value: Any) -> None:
        self._last = value
        text = json.dumps(value, indent=2, ensure_ascii=False)
        if self.toPlainText() != text:
            self.blockSignals(True)
            self.setPlainText(text)
            self.blockSignals(False)
        self.error_changed.emit("")

    def parsed(self) -> tuple[Any, str]:
        try:
            return json.loads(self.toPlainText() or "null"), ""
        except json.JSONDecodeError as exc:
            return None, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"

    def _check(self) -> None:
        self.error_changed.emit(self.parsed()[1])

    def commit(self) -> None:
        value, error = self.parsed()
        if not error and value != self._last:
            self._last = value
            self.committed.emit(value)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and (
            event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
        ):
            self.commit()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: Any) -> None:
        self.commit()
        super().focusOutEvent(event)


class ListEdit(JsonEdit):
    """list[str] as one item per line."""

    def set_value(self, value: Any) -> None:
        self._last = value
        text = "\n".join(str(v) for v in value or [])
        if self.toPlainText() != text:
            self.blockSignals(True)
            self.setPlainText(text)
            self.blockSignals(False)

    def parsed(self) -> tuple[Any, str]:
        return [line for line in self.toPlainText().splitlines() if line.strip()], ""


class Field:
    """One row of the form: label, editor, error line; `load(value)` shows a value from the document."""

    def __init__(
        self, key: str, label: str, editor: QtWidgets.QWidget, load: Callable[[Any], None], help_text: str = ""
    ) -> None:
        self.key = key
        self.editor = editor
        self.load = load
        self.error = QtWidgets.QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.label = QtWidgets.QLabel(label)
        self.label.setToolTip(help_text)
        editor.setToolTip(help_text)
        editor.setObjectName(f"field_{key}")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))


def make_editor(
    kind: str, annotation: Any, optional: bool, commit: Commit
) -> tuple[QtWidgets.QWidget, Callable[[Any], None], Any]:
    """(editor, load(value), error signal or None) for a field kind; `commit(value)` on finish."""
    if kind in ("text", "multiline"):
        edit = TemplateEdit(multiline=kind == "multiline")

        def load_text(v: Any) -> None:
            edit.set_value("" if v is None else v if isinstance(v, str) else json.dumps(v))

        edit.committed.connect(lambda text: commit(None if optional and text == "" else text))
        return edit, load_text, edit.error_changed
    if kind == "bool":
        box = QtWidgets.QCheckBox()

        def load_bool(v: Any) -> None:
            box.blockSignals(True)
            box.setChecked(bool(v))
            box.blockSignals(False)

        box.toggled.connect(lambda checked: commit(bool(checked)))
        return box, load_bool, None
    if kind == "choice":
        combo = QtWidgets.QComboBox()
        inner, _ = unwrap_optional(annotation)
        choices = list(typing.get_args(inner))
        if optional:
            combo.addItem("(none)", None)
        for choice in choices:
            combo.addItem(str(choice), choice)

        def load_choice(v: Any) -> None:
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(v)))
            combo.blockSignals(False)

        combo.activated.connect(lambda index: commit(combo.itemData(index)))
        return combo, load_choice, None
    if kind in ("int", "float") and not optional:
        spin: QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox
        if kind == "int":
            spin = QtWidgets.QSpinBox()
            spin.setRange(-(2**31) + 1, 2**31 - 1)
        else:
            spin = QtWidgets.QDoubleSpinBox()
            spin.setRange(-1e12, 1e12)
            spin.setDecimals(3)
        spin.setKeyboardTracking(False)

        def load_num(v: Any) -> None:
            spin.blockSignals(True)
            # a value the box cannot hold (2.5 for an int, 3e9, NaN) is shown as near as it can; the file
            # keeps its value until the box is edited
            number = v if isinstance(v, int | float) and math.isfinite(v) else 0
            if isinstance(spin, QtWidgets.QSpinBox):
                spin.setValue(int(max(spin.minimum(), min(spin.maximum(), number))))
            else:
                spin.setValue(float(number))
            spin.blockSignals(False)

        spin.editingFinished.connect(lambda: commit(spin.value()))
        return spin, load_num, None
    if kind in ("int", "float"):  # optional number: empty means "not set"
        line = QtWidgets.QLineEdit()
        line.setPlaceholderText("(not set)")
        error_holder = JsonEdit()  # only for its error signal plumbing

        def load_opt(v: Any) -> None:
            line.setText("" if v is None else str(v))

        def finish() -> None:
            text = line.text().strip()
            if not text:
                commit(None)
                return
            try:
                commit(int(text) if kind == "int" else float(text))
            except ValueError:
                error_holder.error_changed.emit(f"not a number: {text!r}")

        line.editingFinished.connect(finish)
        line.textEdited.connect(lambda _t: error_holder.error_changed.emit(""))
        line.setProperty("_holder", error_holder)
        return line, load_opt, error_holder.error_changed
    edit_json: JsonEdit = ListEdit() if kind == "list" else JsonEdit()
    edit_json.committed.connect(commit)
    return edit_json, edit_json.set_value, edit_json.error_changed


class PropertiesPanel(QtWidgets.QScrollArea):
    """Node fields and settings of the selected node of the current component."""

    status_message = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.doc: Any = None
        self.cpath: ComponentPath = ()
        self.node_id: str | None = None
        self.fields: dict[str, Field] = {}
        self._show_empty("Select a node to edit its properties.")

    def _show_empty(self, text: str) -> None:
        label = QtWidgets.QLabel(text)
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        self.setWidget(label)
        self.fields = {}

    def set_document(self, doc: Any) -> None:
        if self.doc is not None:
            self.doc.settings_changed.disconnect(self._on_settings_changed)
            self.doc.node_renamed.disconnect(self._on_renamed)
        self.doc = doc
        if doc is not None:
            doc.settings_changed.connect(self._on_settings_changed)
            doc.node_renamed.connect(self._on_renamed)
        self.show_node((), None)

    def show_node(self, cpath: ComponentPath, node_id: str | None) -> None:
        self.cpath = tuple(cpath)
        self.node_id = node_id
        if self.doc is None or node_id is None:
            self._show_empty("Select a node to edit its properties.")
            return
        comp = self.doc.component(self.cpath)
        node = comp.nodes.get(node_id)
        if node is None:
            self._show_empty("Select a node to edit its properties.")
            return
        self._build(node)
        self._load()

    # -- building ------------------------------------------------------------------------------------

    def _build(self, node: Any) -> None:
        node_type = self.doc.registry.get(node.type)
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        title = QtWidgets.QLabel(f"<b>{node_type.title if node_type else node.type}</b>  <i>{node.type}</i>")
        form.addRow(title)
        if node_type is not None and node_type.description:
            desc = QtWidgets.QLabel(node_type.description)
            desc.setObjectName("fieldHelp")
            desc.setWordWrap(True)
            form.addRow(desc)
        self.fields = {}
        self._add_node_fields(form)
        header = QtWidgets.QLabel("<b>Settings</b>")
        form.addRow(header)
        if node_type is None:
            self._add(form, "settings", "settings (unknown type)", "json", Any, False, self._commit_all_settings)
        else:
            for key, info in node_type.settings_model.model_fields.items():
                if key == "body":
                    continue
                annotation = info.annotation
                _inner, optional = unwrap_optional(annotation)
                kind = field_kind(annotation, info)
                self._add(
                    form,
                    f"s.{key}",
                    key,
                    kind,
                    annotation,
                    optional,
                    self._setting_committer(key),
                    info.description or "",
                )
        variables = sorted(set(self.doc.component(self.cpath).variables) | BUILTIN_VARIABLES)
        elements = sorted(self.doc.component(self.cpath).nodes)
        for field in self.fields.values():
            if isinstance(field.editor, TemplateEdit):
                field.editor.set_completions(variables, elements)
        self.setWidget(page)

    def _add(
        self,
        form: QtWidgets.QFormLayout,
        key: str,
        label: str,
        kind: str,
        annotation: Any,
        optional: bool,
        commit: Commit,
        help_text: str = "",
    ) -> None:
        editor, load, errors = make_editor(kind, annotation, optional, commit)
        field = Field(key, label, editor, load, help_text)
        if errors is not None:
            errors.connect(field.show_error)
        column = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(column)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(editor)
        box.addWidget(field.error)
        form.addRow(field.label, column)
        self.fields[key] = field

    def _add_node_fields(self, form: QtWidgets.QFormLayout) -> None:
        self._add(form, "id", "id", "text", str, False, self._rename)
        self._add(form, "description", "description", "text", str, False, self._field_committer("description"))
        self._add(form, "join", "join", "choice", Literal["all", "any"], False, self._field_committer("join"))
        self._add(form, "timeout_s", "timeout (s)", "float", float | None, True, self._field_committer("timeout_s"))
        self._add(form, "retry", "retry", "json", Any, True, self._field_committer("retry"))
        self._add(
            form,
            "pre_events",
            "ask input first",
            "bool",
            bool,
            False,
            lambda on: self._field_committer("pre_events")(["node_input_required"] if on else []),
        )

    def _load(self) -> None:
        node = self.doc.component(self.cpath).nodes[self.node_id]
        node_type = self.doc.registry.get(node.type)
        values: dict[str, Any] = {
            "id": self.node_id,
            "description": node.description,
            "join": node.join,
            "timeout_s": node.timeout_s,
            "retry": node.retry.model_dump() if node.retry is not None else None,
            "pre_events": "node_input_required" in node.pre_events,
            "settings": node.settings,
        }
        if node_type is not None:
            for key, info in node_type.settings_model.model_fields.items():
                if key in node.settings:
                    value = node.settings[key]
                elif info.default is not PydanticUndefined:
                    value = info.default
                elif info.default_factory is not None:
                    value = info.default_factory()  # type: ignore[call-arg]
                else:
                    value = None
                if isinstance(value, BaseModel):
                    value = value.model_dump(mode="json", by_alias=True)
                elif isinstance(value, list):
                    value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
                values[f"s.{key}"] = value
        # every editor is rewritten, the focused one too (undo from the menu while it has focus);
        # editors skip the write when the text is unchanged, so a commit's echo moves no cursor
        for key, field in self.fields.items():
            if key in values:
                field.load(values[key])

    # -- commits -------------------------------------------------------------------------------------

    def _run(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except CommandError as exc:
            self.status_message.emit(str(exc))
            self._load()
            return False
        return True

    def _setting_committer(self, key: str) -> Commit:
        def commit(value: Any) -> None:
            node_id = self.node_id
            if node_id is None:
                return
            current = self.doc.component(self.cpath).nodes[node_id].settings.get(key, object())
            if current == value:
                return
            field = self.fields.get(f"s.{key}")
            ok = self._run(lambda: self.doc.set_setting(self.cpath, node_id, (key,), value))
            if field is not None and ok and not isinstance(field.editor, TemplateEdit | JsonEdit):
                field.show_error("")

        return commit

    def _commit_all_settings(self, value: Any) -> None:
        node_id = self.node_id
        if node_id is None or not isinstance(value, dict):
            self.status_message.emit("settings must be a JSON object")
            return
        self.doc.begin_macro(f"Set {node_id} settings")
        try:
            for key, item in value.items():
                self._run(functools.partial(self.doc.set_setting, self.cpath, node_id, (key,), item))
        finally:
            self.doc.end_macro()

    def _field_committer(self, name: str) -> Commit:
        def commit(value: Any) -> None:
            node_id = self.node_id
            if node_id is None:
                return
            node = self.doc.component(self.cpath).nodes[node_id]
            current = getattr(node, name)
            if isinstance(current, BaseModel):
                current = current.model_dump()
            if current == value:
                return
            self._run(lambda: self.doc.set_node_field(self.cpath, node_id, name, value))

        return commit

    def _rename(self, new: Any) -> None:
        old = self.node_id
        if old is None or not new or new == old:
            return
        if self._run(lambda: self.doc.rename_node(self.cpath, old, str(new))):
            self.node_id = str(new)

    # -- document -> form ----------------------------------------------------------------------------

    def _on_settings_changed(self, cpath: Any, node_id: str) -> None:
        if tuple(cpath) == self.cpath and node_id == self.node_id and self.fields:
            self._load()

    def _on_renamed(self, cpath: Any, old: str, new: str) -> None:
        if tuple(cpath) == self.cpath and old == self.node_id:
            self.node_id = new
            if "id" in self.fields:
                self.fields["id"].load(new)
