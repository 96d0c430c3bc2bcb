"""Batch throughput: 1,000 rows of a 3-node flow (each node a 50 ms `sleep`), local and on Ray.

    /work/venv/bin/python bench/batch_bench.py [--rows 1000] [--concurrency 50] [--skip-ray]

Each configuration runs in its own process (so peak RSS is that configuration's). The ideal wall
time is rows * 0.15 s / concurrency (every row sleeps 150 ms, `concurrency` at a time); the
overhead is wall time over that. Ray figures exclude `ray.init` (printed apart); Ray's peak RSS is
the driver's only (workers are the raylet's children, not ours).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FLOW = {
    "id": "bench",
    "kind": "flow",
    "variables": {"k": 0},
    "nodes": {n: {"type": "sleep", "settings": {"seconds": 0.05}} for n in ("s1", "s2", "s3")},
    "edges": [{"from": "s1", "to": "s2"}, {"from": "s2", "to": "s3"}],
}


def _one(args: argparse.Namespace) -> dict[str, Any]:
    from dad_studio.batch import LocalExecutor, RayExecutor, run_batch

    work = Path(tempfile.mkdtemp(prefix="batch_bench_"))
    flow = work / "flow.dad.json"
    flow.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": FLOW}))
    rows = work / "rows.jsonl"
    rows.write_text("".join(json.dumps({"variables": {"k": i}}) + "\n" for i in range(args.rows)))
    obs = None if args.traces else {"enabled": False}
    init_s = None
    executor: Any
    if args.one == "ray":
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t
        executor = RayExecutor(args.concurrency, rows_per_task=args.rows_per_task, num_cpus=args.num_cpus)
    else:
        executor = LocalExecutor(args.concurrency)
    t0 = time.perf_counter()
    report = asyncio.run(run_batch(flow, rows, run_root=work / "runs", executor=executor, observability_settings=obs))
    wall = time.perf_counter() - t0
    assert report.summary["by_status"] == {"completed": args.rows}, report.summary
    return {
        "wall_s": wall,
        "init_s": init_s,
        "p50_ms": report.summary["latency_ms"]["p50"],
        "p99_ms": report.summary["latency_ms"]["p99"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--one", choices=("local", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--traces", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rows-per-task", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--num-cpus", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args)))
        return
    ideal = args.rows * 0.15 / args.concurrency
    configs: list[tuple[str, list[str]]] = [
        ("local, no traces", ["--one", "local"]),
        ("local, traces on (default)", ["--one", "local", "--traces"]),
    ]
    if not args.skip_ray:
        configs += [
            ("ray, 1 row/task, 1 cpu/task", ["--one", "ray"]),
            ("ray, 1 row/task, 0.25 cpu/task", ["--one", "ray", "--num-cpus", "0.25"]),
            ("ray, 25 rows/task", ["--one", "ray", "--rows-per-task", "25"]),
        ]
    print(f"{args.rows} rows x 3 sleep nodes of 50 ms, concurrency {args.concurrency}; ideal {ideal:.2f} s")
    print(
        f"{'configuration':34} {'wall s':>8} {'rows/s':>8} {'x ideal':>8} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>8} {'init s':>7}"
    )
    for name, extra in configs:
        cmd = [sys.executable, __file__, "--rows", str(args.rows), "--concurrency", str(args.concurrency), *extra]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{name:34} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        init = "-" if r["init_s"] is None else f"{r['init_s']:.1f}"
        print(
            f"{name:34} {r['wall_s']:8.2f} {args.rows / r['wall_s']:8.1f} {r['wall_s'] / ideal:8.2f} "
            f"{r['p50_ms']:8.0f} {r['p99_ms']:8.0f} {r['peak_rss_mb']:8.0f} {init:>7}",
            flush=True,
        )


if __name__ == "__main__":
    main()
