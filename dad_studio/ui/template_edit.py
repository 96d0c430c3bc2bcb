"""A text field for templates: `$var{}` / `$expr{}` / `$hier{}` highlighted, checked as you type,
completed from variable names and element ids, committed only when editing is finished."""

from __future__ import annotations

import re
import typing

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.template import TemplateError, references

FORM = re.compile(r"\$(var|expr|hier)\{[^{}]*\}?")
OPEN_FORM = re.compile(r"\$(var|hier)\{([A-Za-z0-9_.]*)$")


class TemplateHighlighter(QtGui.QSyntaxHighlighter):
    COLOURS: typing.ClassVar[dict[str, str]] = {"var": "#4cc38a", "expr": "#c58af9", "hier": "#e5894a"}

    def highlightBlock(self, text: str) -> None:
        for match in FORM.finditer(text):
            fmt = QtGui.QTextCharFormat()
            fmt.setForeground(QtGui.QColor(self.COLOURS[match.group(1)]))
            fmt.setFontWeight(QtGui.QFont.Weight.Bold)
            self.setFormat(match.start(), match.end() - match.start(), fmt)


def template_error(text: str) -> str:
    """A sentence for a bad template, or "" if it parses."""
    try:
        references(text)
    except TemplateError as exc:
        return str(exc)
    return ""


class TemplateEdit(QtWidgets.QPlainTextEdit):
    """One-line (Enter commits) or multi-line (Ctrl+Enter or focus-out commits) template editor."""

    committed = QtCore.Signal(str)
    error_changed = QtCore.Signal(str)

    def __init__(self, multiline: bool = False, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.multiline = multiline
        self._last = ""
        self.highlighter = TemplateHighlighter(self.document())
        self.setTabChangesFocus(True)
        if multiline:
            self.setMinimumHeight(90)
        else:
            self.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
            self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            height = self.fontMetrics().height() + 14
            self.setFixedHeight(height)
        self.completer = QtWidgets.QCompleter([], self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QtWidgets.QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self._insert_completion)
        self._variables: list[str] = []
        self._elements: list[str] = []
        self.textChanged.connect(self._check)

    def set_value(self, text: str) -> None:
        self._last = text
        if self.toPlainText() != text:
            self.blockSignals(True)
            self.setPlainText(text)
            self.blockSignals(False)
        self._check()

    def value(self) -> str:
        return self.toPlainText()

    def set_completions(self, variables: list[str], elements: list[str]) -> None:
        self._variables = sorted(variables)
        self._elements = sorted(elements)

    def commit(self) -> None:
        text = self.toPlainText()
        if text != self._last:
            self._last = text
            self.committed.emit(text)

    def _check(self) -> None:
        self.error_changed.emit(template_error(self.toPlainText()))

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        popup = self.completer.popup()
        if (
            popup is not None
            and popup.isVisible()
            and event.key()
            in (
                QtCore.Qt.Key.Key_Return,
                QtCore.Qt.Key.Key_Enter,
                QtCore.Qt.Key.Key_Escape,
                QtCore.Qt.Key.Key_Tab,
            )
        ):
            event.ignore()
            return
        enter = event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
        if enter and (not self.multiline or event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier):
            self.commit()
            return
        super().keyPressEvent(event)
        self._maybe_complete()

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        popup = self.completer.popup()
        if popup is None or not popup.isVisible():
            self.commit()
        super().focusOutEvent(event)

    def _maybe_complete(self) -> None:
        cursor = self.textCursor()
        before = self.toPlainText()[: cursor.position()]
        match = OPEN_FORM.search(before)
        popup = self.completer.popup()
        if match is None:
            if popup is not None:
                popup.hide()
            return
        words = self._variables if match.group(1) == "var" else self._elements
        model = self.completer.model()
        if not isinstance(model, QtCore.QStringListModel) or model.stringList() != words:
            self.completer.setModel(QtCore.QStringListModel(words, self.completer))
        self.completer.setCompletionPrefix(match.group(2))
        rect = self.cursorRect()
        rect.setWidth(220)
        self.completer.complete(rect)

    def _insert_completion(self, word: str) -> None:
        cursor = self.textCursor()
        prefix = self.completer.completionPrefix()
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.Left, QtGui.QTextCursor.MoveMode.KeepAnchor, len(prefix))
        cursor.insertText(word + "}")
        self.setTextCursor(cursor)
