"""Artifact browser: the run folder's artifacts and node records as a tree by hierarchy path.

The folder is listed and files are read in a worker thread; previews: text, JSON (indented),
Markdown (QTextBrowser.setMarkdown), images, diffs (added / removed lines coloured). Open hands
the file to the system application; Reveal opens the folder that holds it.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.runs import read_run
from dad_studio.ui.canvas.items import RUN_COLOURS
from dad_studio.ui.run.panel_base import RunPanel

ENTRY_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
PREVIEW_BYTES = 512 * 1024
IMAGE_PREVIEW_LIMIT = 32 * 1024 * 1024
"""Images are decoded whole (a cut image is a broken one); bigger ones are only offered to Open."""
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp"}
REFRESH_MS = 1000
REFRESH_ON = ("artifact_written", "run_completed")
"""Node records appear at the end of the run (or on Refresh): listing them costs O(elements)."""


@dataclass(frozen=True)
class Entry:
    """A leaf of the browser: a file (artifact) or a node record (`record` set)."""

    hier: tuple[str, ...]
    label: str
    file: Path | None = None
    record: dict[str, Any] | None = None
    size: int = 0


def scan(run_dir: Path) -> list[Entry]:
    """Every artifact file (under artifacts/ or announced by an event) and every node record."""
    entries: list[Entry] = []
    seen: dict[Path, int] = {}
    """File -> its entry's index: a file written again (two events) is one row, at its latest size."""
    record = read_run(run_dir)
    root = run_dir / "artifacts"
    for event in record.events:
        if event.get("type") != "artifact_written":
            continue
        name = str(event.get("artifact") or "")
        file = Path(name) if os.path.isabs(name) else root / name
        hier = tuple(str(event.get("path", "")).split("."))
        element_dir = root.joinpath(*hier)
        try:
            label = file.relative_to(element_dir).as_posix()
        except ValueError:
            label = file.name
        entry = Entry(hier, label, file=file, size=int(event.get("size") or 0))
        at = seen.setdefault(file.resolve(), len(entries))
        if at == len(entries):
            entries.append(entry)
        else:
            entries[at] = entry
    if root.is_dir():
        for folder, _dirs, files in os.walk(root):
            for name in sorted(files):
                file = Path(folder) / name
                if file.resolve() in seen:
                    continue
                parts = file.relative_to(root).parts
                entries.append(Entry(tuple(parts[:-1]), parts[-1], file=file, size=file.stat().st_size))
    for path, result in record.results.items():
        entries.append(Entry(tuple(path.split(".")), "record.json", record={"path": path, **result}))
    return entries


def read_preview(file: Path) -> tuple[str, Any]:
    """(kind, content) for the preview: image bytes, markdown, json, diff or text.

    Reads at most PREVIEW_BYTES of any text-like file (an artifact can be gigabytes) and a whole
    image only up to IMAGE_PREVIEW_LIMIT; a larger image gets a "too large" line instead.
    """
    suffix = file.suffix.lower()
    with file.open("rb") as stream:
        if suffix in IMAGE_SUFFIXES:
            size = os.fstat(stream.fileno()).st_size
            if size > IMAGE_PREVIEW_LIMIT:
                return "text", f"{file.name}: too large to preview ({size / 1e6:,.0f} MB) — Open"
            return "image", stream.read()
        data = stream.read(PREVIEW_BYTES)
    text = data.decode("utf-8", "replace")
    if suffix in (".md", ".markdown"):
        return "markdown", text
    if suffix == ".json":
        try:
            return "json", json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return "text", text
    if suffix in (".diff", ".patch") or text.startswith(("--- ", "diff ")):
        return "diff", text
    if b"\0" in data[:4096]:
        return "binary", f"{file.name}: binary file, {file.stat().st_size:,} bytes"
    return "text", text


def diff_html(text: str) -> str:
    colours = {"+": "#4cc38a", "-": "#ff5c5c", "@": "#8fb4ff"}
    lines = []
    for line in text.splitlines():
        colour = colours.get(line[:1], "")
        if line.startswith(("+++", "---")):
            colour = "#9aa0aa"
        escaped = html.escape(line) or "&nbsp;"
        lines.append(f'<span style="color:{colour}">{escaped}</span>' if colour else escaped)
    return "<pre style='font-family: monospace'>" + "\n".join(lines) + "</pre>"


class ArtifactBrowser(RunPanel):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Artifact", "Size"])
        self.tree.setColumnWidth(0, 230)
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.image = QtWidgets.QLabel()
        self.image.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self.preview = QtWidgets.QStackedWidget()
        self.preview.addWidget(self.text)
        self.preview.addWidget(scroll)
        self.open_button = QtWidgets.QPushButton("Open")
        self.reveal_button = QtWidgets.QPushButton("Reveal in folder")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.open_button.clicked.connect(self.open_selected)
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.refresh_button.clicked.connect(self.rebuild)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.open_button, self.reveal_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        split = QtWidgets.QSplitter()
        split.addWidget(self.tree)
        split.addWidget(self.preview)
        split.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.entries: list[Entry] = []
        self.preview_kind = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._generation = 0
        self.refresh_timer = QtCore.QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.rebuild)
        self.tree.currentItemChanged.connect(lambda current, _p: self._spawn(self._show(current)))

    # -- listing -----------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def rebuild(self) -> None:
        """List the run folder again; a hidden browser (a tab behind another) only marks itself
        stale and lists when shown (RunPanel.showEvent): a fill of thousands of rows at every run
        start is a long stall of the UI thread nobody sees the result of."""
        self._generation += 1  # a listing still in flight is stale either way
        if self.hidden():
            self._stale = True
            return
        if self.session is None:
            self.tree.clear()
            self.entries = []
            return
        if not (Path(self.session.run_dir) / "run.json").exists():
            self.tree.clear()
            return
        self._spawn(self._list(self._generation, Path(self.session.run_dir)))

    def hidden(self) -> bool:
        """Not on screen: closed, or a tab behind another (a tabbed dock stays isVisible())."""
        return not self.isVisible() or self.visibleRegion().isEmpty()

    def on_visibility(self, visible: bool) -> None:
        """The dock's visibilityChanged: a browser marked stale while behind a tab lists now."""
        if visible and self._stale:
            self._stale = False
            # the tab switch finishes laying out first: visibleRegion is only set after it
            QtCore.QTimer.singleShot(0, self.rebuild)

    async def _list(self, generation: int, run_dir: Path) -> None:
        try:
            entries = await asyncio.get_running_loop().run_in_executor(None, scan, run_dir)
        except Exception as exc:  # a half-written folder: say so, try again on the next refresh
            self.text.setPlainText(f"cannot list {run_dir}: {exc}")
            return
        if generation != self._generation:
            return
        self.entries = entries
        self._fill(entries)

    def _fill(self, entries: list[Entry]) -> None:
        """List `entries` again, keeping the row the user had picked (and the scroll position): a
        refresh during a run must not drop the artifact being read."""
        picked = self.selected_entry()
        scroll = self.tree.verticalScrollBar().value()
        self.tree.setUpdatesEnabled(False)
        try:
            self._fill_items(entries)
            if picked is not None:
                self._pick_again(picked)
            self.tree.verticalScrollBar().setValue(scroll)
        finally:
            self.tree.setUpdatesEnabled(True)

    def _pick_again(self, picked: Entry) -> None:
        key = (picked.hier, picked.label)
        iterator = QtWidgets.QTreeWidgetItemIterator(self.tree)
        while (item := iterator.value()) is not None:
            entry = item.data(0, ENTRY_ROLE)
            if isinstance(entry, Entry) and (entry.hier, entry.label) == key:
                self.tree.setCurrentItem(item)  # the preview reads it again: it may have grown
                return
            iterator += 1

    def _fill_items(self, entries: list[Entry]) -> None:
        self.tree.clear()
        folders: dict[tuple[str, ...], QtWidgets.QTreeWidgetItem] = {}
        statuses = self.session.state.nodes if self.session is not None else {}

        def folder(hier: tuple[str, ...]) -> QtWidgets.QTreeWidgetItem | None:
            if not hier:
                return None
            item = folders.get(hier)
            if item is None:
                parent = folder(hier[:-1])
                item = QtWidgets.QTreeWidgetItem([hier[-1], ""])
                view = statuses.get(".".join(hier))
                if view is not None:
                    item.setForeground(0, QtGui.QBrush(QtGui.QColor(RUN_COLOURS.get(view.status, "#9aa0aa"))))
                if parent is None:
                    self.tree.addTopLevelItem(item)
                else:
                    parent.addChild(item)
                item.setExpanded(True)
                folders[hier] = item
            return item

        for entry in sorted(entries, key=lambda e: (e.hier, e.record is None, e.label)):
            parent = folder(entry.hier)
            item = QtWidgets.QTreeWidgetItem([entry.label, f"{entry.size:,}" if entry.file else ""])
            item.setData(0, ENTRY_ROLE, entry)
            if entry.record is not None:
                item.setForeground(0, QtGui.QBrush(QtGui.QColor("#9aa0aa")))
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)

    def update_from(self, changed: set[str], events: list[dict[str, Any]]) -> None:
        # listing reads the whole event log: at most once per REFRESH_MS, and only when it can differ
        if not self.refresh_timer.isActive() and any(e.get("type") in REFRESH_ON for e in events):
            self.refresh_timer.start()

    # -- preview -----------------------------------------------------------------------------------

    def selected_entry(self) -> Entry | None:
        item = self.tree.currentItem()
        entry = item.data(0, ENTRY_ROLE) if item is not None else None
        return entry if isinstance(entry, Entry) else None

    async def _show(self, item: QtWidgets.QTreeWidgetItem | None) -> None:
        entry = item.data(0, ENTRY_ROLE) if item is not None else None
        if not isinstance(entry, Entry):
            return
        if entry.record is not None:
            self._show_text("json", json.dumps(entry.record, indent=2, ensure_ascii=False, default=str))
            return
        assert entry.file is not None
        try:
            kind, content = await asyncio.get_running_loop().run_in_executor(None, read_preview, entry.file)
        except OSError as exc:
            self._show_text("text", f"cannot read {entry.file}: {exc}")
            return
        if self.selected_entry() is not entry:
            return  # another row was picked meanwhile
        if kind == "image":
            pixmap = QtGui.QPixmap()
            pixmap.loadFromData(content)
            self.image.setPixmap(pixmap)
            self.preview.setCurrentIndex(1)
            self.preview_kind = "image"
            return
        self._show_text(kind, content)

    def _show_text(self, kind: str, content: str) -> None:
        self.preview_kind = kind
        self.preview.setCurrentIndex(0)
        if kind == "markdown":
            self.text.setMarkdown(content)
        elif kind == "diff":
            self.text.setHtml(diff_html(content))
        else:
            self.text.setPlainText(content)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    # -- system ------------------------------------------------------------------------------------

    def open_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry.file is not None:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(entry.file)))

    def reveal_selected(self) -> None:
        entry = self.selected_entry()
        target = entry.file.parent if entry is not None and entry.file is not None else None
        if target is None and self.session is not None:
            target = Path(self.session.run_dir)
        if target is not None:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(target)))

    def leaf_entries(self) -> list[tuple[str, str]]:
        """(hierarchy path, label) of every leaf shown (tests)."""
        out: list[tuple[str, str]] = []
        iterator = QtWidgets.QTreeWidgetItemIterator(self.tree)
        while iterator.value():
            entry = iterator.value().data(0, ENTRY_ROLE)
            if isinstance(entry, Entry):
                out.append((".".join(entry.hier), entry.label))
            iterator += 1
        return out
