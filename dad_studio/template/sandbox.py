"""The ``py:`` evaluator: a whitelist interpreter that walks the ``ast`` node by node.

Not ``eval`` with trimmed built-ins: that has been escaped every way there is. Here each node is
evaluated by our own code, so every step is counted and timed, every size is checked *before* the
allocation (``'a' * 10**10``, ``9**9**9**9``), only our wrappers of the safe built-ins and a short
list of data methods can be called, and attribute access only returns data. Generator expressions
are evaluated eagerly into lists so no frame or generator object ever reaches the expression.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .errors import MissingError, TemplateError, known_names
from .sandbox_check import node_position
from .sandbox_data import BoundMethod, Limits, binop, check_format_spec, deep_size, get_attribute, is_data

__all__ = ["Interpreter", "Lambda"]

_Env = dict[str, Any]


class Lambda:
    """A sandbox lambda. Callable from our wrappers only; it has no readable attributes."""

    __slots__ = ("_body", "_defaults", "_env", "_interp", "_params")

    def __init__(self, interp: Interpreter, params: list[str], defaults: list[Any], body: ast.expr, env: _Env) -> None:
        self._interp = interp
        self._params = params
        self._defaults = defaults
        self._body = body
        self._env = env

    def __call__(self, *args: Any) -> Any:
        n_required = len(self._params) - len(self._defaults)
        if not n_required <= len(args) <= len(self._params):
            raise TypeError(f"lambda takes {len(self._params)} arguments, got {len(args)}")
        values = list(args) + self._defaults[len(args) - n_required :]
        env = dict(self._env)
        env.update(zip(self._params, values, strict=True))
        return self._interp.call_lambda(self._body, env)


class Builtin:
    """One of the safe built-ins of TEMPLATES.md, wrapped so it counts steps."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self._name = name
        self._fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in {self._name}>"


_SAFE_TYPES: dict[str, type] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
}
_SAFE_TYPE_SET = frozenset(_SAFE_TYPES.values())
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class Interpreter:
    """Evaluates one checked ``py:`` tree against the variables, within :class:`Limits`."""

    def __init__(
        self,
        source: str,
        template: str,
        offset: int,
        variables: Mapping[str, Any],
        extra: Mapping[str, Any],
        limits: Limits | None = None,
    ) -> None:
        self.source = source
        self.template = template
        self.offset = offset
        self.variables = variables
        self.extra = extra
        self.limits = limits or Limits()
        self.steps = 0
        self.alloc = 0
        self.depth = 0
        self.deadline = time.monotonic() + self.limits.seconds
        self.node: ast.AST | None = None
        self.builtins: dict[str, Any] = dict(_SAFE_TYPES)
        from .sandbox_builtins import make_builtins

        self.builtins.update({k: Builtin(k, f) for k, f in make_builtins(self).items()})

    # -- bookkeeping --
    def error(
        self, message: str, node: ast.AST | None = None, cls: type[TemplateError] = TemplateError
    ) -> TemplateError:
        node = node or self.node
        pos = node_position(node, self.source, self.offset) if node is not None else self.offset
        return cls(message, self.template, pos)

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise self.error(f"py: expression exceeded its step budget ({self.limits.steps} steps)")
        if not self.steps & 127 and time.monotonic() > self.deadline:
            raise self.error(f"py: expression exceeded its time limit ({self.limits.seconds} s)")

    def charge(self, size: int) -> None:
        """Account for a new object of ``size`` items before it is created."""
        if size > self.limits.max_len:
            raise self.error(f"py: expression result too large ({size} items; limit {self.limits.max_len})")
        self.alloc += size
        if self.alloc > self.limits.max_alloc:
            raise self.error("py: expression allocated too much memory")

    def check_deep(self, value: Any, what: str) -> int:
        """Refuse ``value`` if writing it out (or comparing it) would touch over ``max_len`` items.

        ``len()`` of a list says nothing about ``str()`` of it when its items are shared:
        ``[[0] * 4000] * 4000`` is cheap to build and 48 MB as text. Returns the deep size.
        """
        if type(value) in _SCALAR_TYPES:
            return len(value) if type(value) is str else 1
        limit = self.limits.max_len
        size = deep_size(value, limit)
        if size > limit:
            raise self.error(
                f"py: {what} too large: over {limit} items or characters once written out "
                f"(shared parts count every time they appear); limit {limit}"
            )
        return size

    def iterate(self, obj: Any) -> Iterator[Any]:
        """Iterate ``obj`` one counted step per element."""
        if isinstance(obj, Mapping | str | bytes | list | tuple | set | frozenset | range | dict):
            it: Iterable[Any] = obj
        elif isinstance(obj, BoundMethod | Lambda | Builtin | type) or not is_data(obj):
            raise self.error(f"cannot iterate over {type(obj).__name__}")
        else:
            it = obj
        try:
            iterator = iter(it)
        except TypeError:
            raise self.error(f"'{type(obj).__name__}' object is not iterable") from None
        for item in iterator:
            self.step()
            yield item

    def materialize(self, obj: Any) -> list[Any]:
        return list(self.iterate(obj))

    # -- entry points --
    def run(self, tree: ast.Expression) -> Any:
        try:
            result = self.ev(tree.body, {})
            self.node = tree.body
            self.check_deep(result, "expression result")  # it may be rendered or recorded as JSON next
            return result
        except TemplateError:
            raise
        except RecursionError:
            raise self.error("py: expression nested or recursed too deeply") from None
        except MemoryError:
            raise self.error("py: expression ran out of memory") from None
        except Exception as exc:  # any Python error of the expression becomes a TemplateError
            raise self.error(f"py: {type(exc).__name__}: {exc}") from None

    def call_lambda(self, body: ast.expr, env: _Env) -> Any:
        self.depth += 1
        if self.depth > self.limits.depth:
            raise self.error("py: lambda recursion too deep")
        try:
            return self.ev(body, env)
        finally:
            self.depth -= 1

    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call ``func`` only if it is one of ours: a safe type, a wrapper, a lambda, a data method."""
        self.step()
        if isinstance(func, Builtin | Lambda):
            return func(*args, **kwargs)
        if isinstance(func, BoundMethod):
            return func.call(self, args, kwargs)
        if isinstance(func, type) and func in _SAFE_TYPE_SET:
            return self.construct(func, args, kwargs)
        raise self.error(f"calling {type(func).__name__} objects is not allowed")

    def construct(self, cls: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if cls in (list, tuple, set):
            if kwargs or len(args) > 1:
                raise self.error(f"{cls.__name__}() takes at most one argument")
            return cls(self.materialize(args[0])) if args else cls()
        if cls is dict:
            result: dict[Any, Any] = {}
            if len(args) > 1:
                raise self.error("dict() takes at most one positional argument")
            if args:
                src = args[0]
                pairs = src.items() if isinstance(src, Mapping) else src
                for pair in self.iterate(pairs):
                    key, value = pair
                    result[key] = value
            result.update(kwargs)
            return result
        if cls is str and args and not isinstance(args[0], str | int | float | bool | None):
            self.charge(self.check_deep(args[0], "str() argument"))
        return cls(*args, **kwargs)

    # -- evaluation --
    def ev(self, node: ast.AST, env: _Env) -> Any:
        self.step()
        self.node = node
        method = getattr(self, "ev_" + type(node).__name__, None)
        if method is None:
            raise self.error(f"{type(node).__name__} is not allowed in py: expressions", node)
        return method(node, env)

    def ev_Constant(self, node: ast.Constant, env: _Env) -> Any:
        return node.value

    def ev_Name(self, node: ast.Name, env: _Env) -> Any:
        name = node.id
        if name in env:
            return env[name]
        if name in self.extra:
            return self.extra[name]
        try:
            return self.variables[name]
        except KeyError:
            pass
        if name in self.builtins:
            return self.builtins[name]
        known = [*env, *self.variables, *self.builtins]
        raise self.error(f"unknown name '{name}'; known: {known_names(name, known)}", node, MissingError)

    def ev_Attribute(self, node: ast.Attribute, env: _Env) -> Any:
        obj = self.ev(node.value, env)
        self.node = node
        return get_attribute(self, obj, node.attr)

    def ev_Subscript(self, node: ast.Subscript, env: _Env) -> Any:
        obj = self.ev(node.value, env)
        if isinstance(node.slice, ast.Slice):
            parts = [
                None if p is None else self.ev(p, env) for p in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            key: Any = slice(*parts)
        else:
            key = self.ev(node.slice, env)
        self.node = node
        if not isinstance(obj, Mapping | str | bytes | list | tuple | range):
            raise self.error(f"'{type(obj).__name__}' object is not subscriptable")
        if isinstance(key, slice) and hasattr(obj, "__len__"):
            self.charge(len(range(*key.indices(len(obj)))))
        try:
            return obj[key]
        except (KeyError, IndexError) as exc:
            raise self.error(f"{type(exc).__name__}: {exc}", node, MissingError) from None

    def ev_BinOp(self, node: ast.BinOp, env: _Env) -> Any:
        left = self.ev(node.left, env)
        right = self.ev(node.right, env)
        self.node = node
        return binop(self, type(node.op).__name__, left, right)

    def ev_UnaryOp(self, node: ast.UnaryOp, env: _Env) -> Any:
        value = self.ev(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        return ~value

    def ev_BoolOp(self, node: ast.BoolOp, env: _Env) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.ev(operand, env)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def ev_Compare(self, node: ast.Compare, env: _Env) -> Any:
        left = self.ev(node.left, env)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.ev(comparator, env)
            self.node = node
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def ev_IfExp(self, node: ast.IfExp, env: _Env) -> Any:
        return self.ev(node.body, env) if self.ev(node.test, env) else self.ev(node.orelse, env)

    def _elements(self, nodes: list[ast.expr], env: _Env) -> list[Any]:
        out: list[Any] = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                out.extend(self.iterate(self.ev(element.value, env)))
            else:
                out.append(self.ev(element, env))
        self.charge(len(out))
        return out

    def ev_List(self, node: ast.List, env: _Env) -> Any:
        return self._elements(node.elts, env)

    def ev_Tuple(self, node: ast.Tuple, env: _Env) -> Any:
        return tuple(self._elements(node.elts, env))

    def ev_Set(self, node: ast.Set, env: _Env) -> Any:
        return set(self._elements(node.elts, env))

    def ev_Dict(self, node: ast.Dict, env: _Env) -> Any:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            value = self.ev(value_node, env)
            if key_node is None:
                if not isinstance(value, Mapping):
                    raise self.error("'**' needs a mapping", value_node)
                for key in self.iterate(value):
                    result[key] = value[key]
            else:
                result[self.ev(key_node, env)] = value
        self.charge(len(result))
        return result

    def ev_JoinedStr(self, node: ast.JoinedStr, env: _Env) -> Any:
        parts = [str(self.ev(value, env)) for value in node.values]
        self.charge(sum(len(p) for p in parts))
        return "".join(parts)

    def ev_FormattedValue(self, node: ast.FormattedValue, env: _Env) -> Any:
        value = self.ev(node.value, env)
        self.node = node
        if type(value) not in _SCALAR_TYPES:
            self.charge(self.check_deep(value, "f-string value"))
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        elif node.conversion == ord("s"):
            value = str(value)
        spec = "" if node.format_spec is None else str(self.ev(node.format_spec, env))
        self.node = node
        check_format_spec(self, spec)
        return format(value, spec)

    def ev_Call(self, node: ast.Call, env: _Env) -> Any:
        func = self.ev(node.func, env)
        args = self._elements(node.args, env)
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            value = self.ev(kw.value, env)
            if kw.arg is None:
                if not isinstance(value, Mapping):
                    raise self.error("'**' needs a mapping", kw)
                kwargs.update({str(k): value[k] for k in self.iterate(value)})
            else:
                kwargs[kw.arg] = value
        if any(k.startswith("_") for k in kwargs):
            raise self.error("keyword names may not start with '_'", node)
        self.node = node
        return self.call(func, args, kwargs)

    def ev_Lambda(self, node: ast.Lambda, env: _Env) -> Any:
        params = [a.arg for a in node.args.args]
        defaults = [self.ev(d, env) for d in node.args.defaults]
        return Lambda(self, params, defaults, node.body, env)

    # -- comprehensions: evaluated eagerly, each in its own scope --
    def _bind(self, target: ast.expr, value: Any, env: _Env) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
            return
        if isinstance(target, ast.Tuple | ast.List):
            values = self.materialize(value)
            if len(values) != len(target.elts):
                raise self.error(f"cannot unpack {len(values)} values into {len(target.elts)} names", target)
            for sub, item in zip(target.elts, values, strict=True):
                self._bind(sub, item, env)
            return
        raise self.error("comprehension targets must be names", target)

    def _generate(self, generators: list[ast.comprehension], env: _Env) -> Iterator[_Env]:
        first, rest = generators[0], generators[1:]
        for item in self.iterate(self.ev(first.iter, env)):
            inner = dict(env)
            self._bind(first.target, item, inner)
            if all(self.ev(cond, inner) for cond in first.ifs):
                if rest:
                    yield from self._generate(rest, inner)
                else:
                    yield inner

    def ev_ListComp(self, node: ast.ListComp, env: _Env) -> Any:
        return [self.ev(node.elt, scope) for scope in self._generate(node.generators, env)]

    def ev_GeneratorExp(self, node: ast.GeneratorExp, env: _Env) -> Any:
        return [self.ev(node.elt, scope) for scope in self._generate(node.generators, env)]

    def ev_SetComp(self, node: ast.SetComp, env: _Env) -> Any:
        return {self.ev(node.elt, scope) for scope in self._generate(node.generators, env)}

    def ev_DictComp(self, node: ast.DictComp, env: _Env) -> Any:
        return {self.ev(node.key, s): self.ev(node.value, s) for s in self._generate(node.generators, env)}
