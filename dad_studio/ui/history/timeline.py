"""The timeline bar of the run viewer: slider over the events, step and jump buttons, play.

It only emits `step_requested(k)`; the viewer moves the replay and calls `show_step` back, so the
slider, the buttons and the keyboard all go through one path and never re-enter each other.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["SPEEDS", "TimelineBar"]

SPEEDS = (("1 event/s", 1), ("5 events/s", 5), ("20 events/s", 20), ("100 events/s", 100))


class _Holder(QtWidgets.QWidget):
    """Keeps a label whose text changes at every step from relaying out the window.

    `QLabel.setText` asks its parent's layout to run again (its size hint may have changed); in the
    viewer that ran the timeline's and the main window's layouts and repainted the window at every
    step, several ms of a 16 ms frame. Here the parent has no layout: the label just fills it, and
    the holder's own size hint is fixed (one line of text), so nothing above it is invalidated.
    """

    def __init__(self, label: QtWidgets.QLabel, *, min_width: int) -> None:
        super().__init__()
        label.setParent(self)
        self._label = label
        self._min_width = min_width
        policy = QtWidgets.QSizePolicy.Policy
        self.setSizePolicy(policy.Preferred if min_width else policy.Ignored, policy.Fixed)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self._min_width, self._label.fontMetrics().height() + 4)

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._label.setGeometry(self.rect())


class TimelineBar(QtWidgets.QWidget):
    step_requested = QtCore.Signal(int)
    next_failure_requested = QtCore.Signal()
    prev_node_requested = QtCore.Signal()
    next_node_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history_timeline")
        style = self.style()
        pixmap = QtWidgets.QStyle.StandardPixmap
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline_slider")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(10)
        self.slider.valueChanged.connect(self._on_slider)

        def button(name: str, icon: QtWidgets.QStyle.StandardPixmap, tip: str, text: str = "") -> QtWidgets.QToolButton:
            b = QtWidgets.QToolButton()
            b.setObjectName(f"timeline_{name}")
            b.setIcon(style.standardIcon(icon))
            if text:
                b.setText(text)
                b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            return b

        self.first = button("first", pixmap.SP_MediaSkipBackward, "First event (Home)")
        self.prev_node = button("prev_node", pixmap.SP_MediaSeekBackward, "Previous node event (Shift+Left)")
        self.back = button("back", pixmap.SP_ArrowLeft, "Step back one event (Left)")
        self.forward = button("forward", pixmap.SP_ArrowRight, "Step forward one event (Right)")
        self.next_node = button("next_node", pixmap.SP_MediaSeekForward, "Next node event (Shift+Right)")
        self.last = button("last", pixmap.SP_MediaSkipForward, "Last event (End)")
        self.next_failure = button("next_failure", pixmap.SP_MessageBoxWarning, "Next failure (F8)", "Failure")
        self.play = button("play", pixmap.SP_MediaPlay, "Play / pause (Space)")
        self.play.setCheckable(True)
        self.speed = QtWidgets.QComboBox()
        self.speed.setObjectName("timeline_speed")
        for text, rate in SPEEDS:
            self.speed.addItem(text, rate)
        self.speed.setCurrentIndex(2)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("timeline_label")
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.position = QtWidgets.QLabel("0 / 0")
        self.position.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        label_holder = _Holder(self.label, min_width=0)
        position_holder = _Holder(self.position, min_width=90)

        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(6, 2, 6, 2)
        column.setSpacing(0)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.slider, 1)
        top.addWidget(position_holder)
        row = QtWidgets.QHBoxLayout()
        for widget in (self.first, self.prev_node, self.back, self.play, self.forward, self.next_node, self.last):
            row.addWidget(widget)
        row.addWidget(self.next_failure)
        row.addWidget(self.speed)
        row.addSpacing(12)
        row.addWidget(label_holder, 1)
        column.addLayout(top)
        column.addLayout(row)

        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.play.toggled.connect(self._on_play)
        self.speed.currentIndexChanged.connect(self._apply_speed)
        self.first.clicked.connect(lambda: self.step_requested.emit(0))
        self.last.clicked.connect(lambda: self.step_requested.emit(self.slider.maximum()))
        self.back.clicked.connect(lambda: self.step_requested.emit(self.slider.value() - 1))
        self.forward.clicked.connect(lambda: self.step_requested.emit(self.slider.value() + 1))
        self.prev_node.clicked.connect(self.prev_node_requested)
        self.next_node.clicked.connect(self.next_node_requested)
        self.next_failure.clicked.connect(self.next_failure_requested)
        self._syncing = False
        self._apply_speed()

        shortcuts = (
            ("Left", lambda: self.back.click()),
            ("Right", lambda: self.forward.click()),
            ("Shift+Left", lambda: self.prev_node.click()),
            ("Shift+Right", lambda: self.next_node.click()),
            ("Home", lambda: self.first.click()),
            ("End", lambda: self.last.click()),
            ("F8", lambda: self.next_failure.click()),
            ("Space", lambda: self.play.toggle()),
        )
        for key, slot in shortcuts:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    # -- from the viewer ---------------------------------------------------------------------------

    def show_step(self, k: int, count: int, label: str) -> None:
        self._syncing = True
        try:
            if self.slider.maximum() != count:
                self.slider.setMaximum(count)
            if self.slider.value() != k:
                self.slider.setValue(k)
        finally:
            self._syncing = False
        self.position.setText(f"{k} / {count}")
        self.label.setText(label)
        self.back.setEnabled(k > 0)
        self.first.setEnabled(k > 0)
        self.forward.setEnabled(k < count)
        self.last.setEnabled(k < count)

    def stop(self) -> None:
        self.play.setChecked(False)
        self.timer.stop()

    # -- internals ---------------------------------------------------------------------------------

    def _on_slider(self, value: int) -> None:
        if not self._syncing:
            self.step_requested.emit(value)

    def _apply_speed(self) -> None:
        rate = int(self.speed.currentData() or 20)
        self.timer.setInterval(max(1, round(1000 / rate)))

    def _on_play(self, on: bool) -> None:
        self.play.setIcon(
            self.style().standardIcon(
                QtWidgets.QStyle.StandardPixmap.SP_MediaPause if on else QtWidgets.QStyle.StandardPixmap.SP_MediaPlay
            )
        )
        if on:
            if self.slider.value() >= self.slider.maximum():
                self.step_requested.emit(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.stop()
            return
        self.step_requested.emit(self.slider.value() + 1)
