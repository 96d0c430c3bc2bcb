"""Token usage and cost summed per node, per component (every ancestor) and per run, from events.

Pure and synchronous so the engine (run.json, the index) and the studio (outcomes panel) can share it
without the telemetry pipeline being on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dad_studio.model.results import Usage

_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "cost")


def _as_usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    if isinstance(raw, Usage):
        return raw
    if isinstance(raw, Mapping):
        return Usage.model_validate({k: raw[k] for k in _FIELDS if raw.get(k) is not None})
    raise TypeError(f"usage must be a mapping or Usage, got {type(raw).__name__}")


def ancestors(path: str) -> list[str]:
    """Every enclosing hierarchy path of `path`, nearest first: a.b.c -> [a.b, a]."""
    out: list[str] = []
    cut = path.rfind(".")
    while cut > 0:
        path = path[:cut]
        out.append(path)
        cut = path.rfind(".")
    return out


class UsageAggregator:
    """Sums `usage` of node_completed (and, if asked, node_loaded) events.

    Loaded nodes did not spend anything in this run, so their usage is kept apart (`loaded`) unless
    `count_loaded=True`. A node that reports twice (say a retried attempt reported by the engine as two
    node_completed events) keeps its last report: the event is the node's final result, not a delta.
    """

    def __init__(self, *, count_loaded: bool = False) -> None:
        self._count_loaded = count_loaded
        self._nodes: dict[str, Usage] = {}
        self._loaded: dict[str, Usage] = {}

    def on_event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind != "node_completed" and kind != "node_loaded":
            return
        usage = _as_usage(event.get("usage"))
        if usage is None:
            return
        if kind == "node_loaded" and not self._count_loaded:
            self._loaded[event["path"]] = usage
        else:
            self._nodes[event["path"]] = usage

    def feed(self, events: Iterable[Mapping[str, Any]]) -> UsageAggregator:
        for event in events:
            self.on_event(event)
        return self

    @property
    def by_node(self) -> dict[str, Usage]:
        return dict(self._nodes)

    @property
    def loaded(self) -> dict[str, Usage]:
        """Usage carried by loaded nodes (spent by the previous run), by node path."""
        return dict(self._loaded)

    @property
    def by_component(self) -> dict[str, Usage]:
        """Every enclosing path of a node that reported usage -> the sum over the nodes under it."""
        totals: dict[str, Usage] = {}
        for path, usage in self._nodes.items():
            for parent in ancestors(path):
                previous = totals.get(parent)
                totals[parent] = usage if previous is None else previous + usage
        return totals

    @property
    def total(self) -> Usage:
        result = Usage()
        for usage in self._nodes.values():
            result = result + usage
        return result

    def for_path(self, path: str) -> Usage:
        """The usage of one node, or the sum over a component's subtree; zero if nothing ran there."""
        if path in self._nodes:
            return self._nodes[path]
        return self.by_component.get(path, Usage())
