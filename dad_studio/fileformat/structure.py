"""Stage 3: the migrated JSON document -> the pydantic model, errors mapped to JSON pointers.

Bodies of subflow / for_each nodes are built first, bottom-up, each with its own pointer, so an error
deep inside a nested component is reported where it is (`/root/nodes/loop/settings/body/nodes/x`),
and errors in sibling bodies are all reported instead of the first one aborting the model validator.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from dad_studio.fileformat.migrate import FORMAT_NAME
from dad_studio.fileformat.problems import Problem, pointer_join
from dad_studio.fileformat.pydantic_errors import problems_from_validation_error
from dad_studio.model import ComponentDefinition, component_from_dict
from dad_studio.model.definitions import BODY_TYPES

TOP_LEVEL_KEYS = ("format", "schema_version", "root")


def check_envelope(value: Any, problems: list[Problem]) -> dict[str, Any] | None:
    """Before migrating: the file is an object with `"format": "dad-flow"` (every version has that)."""
    if not isinstance(value, dict):
        problems.append(
            Problem("", f"a flow file is a JSON object with format, schema_version and root; got {_kind(value)}")
        )
        return None
    fmt = value.get("format")
    if fmt != FORMAT_NAME:
        what = "missing 'format'" if "format" not in value else f"'format' is {fmt!r}"
        problems.append(Problem("/format", f'{what}; a flow file has "format": "{FORMAT_NAME}"'))
        return None
    return value


def check_top_level(document: dict[str, Any], problems: list[Problem]) -> bool:
    """After migrating: only the current version's top-level keys, and a root."""
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                Problem(pointer_join("", key), f"unknown top-level key {key!r} (known: {', '.join(TOP_LEVEL_KEYS)})")
            )
    if "root" not in document:
        problems.append(Problem("/root", "missing 'root': the component this file holds"))
        return False
    return True


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _round_layout(layout: Any) -> Any:
    """Positions are integers in the file; a canvas that wrote floats gets them rounded, not refused."""
    if not isinstance(layout, dict):
        return layout
    out: dict[str, Any] = {}
    for key, pos in layout.items():
        if (
            isinstance(pos, list)
            and len(pos) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            pos = [round(v) for v in pos]
        out[key] = pos
    return out


def _round_comments(comments: Any) -> Any:
    """Comment rectangles are integers in the file; floats from a canvas are rounded like layout."""
    if not isinstance(comments, list):
        return comments
    out: list[Any] = []
    for comment in comments:
        if isinstance(comment, dict):
            comment = {
                k: round(v) if k in _RECT_KEYS and isinstance(v, float) and math.isfinite(v) else v
                for k, v in comment.items()
            }
        out.append(comment)
    return out


_RECT_KEYS = frozenset({"x", "y", "width", "height"})


def build_component(raw: Any, pointer: str, problems: list[Problem]) -> ComponentDefinition | None:
    """The component at `pointer`, or None after recording why it does not fit the model."""
    if not isinstance(raw, dict):
        problems.append(Problem(pointer, f"a component must be a JSON object, got {_kind(raw)}"))
        return None
    data = dict(raw)
    complete = True
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        built: dict[str, Any] = {}
        for node_id, node in nodes.items():
            if isinstance(node, dict) and isinstance(node.get("type"), str) and node["type"] in BODY_TYPES:
                settings = node.get("settings")
                if isinstance(settings, dict) and isinstance(settings.get("body"), dict):
                    body_ptr = pointer_join(pointer, "nodes", node_id, "settings", "body")
                    body = build_component(settings["body"], body_ptr, problems)
                    complete = complete and body is not None
                    node = {**node, "settings": {**settings, "body": body}}
            built[node_id] = node
        data["nodes"] = built
    if "layout" in data:
        data["layout"] = _round_layout(data["layout"])
    if "comments" in data:
        data["comments"] = _round_comments(data["comments"])
    try:
        component = component_from_dict(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation_error(exc, data, pointer))
        return None
    except RecursionError:
        problems.append(Problem(pointer, "components are nested too deeply"))
        return None
    return component if complete else None
