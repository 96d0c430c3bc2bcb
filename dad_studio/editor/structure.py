"""Group a selection into a subflow node, and ungroup a subflow back into its component."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .commands import ReplaceContents
from .errors import CommandError, ComponentPath

if TYPE_CHECKING:
    from .document import FlowDocument


def group_command(doc: FlowDocument, cpath: ComponentPath, ids: list[str], new_id: str) -> ReplaceContents:
    raise CommandError("group is not implemented yet")


def ungroup_command(doc: FlowDocument, cpath: ComponentPath, subflow_id: str) -> tuple[ReplaceContents, list[str]]:
    raise CommandError("ungroup is not implemented yet")
