"""The ``python`` node: call ``package.module:function`` or ``path/file.py:function``.

A callable whose module part ends in ``.py`` or holds a ``/`` is a file, relative to the flow's
folder; otherwise it is a dotted module, looked up first as a file under the flow's folder
(``helpers.tools`` -> ``helpers/tools.py``) so that project code needs no install, then on
``sys.path``. ``args`` are rendered (``ctx.render_value``: typed when a string is one expression)
and passed as keyword arguments. Sync functions run in a worker thread, async ones are awaited.
The function must return a dict: it becomes the outcome. Import problems and a non-dict return are
NodeFailures with a plain message; an exception raised by the function itself propagates, so its
traceback is kept in the record. Refused unless the flow is trusted (trust.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import inspect
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from dad_studio.model.settings import PythonSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput
from dad_studio.nodes.trust import untrusted_message

_IMPORT_LOCK = threading.Lock()
_CACHE_SIZE = 64
_MODULES: OrderedDict[tuple[Path, int, int], ModuleType] = OrderedDict()
"""Loaded user files by (real path, st_mtime_ns, st_size): an edited file is a new key, so a
studio session picks up edits to helpers.py on the next run, while an unchanged file is imported
once. Kept out of ``sys.modules`` so nothing else in the process can reach or pin these modules."""


def _load_file(path: Path) -> ModuleType:
    """Import a file as a module of its own, cached by its real path and its stat signature."""
    real = path.resolve()
    stat = real.stat()
    key = (real, stat.st_mtime_ns, stat.st_size)
    with _IMPORT_LOCK:
        module = _MODULES.get(key)
        if module is not None:
            _MODULES.move_to_end(key)
            return module
        name = "dad_user_" + hashlib.sha1(str(real).encode()).hexdigest()[:16] + "_" + real.stem
        spec = importlib.util.spec_from_file_location(name, real)
        if spec is None or spec.loader is None:
            raise NodeFailure(f"cannot import {path}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        # Registered only while its body runs: dataclasses, typing and pickle-at-import look the
        # module up by name then; afterwards the entry goes, so an older copy never shadows an edit.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            if sys.modules.get(name) is module:
                del sys.modules[name]
        for stale in [k for k in _MODULES if k[0] == real]:
            del _MODULES[stale]
        _MODULES[key] = module
        while len(_MODULES) > _CACHE_SIZE:
            _MODULES.popitem(last=False)
        return module


def _project_file(flow_dir: Path, dotted: str) -> Path | None:
    base = flow_dir.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolve_callable(spec: str, flow_dir: Path) -> Callable[..., Any]:
    """The function named by ``spec``; NodeFailure with a plain message when it cannot be had."""
    module_part, _, func_name = spec.rpartition(":")
    try:
        if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
            path = Path(module_part.replace("\\", "/"))
            path = path if path.is_absolute() else flow_dir / path
            if not path.is_file():
                raise NodeFailure(f"python callable {spec!r}: file not found: {path}")
            module = _load_file(path)
        else:
            local = _project_file(flow_dir, module_part)
            module = _load_file(local) if local is not None else importlib.import_module(module_part)
    except NodeFailure:
        raise
    except SyntaxError as exc:
        raise NodeFailure(
            f"cannot import {module_part!r}: SyntaxError at {exc.filename}:{exc.lineno}: {exc.msg}"
        ) from None
    except Exception as exc:
        raise NodeFailure(f"cannot import {module_part!r}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise NodeFailure(f"python callable {spec!r}: {module_part!r} has no attribute {func_name!r}")
    if not callable(func):
        raise NodeFailure(f"python callable {spec!r}: {func_name!r} is not callable")
    return func  # type: ignore[no-any-return]


class PythonExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, PythonSettings)
        if not ctx.trusted:
            raise NodeFailure(untrusted_message("python node", ctx.flow_dir))
        func = await asyncio.to_thread(resolve_callable, settings.callable, ctx.flow_dir)
        args = ctx.render_value(dict(settings.args))
        try:
            inspect.signature(func).bind(**args)
        except TypeError as exc:
            raise NodeFailure(f"python callable {settings.callable!r} does not accept these args: {exc}") from None
        except ValueError:
            pass  # builtins without a signature: let the call decide
        if inspect.iscoroutinefunction(func):
            value = await func(**args)
        else:
            value = await asyncio.to_thread(func, **args)
            if inspect.isawaitable(value):
                value = await value
        if not isinstance(value, dict):
            raise NodeFailure(
                f"python callable {settings.callable!r} returned {type(value).__name__}; it must return a dict"
            )
        return NodeOutput(outcome=value, input={"callable": settings.callable, "args": args})
