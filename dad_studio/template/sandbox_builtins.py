"""The safe built-ins of TEMPLATES.md, rewritten so they count steps and check sizes.

Python's own ``sum``/``sorted``/``map`` run in C and cannot be interrupted, so each one here
iterates through :meth:`Interpreter.iterate` (one counted, timed step per element) and calls
functions through :meth:`Interpreter.call` (only our callables). ``range`` refuses lengths over
the size limit, so ``sum(range(10**13))`` fails at once. Lazy results (``map``, ``zip``,
``reversed``...) are returned as lists: no iterator object ever escapes into an expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .sandbox_data import binop

if TYPE_CHECKING:
    from .sandbox import Interpreter

__all__ = ["make_builtins"]

_MISSING = object()
_NUMBERS = (int, float)
_SAFE_TYPES = (str, int, float, bool, list, dict, set, tuple)


def make_builtins(interp: Interpreter) -> dict[str, Callable[..., Any]]:
    """Build the built-ins bound to one interpreter (its step counter and limits)."""

    def keyed(key: Any) -> Callable[[Any], Any] | None:
        if key is None:
            return None
        return lambda value: interp.call(key, [value], {})

    def len_(obj: Any) -> int:
        return len(obj)

    def sum_(iterable: Any, start: Any = 0) -> Any:
        total = start
        for item in interp.iterate(iterable):
            if type(total) in _NUMBERS and type(item) in _NUMBERS:
                total = total + item  # fast path: sums of numbers cannot blow up
            else:
                total = binop(interp, "Add", total, item)
        return total

    def extreme(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def pick(*args: Any, key: Any = None, default: Any = _MISSING) -> Any:
            items = interp.materialize(args[0]) if len(args) == 1 else list(args)
            if not args:
                raise TypeError(f"{name} expected at least 1 argument")
            if not items:
                if default is _MISSING:
                    raise ValueError(f"{name}() arg is an empty sequence")
                return default
            interp.check_deep(items, f"{name}() argument")  # comparing shared deep items is C-speed but unbounded
            return fn(items, key=keyed(key))

        return pick

    def sorted_(iterable: Any, *, key: Any = None, reverse: bool = False) -> list[Any]:
        items = interp.materialize(iterable)
        interp.charge(len(items))
        interp.check_deep(items, "sorted() argument")  # comparing shared deep items is C-speed but unbounded
        return sorted(items, key=keyed(key), reverse=bool(reverse))

    def reversed_(seq: Any) -> list[Any]:
        items = interp.materialize(seq)
        items.reverse()
        return items

    def enumerate_(iterable: Any, start: int = 0) -> list[tuple[int, Any]]:
        return [(start + i, v) for i, v in enumerate(interp.iterate(iterable))]

    def zip_(*iterables: Any, strict: bool = False) -> list[tuple[Any, ...]]:
        lists = [interp.materialize(it) for it in iterables]
        return list(zip(*lists, strict=bool(strict)))

    def range_(*args: Any) -> range:
        if not all(isinstance(a, int) for a in args):
            raise TypeError("range() arguments must be integers")
        result = range(*args)
        if len(result) > interp.limits.max_len:  # lazy, so a length check and no allocation charge
            raise ValueError(f"range of {len(result)} items is over the limit of {interp.limits.max_len}")
        return result

    def any_(iterable: Any) -> bool:
        return any(bool(v) for v in interp.iterate(iterable))

    def all_(iterable: Any) -> bool:
        return all(bool(v) for v in interp.iterate(iterable))

    def map_(func: Any, *iterables: Any) -> list[Any]:
        if not iterables:
            raise TypeError("map() must have at least two arguments")
        lists = [interp.materialize(it) for it in iterables]
        return [interp.call(func, list(args), {}) for args in zip(*lists, strict=False)]

    def filter_(func: Any, iterable: Any) -> list[Any]:
        items = interp.materialize(iterable)
        if func is None:
            return [v for v in items if v]
        return [v for v in items if interp.call(func, [v], {})]

    def isinstance_(obj: Any, types: Any) -> bool:
        candidates = types if isinstance(types, tuple) else (types,)
        if not candidates or not all(t in _SAFE_TYPES for t in candidates):
            raise TypeError(
                "isinstance() takes one of str, int, float, bool, list, dict, set, tuple (or a tuple of them)"
            )
        return isinstance(obj, candidates)

    def round_(number: Any, ndigits: Any = None) -> Any:
        return round(number) if ndigits is None else round(number, ndigits)

    return {
        "len": len_,
        "sum": sum_,
        "min": extreme(min, "min"),
        "max": extreme(max, "max"),
        "abs": abs,
        "round": round_,
        "sorted": sorted_,
        "reversed": reversed_,
        "enumerate": enumerate_,
        "zip": zip_,
        "range": range_,
        "any": any_,
        "all": all_,
        "map": map_,
        "filter": filter_,
        "isinstance": isinstance_,
    }
