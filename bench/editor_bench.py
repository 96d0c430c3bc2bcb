"""Editing-document figures for a 5,000-node flow: open, per-command costs, layout, validation.

Run: /work/venv/bin/python bench/editor_bench.py [--nodes 5000] [--reps 5]
Prints medians of --reps runs. The baseline for per-command costs is the bare model mutation the
command wraps (a dict assignment for a move), so the ratio is what the undo stack + signals cost.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dad_studio.editor import FlowDocument
from dad_studio.fileformat import load_flow, save_flow
from dad_studio.model import FlowDefinition


def build(n: int) -> FlowDefinition:
    """A wide random-ish DAG: every node has one to two predecessors earlier in the order."""
    flow = FlowDefinition(id="big")
    for i in range(n):
        prompt = f"step {i} uses $hier{{n{(i * 31 + 7) % max(i, 1)}.outcome.text}}" if i else "start"
        flow.node(f"n{i}", type="ai_model", settings={"model": "echo", "prompt": prompt})
        flow.layout[f"n{i}"] = ((i % 70) * 260, (i // 70) * 120)
    flow.edges = []
    for i in range(1, n):
        flow.connect(f"n{(i * 7919) % i}", f"n{i}")
        if i > 2 and i % 3 == 0:
            flow.connect(f"n{(i * 104729) % (i - 1)}", f"n{i}", on_error=True)
    return flow


def median(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    n, reps = args.nodes, args.reps
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.dad.json"
        save_flow(path, build(n))
        size_kb = path.stat().st_size / 1024

        t_load = median(lambda: load_flow(path), reps)
        t_open = median(lambda: FlowDocument.open(path), reps)
        rows.append((f"load_flow ({n} nodes, {size_kb:.0f} KB)", t_load * 1e3, "ms"))
        rows.append(("FlowDocument.open (load + build)", t_open * 1e3, "ms"))
        tree = load_flow(path).component
        assert tree is not None
        rows.append(("FlowDocument(root) alone", median(lambda: FlowDocument(tree), reps) * 1e3, "ms"))

        doc = FlowDocument.open(path)
        ids = list(doc.component().nodes)

        def moves() -> None:
            for i in range(1000):
                doc.move_nodes((), {ids[i % n]: (i, i)})

        def undo_all() -> None:
            for _ in range(1000):
                doc.undo()

        def redo_all() -> None:
            for _ in range(1000):
                doc.redo()

        t_moves = median(moves, reps)
        layout = doc.component().layout

        def bare() -> None:
            for i in range(1000):
                layout[ids[i % n]] = (i, i)

        t_bare = median(bare, reps)
        rows.append(("1,000 move commands (per command)", t_moves * 1e6 / 1000, "us"))
        rows.append(("  bare dict assignment (per move)", t_bare * 1e6 / 1000, "us"))
        rows.append(("  ratio command / bare", t_moves / t_bare, "x"))
        rows.append(("1,000 undos (per undo)", median(lambda: (undo_all(), redo_all()), reps) * 1e6 / 2000, "us"))

        def drag() -> None:
            group = {k: (1, 1) for k in ids[:200]}
            for _ in range(50):
                doc.move_nodes((), group, merge=True)

        rows.append(("drag of 200 nodes, 50 merged updates (per update)", median(drag, reps) * 1e3 / 50, "ms"))

        counter = iter(range(10**9))

        def adds() -> None:
            doc.begin_macro("bench adds")
            for _ in range(100):
                doc.add_node((), f"x{next(counter)}", "ai_model", pos=(0, 0))
            doc.end_macro()

        rows.append(("add_node (per node, 100 in a macro)", median(adds, reps) * 1e6 / 100, "us"))
        rows.append(
            (
                "connect (cycle check on 5k nodes)",
                median(lambda: (doc.connect((), ids[0], ids[-1], on="always"), doc.undo()), reps) * 1e3,
                "ms",
            )
        )
        rows.append(("set_setting", median(lambda: doc.set_setting((), ids[5], ("prompt",), "x"), reps) * 1e6, "us"))

        names = iter(range(10**9))
        rows.append(
            (
                "rename_node in a 5k-node document (+ undo)",
                median(lambda: doc.rename_node((), ids[0], f"renamed{next(names)}") or doc.undo(), reps) * 1e3,
                "ms",
            )
        )

        rows.append(("auto_layout", median(lambda: (doc.auto_layout(), doc.undo()), reps) * 1e3, "ms"))
        payload = doc.copy((), ids[100:300])
        rows.append(("copy 200 nodes", median(lambda: doc.copy((), ids[100:300]), reps) * 1e3, "ms"))
        rows.append(
            (
                "paste 200 nodes (+ undo)",
                median(lambda: (doc.paste((), payload, at=(0, 0)), doc.undo()), reps) * 1e3,
                "ms",
            )
        )
        rows.append(
            (
                "group 200 nodes (+ undo)",
                median(lambda: (doc.group_into_subflow((), ids[2000:2200], "grp"), doc.undo()), reps) * 1e3,
                "ms",
            )
        )

        def validate() -> None:
            doc.revision += 1  # force a fresh validation
            doc.problems()

        rows.append(("problems() uncached (validate_component)", median(validate, reps) * 1e3, "ms"))
        rows.append(("problems() cached", median(doc.problems, reps) * 1e6, "us"))
        rows.append(("to_bytes (dumps_flow)", median(doc.to_bytes, reps) * 1e3, "ms"))

    width = max(len(r[0]) for r in rows)
    print(f"editor bench: {n} nodes, median of {reps}")
    for label, value, unit in rows:
        print(f"  {label:<{width}}  {value:10.2f} {unit}")


if __name__ == "__main__":
    main()
