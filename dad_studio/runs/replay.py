"""Replay: step through a run's events.jsonl; at step k, the state after event k (RUNS.md, issue 9).

The timeline must answer in a frame (16 ms) whatever the user does: dragging the slider jumps
anywhere, the arrow keys step one event either way. Folding from event 0 on every jump costs O(k),
so the replay keeps checkpoints (a snapshot of the state every `checkpoint_every` events, taken as
the cursor first passes them) and replays forward from the nearest one. Stepping forward applies
one event to the cursor; stepping back restores the checkpoint below and replays at most
`checkpoint_every` events.

The log is parsed once, line by line, when the replay opens and again only for lines appended
since (`refresh()`), so a run still in progress is stepped through the same way. A last line
without its newline is torn (the writer was killed mid-write, or is writing it now): it is left
for the next refresh. Large values stay `{"$blob": sha, "size": n}` references until a panel asks
for them (`resolve`, `load_blob`).
"""

from __future__ import annotations

import contextlib
import gc
import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from dad_studio.model.definitions import ComponentDefinition, component_from_dict
from dad_studio.runs.common import BLOBS_DIR, EVENTS_NAME, FLOW_SNAPSHOT_NAME, RunNotFound
from dad_studio.runs.eventlog import read_appended
from dad_studio.runs.reader import derive_status, is_blob_ref, read_manifest
from dad_studio.runs.state import RunState

__all__ = ["Replay", "gc_paused", "load_flow_snapshot"]

DEFAULT_CHECKPOINT_EVERY = 500
GC_PAUSE_EVENTS = 64
"""Folds longer than this run with the cyclic collector paused (`gc_paused`)."""
_fast_loads = orjson.loads  # orjson.JSONDecodeError is a ValueError


def load_flow_snapshot(run_dir: Path) -> ComponentDefinition | None:
    """The definition that ran (flow.dad.json), or None when it is missing or unreadable.

    Read with the model alone (no registry checks): the snapshot was written by the engine that
    ran it, and the replay only needs its structure (elements, edges, bodies, variables).
    """
    try:
        data = (Path(run_dir) / FLOW_SNAPSHOT_NAME).read_bytes()
        try:
            document = _fast_loads(data)
        except ValueError:
            document = json.loads(data)  # what orjson refuses (NaN, integers over 64 bits)
        root = document["root"] if isinstance(document, dict) and "root" in document else document
        return component_from_dict(root) if isinstance(root, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Replay:
    """The events of one run folder, and the state after any of them.

    `state_at(k)` returns the replay's cursor state: it changes on the next call. Take
    `state.snapshot()` to keep one.
    """

    def __init__(
        self,
        run_dir: Path,
        flow: ComponentDefinition | None = None,
        *,
        load_flow: bool = True,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise RunNotFound(f"no run folder at {self.run_dir}")
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.manifest: dict[str, Any] = read_manifest(self.run_dir)
        with gc_paused():
            self.flow = flow if flow is not None or not load_flow else load_flow_snapshot(self.run_dir)
        self.checkpoint_every = checkpoint_every
        self.events: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._offset = 0
        self._failures: list[int] = []
        self._node_events: list[int] = []
        self._completed: dict[str, Any] | None = None
        self._blob_cache: dict[str, Any] = {}
        with gc_paused():
            self._reset_states()
            self.refresh()

    # -- reading the log ------------------------------------------------------------------------

    def _new_state(self) -> RunState:
        state = RunState(self.flow, root_id=self.manifest.get("root_component_id") or None)
        state.run_dir = str(self.run_dir)
        return state

    def _reset_states(self) -> None:
        self._checkpoints: dict[int, RunState] = {0: self._new_state()}
        self._cursor = self._checkpoints[0].snapshot()
        self._k = 0
        self._forced_status: str | None = None

    def refresh(self) -> int:
        """Read lines appended since the last call; returns how many events were added."""
        path = self.run_dir / EVENTS_NAME
        got = read_appended(path, self._offset)
        if got is None:  # rewritten from scratch (should not happen): start over
            self._offset = 0
            self.events.clear()
            self._failures.clear()
            self._node_events.clear()
            self._completed = None
            self._reset_states()
            got = read_appended(path, 0) or (b"", 0)
        chunk, self._offset = got
        if not chunk:
            return 0
        with gc_paused():
            added = self._parse(chunk)
        if added:
            self.manifest = read_manifest(self.run_dir)
        return added

    def _parse(self, chunk: bytes) -> int:
        events = self.events
        before = len(events)
        lines = chunk.split(b"\n")
        lines.pop()  # the chunk ends with a newline: the last piece is empty
        try:
            # orjson per line: ~4x the stdlib's speed, and no 2 MB join copy. Blank lines and lines it
            # refuses (NaN, integers over 64 bits: the writer's stdlib fallback) take the slow path.
            parsed: list[Any] = [_fast_loads(line) for line in lines]
        except ValueError:
            parsed = [_loads_or_error(line) for line in lines if line.strip()]
        expected = events[-1]["seq"] + 1 if events else None
        node_events, failures = self._node_events, self._failures
        append = events.append
        k = before
        for event in parsed:
            if type(event) is not dict:
                if isinstance(event, ValueError):
                    self.problems.append(f"event after #{k}: not JSON ({event})")
                else:
                    self.problems.append(f"event after #{k}: not an event (no integer seq)")
                continue
            seq = event.get("seq")
            if type(seq) is not int and not isinstance(seq, int):
                self.problems.append(f"event after #{k}: not an event (no integer seq)")
                continue
            if seq != expected and expected is not None:
                self.problems.append(f"seq {expected - 1} is followed by seq {seq}")
            expected = seq + 1
            append(event)
            k += 1
            etype = event.get("type", "")
            if etype[:5] == "node_":
                node_events.append(k)
                if etype == "node_completed" and event.get("status") == "failed":
                    failures.append(k)
            elif etype == "run_completed":
                self._completed = event
        return k - before

    def __len__(self) -> int:
        return len(self.events)

    def event(self, k: int) -> dict[str, Any]:
        """Event k (1-based, as the timeline counts: step k shows the state after event k)."""
        if not 1 <= k <= len(self.events):
            raise IndexError(f"event {k} out of 1..{len(self.events)}")
        return self.events[k - 1]

    @property
    def status(self) -> str:
        """How the run stands as read back: its final status, running, or interrupted."""
        return derive_status(self.manifest, self._completed)

    # -- states ---------------------------------------------------------------------------------

    def state_at(self, k: int) -> RunState:
        """The state after the first k events (0 = before any); the cursor, valid until the next call."""
        n = len(self.events)
        if not 0 <= k <= n:
            raise IndexError(f"step {k} out of 0..{n}")
        if self._forced_status is not None:
            self._cursor.status = self._forced_status
            self._forced_status = None
        if k < self._k or k - self._k > self.checkpoint_every:
            base = self._nearest_checkpoint(k)
            if not (base <= self._k <= k):
                self._cursor = self._checkpoints[base].snapshot()
                self._k = base
        if k - self._k > GC_PAUSE_EVENTS:
            with gc_paused():
                self._advance(k)
        else:
            self._advance(k)
        state = self._cursor
        if k == n and self._completed is None and state.status == "running":
            status = self.status
            if status != "running":
                self._forced_status = state.status
                state.status = status  # the process died: the log ends here for good
        return state

    def _nearest_checkpoint(self, k: int) -> int:
        every = self.checkpoint_every
        base = (k // every) * every
        while base not in self._checkpoints:
            base -= every
        return base

    def _advance(self, k: int) -> None:
        state = self._cursor
        events = self.events
        every = self.checkpoint_every
        checkpoints = self._checkpoints
        i = self._k
        while i < k:
            stop = min(k, (i // every + 1) * every)  # to the next checkpoint boundary, folded in one loop
            state.apply_all(events[i:stop])
            i = stop
            if i % every == 0 and i not in checkpoints:
                checkpoints[i] = state.snapshot()
        self._k = k

    def fold_from_scratch(self, k: int) -> RunState:
        """The state after k events, folded from nothing (the baseline the checkpoints must equal)."""
        state = self._new_state()
        for event in self.events[:k]:
            state.apply(event)
        return state

    # -- navigation -----------------------------------------------------------------------------

    def next_failure(self, k: int) -> int | None:
        """The first step after k at which an element failed."""
        return _after(self._failures, k)

    def prev_failure(self, k: int) -> int | None:
        return _before(self._failures, k)

    def next_node_event(self, k: int) -> int | None:
        """The first step after k whose event concerns an element (node_*)."""
        return _after(self._node_events, k)

    def prev_node_event(self, k: int) -> int | None:
        return _before(self._node_events, k)

    # -- blobs ----------------------------------------------------------------------------------

    def load_blob(self, ref: dict[str, Any]) -> Any:
        """The value a `{"$blob": sha, "size": n}` reference stands for (read once, then cached)."""
        sha = ref.get("$blob") if isinstance(ref, dict) else None
        if not isinstance(sha, str) or not sha.isalnum():
            raise ValueError(f"not a blob reference: {ref!r}")
        if sha not in self._blob_cache:
            try:
                data = (self.run_dir / BLOBS_DIR / sha).read_bytes()
            except OSError as exc:
                raise RunNotFound(f"blob {sha} of run {self.run_dir.name} is missing ({exc.strerror})") from exc
            self._blob_cache[sha] = json.loads(data)
        return self._blob_cache[sha]

    def resolve(self, value: Any) -> Any:
        """`value` with every blob reference in it replaced by what it stands for."""
        if isinstance(value, dict):
            if is_blob_ref(value):
                return self.load_blob(value)
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a log is parsed or folded in bulk.

    Parsing and folding 10,000 events allocate ~100,000 containers and none of them is garbage, yet
    the collector runs every 700 allocations and now and then walks every object of the process:
    a third of the CPU time of opening a big run. Reference counting still frees what is dropped;
    the collector resumes (as it was) when the block ends. Nested uses are fine.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _loads_or_error(line: bytes) -> Any:
    """One line: orjson, else the stdlib (which reads NaN and big integers), else the error."""
    try:
        return _fast_loads(line)
    except ValueError:
        pass
    try:
        return json.loads(line)
    except ValueError as exc:
        return exc


def _after(indices: list[int], k: int) -> int | None:
    i = bisect_right(indices, k)
    return indices[i] if i < len(indices) else None


def _before(indices: list[int], k: int) -> int | None:
    i = bisect_left(indices, k)
    return indices[i - 1] if i > 0 else None
