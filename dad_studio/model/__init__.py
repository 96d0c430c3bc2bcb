"""Pydantic definitions shared by every layer: components, elements, edges, results, events, node types.

This layer imports nothing else of dad_studio: it is the vocabulary the others speak.
"""

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
