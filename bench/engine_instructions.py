#!/usr/bin/env python
"""Instructions per node of a 1,000-node no-op chain, counted by valgrind: a figure the shared machine's
load does not move, for comparing two versions of the engine.

    python bench/engine_instructions.py                      # this checkout: records off, on, on + telemetry
    python bench/engine_instructions.py --src /tmp/old       # another checkout (git worktree add /tmp/old REV)

Per variant, two processes run under `valgrind --tool=cachegrind --cache-sim=no` with PYTHONHASHSEED=0:
one builds the flow and runs it, the other builds it and does not run it; the difference over 1,000 is
the run's user-space instructions per node (system calls and the kernel's work are not counted, the
records thread's work is). Each process first runs a 3-node flow, so imports are in both counts alike.
Needs valgrind (Debian: `apt install valgrind`); ~30 s per variant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()


VARIANTS = {"off": (False, False), "on": (True, False), "telemetry": (True, True)}
"""Variant name -> (records, telemetry)."""


def child(n: int, variant: str, run: bool) -> None:
    records, telemetry = VARIANTS[variant]
    from dad_studio.engine import FlowRunner, RunContext
    from dad_studio.model import FlowDefinition

    work = Path(tempfile.mkdtemp(prefix="dad_ir_"))

    def one(count: int, execute: bool) -> None:
        flow = FlowDefinition(id="bench")
        for i in range(count):
            flow.node(f"n{i}", type="noop")
        rc = RunContext(
            root_component_id="bench",
            project_root=work,
            records=records,
            observability_settings=None if telemetry else {"enabled": False},
        )
        rc.setup_run()
        runner = FlowRunner(flow, rc)
        if execute:
            asyncio.run(runner.run())
            if runner.state is not None and runner.state.recorder is not None:
                runner.state.recorder.wait_closed()
        else:
            asyncio.run(asyncio.sleep(0))

    one(3, True)  # imports and first-run set-up, in both processes
    one(n, run)
    shutil.rmtree(work, ignore_errors=True)


def count(src: Path, n: int, variant: str, run: bool) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(src)}
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    cmd += [sys.executable, str(HERE), "--child", str(n), variant, "run" if run else "build"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    match = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=HERE.parent.parent, help="checkout whose dad_studio is measured")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: all three")
    ap.add_argument("--child", nargs=3, metavar=("N", "VARIANT", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, variant, mode = args.child
        child(int(n), variant, mode == "run")
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt install valgrind", file=sys.stderr)
        return 2
    print(f"# {args.src}: chain of {args.n} no-op nodes, user-space instructions per node (run - build)")
    per_node: dict[str, float] = {}
    for variant in args.variant or list(VARIANTS):
        ran = count(args.src, args.n, variant, True)
        built = count(args.src, args.n, variant, False)
        per_node[variant] = (ran - built) / args.n
        label = {"off": "records=off", "on": "records=on", "telemetry": "records=on+telemetry"}[variant]
        print(f"{label:<22} {per_node[variant]:>9,.0f} instructions/node")
    if "on" in per_node and "telemetry" in per_node:
        added = per_node["telemetry"] - per_node["on"]
        print(f"telemetry adds         {added:>9,.0f} instructions/node ({added / per_node['on']:.0%} of records=on)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
