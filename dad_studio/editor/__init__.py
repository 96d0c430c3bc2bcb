"""The Qt-free editing document: a FlowDocument with undoable commands and psygnal change signals.

The canvas and panels (dad_studio.ui) are views: they subscribe to the document's signals once and
turn every user edit into a document call (add_node, connect, move_nodes...), never editing the
model directly. See ARCHITECTURE.md, "The pydantic document is the source of truth".
"""

from dad_studio.fileformat import FlowFileError, Problem

from . import clipboard
from .commands import (
    AddNode,
    Command,
    Connect,
    Disconnect,
    MacroCommand,
    MoveNodes,
    RemoveNodes,
    ReplaceContents,
    SetNodeField,
    SetSetting,
    SetVariable,
)
from .comments import AddComment, EditComment, RemoveComment
from .document import FlowDocument
from .errors import CommandError, ComponentPath
from .files import recovery_path
from .rename import RenameNode

__all__ = [
    "AddComment",
    "AddNode",
    "Command",
    "CommandError",
    "ComponentPath",
    "Connect",
    "Disconnect",
    "EditComment",
    "FlowDocument",
    "FlowFileError",
    "MacroCommand",
    "MoveNodes",
    "Problem",
    "RemoveComment",
    "RemoveNodes",
    "RenameNode",
    "ReplaceContents",
    "SetNodeField",
    "SetSetting",
    "SetVariable",
    "clipboard",
    "recovery_path",
]
