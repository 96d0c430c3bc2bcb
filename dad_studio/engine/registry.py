"""Executors of node types, resolved lazily from `NodeType.executor` import strings.

One ExecutorRegistry per run: one executor instance per node type, and each node's settings
validated once per run (before templates are rendered, per attempt, by the executor). `prepare`
bundles what the hot path needs about one node definition (type, settings, executor, policies)
into one cached, slotted object, so a node executed the second time (a loop body, a rerun of the
same definition) costs one dict lookup.
"""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from dad_studio.model.definitions import NodeDefinition
from dad_studio.model.node_types import NodeType, NodeTypeRegistry, default_registry
from dad_studio.nodes.base import NodeFailure

__all__ = ["ExecutorRegistry", "PreparedNode"]


def _format_validation(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(settings)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class PreparedNode:
    """Everything about one node definition that does not change during a run (shared by the
    definitions that are alike: same type, settings, timeout, no retry, no pre-events)."""

    __slots__ = ("executor", "max_attempts", "node_type", "pre_input", "retry", "settings", "timeout_s")

    def __init__(self, node: NodeDefinition, node_type: NodeType, settings: BaseModel, executor: Any) -> None:
        self.node_type = node_type
        self.settings = settings
        self.executor = executor
        self.pre_input = "node_input_required" in node.pre_events
        self.retry = node.retry
        self.max_attempts = node.retry.max_attempts if node.retry is not None else 1
        self.timeout_s = node.timeout_s


class ExecutorRegistry:
    """Node types of a run and their executors."""

    __slots__ = ("_by_content", "_executors", "_prepared", "_prepared_alike", "_settings", "node_types")

    def __init__(self, node_types: NodeTypeRegistry | None = None) -> None:
        self.node_types = node_types if node_types is not None else default_registry()
        self._executors: dict[str, Any] = {}
        self._settings: dict[int, tuple[NodeDefinition, BaseModel]] = {}
        self._prepared: dict[int, tuple[NodeDefinition, PreparedNode]] = {}
        self._prepared_alike: dict[tuple[tuple[str, bytes], float | None], PreparedNode] = {}
        self._by_content: dict[tuple[str, bytes], BaseModel] = {}

    def prepare(self, node: NodeDefinition) -> PreparedNode:
        """The node's type, validated settings and executor; raises NodeFailure (not cached) when
        any of them is wrong, so every execution of a bad node fails with the same message.

        Cached per definition, and shared by definitions that are alike (same type, settings as
        canonical JSON and timeout; no retry, no pre-events): the 1,000 nodes of a generated chain
        are prepared once (the lookups and the object were ~15% of a no-op node's cost)."""
        cached = self._prepared.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        alike = None
        prepared = None
        if node.retry is None and not node.pre_events:
            content = _content_key(node.type, node.settings)
            if content is not None:
                alike = (content, node.timeout_s)
                prepared = self._prepared_alike.get(alike)
        if prepared is None:
            node_type = self.node_type(node.type)
            settings = self.settings(node, node_type)
            prepared = PreparedNode(node, node_type, settings, self.executor(node_type))
            if alike is not None:
                self._prepared_alike[alike] = prepared
        self._prepared[id(node)] = (node, prepared)
        return prepared

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
        """The node's validated settings; cached per node definition for the run, and shared by the
        nodes of one type whose settings are equal JSON (a chain of 1,000 alike nodes validates
        once: pydantic validation costs more than running a no-op node). Settings are read-only
        to executors (nodes/base.py); a shared instance relies on that."""
        cached = self._settings.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        key = _content_key(node_type.id, node.settings)
        settings = self._by_content.get(key) if key is not None else None
        if settings is None:
            try:
                settings = node_type.settings_model.model_validate(node.settings)
            except ValidationError as exc:
                raise NodeFailure(f"invalid settings for node type {node_type.id!r}: {_format_validation(exc)}")
            if key is not None:
                self._by_content[key] = settings
        self._settings[id(node)] = (node, settings)
        return settings


def _content_key(type_id: str, settings: dict[str, Any]) -> tuple[str, bytes] | None:
    """(type, settings as canonical JSON), or None when the settings are not plain JSON (a nested
    body is a model: such nodes are validated each on their own)."""
    if not settings:
        return (type_id, b"")
    try:
        return (type_id, orjson.dumps(settings, option=orjson.OPT_SORT_KEYS))
    except (orjson.JSONEncodeError, TypeError):
        return None
