"""save_flow under SIGKILL: after every kill the target is one of the two complete contents."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dad_studio.fileformat import dumps_flow, loads_flow, save_flow, write_atomic
from dad_studio.model import FlowDefinition

# A single-threaded "zygote" imports everything once, then forks a saver per round, so 200 rounds
# cost 200 forks instead of 200 interpreter start-ups. The test process kills each saver itself.
ZYGOTE = r"""
import os, sys
from pathlib import Path
from dad_studio.fileformat import loads_flow, save_flow

target = Path(sys.argv[1])
flows = [loads_flow(Path(p).read_bytes()).raise_for_errors() for p in sys.argv[2:4]]
save_flow(target, flows[0])
print("ready", flush=True)
for line in sys.stdin:
    command, *rest = line.split()
    if command == "spawn":
        pid = os.fork()
        if pid == 0:
            try:
                while True:
                    save_flow(target, flows[1])
                    save_flow(target, flows[0])
            finally:
                os._exit(1)
        print(pid, flush=True)
    elif command == "reap":
        print(os.waitpid(int(rest[0]), 0)[1], flush=True)
"""


def _big_flow(name: str, count: int, text: str) -> bytes:
    flow = FlowDefinition(id=name, description=text)
    for i in range(count):
        flow.node(f"n{i}", type="noop", settings={"value": f"{text} {i} " * 4})
    flow.layout = {f"n{i}": (i * 10, i % 7) for i in range(count)}
    return dumps_flow(flow)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_during_save_never_leaves_a_torn_file(tmp_path: Path) -> None:
    contents = [_big_flow("first", 400, "alpha"), _big_flow("second", 600, "beta")]
    probe = tmp_path / "probe.dad.json"
    began = time.monotonic()
    for data in contents:  # how long one loop of the saver takes here, to spread the kills over it
        save_flow(probe, loads_flow(data).raise_for_errors())
    max_delay = min(0.3, max(0.02, 1.5 * (time.monotonic() - began)))
    sources = []
    for i, data in enumerate(contents):
        source = tmp_path / f"source{i}.json"
        source.write_bytes(data)
        sources.append(str(source))
    folder = tmp_path / "target"
    folder.mkdir()
    target = folder / "flow.dad.json"
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(target), *sources],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(20240611)
    seen = [0, 0]
    started = time.monotonic()
    try:
        assert zygote.stdout.readline().strip() == "ready"
        for _ in range(200):
            zygote.stdin.write("spawn\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(0.0, max_delay))
            os.kill(pid, signal.SIGKILL)
            zygote.stdin.write(f"reap {pid}\n")
            zygote.stdin.flush()
            status = int(zygote.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            data = target.read_bytes()
            assert data in contents, f"torn file: {len(data)} bytes"
            seen[contents.index(data)] += 1
    finally:
        zygote.kill()
        zygote.wait(timeout=30)
        zygote.stdin.close()
        zygote.stdout.close()
    elapsed = time.monotonic() - started
    assert seen[0] > 0 and seen[1] > 0, seen  # kills landed at different moments of the loop
    leftovers = [p.name for p in folder.iterdir() if p.name != "flow.dad.json"]
    assert all(name.startswith(".flow.dad.json.") and name.endswith(".tmp") for name in leftovers)
    # The next successful save clears what killed writers left behind.
    write_atomic(target, contents[0])
    assert [p.name for p in folder.iterdir()] == ["flow.dad.json"]
    print(
        f"200 kills in {elapsed:.1f} s (delays up to {max_delay * 1000:.0f} ms); contents seen {seen}; {len(leftovers)} temp files"
    )
