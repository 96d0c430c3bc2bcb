"""The ``folder_analyzer`` node: tree diagrams, file lists, structure and contents of a folder.

Paths are confined like ``file_operation``'s (``paths.Confinement``). The walk runs in a worker
thread, never follows symlinked folders, always skips ``.git``, and with ``respect_gitignore``
honours every ``.gitignore`` on the way down (nested ones included, deeper files overriding, as git
does) through pathspec's gitwildmatch. ``include_patterns`` select files, ``exclude_patterns`` drop
files and folders; both are gitwildmatch patterns relative to the operation's ``path``.

``content_read_mode``: ``none`` reads nothing, ``preview`` the first ``PREVIEW_LINES`` lines,
``full`` the whole file. Files over ``max_file_size`` bytes, binary files (a NUL in the first 8 KB)
and symlinks leading out are listed but not read. ``max_total_words`` caps the words read over the
whole operation: the file that crosses it is cut and later files are not read (``truncated``).

Outcome: ``results`` (one per operation), and over every file seen by any operation
``total_files``, ``total_directories``, ``total_size``, ``files`` (sorted paths relative to the
base directory), ``tree`` (the diagram of the last ``get_tree_diagram``, like ``tree``'s output).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec
from pydantic import BaseModel

from dad_studio.model.settings import FolderAnalyzerSettings, FolderOperation
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput
from dad_studio.nodes.files import confinement
from dad_studio.nodes.paths import Confinement, PathEscape

PREVIEW_LINES = 40
MAX_ENTRIES = 200_000
ALWAYS_SKIPPED = frozenset({".git"})


@dataclass
class Entry:
    rel: str
    """Path relative to the operation's folder, POSIX style ('' for the folder itself)."""
    path: Path
    is_dir: bool
    depth: int
    size: int = 0
    children: list[Entry] = field(default_factory=list)


def _spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(lines)


class Walker:
    def __init__(self, jail: Confinement, op: FolderOperation) -> None:
        self.jail = jail
        self.op = op
        self.include = _spec(op.include_patterns) if op.include_patterns else None
        self.exclude = _spec(op.exclude_patterns) if op.exclude_patterns else None
        self.count = 0

    def _ignored(self, rel: str, is_dir: bool, stack: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
        """Git semantics: the last matching pattern decides, deeper .gitignore files last."""
        verdict: bool | None = None
        for prefix, spec in stack:
            sub = rel[len(prefix) :] if prefix else rel
            check = spec.check_file(sub + "/" if is_dir else sub)
            if check.include is not None:
                verdict = bool(check.include)
        return bool(verdict)

    def walk(self, root: Path) -> Entry:
        top = Entry("", root, True, 0)
        self._walk_dir(top, [])
        return top

    def _walk_dir(self, node: Entry, stack: list[tuple[str, pathspec.GitIgnoreSpec]]) -> None:
        if self.op.respect_gitignore:
            gi = node.path / ".gitignore"
            if gi.is_file():
                try:
                    lines = gi.read_text(encoding="utf-8", errors="replace").splitlines()
                    stack = [*stack, (node.rel + "/" if node.rel else "", _spec(lines))]
                except OSError:
                    pass
        try:
            children = sorted(os.scandir(node.path), key=lambda e: e.name)
        except OSError:
            return
        for child in children:
            if child.name in ALWAYS_SKIPPED:
                continue
            rel = f"{node.rel}/{child.name}" if node.rel else child.name
            is_dir = child.is_dir(follow_symlinks=False)
            if self.op.respect_gitignore and self._ignored(rel, is_dir, stack):
                continue
            if self.exclude is not None and self.exclude.match_file(rel + "/" if is_dir else rel):
                continue
            self.count += 1
            if self.count > MAX_ENTRIES:
                raise NodeFailure(f"more than {MAX_ENTRIES} entries under {node.path}: narrow the path or patterns")
            if is_dir:
                entry = Entry(rel, Path(child.path), True, node.depth + 1)
                if self.op.max_depth is None or entry.depth < self.op.max_depth:
                    self._walk_dir(entry, stack)
                if self.include is not None and not entry.children:
                    continue  # a folder with nothing included is noise when filtering
                node.children.append(entry)
            else:
                if self.include is not None and not self.include.match_file(rel):
                    continue
                try:
                    size = child.stat(follow_symlinks=False).st_size
                except OSError:
                    size = 0
                node.children.append(Entry(rel, Path(child.path), False, node.depth + 1, size))


def iter_entries(entry: Entry) -> Iterator[Entry]:
    for child in entry.children:
        yield child
        yield from iter_entries(child)


def tree_diagram(entry: Entry, label: str) -> str:
    lines = [label.rstrip("/") + "/"]

    def visit(node: Entry, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            name = child.path.name + ("/" if child.is_dir else "")
            lines.append(f"{prefix}{'└── ' if last else '├── '}{name}")
            if child.is_dir:
                visit(child, prefix + ("    " if last else "│   "))

    visit(entry, "")
    dirs = sum(1 for e in iter_entries(entry) if e.is_dir)
    files = sum(1 for e in iter_entries(entry) if not e.is_dir)
    lines.append("")
    lines.append(f"{dirs} directories, {files} files")
    return "\n".join(lines)


def structure(entry: Entry) -> dict[str, Any]:
    if not entry.is_dir:
        return {"name": entry.path.name, "type": "file", "size": entry.size}
    return {
        "name": entry.path.name,
        "type": "directory",
        "children": [structure(c) for c in entry.children],
    }


class _Reader:
    """Reads file contents under the operation's limits."""

    def __init__(self, jail: Confinement, op: FolderOperation) -> None:
        self.jail = jail
        self.op = op
        self.words = 0
        self.truncated = False

    def read(self, path: Path, size: int) -> dict[str, Any]:
        mode = self.op.content_read_mode
        info: dict[str, Any] = {}
        if mode == "none":
            return info
        if not self.jail.contains(Path(os.path.realpath(path))):
            return {"content": None, "skipped": "symlink leads outside the allowed folders"}
        if self.op.max_file_size is not None and size > self.op.max_file_size:
            return {"content": None, "skipped": f"larger than max_file_size ({self.op.max_file_size} bytes)"}
        if self.truncated:
            return {"content": None, "skipped": "max_total_words reached"}
        try:
            with path.open("rb") as fh:
                data = fh.read() if mode == "full" else fh.read(256 * 1024)
        except OSError as exc:
            return {"content": None, "skipped": f"cannot read: {exc.strerror}"}
        if b"\x00" in data[:8192]:
            return {"content": None, "binary": True, "skipped": "binary file"}
        text = data.decode("utf-8", errors="replace")
        if mode == "preview":
            text = "".join(text.splitlines(keepends=True)[:PREVIEW_LINES])
        words = text.split()
        limit = self.op.max_total_words
        if limit is not None and self.words + len(words) > limit:
            keep = limit - self.words
            text = " ".join(words[:keep])
            self.truncated = True
            info["truncated"] = True
            words = words[:keep]
        self.words += len(words)
        info.update(content=text, words=len(words))
        return info


def _file_record(jail: Confinement, entry: Entry, reader: _Reader) -> dict[str, Any]:
    record = {
        "path": jail.relative(entry.path),
        "size": entry.size,
        "extension": entry.path.suffix,
    }
    record.update(reader.read(entry.path, entry.size))
    return record


def run_operation(jail: Confinement, op: FolderOperation, seen: dict[str, Entry]) -> tuple[dict[str, Any], str | None]:
    """One operation in a worker thread: (result, tree text or None)."""
    result: dict[str, Any] = {"operation_type": op.operation_type, "path": op.path, "success": True, "error": None}
    try:
        target = jail.resolve(op.path)
    except PathEscape as exc:
        return {**result, "success": False, "error": str(exc)}, None
    reader = _Reader(jail, op)
    if op.operation_type == "analyze_file":
        if not target.is_file():
            return {**result, "success": False, "error": f"{op.path} is not an existing file"}, None
        entry = Entry(target.name, target, False, 0, target.stat().st_size)
        seen[jail.relative(target)] = entry
        result["file"] = _file_record(
            jail, entry, _Reader(jail, op.model_copy(update={"content_read_mode": _mode(op)}))
        )
        return result, None
    if not target.is_dir():
        return {**result, "success": False, "error": f"{op.path} is not an existing folder"}, None
    root = Walker(jail, op).walk(target)
    entries = list(iter_entries(root))
    for e in entries:
        seen[jail.relative(e.path)] = e
    files = [e for e in entries if not e.is_dir]
    result.update(
        total_files=len(files),
        total_directories=sum(1 for e in entries if e.is_dir),
        total_size=sum(e.size for e in files),
    )
    tree: str | None = None
    kind = op.operation_type
    if kind == "get_tree_diagram":
        tree = tree_diagram(root, op.path if op.path not in ("", ".") else target.name)
        result["tree"] = tree
    elif kind == "get_structure":
        result["structure"] = structure(root)
    elif kind == "find_files":
        result["files"] = [jail.relative(e.path) for e in files]
    else:  # analyze_folder
        result["files"] = [_file_record(jail, e, reader) for e in files]
        result["truncated"] = reader.truncated
    return result, tree


def _mode(op: FolderOperation) -> str:
    # A single file asked for without a read mode is read in full: that is why one asks for it.
    return "full" if op.content_read_mode == "none" else op.content_read_mode


class FolderAnalyzerExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, FolderAnalyzerSettings)
        jail = confinement(ctx, settings.base_directory, settings.allowed_directories)
        seen: dict[str, Entry] = {}
        results: list[dict[str, Any]] = []
        tree = ""
        for op in settings.operations:
            op = op.model_copy(update={"path": ctx.render(op.path)})
            result, op_tree = await asyncio.to_thread(run_operation, jail, op, seen)
            results.append(result)
            if op_tree is not None:
                tree = op_tree
        failed = [r for r in results if not r["success"]]
        files = sorted(k for k, e in seen.items() if not e.is_dir)
        outcome = {
            "results": results,
            "total_files": len(files),
            "total_directories": sum(1 for e in seen.values() if e.is_dir),
            "total_size": sum(e.size for e in seen.values() if not e.is_dir),
            "files": files,
            "tree": tree,
        }
        if failed:
            raise NodeFailure(
                "; ".join(f"{r['operation_type']} {r['path']!r}: {r['error']}" for r in failed), outcome=outcome
            )
        return NodeOutput(outcome=outcome, input={"base_directory": str(jail.base)})
