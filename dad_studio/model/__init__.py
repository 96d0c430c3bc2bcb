"""Pydantic definitions shared by every layer: components, elements, edges, results, events, node types.

This layer imports nothing else of dad_studio: it is the vocabulary the others speak.

The names below are loaded on first use (PEP 562): `import dad_studio.model.events` (what the engine's
event bus needs) must not pay for building every settings model and the node type registry, which the
engine only needs once a run starts. `from dad_studio.model import X` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dad_studio.model.definitions import (
        BUILTIN_VARIABLES,
        ID_PATTERN,
        AgentDefinition,
        Comment,
        ComponentDefinition,
        EdgeDefinition,
        FlowDefinition,
        NodeDefinition,
        RetryPolicy,
        component_from_dict,
    )
    from dad_studio.model.events import EVENT_TYPES, Event, EventType, event_from_dict
    from dad_studio.model.node_types import NodeType, NodeTypeRegistry, Port, default_registry
    from dad_studio.model.results import NodeError, NodeResult, Status, Usage

_SOURCES: dict[str, tuple[str, ...]] = {
    "dad_studio.model.definitions": (
        "BUILTIN_VARIABLES",
        "ID_PATTERN",
        "AgentDefinition",
        "Comment",
        "ComponentDefinition",
        "EdgeDefinition",
        "FlowDefinition",
        "NodeDefinition",
        "RetryPolicy",
        "component_from_dict",
    ),
    "dad_studio.model.events": ("EVENT_TYPES", "Event", "EventType", "event_from_dict"),
    "dad_studio.model.node_types": ("NodeType", "NodeTypeRegistry", "Port", "default_registry"),
    "dad_studio.model.results": ("NodeError", "NodeResult", "Status", "Usage"),
}
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "BUILTIN_VARIABLES",
    "EVENT_TYPES",
    "ID_PATTERN",
    "AgentDefinition",
    "Comment",
    "ComponentDefinition",
    "EdgeDefinition",
    "Event",
    "EventType",
    "FlowDefinition",
    "NodeDefinition",
    "NodeError",
    "NodeResult",
    "NodeType",
    "NodeTypeRegistry",
    "Port",
    "RetryPolicy",
    "Status",
    "Usage",
    "component_from_dict",
    "default_registry",
    "event_from_dict",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
