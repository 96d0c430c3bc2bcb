"""Path access (``a.b``, ``a[0]``, ``a['k']``) and turning values into text.

The same rules serve ``$var{}``, ``$expr{}`` and the path part of ``$hier{}``: a dict key is tried
before an attribute, only data attributes are read (never methods or anything starting with
``_``), and a missing key, attribute or index is a :class:`MissingError` that lists what exists.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from .errors import MissingError, TemplateError, known_names
from .sandbox_data import is_data

__all__ = ["Where", "get_attr", "get_item", "to_json", "to_text"]

Where = str | Callable[[], str]
"""The path being read, for messages; a callable so the text is only built when it is needed."""


def _w(where: Where) -> str:
    return where if isinstance(where, str) else where()


def _options(obj: Any) -> list[str]:
    if isinstance(obj, Mapping):
        return [str(k) for k in obj]
    if isinstance(obj, BaseModel):
        return list(type(obj).model_fields)
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    return [a for a in dir(obj) if not a.startswith("_") and is_data(getattr(obj, a, None))]


def get_attr(obj: Any, name: str, template: str, pos: int, where: Where) -> Any:
    """``obj.name``: the key ``name`` of a mapping, else a data attribute."""
    if type(obj) is dict and name in obj and name[:1] != "_":
        return obj[name]
    if name.startswith("_"):
        raise TemplateError(f"'{name}': names starting with '_' are not allowed", template, pos)
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
    elif obj is not None and not isinstance(obj, str | int | float | list | tuple):
        try:
            value = getattr(obj, name)
        except AttributeError:
            pass
        except Exception as exc:  # a property of a caller's object failed
            raise TemplateError(f"reading '{_w(where)}.{name}' failed: {exc}", template, pos) from None
        else:
            if is_data(value):
                return value
    kind = "None" if obj is None else type(obj).__name__
    raise MissingError(
        f"'{_w(where)}' ({kind}) has no key or attribute '{name}'; available: "
        f"{known_names(name, _options(obj)) if obj is not None else '(none)'}",
        template,
        pos,
    )


def get_item(obj: Any, key: Any, template: str, pos: int, where: Where) -> Any:
    """``obj[key]``: mapping keys, list/tuple/str indexes (negative too), model fields by name."""
    if type(obj) is list and type(key) is int and -len(obj) <= key < len(obj):
        return obj[key]
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        raise MissingError(
            f"'{_w(where)}' has no key {key!r}; available: {known_names(str(key), _options(obj))}",
            template,
            pos,
        )
    if isinstance(obj, list | tuple | str):
        if isinstance(key, bool) or not isinstance(key, int):
            raise TemplateError(
                f"'{_w(where)}' is a {type(obj).__name__}: its index must be an integer, not {type(key).__name__}",
                template,
                pos,
            )
        try:
            return obj[key]
        except IndexError:
            raise MissingError(
                f"index {key} is out of range for '{_w(where)}' (length {len(obj)})", template, pos
            ) from None
    if isinstance(key, str) and obj is not None:
        return get_attr(obj, key, template, pos, where)
    raise TemplateError(f"'{_w(where)}' ({type(obj).__name__}) cannot be indexed", template, pos)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


def to_json(value: Any) -> str:
    """JSON text for lists, dicts and models: ``json.dumps`` defaults, but ``ensure_ascii=False``.

    Default separators (``", "``, ``": "``) because the text usually lands in a prompt, where the
    readable form is what a model and a person expect; non-ASCII stays as is for the same reason.
    """
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def to_text(value: Any) -> str:
    """TEMPLATES.md text rules: str as is, numbers and bools as Python prints them, None as ''."""
    if type(value) is str:
        return value
    kind = type(value)
    if kind is int or kind is float or kind is bool:  # exact types first: the common case, fast
        return str(value)
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list | tuple | dict | set | frozenset | BaseModel | Mapping):
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)
        return to_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    return str(value)
