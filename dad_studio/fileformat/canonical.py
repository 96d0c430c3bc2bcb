"""Canonical bytes of a flow document, and the atomic save.

The canonical form (FLOW_FORMAT.md "Deterministic bytes"), decided here:

- UTF-8 without BOM, 2-space indent, `": "` after keys, a trailing newline; non-ASCII text is
  written as is (lone surrogates, which UTF-8 cannot hold, as `\\uXXXX` escapes); numbers as
  Python's `repr` (what `json` writes); NaN and infinities are refused (ValueError).
- Top level: `format`, `schema_version`, `root`.
- Component: `id`, `kind`, `description`, `variables`, `nodes`, `edges`, `layout`, `comments`.
- Node: `type`, `description`, `settings`, `pre_events`, `join`, `timeout_s`, `retry`.
- Defaults are omitted, except the fields that carry identity or structure, which are always written:
  `id` (when the component has one; nested bodies have none), `kind`, `nodes`, `edges`, node `type`
  and `settings`. Omitted: empty `description`, `variables`, `layout`, `pre_events`, `join: "all"`,
  `timeout_s: null`, `retry: null`, edge `on: "success"`, edge `port: null`, retry fields at their default.
- Settings are written as the document holds them (defaults are neither added nor removed, so a
  loaded file round-trips); keys follow the settings model's field order, then unknown keys sorted.
  Nested settings objects that have a model (an operation, an input field) are ordered the same way;
  free-form maps (`variables`, `env`, `args`, `fields`, `structured_output`) keep their order, which
  is meaning (the order of a form's fields).
- Edges are always explicit: a builder flow that never called `connect()` gets its implicit
  order-of-addition edges written out (`effective_edges()`). One edge per line, keys `from`, `on`,
  `port`, `to` (the order of FLOW_FORMAT.md's example).
- `layout`: one line per node, `"id": [x, y]`, integers, in node order then leftover ids sorted.
- `comments` (schema_version 2): a list in the document's order, one line per comment, keys `id`,
  `text`, `x`, `y`, `width`, `height` (always) and `color` (only when set); omitted when empty, so
  a v2 file without comments differs from its v1 form only by the version number.
"""

from __future__ import annotations

import glob
import json
import json.encoder
import math
import os
import secrets
import types
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dad_studio.fileformat.migrate import FORMAT_NAME, SCHEMA_VERSION
from dad_studio.model import (
    Comment,
    ComponentDefinition,
    EdgeDefinition,
    NodeDefinition,
    NodeTypeRegistry,
    default_registry,
)


class _Inline:
    """A value written on one line (edges, layout positions)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# -- ordering settings by their model ------------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _order_value(value: Any, annotation: Any) -> Any:
    """`value` (plain JSON data) with model-shaped objects inside it ordered by their models."""
    if isinstance(value, ComponentDefinition):
        return _component_tree(value)
    if isinstance(value, dict):
        models = [m for m in _models_in(annotation) if not issubclass(m, ComponentDefinition)]
        if len(models) == 1:
            return _order_model_dict(value, models[0])
        origin = typing.get_origin(annotation)
        if origin in (dict, Mapping):
            value_type = typing.get_args(annotation)[1]
            return {str(k): _order_value(v, value_type) for k, v in value.items()}
        return _plain(value)
    if isinstance(value, list | tuple):
        item_type: Any = Any
        for candidate in [annotation, *typing.get_args(annotation)]:
            if typing.get_origin(candidate) is list:
                item_type = typing.get_args(candidate)[0]
        return [_order_value(v, item_type) for v in value]
    return _plain(value)


@lru_cache(maxsize=256)
def _field_annotations(model: type[BaseModel]) -> dict[str, Any]:
    return {name: info.annotation for name, info in model.model_fields.items()}


def _order_model_dict(value: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    fields = _field_annotations(model)
    out = {name: _order_value(value[name], ann) for name, ann in fields.items() if name in value}
    for key in sorted(str(k) for k in value if k not in fields):
        out[key] = _plain(value[key])
    return out


def _plain(value: Any) -> Any:
    """JSON data as is (dict order kept), with tuples as lists and stray models dumped."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, ComponentDefinition):
        return _component_tree(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


# -- the document tree ---------------------------------------------------------------------------

_REGISTRY: NodeTypeRegistry | None = None


def _settings_model(type_id: str) -> type[BaseModel] | None:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = default_registry()
    node_type = _REGISTRY.get(type_id)
    return node_type.settings_model if node_type is not None else None


def _edge_tree(edge: EdgeDefinition) -> _Inline:
    data: dict[str, Any] = {"from": edge.source}
    if edge.on != "success":
        data["on"] = edge.on
    if edge.port is not None:
        data["port"] = edge.port
    data["to"] = edge.target
    return _Inline(data)


def _comment_tree(comment: Comment) -> _Inline:
    data: dict[str, Any] = {
        "id": comment.id,
        "text": comment.text,
        "x": round(comment.x),
        "y": round(comment.y),
        "width": round(comment.width),
        "height": round(comment.height),
    }
    if comment.color is not None:
        data["color"] = comment.color
    return _Inline(data)


def _node_tree(node: NodeDefinition) -> dict[str, Any]:
    data: dict[str, Any] = {"type": node.type}
    if node.description:
        data["description"] = node.description
    model = _settings_model(node.type)
    if model is not None:
        data["settings"] = _order_model_dict(node.settings, model)
    else:
        data["settings"] = {str(k): _plain(node.settings[k]) for k in sorted(node.settings, key=str)}
    if node.pre_events:
        data["pre_events"] = list(node.pre_events)
    if node.join != "all":
        data["join"] = node.join
    if node.timeout_s is not None:
        data["timeout_s"] = node.timeout_s
    if node.retry is not None:
        data["retry"] = node.retry.model_dump(exclude_defaults=True)
    return data


def _component_tree(component: ComponentDefinition) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if component.id is not None:
        data["id"] = component.id
    data["kind"] = component.kind
    if component.description:
        data["description"] = component.description
    if component.variables:
        data["variables"] = _plain(component.variables)
    data["nodes"] = {node_id: _node_tree(node) for node_id, node in component.nodes.items()}
    data["edges"] = [_edge_tree(edge) for edge in component.effective_edges()]
    if component.layout:
        layout = component.layout
        order = [k for k in component.nodes if k in layout] + sorted(k for k in layout if k not in component.nodes)
        data["layout"] = {k: _Inline([round(layout[k][0]), round(layout[k][1])]) for k in order}
    if component.comments:
        data["comments"] = [_comment_tree(c) for c in component.comments]
    return data


# -- emitting ------------------------------------------------------------------------------------


_encode_string = json.encoder.encode_basestring  # the C encoder, non-ASCII kept as is


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (math.inf, -math.inf):
            raise ValueError(f"{value!r} cannot be written to a flow file (JSON numbers are finite)")
        return float.__repr__(value)
    if isinstance(value, str):
        return _encode_string(value)
    raise TypeError(f"{type(value).__name__} value {value!r:.60} cannot be written to a flow file")


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the text of `value`; a hand-rolled emitter because json's indenting encoder is pure
    Python anyway, and ours writes edges and layout positions on one line."""
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        sep = "{\n" + inner
        for key, item in value.items():
            out.append(sep)
            out.append(_encode_string(key))
            out.append(": ")
            if isinstance(item, dict | list | _Inline):
                _emit(item, inner, out)
            else:
                out.append(_scalar(item))
            sep = ",\n" + inner
        out.append("\n" + indent + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        sep = "[\n" + inner
        for item in value:
            out.append(sep)
            if isinstance(item, dict | list | _Inline):
                _emit(item, inner, out)
            else:
                out.append(_scalar(item))
            sep = ",\n" + inner
        out.append("\n" + indent + "]")
    elif isinstance(value, _Inline):
        out.append(_inline(value.value))
    else:
        out.append(_scalar(value))


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_encode_string(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def document_tree(component: ComponentDefinition) -> dict[str, Any]:
    """The ordered document (format, schema_version, root) before it is turned into text."""
    return {"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION, "root": _component_tree(component)}


def dumps_flow(component: ComponentDefinition) -> bytes:
    """The canonical bytes of a flow file holding `component` (same document -> same bytes)."""
    out: list[str] = []
    _emit(document_tree(component), "", out)
    out.append("\n")
    text = "".join(out)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a `\\ud800` escape): keep such strings escaped
        return "".join(_escape_surrogates(part) for part in out).encode("utf-8")


def _escape_surrogates(part: str) -> str:
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(c if not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in part)
    return part


# -- saving --------------------------------------------------------------------------------------


def write_atomic(path: Path | str, data: bytes, *, fsync: bool = True, sweep_stale: bool = True) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new content, never a mix.

    A temporary file in the same folder (same file system, so the rename is atomic) is written,
    fsynced, renamed over the target, and the folder is fsynced so the rename itself is durable.
    The existing file's permissions are kept; a new file gets the usual 0666 & ~umask.
    `fsync=False` skips both fsyncs: still atomic for readers and against a killed process, not
    against a power cut (the run store's "process" durability). `sweep_stale=False` skips the
    search for temps left by killed writers, which lists the folder: for folders of many files
    written one by one (a run's blobs), where it would make n writes cost O(n²).
    """
    target = Path(path)
    folder = target.parent
    tmp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if os.name != "nt":
                try:
                    os.fchmod(fd, os.stat(target).st_mode & 0o7777)
                except FileNotFoundError:
                    pass
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync and os.name != "nt":
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    if sweep_stale:
        _remove_stale_temps(target)


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files that a save killed mid-write left beside `target` (their writer is gone)."""
    prefix = f".{target.name}."
    for leftover in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid_text = leftover.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        try:
            leftover.unlink()
        except OSError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours (EPERM), or the platform cannot tell
        return True
    return True


def save_flow(path: Path | str, component: ComponentDefinition) -> None:
    """Write `component` to `path` in canonical form, atomically (see `write_atomic`)."""
    write_atomic(path, dumps_flow(component))
