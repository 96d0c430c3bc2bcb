"""The node-type registry: built-in types plus plugins from the entry-point group `dad_studio.nodes`.

A NodeType describes what the editor and the validator need (id, title, ports, settings model).
Its executor is named by an import string ("package.module:Class") so this layer stays free of the
engine; the engine resolves it when a node of the type first runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel

from dad_studio.model import settings as s

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dad_studio.nodes"


@dataclass(frozen=True)
class Port:
    name: str
    """`in`; `out` (success), `error`; `true` / `false` on conditionals."""
    direction: Literal["in", "out"]
    meaning: Literal["input", "success", "error", "true", "false"]


IN = Port("in", "in", "input")
OUT = Port("out", "out", "success")
ERROR = Port("error", "out", "error")
STANDARD_PORTS = (IN, OUT, ERROR)
CONDITIONAL_PORTS = (IN, Port("true", "out", "true"), Port("false", "out", "false"), ERROR)


@dataclass(frozen=True)
class NodeType:
    """What a node type is, for the registry, the validator and the editor."""

    id: str
    title: str
    description: str
    settings_model: type[BaseModel]
    executor: str
    """Import string of the executor class, "package.module:Name"."""
    ports: tuple[Port, ...] = STANDARD_PORTS
    category: str = "General"
    icon: str = ""
    has_body: bool = False
    """True for subflow / for_each: their settings hold a nested component."""
    trusted_only: bool = False
    """True for node types that run code (command, python): refused in untrusted folders."""


BUILTIN_TYPES: tuple[NodeType, ...] = (
    NodeType(
        "ai_model",
        "AI model",
        "Call a language model with a templated prompt",
        s.AIModelSettings,
        "dad_studio.nodes.ai_model:AIModelExecutor",
        category="Models",
        icon="ai_model",
    ),
    NodeType(
        "command",
        "Command",
        "Run shell commands",
        s.CommandSettings,
        "dad_studio.nodes.command:CommandExecutor",
        category="Tools",
        icon="command",
        trusted_only=True,
    ),
    NodeType(
        "file_operation",
        "File operation",
        "Create, edit, move and delete files inside allowed folders",
        s.FileOperationSettings,
        "dad_studio.nodes.files:FileOperationExecutor",
        category="Files",
        icon="file_operation",
    ),
    NodeType(
        "folder_analyzer",
        "Folder analyzer",
        "Read a folder: tree, file list, contents",
        s.FolderAnalyzerSettings,
        "dad_studio.nodes.folders:FolderAnalyzerExecutor",
        category="Files",
        icon="folder_analyzer",
    ),
    NodeType(
        "python",
        "Python callback",
        "Call a Python function with templated arguments",
        s.PythonSettings,
        "dad_studio.nodes.python_call:PythonExecutor",
        category="Tools",
        icon="python",
        trusted_only=True,
    ),
    NodeType(
        "input",
        "Human input",
        "Ask the user for values during the run",
        s.InputSettings,
        "dad_studio.nodes.human_input:InputExecutor",
        category="Control",
        icon="input",
    ),
    NodeType(
        "conditional",
        "Conditional",
        "Branch on a boolean expression",
        s.ConditionalSettings,
        "dad_studio.engine.control:ConditionalExecutor",
        ports=CONDITIONAL_PORTS,
        category="Control",
        icon="conditional",
    ),
    NodeType(
        "for_each",
        "For each",
        "Run a body once per item of a list",
        s.ForEachSettings,
        "dad_studio.engine.control:ForEachExecutor",
        category="Control",
        icon="for_each",
        has_body=True,
    ),
    NodeType(
        "subflow",
        "Subflow",
        "Run a nested flow, inline or from another file",
        s.SubflowSettings,
        "dad_studio.engine.control:SubflowExecutor",
        category="Control",
        icon="subflow",
        has_body=True,
    ),
)


@dataclass
class NodeTypeRegistry:
    """Node types by id. Instances are independent; `default_registry()` is the usual one."""

    types: dict[str, NodeType] = field(default_factory=dict)

    def register(self, node_type: NodeType, *, replace: bool = False) -> None:
        if node_type.id in self.types and not replace:
            raise ValueError(f"node type {node_type.id!r} is already registered")
        self.types[node_type.id] = node_type

    def get(self, type_id: str) -> NodeType | None:
        return self.types.get(type_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self.types

    def __iter__(self) -> Iterator[NodeType]:
        return iter(self.types.values())

    def ids(self) -> list[str]:
        return sorted(self.types)

    @classmethod
    def with_types(cls, types: Iterable[NodeType]) -> NodeTypeRegistry:
        registry = cls()
        for node_type in types:
            registry.register(node_type)
        return registry

    def load_entry_points(self) -> list[str]:
        """Register plugin types; returns a message per plugin that failed to load (never raises)."""
        from importlib.metadata import entry_points  # ~25 ms to import: only when plugins are looked up

        problems: list[str] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                node_type = ep.load()
                if not isinstance(node_type, NodeType):
                    raise TypeError(f"expected a NodeType, got {type(node_type).__name__}")
                self.register(node_type)
            except Exception as exc:
                msg = f"node type plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                log.warning(msg)
                problems.append(msg)
        return problems


@lru_cache(maxsize=1)
def _default_types() -> tuple[NodeType, ...]:
    registry = NodeTypeRegistry.with_types(BUILTIN_TYPES)
    registry.load_entry_points()
    return tuple(registry)


def default_registry() -> NodeTypeRegistry:
    """A fresh registry with the built-in types and every installed plugin (discovery is cached)."""
    return NodeTypeRegistry.with_types(_default_types())
