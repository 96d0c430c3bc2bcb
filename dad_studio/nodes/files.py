"""The ``file_operation`` node: create, edit, move, delete, list, search files inside allowed folders.

Every path goes through ``paths.Confinement`` (base_directory plus allowed_directories; ``..``,
absolute paths elsewhere and symlinks that lead out are refused). File I/O runs in a worker thread
(``asyncio.to_thread``) so the event loop never waits on the disk.

Result per operation: ``{type, path, success, error, content, diff}`` plus ``entries`` /
``matches`` / ``info`` where they apply. ``create_file`` and ``edit_file`` give a unified diff
(difflib) and record the written file as an artifact; ``edit_file`` applies ``edits`` in order, each
``old_text`` must occur exactly once in the text at that point. ``create_file`` overwrites, creating
missing parent folders; ``move_file`` refuses an existing destination; ``delete_directory`` removes a
tree but never a root; ``search_files`` takes a glob ``pattern`` (``**`` recursive) under ``path``.

``fail_fast`` (default true): the first failed operation fails the node (earlier results kept in
the failure's outcome). With ``fail_fast: false`` every operation runs and the node completes with
``all_succeeded`` telling whether all did.
"""

from __future__ import annotations

import asyncio
import difflib
import mimetypes
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dad_studio.model.settings import FileOperation, FileOperationSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput
from dad_studio.nodes.paths import Confinement, PathEscape, check_pattern

MAX_SEARCH_RESULTS = 10_000
MAX_EDIT_BYTES = 20_000_000


class OperationError(Exception):
    """One operation failed; the message goes into its result."""


def unified_diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_EDIT_BYTES:
        raise OperationError(f"{path.name} is larger than {MAX_EDIT_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise OperationError(f"{path.name} is not UTF-8 text") from None


def apply_edits(text: str, edits: list[tuple[str, str]]) -> str:
    for i, (old, new) in enumerate(edits, 1):
        if not old:
            raise OperationError(f"edit {i}: old_text is empty")
        count = text.count(old)
        if count != 1:
            where = "does not occur" if count == 0 else f"occurs {count} times"
            raise OperationError(f"edit {i}: old_text {old[:80]!r} {where}; it must occur exactly once")
        text = text.replace(old, new, 1)
    return text


def _info(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {
        "size": st.st_size,
        "is_file": stat.S_ISREG(st.st_mode),
        "is_dir": stat.S_ISDIR(st.st_mode),
        "modified": datetime.fromtimestamp(st.st_mtime, UTC).isoformat(),
        "permissions": stat.filemode(st.st_mode),
    }


class _Runner:
    """Runs the operations of one node in a worker thread; collects written files."""

    def __init__(self, jail: Confinement) -> None:
        self.jail = jail
        self.written: list[Path] = []

    def run(self, op: FileOperation, rendered: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "type": op.type,
            "path": rendered["path"],
            "success": True,
            "error": None,
            "content": None,
            "diff": None,
        }
        try:
            getattr(self, f"_{op.type}")(rendered, result)
        except (OperationError, PathEscape) as exc:
            result.update(success=False, error=str(exc))
        except OSError as exc:
            result.update(success=False, error=f"{type(exc).__name__}: {exc.strerror or exc}")
        return result

    def _target(self, rendered: dict[str, Any]) -> Path:
        return self.jail.resolve(rendered["path"])

    def _is_root(self, path: Path) -> bool:
        return path in self.jail.roots

    def _create_file(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if path.is_dir():
            raise OperationError(f"{r['path']} is a folder")
        old = _read_text(path) if path.exists() else ""
        content = r["content"] or ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        self.written.append(path)
        result["diff"] = unified_diff(old, content, self.jail.relative(path))

    def _edit_file(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if not path.is_file():
            raise OperationError(f"{r['path']} is not an existing file")
        if not r["edits"]:
            raise OperationError("edit_file needs at least one edit")
        old = _read_text(path)
        new = apply_edits(old, r["edits"])
        path.write_text(new, encoding="utf-8")
        self.written.append(path)
        result["diff"] = unified_diff(old, new, self.jail.relative(path))

    def _delete_file(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if not path.is_file():
            raise OperationError(f"{r['path']} is not an existing file")
        path.unlink()

    def _create_directory(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if path.exists() and not path.is_dir():
            raise OperationError(f"{r['path']} exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)

    def _delete_directory(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if self._is_root(path):
            raise OperationError(f"{r['path']} is a base or allowed directory and cannot be deleted")
        if not path.is_dir():
            raise OperationError(f"{r['path']} is not an existing folder")
        shutil.rmtree(path)

    def _list_directory(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if not path.is_dir():
            raise OperationError(f"{r['path']} is not an existing folder")
        entries: list[dict[str, Any]] = []
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            is_dir = child.is_dir()
            entries.append(
                {
                    "name": child.name,
                    "type": "directory" if is_dir else "file",
                    "size": 0 if is_dir else child.lstat().st_size,
                }
            )
        result["entries"] = entries
        result["content"] = "\n".join(e["name"] + ("/" if e["type"] == "directory" else "") for e in entries)

    def _move_file(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        source = self._target(r)
        if r["destination"] is None:
            raise OperationError("move_file needs a destination")
        dest = self.jail.resolve(r["destination"])
        if not source.exists():
            raise OperationError(f"{r['path']} does not exist")
        if self._is_root(source):
            raise OperationError(f"{r['path']} is a base or allowed directory and cannot be moved")
        if dest.exists():
            raise OperationError(f"destination {r['destination']} already exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, dest) if source.is_dir() else shutil.move(source, dest)
        if dest.is_file():
            self.written.append(dest)
        result["content"] = self.jail.relative(dest)

    def _search_files(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        folder = self._target(r)
        pattern = r["pattern"]
        if not pattern:
            raise OperationError("search_files needs a pattern")
        check_pattern(pattern)
        if not folder.is_dir():
            raise OperationError(f"{r['path']} is not an existing folder")
        matches: list[str] = []
        for hit in sorted(folder.glob(pattern.replace("\\", "/"))):
            if not self.jail.contains(Path(os.path.realpath(hit))):
                continue  # a symlink inside that leads out: not reported, never read
            matches.append(hit.relative_to(folder).as_posix())
            if len(matches) >= MAX_SEARCH_RESULTS:
                break
        result["matches"] = matches
        result["content"] = "\n".join(matches)

    def _get_file_info(self, r: dict[str, Any], result: dict[str, Any]) -> None:
        path = self._target(r)
        if not path.exists():
            raise OperationError(f"{r['path']} does not exist")
        result["info"] = _info(path)


def _render(ctx: NodeContext, op: FileOperation) -> dict[str, Any]:
    return {
        "path": ctx.render(op.path),
        "content": ctx.render(op.content) if op.content is not None else None,
        "edits": [(ctx.render(e.old_text), ctx.render(e.new_text)) for e in op.edits],
        "destination": ctx.render(op.destination) if op.destination is not None else None,
        "pattern": ctx.render(op.pattern) if op.pattern is not None else None,
    }


def confinement(ctx: NodeContext, base_template: str, allowed_templates: list[str]) -> Confinement:
    """The node's confinement, with base and allowed folders rendered; NodeFailure when unusable."""
    base = Path(ctx.render(base_template))
    if not base.is_absolute():
        base = ctx.project_root / base
    if not base.is_dir():
        raise NodeFailure(f"base_directory does not exist or is not a folder: {base}")
    try:
        return Confinement(base, [Path(ctx.render(a)) for a in allowed_templates])
    except PathEscape as exc:
        raise NodeFailure(str(exc)) from None


class FileOperationExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, FileOperationSettings)
        jail = confinement(ctx, settings.base_directory, settings.allowed_directories)
        runner = _Runner(jail)
        results: list[dict[str, Any]] = []
        for op in settings.operations:
            rendered = _render(ctx, op)
            result = await asyncio.to_thread(runner.run, op, rendered)
            results.append(result)
            for path in runner.written:
                ctx.record_artifact(path, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
            runner.written.clear()
            if not result["success"] and settings.fail_fast:
                outcome = {"all_succeeded": False, "results": results}
                raise NodeFailure(f"{op.type} {rendered['path']!r} failed: {result['error']}", outcome=outcome)
        outcome = {"all_succeeded": all(r["success"] for r in results), "results": results}
        return NodeOutput(outcome=outcome, input={"base_directory": str(jail.base), "operations": len(results)})
