"""Renaming a node: its id, edges, layout and every ``$hier{}`` reference to it in the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .commands import Command
from .errors import CommandError, ComponentPath

if TYPE_CHECKING:
    from .document import FlowDocument


@dataclass
class RenameNode(Command):
    cpath: ComponentPath
    old: str
    new: str

    def __post_init__(self) -> None:
        self.text = f"Rename {self.old} to {self.new}"

    def do(self, doc: FlowDocument) -> None:
        raise CommandError("rename is not implemented yet")

    def undo(self, doc: FlowDocument) -> None:
        raise NotImplementedError


def rename_refs_in_component(root: object, old: str, new: str) -> None:
    """Rewrite $hier references to node ``old`` of ``root`` (a standalone component) to ``new``."""
