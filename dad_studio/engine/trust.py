"""Whether a flow may run code (command / python nodes, `py:` expressions), decided before it runs.

The trusted folders live in the user config (dad_studio.nodes.trust: `dad-studio trust FOLDER`
adds one). A flow file outside them may still run, as long as it runs no code; one that would run
code is refused before anything runs (the CLI exits 2 with `refusal_message`), unless the user
trusts it for this run (`--trust`). Inside a run, the executors and the template evaluator refuse
again on their own (RunContext.trusted), which covers `ref` subflows loaded while the run goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dad_studio.model.definitions import ComponentDefinition
from dad_studio.model.node_types import NodeTypeRegistry, default_registry

__all__ = ["code_uses", "is_trusted", "refusal_message"]


def is_trusted(flow_path: Path) -> bool:
    """True if the flow at `flow_path` lies in one of the user's trusted folders."""
    from dad_studio.nodes.trust import is_trusted as in_trusted_folder

    return in_trusted_folder(Path(flow_path))


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _uses_python(text: str) -> bool:
    if "py:" not in text:
        return False
    from dad_studio.template import TemplateError, references

    try:
        return bool(references(text).uses_python)
    except TemplateError:
        return False  # a broken template fails its node anyway, and runs nothing


def code_uses(
    component: ComponentDefinition,
    registry: NodeTypeRegistry | None = None,
    flow_path: Path | None = None,
) -> list[str]:
    """Every place the flow would run code: `<path> (<type> node)` for node types that run code,
    `<path>: py: expression in <setting>` for Python expressions, in the order of the definition.

    Inline subflow and loop bodies are searched, and with `flow_path`, the files `ref` subflows
    name (each relative to the file that names it, as the engine loads them). A ref that cannot be
    loaded is skipped here: it fails its node when the run reaches it, and runs nothing."""
    registry = registry if registry is not None else default_registry()
    found: list[str] = []
    seen: set[Path] = set()
    if flow_path is not None:
        seen.add(Path(flow_path).resolve())
    _scan(component, component.id or "root", registry, flow_path, found, seen)
    return found


def _scan(
    component: ComponentDefinition,
    root: str,
    registry: NodeTypeRegistry,
    flow_path: Path | None,
    found: list[str],
    seen: set[Path],
) -> None:
    for name, value in component.variables.items():
        for where, text in _strings(value, f"variables.{name}"):
            if _uses_python(text):
                found.append(f"{root}: py: expression in {where}")
    for _component_path, path, node in component.walk(root):
        node_type = registry.get(node.type)
        if node_type is not None and node_type.trusted_only:
            found.append(f"{path} ({node.type} node)")
        settings = {k: v for k, v in node.settings.items() if k != "body"}
        for where, text in _strings(settings, "settings"):
            if _uses_python(text):
                found.append(f"{path}: py: expression in {where}")
        body = node.body
        if body is not None:
            for name, value in body.variables.items():
                for where, text in _strings(value, f"variables.{name}"):
                    if _uses_python(text):
                        found.append(f"{path}: py: expression in {where}")
        ref = node.settings.get("ref") if node.type == "subflow" else None
        if isinstance(ref, str) and flow_path is not None:
            _scan_ref(ref, path, registry, flow_path, found, seen)


def _scan_ref(
    ref: str, path: str, registry: NodeTypeRegistry, base_file: Path, found: list[str], seen: set[Path]
) -> None:
    target = Path(base_file).parent / ref
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        return
    if resolved in seen:
        return  # a cycle, or a file already searched
    seen.add(resolved)
    from dad_studio.fileformat import load_ref

    loaded = load_ref(base_file, ref, registry=registry, resolve_refs=False)
    if loaded.component is not None:
        _scan(loaded.component, path, registry, target, found, seen)


def refusal_message(flow_path: Path, uses: list[str]) -> str:
    """What the user reads when an untrusted flow is refused: what runs code, and how to allow it."""
    folder = Path(flow_path).resolve().parent
    shown = "; ".join(uses[:5]) + (f"; and {len(uses) - 5} more" if len(uses) > 5 else "")
    return (
        f"{flow_path} runs code ({shown}) and its folder {folder} is not trusted; nothing was run.\n"
        f"Run it once with `dad-studio run --trust {flow_path}`, "
        f"or trust the folder for good with `dad-studio trust {folder}`."
    )
