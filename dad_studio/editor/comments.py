"""Canvas comments (backdrops) as undoable document edits.

A comment is layout, not meaning (FLOW_FORMAT.md, schema_version 2): it never changes what runs,
so its commands touch only `component.comments` and emit only the comment signals. Like every
command, each checks before it changes anything and undo restores the exact previous list (the
same Comment objects at the same positions), so the file bytes after undo equal those before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dad_studio.model import ID_PATTERN, Comment
from dad_studio.model.definitions import MAX_ID_LENGTH

from .commands import Command
from .errors import CommandError, ComponentPath
from .ids import free_id

if TYPE_CHECKING:
    from .document import FlowDocument

Rect = tuple[int, int, int, int]
"""x, y, width, height in scene units."""

EDITABLE = frozenset({"text", "x", "y", "width", "height", "color"})


def _find(doc: FlowDocument, cpath: ComponentPath, comment_id: str) -> int:
    for i, comment in enumerate(doc.component(cpath).comments):
        if comment.id == comment_id:
            return i
    raise CommandError(f"no comment {comment_id!r} in {doc.describe(cpath)}")


def _checked(data: Mapping[str, Any]) -> Comment:
    try:
        return Comment.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ()))
        raise CommandError(f"bad comment {where}: {error.get('msg', exc)}") from None


def _round_rect(rect: Iterable[float]) -> Rect:
    x, y, w, h = (round(v) for v in rect)
    return (x, y, w, h)


@dataclass
class AddComment(Command):
    cpath: ComponentPath
    comment: Comment

    def __post_init__(self) -> None:
        self.text = f"Add comment {self.comment.id}"

    def do(self, doc: FlowDocument) -> None:
        comments = doc.component(self.cpath).comments
        if not ID_PATTERN.match(self.comment.id) or len(self.comment.id) > MAX_ID_LENGTH:
            raise CommandError(f"invalid comment id {self.comment.id!r}: use letters, digits and _ (not first)")
        if any(c.id == self.comment.id for c in comments):
            raise CommandError(f"comment id {self.comment.id!r} is already used in {doc.describe(self.cpath)}")
        comments.append(self.comment)
        doc.comment_added.emit(self.cpath, self.comment.id)

    def undo(self, doc: FlowDocument) -> None:
        comments = doc.component(self.cpath).comments
        assert comments and comments[-1] is self.comment
        comments.pop()
        doc.comment_removed.emit(self.cpath, self.comment.id)


@dataclass
class RemoveComment(Command):
    cpath: ComponentPath
    comment_id: str
    _index: int = field(default=-1, repr=False)
    _comment: Comment | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Remove comment {self.comment_id}"

    def do(self, doc: FlowDocument) -> None:
        self._index = _find(doc, self.cpath, self.comment_id)
        self._comment = doc.component(self.cpath).comments.pop(self._index)
        doc.comment_removed.emit(self.cpath, self.comment_id)

    def undo(self, doc: FlowDocument) -> None:
        assert self._comment is not None
        doc.component(self.cpath).comments.insert(self._index, self._comment)
        doc.comment_added.emit(self.cpath, self.comment_id)


@dataclass
class EditComment(Command):
    """Change some of a comment's fields (text, rectangle, colour); a drag or resize may merge."""

    cpath: ComponentPath
    comment_id: str
    changes: dict[str, Any]
    label: str = "Edit comment"
    mergeable: bool = False
    _old: Comment | None = field(default=None, repr=False)
    _new: Comment | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"{self.label} {self.comment_id}"

    def do(self, doc: FlowDocument) -> None:
        unknown = set(self.changes) - EDITABLE
        if unknown:
            raise CommandError(f"cannot edit {', '.join(sorted(unknown))} of a comment ({', '.join(sorted(EDITABLE))})")
        comments = doc.component(self.cpath).comments
        index = _find(doc, self.cpath, self.comment_id)
        old = comments[index]
        new = _checked({**old.model_dump(), **self.changes})
        self._old, self._new = old, new
        comments[index] = new
        doc.comment_changed.emit(self.cpath, self.comment_id)

    def undo(self, doc: FlowDocument) -> None:
        assert self._old is not None and self._new is not None
        comments = doc.component(self.cpath).comments
        index = next(i for i, c in enumerate(comments) if c is self._new)
        comments[index] = self._old
        doc.comment_changed.emit(self.cpath, self.comment_id)

    def merge(self, other: Command) -> bool:
        """A continued drag / resize of the same comment is one undo step (keeps the first old state)."""
        if (
            isinstance(other, EditComment)
            and self.mergeable
            and other.mergeable
            and (other.cpath, other.comment_id) == (self.cpath, self.comment_id)
            and other.changes.keys() == self.changes.keys()
            and other._old is self._new
        ):
            self.changes = dict(other.changes)
            self._new = other._new
            return True
        return False


def unique_comment_id(doc: FlowDocument, cpath: ComponentPath, base: str = "comment", taken: Iterable[str] = ()) -> str:
    """``base`` if no comment of the component uses it, else base_2, base_3..."""
    return free_id(base, {c.id for c in doc.component(cpath).comments} | set(taken), "comment")


def new_comment(comment_id: str, text: str, rect: Iterable[float], color: str | None = None) -> Comment:
    """A checked Comment (CommandError for a non-positive size or a bad colour)."""
    x, y, w, h = _round_rect(rect)
    return _checked({"id": comment_id, "text": text, "x": x, "y": y, "width": w, "height": h, "color": color})


class CommentOps:
    """Mixed into FlowDocument: the comment calls the canvas makes (``self`` is the document)."""

    def _cdoc(self) -> FlowDocument:
        return self  # type: ignore[return-value]

    def comment(self, cpath: ComponentPath, comment_id: str) -> Comment:
        doc = self._cdoc()
        return doc.component(cpath).comments[_find(doc, cpath, comment_id)]

    def add_comment(
        self,
        cpath: ComponentPath,
        text: str,
        rect: tuple[float, float, float, float],
        *,
        color: str | None = None,
        comment_id: str | None = None,
    ) -> str:
        """Add a comment at ``rect`` (x, y, width, height); returns its id (comment, comment_2...)."""
        doc = self._cdoc()
        cid = comment_id if comment_id is not None else unique_comment_id(doc, cpath)
        doc.execute(AddComment(cpath, new_comment(cid, text, rect, color)))
        return cid

    def edit_comment_text(self, cpath: ComponentPath, comment_id: str, text: str) -> None:
        doc = self._cdoc()
        if self.comment(cpath, comment_id).text != text:
            doc.execute(EditComment(cpath, comment_id, {"text": text}, "Edit text of"))

    def set_comment_rect(
        self,
        cpath: ComponentPath,
        comment_id: str,
        rect: tuple[float, float, float, float],
        *,
        merge: bool = False,
    ) -> None:
        """Move and / or resize in one command; ``merge=True`` folds into the previous step of the
        same gesture (a live drag)."""
        doc = self._cdoc()
        x, y, w, h = _round_rect(rect)
        old = self.comment(cpath, comment_id)
        if (old.x, old.y, old.width, old.height) == (x, y, w, h):
            return
        label = "Move comment" if (old.width, old.height) == (w, h) else "Resize comment"
        doc.execute(EditComment(cpath, comment_id, {"x": x, "y": y, "width": w, "height": h}, label, mergeable=merge))

    def set_comment_color(self, cpath: ComponentPath, comment_id: str, color: str | None) -> None:
        self._cdoc().execute(EditComment(cpath, comment_id, {"color": color}, "Colour"))

    def remove_comment(self, cpath: ComponentPath, comment_id: str) -> None:
        self._cdoc().execute(RemoveComment(cpath, comment_id))
