"""The layers below the ui run with no Qt at all (napari's habit: prove it, don't assume it).

import-linter checks the static imports; this test checks what happens at run time, where lazy and
entry-point imports live: a fresh interpreter in which importing PySide6, shiboken6, NodeGraphQt, Qt or
qasync raises imports every non-ui module, then validates and runs a flow through the CLI.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dad_studio

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    BLOCKED = ("PySide6", "shiboken6", "NodeGraphQt", "Qt", "qasync")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"Qt-free layer imported {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    import dad_studio
    imported = []
    for info in pkgutil.walk_packages(dad_studio.__path__, "dad_studio."):
        if info.name.startswith("dad_studio.ui") or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        imported.append(info.name)
    from dad_studio.cli.main import main
    flow, run_root = sys.argv[1], sys.argv[2]
    assert main(["validate", flow]) == 0
    status = main(["run", flow, "--run-root", run_root, "--non-interactive"])
    assert status == 0, status
    assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
    print("imported", len(imported), "modules")
    """
)

FLOW = """{
  "format": "dad-flow",
  "schema_version": 1,
  "root": {
    "id": "qt_free",
    "kind": "flow",
    "variables": {"who": "world"},
    "nodes": {
      "hello": {"type": "ai_model", "settings": {"model": "echo", "prompt": "Hello $var{who}"}},
      "check": {"type": "conditional", "settings": {"statement": "$expr{$hier{hello}.status == 'completed'}"}}
    },
    "edges": [{"from": "hello", "to": "check"}]
  }
}
"""


def test_non_ui_layers_import_and_run_without_qt(tmp_path: Path) -> None:
    flow = tmp_path / "qt_free.dad.json"
    flow.write_text(FLOW)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(flow), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(dad_studio.__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = int(proc.stdout.split("imported", 1)[1].split()[0])
    assert count > 40  # every layer's modules, not a handful
