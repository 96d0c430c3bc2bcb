"""Input prompts: a non-modal form generated from a `node_input_required` request, and the inbox.

The form is shown with `show()` (never `exec()`: a coroutine awaits its answer through a future,
QT_NOTES.md) and is not modal, so the user can look at the canvas and the outcomes of earlier nodes
while answering. Closing it ("Later") leaves the request in the inbox; "Cancel run" stops the run.
Field types: string, text, number, integer, boolean, choice (the `input` node's); a request without
fields (a `pre_events` prompt) gets one JSON editor.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.ui.run.session import PendingInput

__all__ = ["InboxPanel", "InputForm"]

NUMBER_RE = QtCore.QRegularExpression(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^$")
INTEGER_RE = QtCore.QRegularExpression(r"^-?\d*$")


class InputForm(QtWidgets.QDialog):
    """One request. `answered(values)` when submitted, `cancel_run()` when the run is to stop."""

    answered = QtCore.Signal(object)
    cancel_run = QtCore.Signal()

    def __init__(self, pending: PendingInput, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.pending = pending
        self.setObjectName("input_form")
        self.setModal(False)
        self.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        self.setWindowTitle(f"Input for {pending.path}")
        request = pending.request.request if isinstance(pending.request.request, dict) else {}
        fields = request.get("fields")
        self.fields: dict[str, dict[str, Any]] = (
            {str(k): (v if isinstance(v, dict) else {}) for k, v in fields.items()} if isinstance(fields, dict) else {}
        )
        current = request.get("current")
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        layout = QtWidgets.QVBoxLayout(self)
        title = QtWidgets.QLabel(f"<b>{pending.path}</b> ({pending.request.node_type}) · run {pending.session.run_id}")
        title.setWordWrap(True)
        layout.addWidget(title)
        if pending.prompt:
            prompt = QtWidgets.QLabel(pending.prompt)
            prompt.setWordWrap(True)
            prompt.setObjectName("input_prompt")
            layout.addWidget(prompt)
        form = QtWidgets.QFormLayout()
        if self.fields:
            for name, spec in self.fields.items():
                value = current.get(name) if isinstance(current, dict) else None
                widget = self._make_field(name, spec, value)
                self.widgets[name] = widget
                label = name + ("" if spec.get("required", True) else " (optional)")
                form.addRow(label, widget)
                if spec.get("description"):
                    widget.setToolTip(str(spec["description"]))
        else:
            editor = QtWidgets.QPlainTextEdit()
            editor.setObjectName("field_json")
            editor.setPlaceholderText("The input as JSON (text that is not JSON is sent as a string)")
            if current is not None:
                editor.setPlainText(json.dumps(current, indent=2, ensure_ascii=False))
            self.widgets["$json"] = editor
            form.addRow("Input", editor)
        layout.addLayout(form)
        self.error = QtWidgets.QLabel("")
        self.error.setStyleSheet("color: #ff5c5c")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = QtWidgets.QDialogButtonBox()
        self.ok_button = self.buttons.addButton("Submit", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.later_button = self.buttons.addButton("Later", QtWidgets.QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button = self.buttons.addButton("Cancel run", QtWidgets.QDialogButtonBox.ButtonRole.DestructiveRole)
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.submit)
        self.later_button.clicked.connect(self.reject)
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.buttons)
        self.resize(440, self.sizeHint().height())

    def _make_field(self, name: str, spec: dict[str, Any], value: Any) -> QtWidgets.QWidget:
        kind = str(spec.get("type", "string"))
        default = spec.get("default")
        shown = value if value is not None else default
        widget: QtWidgets.QWidget
        if kind == "boolean":
            box = QtWidgets.QCheckBox()
            box.setChecked(bool(shown))
            widget = box
        elif kind == "choice":
            combo = QtWidgets.QComboBox()
            for choice in spec.get("choices") or []:
                combo.addItem(str(choice), choice)
            if shown is not None:
                combo.setCurrentIndex(max(0, combo.findText(str(shown))))
            widget = combo
        elif kind == "text":
            text = QtWidgets.QPlainTextEdit()
            text.setTabChangesFocus(True)
            text.setFixedHeight(90)
            self._fill(text, shown, default)
            widget = text
        else:
            line = QtWidgets.QLineEdit()
            if kind == "integer":
                line.setValidator(QtGui.QRegularExpressionValidator(INTEGER_RE, line))
            elif kind == "number":
                line.setValidator(QtGui.QRegularExpressionValidator(NUMBER_RE, line))
            self._fill(line, shown, default)
            widget = line
        widget.setObjectName(f"field_{name}")
        return widget

    @staticmethod
    def _fill(widget: QtWidgets.QLineEdit | QtWidgets.QPlainTextEdit, shown: Any, default: Any) -> None:
        # a template default ("$var{...}") is rendered by the node when the field is left empty
        if isinstance(shown, str) and shown == default and "$" in shown:
            widget.setPlaceholderText(f"default: {shown}")
        elif shown is not None:
            widget.setPlainText(str(shown)) if isinstance(widget, QtWidgets.QPlainTextEdit) else widget.setText(
                str(shown)
            )

    def values(self) -> Any:
        """The answer; ValueError with a message for a value that cannot be read."""
        if "$json" in self.widgets:
            editor = self.widgets["$json"]
            assert isinstance(editor, QtWidgets.QPlainTextEdit)
            raw = editor.toPlainText()
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        answer: dict[str, Any] = {}
        for name, widget in self.widgets.items():
            kind = str(self.fields[name].get("type", "string"))
            if isinstance(widget, QtWidgets.QCheckBox):
                answer[name] = widget.isChecked()
            elif isinstance(widget, QtWidgets.QComboBox):
                answer[name] = widget.currentData()
            elif isinstance(widget, QtWidgets.QPlainTextEdit):
                answer[name] = widget.toPlainText() or None
            elif isinstance(widget, QtWidgets.QLineEdit):
                text = widget.text().strip() if kind in ("integer", "number") else widget.text()
                if not text:
                    answer[name] = None  # the node applies the default (or says it is required)
                elif kind == "integer":
                    try:
                        answer[name] = int(text)
                    except ValueError:  # "-", which the validator lets through while it is typed
                        raise ValueError(f"{name}: {text!r} is not a whole number") from None
                elif kind == "number":
                    try:
                        answer[name] = float(text)
                    except ValueError:
                        raise ValueError(f"{name}: {text!r} is not a number") from None
                else:
                    answer[name] = text
        return answer

    def submit(self) -> None:
        try:
            values = self.values()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.answered.emit(values)
        self.accept()

    def _cancel(self) -> None:
        self.cancel_run.emit()
        self.reject()


class InboxPanel(QtWidgets.QWidget):
    """Every request waiting for an answer, across runs; double-click (or Answer) opens its form."""

    open_requested = QtCore.Signal(object)
    """A PendingInput to show the form of."""
    cancel_requested = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        self.list.itemDoubleClicked.connect(
            lambda item: self.open_requested.emit(item.data(QtCore.Qt.ItemDataRole.UserRole))
        )
        answer = QtWidgets.QPushButton("Answer…")
        answer.clicked.connect(lambda: self._emit(self.open_requested))
        cancel = QtWidgets.QPushButton("Cancel run")
        cancel.clicked.connect(lambda: self._emit(self.cancel_requested))
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(answer)
        buttons.addWidget(cancel)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def _emit(self, signal: Any) -> None:
        item = self.list.currentItem() or self.list.item(0)
        if item is not None:
            signal.emit(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def show_pending(self, pending: list[PendingInput]) -> None:
        self.list.clear()
        for entry in pending:
            text = f"{entry.path} · run #{entry.session.number}"
            if entry.prompt:
                text += f" — {entry.prompt}"
            item = QtWidgets.QListWidgetItem(text)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, entry)
            self.list.addItem(item)

    def entries(self) -> list[PendingInput]:
        return [self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.list.count())]
