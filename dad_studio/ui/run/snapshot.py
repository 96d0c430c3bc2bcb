"""The copy of the document a run executes, made ahead of time and kept per document revision.

Editor commands change the document's models in place, so a run needs its own copy. For 1,000
nodes the dump/validate round trip costs ~20-25 ms (model_copy(deep=True) is 3x that; pickle and
a validation in a thread are no faster: pydantic-core holds the GIL). Made at Run, it was one of
the longest stalls of the run's first frames, so the controller makes it while the studio idles
(`prepare`, polled) and Run takes it (`take`) when the document has not changed since.

The run's RunState (its views of every element, ~10 ms for 1,000 nodes) and the trust scan are
made from the snapshot the same way, each in a pass of the loop of its own right after the copy
(short idle chunks rather than one), and handed to the run that takes that snapshot (`take_state`,
`code_uses`).

A snapshot is handed to one run only (a run owns its definition); the next one is prepared again
when idle. The trust scan (`code_uses`) of a revision is cached the same way: the engine still
refuses code met later at node level (a ref subflow edited on disk meanwhile).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from dad_studio.engine.trust import code_uses
from dad_studio.model import ComponentDefinition
from dad_studio.runs.state import RunState

__all__ = ["SNAPSHOT_POLL_MS", "SnapshotCache", "copy_component", "root_id_of"]

SNAPSHOT_POLL_MS = 150
"""How often the controller checks whether the open document needs a fresh snapshot (an int compare)."""

Key = tuple[int, int, int]


def copy_component(live: ComponentDefinition) -> ComponentDefinition:
    """An independent copy of a component (its nested bodies included)."""
    return type(live).model_validate(live.model_dump(by_alias=True))


def root_id_of(component: ComponentDefinition) -> str:
    """The root id a run of `component` records its paths under."""
    return component.id or "root"


def _key(doc: Any) -> Key:
    # the revision counts commands, undo and redo; the root's identity catches a reload
    return (id(doc), int(doc.revision), id(doc.component(())))


class SnapshotCache:
    """One prepared snapshot (and trust scan) for the document that is open."""

    def __init__(self) -> None:
        self._doc: weakref.ref[Any] | None = None
        self._key: Key | None = None
        self._component: ComponentDefinition | None = None
        self._state: tuple[ComponentDefinition, RunState] | None = None
        """A RunState made for a snapshot (the prepared one, or the one `take` handed out last)."""
        self._uses: tuple[Key, Path | None, list[str]] | None = None

    def _current(self, doc: Any) -> bool:
        return self._doc is not None and self._doc() is doc and self._key == _key(doc)

    def prepare(self, doc: Any) -> bool:
        """Make the snapshot of `doc` as it is now unless one is ready; True if it made one."""
        if self._component is not None and self._current(doc):
            return False
        self._doc = weakref.ref(doc)
        self._key = _key(doc)
        self._component = copy_component(doc.component(()))
        self._state = None
        return True

    def prepare_state(self, doc: Any) -> bool:
        """Make the RunState of the prepared snapshot of `doc` unless made; True if it made one."""
        component = self._component
        if component is None or not self._current(doc):
            return False
        if self._state is not None and self._state[0] is component:
            return False
        self._state = (component, RunState(component, root_id=root_id_of(component)))
        return True

    def prepare_trust(self, doc: Any, registry: Any, flow_path: Path | None) -> bool:
        """Make the trust scan of the prepared snapshot of `doc` unless made; True if it made one."""
        component = self._component
        if component is None or not self._current(doc):
            return False
        cached = self._uses
        if cached is not None and cached[0] == _key(doc) and cached[1] == flow_path:
            return False
        self.code_uses(doc, component, registry, flow_path)
        return True

    def prepare_next(self, doc: Any, registry: Any, flow_path: Path | None) -> bool:
        """Make the next missing piece for a run of `doc` (snapshot, RunState, trust scan): one
        idle chunk of ~10-25 ms for 1,000 nodes; False once everything is ready."""
        return self.prepare(doc) or self.prepare_state(doc) or self.prepare_trust(doc, registry, flow_path)

    def take(self, doc: Any) -> ComponentDefinition:
        """The snapshot of `doc` as it is now (prepared one if still current, else made now); the
        caller owns it."""
        if self._component is None or not self._current(doc):
            self.prepare(doc)
        component, self._component = self._component, None
        assert component is not None
        return component

    def take_state(self, component: ComponentDefinition) -> RunState:
        """A fresh RunState of `component` (prepared while idle if `component` is the snapshot
        `take` handed out and its state was made; else made now). Given out once."""
        prepared, self._state = self._state, None
        if prepared is not None and prepared[0] is component:
            return prepared[1]
        return RunState(component, root_id=root_id_of(component))

    def code_uses(self, doc: Any, component: ComponentDefinition, registry: Any, flow_path: Path | None) -> list[str]:
        """`engine.trust.code_uses` of `component` (a snapshot of `doc` now), once per revision."""
        key = _key(doc)
        cached = self._uses
        if cached is not None and cached[0] == key and cached[1] == flow_path:
            return list(cached[2])
        uses = list(code_uses(component, registry, flow_path))
        self._uses = (key, flow_path, uses)
        return list(uses)
