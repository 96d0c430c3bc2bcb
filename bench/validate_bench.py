"""Load + validate time of large flow files, against plain `json.loads` of the same bytes.

    /work/venv/bin/python bench/validate_bench.py [--sizes 1000 5000] [--reps 5]

Each flow mixes node types the way real flows do: ai_model prompts with `$var{}` and `$hier{}`
templates, commands, conditionals with ported edges, and a for_each with a small body every 50
nodes. Prints medians of `reps` runs and the ratio to json.loads. Target: 5,000 nodes under 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from dad_studio.fileformat import dumps_flow, loads_flow
from dad_studio.model import FlowDefinition


def build(count: int) -> bytes:
    flow = FlowDefinition(id=f"bench_{count}", variables={"language": "English", "folder": "."})
    previous: str | None = None
    for i in range(count):
        node_id = f"n{i}"
        kind = i % 10
        if kind == 9 and i % 50 == 49:
            body = FlowDefinition()
            body.node("read", type="command", settings={"commands": ["cat $var{item}"]})
            body.node("note", type="ai_model", settings={"prompt": "Note on $var{item}: $hier{read.outcome.results}"})
            flow.for_each(node_id, f"$expr{{$hier{{{previous}}}.outcome.files}}", body, max_iterations=10)
        elif kind == 5:
            flow.conditional(node_id, f"$expr{{$hier{{{previous}}}.outcome.value > 1}}")
        elif kind in (0, 3):
            flow.node(node_id, type="command", settings={"commands": [f"echo {i} $var{{folder}}"]})
        else:
            prompt = f"Step {i} in $var{{language}}" + (f": $hier{{{previous}.outcome.text}}" if previous else "")
            flow.node(node_id, type="ai_model", settings={"model": "echo", "prompt": prompt})
        if previous is not None:
            if flow.nodes[previous].type == "conditional":
                flow.connect(previous, node_id, port="true")
            else:
                flow.connect(previous, node_id)
        flow.layout[node_id] = (i * 40 % 4000, i // 100 * 120)
        previous = node_id
    return dumps_flow(flow)


def median_s(func: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    loads_flow(build(20))  # warm imports and pydantic schemas
    print(f"{'nodes':>6} {'bytes':>10} {'json.loads ms':>14} {'load+validate ms':>17} {'ratio':>6} {'dumps ms':>9}")
    for size in args.sizes:
        data = build(size)
        result = loads_flow(data)
        assert result.ok, [p.format() for p in result.errors[:5]]
        assert result.component is not None
        component = result.component
        baseline = median_s(lambda data=data: json.loads(data), args.reps)  # type: ignore[misc]
        full = median_s(lambda data=data: loads_flow(data), args.reps)  # type: ignore[misc]
        dump = median_s(lambda c=component: dumps_flow(c), args.reps)  # type: ignore[misc]
        print(
            f"{size:>6} {len(data):>10,} {baseline * 1000:>14.1f} {full * 1000:>17.1f} "
            f"{full / baseline:>6.1f} {dump * 1000:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
