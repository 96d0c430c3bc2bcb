"""What a ``py:`` expression may touch: data values, a short list of data methods, sized operators.

Attribute access returns data only (numbers, strings, containers, pydantic models, dataclasses,
paths, dates); anything callable is refused unless it is one of the whitelisted methods below,
which are wrapped so their arguments and result sizes are checked. Mutating methods (``append``,
``update``...) are left out on purpose: an expression must not change the variables it reads.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .errors import MissingError, known_names
from .sandbox_check import DENIED_ATTRIBUTES

if TYPE_CHECKING:
    from .sandbox import Interpreter

__all__ = ["BoundMethod", "Limits", "binop", "check_format_spec", "deep_size", "get_attribute", "is_data"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets of one ``py:`` evaluation. Generous for real templates, tiny for bombs."""

    steps: int = 1_000_000
    seconds: float = 1.0
    max_len: int = 5_000_000  # items or characters in any one new object
    max_alloc: int = 20_000_000  # items or characters created in total
    int_bits: int = 100_000
    depth: int = 50
    format_width: int = 1_000


_DATA_TYPES: tuple[type, ...] = (
    str, bytes, int, float, complex, bool, type(None), list, tuple, dict, set, frozenset, range,
    PurePath, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal, enum.Enum,
)  # fmt: skip

_STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isspace",
        "istitle", "isupper", "join", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "replace", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    }
)  # fmt: skip
_SET_METHODS = frozenset(
    {"union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset", "isdisjoint"}
)
_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "keys", "values", "items"})),
    ((list, tuple), frozenset({"count", "index"})),
    ((set, frozenset), _SET_METHODS),
    (bool, frozenset()),
    (int, frozenset({"bit_length"})),
    (float, frozenset({"is_integer"})),
)
_SPEC_NUMBER = re.compile(r"\d+")
_FLAT = frozenset({int, float, bool, type(None), complex})
_CONTAINERS = (list, tuple, set, frozenset)


def deep_size(value: Any, budget: int) -> int:
    """Items and characters that ``str``/``repr``/JSON of ``value`` would write, up to just past ``budget``.

    A shared object is counted every time it is reached, because that is what a conversion does:
    ``[[0] * 4000] * 4000`` costs 4,016,000 items here although it holds only two lists, and
    ``[[[0] * 1000] * 1000] * 1000`` would print as 3 GB. The walk stops as soon as the count
    passes ``budget``, so checking a bomb costs at most about ``budget`` cheap steps, and a flat
    list of numbers is counted by one C-level pass over its element types. A container inside
    itself (only possible in a caller's variables: expressions cannot mutate) raises ValueError,
    as ``json.dumps`` would.
    """
    total = 0
    stack: list[Any] = [value]
    open_ids: set[int] = set()  # containers on the path from the root: a repeat there is a cycle
    while stack:
        obj = stack.pop()
        kind = type(obj)
        if kind is _Leave:
            open_ids.discard(obj.ident)
            continue
        if kind is str or kind is bytes:
            total += len(obj)
            continue
        if kind in _FLAT:
            total += 1
            continue
        if isinstance(obj, _CONTAINERS):
            items: Any = obj
        elif isinstance(obj, Mapping):
            items = [*obj.keys(), *obj.values()] if len(obj) <= budget else obj
        elif isinstance(obj, BaseModel):
            items = list(obj.__dict__.values())
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            items = [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
        else:
            total += 1
            continue
        total += len(items) + 1
        if total > budget:
            return total
        kinds = set(map(type, items))
        if kinds <= _FLAT:
            continue
        if kinds == {str}:
            total += sum(map(len, items))
            if total > budget:
                return total
            continue
        ident = id(obj)
        if ident in open_ids:
            raise ValueError("Circular reference detected")
        open_ids.add(ident)
        stack.append(_Leave(ident))
        stack.extend(item for item in items if type(item) not in _FLAT)
    return total


class _Leave:
    """Marks, on the walk's stack, the point where a container's items are all counted."""

    __slots__ = ("ident",)

    def __init__(self, ident: int) -> None:
        self.ident = ident


def is_data(value: Any) -> bool:
    """True for values an expression may hold: never functions, types, modules, frames, code."""
    if isinstance(value, type):
        return False
    return isinstance(value, (*_DATA_TYPES, Mapping, BaseModel)) or dataclasses.is_dataclass(value)


class BoundMethod:
    """A whitelisted method of a data value; calls go through :meth:`call` with size checks."""

    __slots__ = ("_name", "_obj")

    def __init__(self, obj: Any, name: str) -> None:
        self._obj = obj
        self._name = name

    def call(self, interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        obj, name = self._obj, self._name
        if isinstance(obj, str) and name == "replace" and len(args) >= 2:
            old, new = str(args[0]), str(args[1])
            hits = len(obj) + 1 if not old else obj.count(old)
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                hits = min(hits, args[2])
            interp.charge(len(obj) + hits * max(len(new) - len(old), 0))
        elif isinstance(obj, str) and name == "join" and args:
            items = interp.materialize(args[0])
            interp.charge(sum(len(i) if isinstance(i, str) else 1 for i in items) + len(obj) * len(items))
            return obj.join(items)
        elif name in ("keys", "values", "items"):
            interp.charge(len(obj))
            return list(getattr(obj, name)())
        elif isinstance(obj, set | frozenset):
            interp.charge(len(obj) + sum(len(a) if hasattr(a, "__len__") else 0 for a in args))
        result = getattr(obj, name)(*args, **kwargs)
        if isinstance(result, str | list | tuple):
            interp.charge(len(result))
        return result


def _missing_attribute(interp: Interpreter, obj: Any, name: str) -> Exception:
    if isinstance(obj, Mapping):
        options = [str(k) for k in obj]
        what = "key"
    elif isinstance(obj, BaseModel):
        options = list(type(obj).model_fields)
        what = "field"
    else:
        options = [a for a in dir(obj) if not a.startswith("_")]
        what = "attribute"
    return interp.error(
        f"{type(obj).__name__} has no {what} '{name}'; available: {known_names(name, options)}",
        cls=MissingError,
    )


def get_attribute(interp: Interpreter, obj: Any, name: str) -> Any:
    """``obj.name`` in a ``py:`` expression: a dict key first, then a whitelisted method or data."""
    if name.startswith("_") or name in DENIED_ATTRIBUTES:
        raise interp.error(f"attribute '{name}' is not allowed in py: expressions")
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        if not isinstance(obj, dict) or name not in _METHODS[1][1]:
            raise _missing_attribute(interp, obj, name)
    for types, names in _METHODS:
        if isinstance(obj, types):
            if name in names:
                return BoundMethod(obj, name)
            break
    if not is_data(obj):
        raise interp.error(f"attribute access on {type(obj).__name__} objects is not allowed")
    try:
        value = getattr(obj, name)
    except AttributeError:
        raise _missing_attribute(interp, obj, name) from None
    if not is_data(value):
        raise interp.error(f"'{type(obj).__name__}.{name}' is not data and cannot be used in py: expressions")
    return value


def _bits(value: int) -> int:
    return abs(value).bit_length()


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def binop(interp: Interpreter, op: str, a: Any, b: Any) -> Any:
    """A binary operator with the size of its result checked before it is computed."""
    limit = interp.limits.int_bits
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "Add":
        sa, sb = _size(a), _size(b)
        if sa is not None and sb is not None:
            interp.charge(sa + sb)
        return a + b
    if op == "Sub":
        return a - b
    if op == "Mult":
        if both_int:
            if _bits(a) + _bits(b) > limit:
                raise interp.error("py: integer result too large")
        elif isinstance(b, int) and _size(a) is not None:
            interp.charge(max(b, 0) * (_size(a) or 0))
        elif isinstance(a, int) and _size(b) is not None:
            interp.charge(max(a, 0) * (_size(b) or 0))
        return a * b
    if op == "Div":
        return a / b
    if op == "FloorDiv":
        return a // b
    if op == "Mod":
        if isinstance(a, str | bytes):
            raise interp.error("'%' formatting is not allowed in py: expressions; use an f-string")
        return a % b
    if op == "Pow":
        if both_int and b > 0 and _bits(a) > 1 and b * math.log2(abs(a)) > limit:
            raise interp.error("py: integer result too large")
        return a**b
    if op == "LShift":
        if both_int and b > 0 and _bits(a) + b > limit:
            raise interp.error("py: integer result too large")
        return a << b
    if op == "RShift":
        return a >> b
    if op in ("BitOr", "BitAnd", "BitXor"):
        if isinstance(a, set | frozenset | dict) and isinstance(b, set | frozenset | dict):
            interp.charge(len(a) + len(b))
        if op == "BitOr":
            return a | b
        return a & b if op == "BitAnd" else a ^ b
    raise interp.error(f"operator {op} is not allowed in py: expressions")


def check_format_spec(interp: Interpreter, spec: str) -> None:
    """Refuse format specs whose width or precision would build a huge string (``{x:>999999999}``)."""
    for number in _SPEC_NUMBER.findall(spec):
        if len(number) > 6 or int(number) > interp.limits.format_width:
            raise interp.error(f"format width or precision too large in '{spec}'")
