"""Canvas scale: open flows of N nodes (chains + fan-out) and measure paint and pan, one process per case.

    /work/venv/bin/python bench/canvas_bench.py [--sizes 100,500,2000,5000] [--frames 30] [--baseline]

Each case runs in a fresh interpreter (peak RSS is per process). Rows: `studio` is our canvas built
from a FlowDocument (the studio's real open path: document -> CanvasWidget.set_document -> first
paint); `nodegraphqt` is plain NodeGraphQt (graph.create_node + connect, no widgets, push_undo off)
for comparison. Targets (issue 7): 2,000 nodes open <= 1.5 s, <= 600 MB peak, pan frame <= 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TARGETS = {"open_s": 1.5, "peak_mb": 600, "pan_ms": 30}


def flow(n: int):  # type: ignore[no-untyped-def]
    """Chains of 20 with a fan-out of each chain head to the next chain's nodes every 5th step."""
    from dad_studio.model import FlowDefinition

    f = FlowDefinition(id="bench")
    for i in range(n):
        f.node(f"n{i}", type="noop")
        f.layout[f"n{i}"] = ((i % 20) * 240, (i // 20) * 140)
    f.edges = []
    for i in range(1, n):
        if i % 20:
            f.connect(f"n{i - 1}", f"n{i}")
        elif i >= 20:
            f.connect(f"n{i - 20}", f"n{i}", on_error=True)
    for i in range(0, n - 25, 25):
        f.connect(f"n{i}", f"n{i + 23}")
    return f


def measure_view(app, view, frames: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Full repaint and pan frames at 100% zoom (what a user sees while working)."""
    viewport = view.viewport()
    view.resetTransform()
    if hasattr(view, "zoom_changed"):
        view.zoom_changed.emit()  # what zoom_by() does after a user zoom
    t = time.perf_counter()
    viewport.repaint()
    full_ms = (time.perf_counter() - t) * 1000
    times = []
    bar = view.horizontalScrollBar()
    for _ in range(frames):
        t = time.perf_counter()
        bar.setValue(bar.value() + 15)
        viewport.repaint()
        app.processEvents()
        times.append((time.perf_counter() - t) * 1000)
    view.fitInView(view.scene().itemsBoundingRect())
    if hasattr(view, "zoom_changed"):
        view.zoom_changed.emit()
    t = time.perf_counter()
    viewport.repaint()
    fit_ms = (time.perf_counter() - t) * 1000
    fit_pan = []
    for _ in range(max(5, frames // 3)):
        t = time.perf_counter()
        bar.setValue(bar.value() + 15)
        viewport.repaint()
        app.processEvents()
        fit_pan.append((time.perf_counter() - t) * 1000)
    return {
        "repaint_ms": full_ms,
        "pan_ms": statistics.median(times),
        "fit_repaint_ms": fit_ms,
        "fit_pan_ms": statistics.median(fit_pan),
    }


def run_studio(n: int, frames: int) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import dad_studio.ui  # noqa: F401

    f = flow(n)
    from PySide6 import QtWidgets

    from dad_studio.editor import FlowDocument
    from dad_studio.model import default_registry
    from dad_studio.ui.canvas.widget import CanvasWidget

    app = QtWidgets.QApplication([])
    registry = default_registry()
    t0 = time.perf_counter()
    doc = FlowDocument(f, registry=registry)
    canvas = CanvasWidget(registry)
    canvas.resize(1280, 800)
    canvas.show()
    canvas.set_document(doc)
    canvas.view.viewport().repaint()
    app.processEvents()
    open_s = time.perf_counter() - t0
    result = {"open_s": open_s, **measure_view(app, canvas.view, frames)}
    canvas.shutdown()
    return result


def run_nodegraphqt(n: int, frames: int) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_PREFERRED_BINDING"] = "PySide6"
    f = flow(n)
    from NodeGraphQt import BaseNode, NodeGraph
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication([])

    class Node(BaseNode):  # type: ignore[misc]
        __identifier__ = "bench"
        NODE_NAME = "node"

        def __init__(self) -> None:
            super().__init__()
            self.add_input("in")
            self.add_output("out")
            self.add_output("error")

    t0 = time.perf_counter()
    graph = NodeGraph()
    graph.register_node(Node)
    widget = graph.widget
    widget.resize(1280, 800)
    widget.show()
    nodes = {}
    for node_id in f.nodes:
        x, y = f.layout[node_id]
        nodes[node_id] = graph.create_node("bench.Node", name=node_id, pos=[x, y], push_undo=False)
    for edge in f.edges or []:
        port = "error" if edge.on == "error" else "out"
        nodes[edge.source].get_output(port).connect_to(nodes[edge.target].get_input("in"), push_undo=False)
    graph.viewer().viewport().repaint()
    app.processEvents()
    open_s = time.perf_counter() - t0
    return {"open_s": open_s, **measure_view(app, graph.viewer(), frames)}


def child(kind: str, n: int, frames: int) -> None:
    result = run_studio(n, frames) if kind == "studio" else run_nodegraphqt(n, frames)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,2000,5000")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain NodeGraphQt rows")
    parser.add_argument("--baseline-max", type=int, default=2000, help="largest size for the baseline (slow)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.frames)
        return 0
    header = f"{'canvas':<12}{'nodes':>7}{'open s':>9}{'peak MB':>9}{'repaint ms':>12}{'pan ms':>9}{'fit repaint':>13}{'fit pan':>9}"
    print(header)
    rows: dict[tuple[str, int], dict[str, float]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        kinds = ["studio"] + ([] if args.no_baseline or n > args.baseline_max else ["nodegraphqt"])
        for kind in kinds:
            cmd = [sys.executable, __file__, "--child", kind, str(n), "--frames", str(args.frames)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{kind:<12}{n:>7}  failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows[(kind, n)] = r
            print(
                f"{kind:<12}{n:>7}{r['open_s']:>9.2f}{r['peak_mb']:>9.0f}{r['repaint_ms']:>12.1f}"
                f"{r['pan_ms']:>9.1f}{r['fit_repaint_ms']:>13.1f}{r['fit_pan_ms']:>9.1f}"
            )
        if ("studio", n) in rows and ("nodegraphqt", n) in rows:
            s, b = rows[("studio", n)], rows[("nodegraphqt", n)]
            print(f"{'  ratio':<12}{n:>7}{s['open_s'] / b['open_s']:>9.2f}{s['peak_mb'] / b['peak_mb']:>9.2f}")
    if ("studio", 2000) in rows:
        r = rows[("studio", 2000)]
        ok = (
            r["open_s"] <= TARGETS["open_s"] and r["peak_mb"] <= TARGETS["peak_mb"] and r["pan_ms"] <= TARGETS["pan_ms"]
        )
        print(f"2,000-node targets (open <= 1.5 s, <= 600 MB, pan <= 30 ms): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
