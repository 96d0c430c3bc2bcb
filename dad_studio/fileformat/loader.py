"""The public load functions: stages 1-3 (stages.py) then semantic validation (validate.py).

None of them raises for a bad file: every problem, from "no such file" to an unknown `$var{}`,
ends up in `LoadResult.problems`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from dad_studio.fileformat.problems import LoadResult, Problem
from dad_studio.fileformat.stages import parse_bytes, read_bytes
from dad_studio.fileformat.validate import Kind, Where, dedupe, validate_tree
from dad_studio.model import NodeTypeRegistry

log = logging.getLogger(__name__)


def _finish(
    data: bytes | None,
    *,
    path: Path | None,
    base_dir: Path | None,
    registry: NodeTypeRegistry | None,
    resolve_refs: bool,
    problems: list[Problem],
    kind: Kind = "root",
    stack: tuple[Path, ...] = (),
    variables: Iterable[str] = (),
    hier_path: str | None = None,
) -> LoadResult:
    if data is None:
        return LoadResult(None, [replace(p, file=path) for p in problems], path)
    try:
        parsed = parse_bytes(data)
        problems.extend(parsed.problems)
        component = parsed.component
        if component is not None:
            where = Where(path, base_dir, stack)
            problems.extend(
                validate_tree(
                    component,
                    registry=registry,
                    where=where,
                    kind=kind,
                    resolve_refs=resolve_refs,
                    variables=variables,
                    hier_path=hier_path,
                )
            )
    except Exception as exc:  # the contract: a bad file never raises; a bug here must still be seen
        log.exception("internal error while loading %s", path or "a flow")
        problems.append(Problem("", f"internal error while loading ({type(exc).__name__}: {exc}); please report it"))
        return LoadResult(None, [p if p.file else replace(p, file=path) for p in problems], path, data)
    stamped = [p if p.file is not None else replace(p, file=path) for p in problems]
    return LoadResult(component, dedupe(stamped), path, data, parsed.migrated_from)


def load_flow(path: Path | str, *, registry: NodeTypeRegistry | None = None, resolve_refs: bool = True) -> LoadResult:
    """Load and validate a `*.dad.json` file; never raises for a bad file."""
    file = Path(path)
    problems: list[Problem] = []
    data = read_bytes(file, problems)
    try:
        stack: tuple[Path, ...] = (file.resolve(),)
    except (OSError, RuntimeError, ValueError):
        stack = ()
    return _finish(
        data,
        path=file,
        base_dir=file.parent,
        registry=registry,
        resolve_refs=resolve_refs,
        problems=problems,
        stack=stack,
    )


def loads_flow(
    data: bytes | str,
    *,
    base_dir: Path | None = None,
    path: Path | str | None = None,
    registry: NodeTypeRegistry | None = None,
    resolve_refs: bool = True,
) -> LoadResult:
    """Load and validate a document held in memory. `base_dir` resolves `subflow.ref` (default: the
    folder of `path`); `path` only names the document in problems."""
    file = Path(path) if path is not None else None
    if base_dir is None and file is not None:
        base_dir = file.parent
    problems: list[Problem] = []
    raw: bytes | None
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.append(Problem("", f"the text cannot be encoded as UTF-8: {exc.reason} at {exc.start}"))
            raw = None
    else:
        raw = bytes(data)
    stack = (file.resolve(),) if file is not None else ()
    return _finish(
        raw, path=file, base_dir=base_dir, registry=registry, resolve_refs=resolve_refs, problems=problems, stack=stack
    )


def load_ref(
    base_file: Path | str,
    ref: str,
    *,
    registry: NodeTypeRegistry | None = None,
    resolve_refs: bool = True,
    variables: Iterable[str] = (),
    hier_path: str | None = None,
) -> LoadResult:
    """Load the flow a `subflow.ref` names, relative to the folder of the file that references it.

    `variables`: names visible from the enclosing components (the subflow's overrides included), so
    the referenced flow may use them; `hier_path`: the subflow element's hierarchy path, the path
    its elements live under. Cycles back to `base_file` (or through further refs) are reported.
    """
    base = Path(base_file)
    target = base.parent / ref
    problems: list[Problem] = []
    data = read_bytes(target, problems)
    try:
        stack: tuple[Path, ...] = (base.resolve(), target.resolve())
    except (OSError, RuntimeError, ValueError):
        stack = ()
    if stack and stack[0] == stack[1]:
        problems.append(Problem("", f"subflow ref {ref!r} names the file that references it ({base.name})"))
        return LoadResult(None, [replace(p, file=target) for p in problems], target)
    return _finish(
        data,
        path=target,
        base_dir=target.parent,
        registry=registry,
        resolve_refs=resolve_refs,
        problems=problems,
        kind="ref",
        stack=stack,
        variables=variables,
        hier_path=hier_path,
    )
