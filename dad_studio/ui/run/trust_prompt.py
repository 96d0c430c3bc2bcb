"""The studio's trust prompt: asked before a flow that runs code starts from an untrusted folder.

Issue 5: a flow outside the user's trusted folders runs no `command` / `python` node and no `py:`
expression until the user trusts it. The CLI has `--trust` and `dad-studio trust FOLDER`; the
studio asks here, once per Run press, listing what would run (from the engine's scan,
`dad_studio.engine.trust.code_uses`), and offers:

- "Trust folder and run": the project folder is remembered in the user config, then the run starts
  trusted (the next runs of any flow in that folder do not ask again);
- "Run once": this run is trusted, nothing is remembered;
- "Save…" (untitled flows only, which have no folder to trust): the flow is saved, then Run asks
  again about the folder it was saved in; a starter with nothing to save (a past run whose flow
  file is gone) passes `offer_save=False` and a `reason`, leaving "Run once" and "Cancel";
- "Cancel" (also Escape and closing the window): nothing runs, no run folder is made.

The dialog is window-modal and never `exec()`ed: the controller opens it with `open()` and reacts
to `finished` (a plain slot), and coroutines await it with `ask_trust` (a future; QT_NOTES.md).
"""

from __future__ import annotations

import enum
import html
from collections.abc import Sequence
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.engine.trust import is_trusted
from dad_studio.nodes.config import ConfigError
from dad_studio.nodes.trust import trust_folder
from dad_studio.ui.loop import ask

__all__ = ["CodeSummary", "TrustAnswer", "TrustPrompt", "apply_answer", "ask_trust", "folder_trusted"]

_NODE_SUFFIX = " node)"
_EXPRESSION = ": py: expression in "


class TrustAnswer(enum.Enum):
    """What the user chose in the prompt."""

    TRUST_FOLDER = "trust_folder"
    RUN_ONCE = "run_once"
    SAVE = "save"
    CANCEL = "cancel"


class CodeSummary:
    """The scan's lines split into code nodes and `py:` expressions (shown grouped by node)."""

    def __init__(self, uses: Sequence[str]) -> None:
        self.nodes: list[tuple[str, str]] = []
        """(hierarchy path, node type) of each node type that runs code."""
        self.expressions: list[tuple[str, str]] = []
        """(hierarchy path, setting or variable) of each `py:` expression."""
        self.other: list[str] = []
        """Lines in a shape this module does not know (shown as they are, never dropped)."""
        for line in uses:
            if _EXPRESSION in line:
                path, where = line.split(_EXPRESSION, 1)
                self.expressions.append((path, where))
            elif line.endswith(_NODE_SUFFIX) and " (" in line:
                path, rest = line.rsplit(" (", 1)
                self.nodes.append((path, rest[: -len(_NODE_SUFFIX)]))
            else:
                self.other.append(line)

    def headline(self) -> str:
        """`2 code nodes, py: expressions in 3 settings`: the one-line count."""
        parts = []
        if self.nodes:
            parts.append(f"{len(self.nodes)} code node{'s' if len(self.nodes) != 1 else ''}")
        if self.expressions:
            n = len(self.expressions)
            parts.append(f"py: expressions in {n} setting{'s' if n != 1 else ''}")
        if self.other:
            parts.append(f"{len(self.other)} other use{'s' if len(self.other) != 1 else ''} of code")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """What the list in the prompt shows, one entry per line."""
        shown = [f"{path}  ({node_type} node)" for path, node_type in self.nodes]
        if self.expressions:
            n = len(self.expressions)
            shown.append(f"py: expressions in {n} setting{'s' if n != 1 else ''}:")
            shown.extend(f"    {path}: {where}" for path, where in self.expressions)
        shown.extend(self.other)
        return shown


class TrustPrompt(QtWidgets.QDialog):
    """Asks whether a flow from an untrusted folder may run its code. `answer` holds the choice
    once `finished` has been emitted (CANCEL until a button is pressed)."""

    def __init__(
        self,
        parent: QtWidgets.QWidget | None,
        flow_path: Path | None,
        folder: Path | None,
        uses: Sequence[str],
        *,
        config_path: Path | None = None,
        offer_save: bool = True,
        reason: str | None = None,
    ) -> None:
        """`reason` (plain text) replaces the explanation shown when there is no folder to trust;
        `offer_save=False` drops "Save…" (only untitled documents in the editor can be saved)."""
        super().__init__(parent)
        self.setObjectName("trust_prompt")
        self.setWindowTitle("Run code from an untrusted folder?")
        self.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        self.flow_path = flow_path
        self.folder = folder
        self.summary = CodeSummary(uses)
        self.answer = TrustAnswer.CANCEL

        icon = QtWidgets.QLabel()
        size = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size)
        )
        icon.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        name = flow_path.name if flow_path is not None else "This untitled flow"
        title = QtWidgets.QLabel(f"<b>{html.escape(name)} would run code on this computer</b>")
        title.setObjectName("trust_title")
        if folder is not None:
            why = (
                f"Its folder <code>{html.escape(str(folder))}</code> is not one of your trusted folders. "
                "Command and python nodes and py: expressions can do anything your user account can: "
                "run it only if you trust where it came from."
            )
        elif reason is not None:
            why = html.escape(reason)
        else:
            why = (
                "An untitled flow has no folder to trust: run it once, or save it first and then "
                "choose whether to trust the folder you saved it in."
            )
        text = QtWidgets.QLabel(why)
        text.setObjectName("trust_text")
        text.setWordWrap(True)
        text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        counts = QtWidgets.QLabel(f"It would run: {html.escape(self.summary.headline())}")
        counts.setObjectName("trust_counts")
        self.uses_list = QtWidgets.QListWidget()
        self.uses_list.setObjectName("trust_uses")
        self.uses_list.addItems(self.summary.lines())
        self.uses_list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.uses_list.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        fixed = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.uses_list.setFont(fixed)
        rows = min(max(self.uses_list.count(), 2), 8)
        self.uses_list.setFixedHeight(rows * self.uses_list.sizeHintForRow(0) + 2 * self.uses_list.frameWidth() + 4)

        text_column = QtWidgets.QVBoxLayout()
        text_column.addWidget(title)
        text_column.addWidget(text)
        text_column.addSpacing(4)
        text_column.addWidget(counts)
        text_column.addWidget(self.uses_list)
        if folder is not None and config_path is not None:
            note = QtWidgets.QLabel(
                f"Trusted folders are kept in {html.escape(str(config_path))} (outside every project)."
            )
            note.setObjectName("trust_note")
            note.setWordWrap(True)
            note.setEnabled(False)  # drawn dimmed: a footnote
            text_column.addWidget(note)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(icon)
        top.addSpacing(8)
        top.addLayout(text_column, 1)

        self.buttons = QtWidgets.QDialogButtonBox()
        role = QtWidgets.QDialogButtonBox.ButtonRole
        self.buttons_by_answer: dict[TrustAnswer, QtWidgets.QPushButton] = {}
        if folder is not None:
            trust = self._add_button("Trust folder and run", TrustAnswer.TRUST_FOLDER, role.AcceptRole)
            trust.setToolTip(f"Remember {folder} as trusted, then run (flows in it will not ask again)")
        elif offer_save:
            save = self._add_button("Save…", TrustAnswer.SAVE, role.ActionRole)
            save.setToolTip("Save the flow, then choose whether to trust the folder it is saved in")
        once = self._add_button("Run once", TrustAnswer.RUN_ONCE, role.AcceptRole)
        once.setToolTip("Run with code allowed this time only; nothing is remembered")
        cancel = self._add_button("Cancel", TrustAnswer.CANCEL, role.RejectRole)
        cancel.setDefault(True)  # Enter does not run code by accident
        cancel.setAutoDefault(True)
        for answer, button in self.buttons_by_answer.items():
            if answer is not TrustAnswer.CANCEL:
                button.setAutoDefault(False)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _add_button(
        self, text: str, answer: TrustAnswer, role: QtWidgets.QDialogButtonBox.ButtonRole
    ) -> QtWidgets.QPushButton:
        button = self.buttons.addButton(text, role)
        assert button is not None
        button.setObjectName(f"trust_{answer.value}")
        button.clicked.connect(lambda _checked=False, a=answer: self._choose(a))
        self.buttons_by_answer[answer] = button
        return button

    def _choose(self, answer: TrustAnswer) -> None:
        self.answer = answer
        if answer is TrustAnswer.CANCEL:
            self.reject()
        else:
            self.accept()


def folder_trusted(flow_path: Path | None) -> tuple[bool, str | None]:
    """(whether the flow's folder is trusted, a note for the status bar). An untitled flow never
    is (it has no folder); a broken user config trusts nothing, and says so."""
    if flow_path is None:
        return False, None
    try:
        return is_trusted(flow_path), None
    except ConfigError as exc:
        return False, f"Trusted folders unknown: {exc}"


def apply_answer(answer: TrustAnswer, folder: Path | None) -> tuple[bool, str | None]:
    """Carry out an answer: (start the run trusted, a note for the status bar). "Trust folder"
    writes the user config first; if that fails nothing runs (the user asked for both)."""
    if answer is TrustAnswer.RUN_ONCE:
        return True, None
    if answer is TrustAnswer.TRUST_FOLDER and folder is not None:
        try:
            stored = trust_folder(folder)
        except (ConfigError, OSError) as exc:
            return False, f"Cannot trust {folder}: {exc}; nothing ran"
        return True, f"Trusted {stored}"
    if answer is TrustAnswer.SAVE:
        return False, None
    return False, "Run cancelled: the flow's code was not trusted; nothing ran"


async def ask_trust(
    parent: QtWidgets.QWidget | None,
    flow_path: Path | None,
    folder: Path | None,
    uses: Sequence[str],
    *,
    config_path: Path | None = None,
    offer_save: bool = True,
    reason: str | None = None,
) -> TrustAnswer:
    """Show the prompt window-modal and wait for the answer without nesting an event loop
    (safe inside a coroutine on the qasync loop)."""
    prompt = TrustPrompt(parent, flow_path, folder, uses, config_path=config_path, offer_save=offer_save, reason=reason)
    try:
        await ask(prompt)
        return prompt.answer
    finally:
        prompt.deleteLater()
