"""Executors of node types, resolved lazily from `NodeType.executor` import strings.

One ExecutorRegistry per run: one executor instance per node type, and each node's settings
validated once per run (before templates are rendered, per attempt, by the executor).
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ValidationError

from dad_studio.model.definitions import NodeDefinition
from dad_studio.model.node_types import NodeType, NodeTypeRegistry, default_registry
from dad_studio.nodes.base import NodeFailure

__all__ = ["ExecutorRegistry"]


def _format_validation(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(settings)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class ExecutorRegistry:
    """Node types of a run and their executors."""

    __slots__ = ("_executors", "_settings", "node_types")

    def __init__(self, node_types: NodeTypeRegistry | None = None) -> None:
        self.node_types = node_types if node_types is not None else default_registry()
        self._executors: dict[str, Any] = {}
        self._settings: dict[int, tuple[NodeDefinition, BaseModel]] = {}

    def node_type(self, type_id: str) -> NodeType:
        node_type = self.node_types.get(type_id)
        if node_type is None:
            known = ", ".join(self.node_types.ids())
            raise NodeFailure(f"unknown node type {type_id!r}; known types: {known}")
        return node_type

    def executor(self, node_type: NodeType) -> Any:
        executor = self._executors.get(node_type.id)
        if executor is None:
            module_name, _, attr = node_type.executor.partition(":")
            try:
                module = importlib.import_module(module_name)
                cls = getattr(module, attr)
            except (ImportError, AttributeError) as exc:
                raise NodeFailure(
                    f"executor {node_type.executor!r} of node type {node_type.id!r} cannot be loaded: {exc}"
                )
            executor = cls()
            self._executors[node_type.id] = executor
        return executor

    def settings(self, node: NodeDefinition, node_type: NodeType) -> BaseModel:
        """The node's validated settings; cached per node definition for the run."""
        cached = self._settings.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        try:
            settings = node_type.settings_model.model_validate(node.settings)
        except ValidationError as exc:
            raise NodeFailure(f"invalid settings for node type {node_type.id!r}: {_format_validation(exc)}")
        self._settings[id(node)] = (node, settings)
        return settings
