"""`dad-studio new PROJECT_DIR`: scaffold a project from the jinja2 templates in project_template/.

A project is a folder with `flows/` (the *.dad.json files), a git-ignored `runs/` (run records),
`dad-studio.json` (project settings) and a README. The starter flow runs offline (echo model).
Rendered flow files go through dad_studio.fileformat before anything is written: a template or
option that makes an invalid flow is refused with its problems, and what is written is the
canonical form, so `dad-studio fmt --check` holds on a fresh project.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

TEMPLATE_PACKAGE = "dad_studio.cli"
TEMPLATE_DIR = "project_template"
TEMPLATE_SUFFIX = ".j2"
FLOW_SUFFIX = ".dad.json"
ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("new", help="scaffold a project", description=__doc__)
    parser.add_argument("project_dir", help="folder to create (must not exist or be empty)")
    parser.add_argument("--name", help="project name (default: the folder name)")
    parser.add_argument("--model", default="echo", help="model of the starter flow (default: echo, offline)")
    parser.set_defaults(handler=run)


def project_name(folder: Path) -> str:
    """A valid element id from the folder name: `my-project` -> `my_project`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", folder.name) or "project"
    return name if re.match(r"[A-Za-z_]", name) else f"p_{name}"


def canonical_flow(text: str, target: Path) -> str:
    """The canonical form of a rendered flow file; ValueError listing every problem if it is invalid."""
    from dad_studio.fileformat import dumps_flow, loads_flow

    loaded = loads_flow(text, base_dir=target.parent, path=target)
    if loaded.component is None or loaded.errors:
        details = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in loaded.errors) or "cannot be loaded"
        raise ValueError(f"the starter flow {target.name} would be invalid: {details}")
    return dumps_flow(loaded.component).decode("utf-8")


def scaffold(project_dir: Path, *, name: str | None = None, model: str = "echo") -> list[Path]:
    """Render every template into `project_dir`; returns the files written.

    Refuses a non-empty folder, a name that is not an element id, and a flow that would not
    validate (ValueError); nothing is written unless every file rendered.
    """
    import jinja2

    if project_dir.exists() and (not project_dir.is_dir() or any(project_dir.iterdir())):
        raise FileExistsError(f"{project_dir} exists and is not an empty folder")
    if name is not None and not ID_PATTERN.match(name):
        raise ValueError(f"--name {name!r} is not an id (letters, digits and _, not starting with a digit)")
    context = {"name": name or project_name(project_dir), "model": model}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    root = files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    rendered: list[tuple[Path, str]] = []

    def walk(node: Any, rel: Path) -> None:
        for entry in sorted(node.iterdir(), key=lambda e: e.name):
            if entry.name == "__pycache__":
                continue
            target_name = entry.name.removesuffix(TEMPLATE_SUFFIX).replace("dot_", ".", 1)
            if entry.is_dir():
                walk(entry, rel / target_name)
                continue
            target = project_dir / rel / target_name
            text = entry.read_text(encoding="utf-8")
            if entry.name.endswith(TEMPLATE_SUFFIX):
                text = env.from_string(text).render(context)
            if target_name.endswith(FLOW_SUFFIX):
                text = canonical_flow(text, target)
            rendered.append((target, text))

    walk(root, Path())
    for target, text in rendered:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (project_dir / "runs").mkdir(parents=True, exist_ok=True)
    return [target for target, _ in rendered]


def run(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir)
    try:
        written = scaffold(project_dir, name=args.name, model=args.model)
    except (FileExistsError, OSError, ValueError) as exc:
        print(f"dad-studio new: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"created {path}")
    flow = project_dir / "flows" / "main.dad.json"
    print(f"\nNext: dad-studio {flow}    (or: dad-studio run {flow})")
    return 0
