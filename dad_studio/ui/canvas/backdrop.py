"""The canvas item of a document comment (a backdrop): a rounded box behind nodes with a title and text.

The item mirrors a `Comment` of the document (schema_version 2) and never edits it: a finished
resize or text edit is reported through the callbacks the CanvasWidget sets (`on_rect`, `on_text`),
which turn it into document commands; moves are reported by the view with the nodes' moves. Then
the document's comment_changed signal sets the item from the model again (`set_comment`), so undo,
redo and edits from elsewhere show up the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.model import Comment

COMMENT_ITEM_TYPE = QtWidgets.QGraphicsItem.UserType + 3
"""The type id the old canvas-only BackdropItem had; comments replace it."""
DEFAULT_COLOUR = "#f0b429"
GRIP = 14.0
"""Side of the resize grip in the bottom-right corner (scene units)."""
MIN_SIZE = 40.0
RADIUS = 8.0
TITLE_HEIGHT = 24.0

RectCallback = Callable[[str, tuple[int, int, int, int]], None]
TextCallback = Callable[[str, str], None]


class CommentItem(QtWidgets.QGraphicsItem):
    """One comment. Its position is the comment's (x, y); `size` its width and height."""

    text_colour = QtGui.QColor("#e6e6e6")
    """Set with the theme (CanvasWidget.set_palette)."""

    def __init__(self, comment: Comment) -> None:
        super().__init__()
        self.comment_id = comment.id
        self.text = ""
        self.color: str | None = None
        self.size = QtCore.QSizeF(1, 1)
        self.on_rect: RectCallback | None = None
        self.on_text: TextCallback | None = None
        self.editor: QtWidgets.QGraphicsTextItem | None = None
        self._resize_from: tuple[QtCore.QPointF, QtCore.QSizeF] | None = None
        self.setZValue(-2)  # behind edges (0) and nodes (1)
        self.setFlags(
            QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsMovable
        )
        self.setAcceptHoverEvents(True)
        self.set_comment(comment)

    def type(self) -> int:
        return COMMENT_ITEM_TYPE

    # -- from the document ---------------------------------------------------------------------------

    def set_comment(self, comment: Comment) -> None:
        """Show the document's state of the comment (after an edit, an undo or a redo)."""
        size = QtCore.QSizeF(comment.width, comment.height)
        if size != self.size:
            self.prepareGeometryChange()
            self.size = size
        if (self.x(), self.y()) != (comment.x, comment.y):
            self.setPos(comment.x, comment.y)
        self.text, self.color = comment.text, comment.color
        self.setToolTip(comment.text)
        self.update()

    def rect_tuple(self) -> tuple[int, int, int, int]:
        return (round(self.x()), round(self.y()), round(self.size.width()), round(self.size.height()))

    def colour(self) -> QtGui.QColor:
        return QtGui.QColor(self.color or DEFAULT_COLOUR)

    # -- painting ------------------------------------------------------------------------------------

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(QtCore.QPointF(0, 0), self.size).adjusted(-1, -1, 1, 1)

    def shape(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        path.addRoundedRect(QtCore.QRectF(QtCore.QPointF(0, 0), self.size), RADIUS, RADIUS)
        return path

    def title(self) -> str:
        return self.text.split("\n", 1)[0] if self.text else "Comment"

    def body(self) -> str:
        return self.text.split("\n", 1)[1] if "\n" in self.text else ""

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        rect = QtCore.QRectF(QtCore.QPointF(0, 0), self.size)
        colour = self.colour()
        fill = QtGui.QColor(colour)
        fill.setAlpha(38)
        header = QtGui.QColor(colour)
        header.setAlpha(90)
        selected = self.isSelected()
        painter.setPen(QtGui.QPen(colour, 2.0 if selected else 1.0, QtCore.Qt.PenStyle.SolidLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.3:
            return
        title_rect = QtCore.QRectF(0, 0, rect.width(), min(TITLE_HEIGHT, rect.height()))
        path = QtGui.QPainterPath()
        path.addRoundedRect(title_rect, RADIUS, RADIUS)
        painter.fillPath(path, header)
        font = painter.font()
        font.setPointSizeF(9.5)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.text_colour)
        if self.editor is None:
            flags = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
            metrics = painter.fontMetrics()
            title = metrics.elidedText(self.title(), QtCore.Qt.TextElideMode.ElideRight, int(rect.width() - 16))
            painter.drawText(title_rect.adjusted(8, 0, -8, 0), flags, title)
            body = self.body()
            if body:
                font.setBold(False)
                font.setPointSizeF(8.5)
                painter.setFont(font)
                wrap = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop
                text_rect = rect.adjusted(8, TITLE_HEIGHT + 4, -8, -GRIP)
                painter.drawText(text_rect, int(wrap) | int(QtCore.Qt.TextFlag.TextWordWrap), body)
        grip = QtGui.QPainterPath()  # the resize grip: a small triangle in the corner
        corner = rect.bottomRight()
        grip.moveTo(corner)
        grip.lineTo(corner - QtCore.QPointF(GRIP, 0))
        grip.lineTo(corner - QtCore.QPointF(0, GRIP))
        grip.closeSubpath()
        painter.fillPath(grip, colour)

    # -- resizing ------------------------------------------------------------------------------------

    def in_grip(self, local: QtCore.QPointF) -> bool:
        return local.x() >= self.size.width() - GRIP and local.y() >= self.size.height() - GRIP

    def hoverMoveEvent(self, event: QtWidgets.QGraphicsSceneHoverEvent) -> None:
        shape = (
            QtCore.Qt.CursorShape.SizeFDiagCursor if self.in_grip(event.pos()) else QtCore.Qt.CursorShape.ArrowCursor
        )
        self.setCursor(shape)
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton and self.in_grip(event.pos()):
            self._resize_from = (event.scenePos(), QtCore.QSizeF(self.size))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self._resize_from is not None:
            start, size = self._resize_from
            delta = event.scenePos() - start
            self.prepareGeometryChange()
            self.size = QtCore.QSizeF(max(MIN_SIZE, size.width() + delta.x()), max(MIN_SIZE, size.height() + delta.y()))
            self.update()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self._resize_from is not None:
            _, size = self._resize_from
            self._resize_from = None
            if size != self.size and self.on_rect is not None:
                self.on_rect(self.comment_id, self.rect_tuple())
            return
        super().mouseReleaseEvent(event)

    # -- editing the text ----------------------------------------------------------------------------

    def start_editing(self) -> QtWidgets.QGraphicsTextItem:
        """An in-place editor over the box (double-click); focus out or Ctrl+Enter commits, Esc cancels."""
        if self.editor is not None:
            return self.editor
        editor = _CommentEditor(self)
        editor.setPlainText(self.text)
        editor.setDefaultTextColor(self.text_colour)
        editor.setTextWidth(max(MIN_SIZE, self.size.width() - 12))
        editor.setPos(6, 4)
        editor.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextEditorInteraction)
        self.editor = editor
        editor.setFocus(QtCore.Qt.FocusReason.MouseFocusReason)
        cursor = editor.textCursor()
        cursor.select(QtGui.QTextCursor.SelectionType.Document)
        editor.setTextCursor(cursor)
        self.update()
        return editor

    def finish_editing(self, *, commit: bool = True) -> None:
        editor = self.editor
        if editor is None:
            return
        self.editor = None
        text = editor.toPlainText()
        editor.clearFocus()
        scene = editor.scene()
        if scene is not None:
            scene.removeItem(editor)
        self.update()
        if commit and text != self.text and self.on_text is not None:
            self.on_text(self.comment_id, text)


class _CommentEditor(QtWidgets.QGraphicsTextItem):
    """The text editor child of a CommentItem while its text is edited."""

    def __init__(self, owner: CommentItem) -> None:
        super().__init__(owner)
        self.owner = owner

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        QtCore.QTimer.singleShot(0, self._commit)  # not while Qt is still delivering the focus change

    def _commit(self) -> None:
        if self.owner.editor is self:
            self.owner.finish_editing()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Escape:
            self.owner.finish_editing(commit=False)
            return
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and (
            event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
        ):
            self.owner.finish_editing()
            return
        super().keyPressEvent(event)
