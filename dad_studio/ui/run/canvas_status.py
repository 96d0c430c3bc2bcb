"""Live run status on the canvas: node pills and borders, taken / dead edges, streamed tails.

The canvas shows one component (`CanvasWidget.cpath`); this overlay maps it to a component path of
the run (`root.sub.loop.iter_3` — the latest iteration of a for_each) and updates only the items
whose hierarchy paths appear in a batch of events, so a batch costs O(events), not O(nodes).
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from dad_studio.runs.state import NodeView, edge_state
from dad_studio.ui.canvas.items import EdgeItem, NodeItem
from dad_studio.ui.canvas.overview import REPAINT_MIN_MS
from dad_studio.ui.canvas.widget import CanvasWidget
from dad_studio.ui.run.session import RunSession, format_duration
from dad_studio.ui.run.slices import SliceQueue

ANIMATION_MS = 90
CACHED = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
FAR_ZOOM = 0.35
"""Below this zoom a node is drawn as a plain box (items.NodeItem.paint)."""
LIVE_REPAINT_MS = 250
"""The far-zoom overview's least time between repaints while a run streams (overview.REPAINT_MIN_MS otherwise)."""
CANVAS_MS = 120
"""Item updates are applied at most this often: a fit-all repaint of a big flow costs tens of ms."""
SLICE_MS = 4.0
"""Per turn (slices.py), item updates stop after about this long and go on at the next turn: a
1,000-node batch (a run starting, a fit-all view of a busy run) costs ~15-40 ms of Python work.
Far out, the overview's regrouping of the items a slice changed (~half as long again) follows in a
turn of its own, so the overview's paint only draws."""
SLICE_CHECK = 16
"""Items updated between two clock reads."""
TAIL_CHARS = 90
LIVE = ("running", "waiting_input")


def component_path(session: RunSession, cpath: tuple[str, ...]) -> str | None:
    """The run's component path for the canvas path `cpath`; None if the definition does not have it."""
    path = session.root_id
    component = session.component
    state = session.state
    for node_id in cpath:
        node = component.nodes.get(node_id)
        if node is None or node.body is None:
            return None
        path = f"{path}.{node_id}"
        if node.type == "for_each":
            iterations = [c.iteration for c in state.components.values() if c.owner == path and c.iteration is not None]
            path = f"{path}.iter_{max(iterations) if iterations else 0}"
        component = node.body
    return path


def node_text(session: RunSession, view: NodeView) -> tuple[str, str]:
    """(duration text, output tail) shown on a node."""
    if view.status == "running":
        elapsed = session.elapsed_ms(view.path)
        text = format_duration(elapsed)
    elif view.status == "waiting_input":
        text = ""
    elif view.loaded:
        text = "loaded"
    else:
        text = format_duration(view.duration_ms)
    tail = ""
    if view.stream and view.status in LIVE:
        tail = view.streamed_text[-TAIL_CHARS:].replace("\n", " ").strip()
    return text, tail


class CanvasRunOverlay(QtCore.QObject):
    """Paints the selected run's state onto the canvas items of the component on show."""

    def __init__(self, canvas: CanvasWidget, *, slices: SliceQueue | None = None) -> None:
        """`slices`: the queue shared with the other run views (one slice per pass of the loop)."""
        super().__init__(canvas)
        self.canvas = canvas
        self.slices = slices if slices is not None else SliceQueue(self)
        self.session: RunSession | None = None
        self._cpath_run: str | None = None
        self._live: dict[str, NodeItem] = {}
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(ANIMATION_MS)
        self.timer.timeout.connect(self._animate)
        self._restore_cache = False
        self._live_run = False
        self._queued: set[str] = set()
        self.paint_timer = QtCore.QTimer(self)
        self.paint_timer.setSingleShot(True)
        self.paint_timer.setInterval(CANVAS_MS)
        self._apply_turn = self.slices.timer(self._apply_queued)
        self.paint_timer.timeout.connect(self._apply_turn.start)  # in its turn among the slices
        self._todo: dict[str, None] = {}
        """Node ids (of the component on show) still to update: a big batch is applied in slices."""
        self.slice_timer = self.slices.timer(self._drain)
        self._regroup = self.slices.timer(self._regroup_overview)
        canvas.path_changed.connect(self.refresh_all)
        canvas.view.zoom_changed.connect(self._on_zoom)

    def show_session(self, session: RunSession | None, *, sliced: bool = False) -> None:
        """Show another run. `sliced`: its items are updated over several event-loop passes
        (SLICE_MS each) instead of at once (the same final state; `finish()` completes it now)."""
        self.session = session
        self._queued.clear()
        self.paint_timer.stop()
        if sliced and self._shown() is not None:
            self._live.clear()
            self._todo.clear()
            self._cpath_run = component_path(session, self.canvas.cpath) if session is not None else None
            self._todo.update(dict.fromkeys(self.canvas.scene.nodes))
            self.slice_timer.start()  # from the next pass: Run itself stays short
        else:
            self.refresh_all()

    def set_live(self, live: bool) -> None:
        """While a run repaints the canvas several times a second, items it touches are cached.

        The canvas caches nodes only when zoomed in (a cache costs on the first paint); during a run
        the same items are repainted again and again and a blit is far cheaper than Python paint()
        calls (a fit-all repaint of 1,000 nodes and edges: ~130 ms uncached, ~40 ms cached here).
        Items are switched one by one as their status changes (they repaint then anyway), never
        all at once, which would make the next paint a full uncached one.
        """
        self._live_run = live
        if live:
            self._restore_cache = False
        else:
            # the canvas's own policy comes back at the next zoom, which repaints everything anyway
            self._restore_cache = True

    def set_streaming(self, streaming: bool) -> None:
        """While an engine streams on this thread, the far-zoom overview repaints less often
        (LIVE_REPAINT_MS): each repaint of a 1,000-node overview is ~6-10 ms the run waits for."""
        self.canvas.scene.overview.repaint_min_ms = LIVE_REPAINT_MS if streaming else REPAINT_MIN_MS

    def _on_zoom(self) -> None:
        if not self._restore_cache:
            return
        self._restore_cache = False
        for edge in self.canvas.scene.edges.values():
            edge.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
        view = self.canvas.view
        view._cached = None  # let the view apply its own policy for this zoom again
        view._update_item_cache()

    def _shown(self) -> RunSession | None:
        session = self.session
        if session is None or session.document is not self.canvas.doc:
            return None
        return session

    def refresh_all(self) -> None:
        """Recompute every item of the scene (new run selected, level changed, scene rebuilt)."""
        session = self._shown()
        self._live.clear()
        self._todo.clear()
        self.slice_timer.stop()
        scene = self.canvas.scene
        if session is None:
            self._cpath_run = None
            for item in scene.nodes.values():
                item.set_run_state(None)
            for edge in scene.edges.values():
                edge.set_run_state(None)
            self.timer.stop()
            return
        self._cpath_run = component_path(session, self.canvas.cpath)
        for node_id, item in scene.nodes.items():
            self._update_item(session, node_id, item)
        for edge in scene.edges.values():
            self._update_edge(session, edge)
        self._sync_timer()

    def update_paths(self, changed: set[str], *, now: bool = False) -> None:
        """Queue a batch; applied at most every CANVAS_MS, in slices (or all of it `now`, e.g.
        when the run ends)."""
        self._queued |= changed
        if now:
            self._apply_queued(sliced=False)
        elif not self.paint_timer.isActive():
            self.paint_timer.start()

    def apply_soon(self) -> None:
        """Apply the queued batch in slices from its next turn, without waiting for CANVAS_MS (a run's end)."""
        if self._queued:
            self.paint_timer.stop()
            self._apply_turn.start()

    def _apply_queued(self, *, sliced: bool = True) -> None:
        """Only items whose element (or whose edge's source) changed are touched."""
        self.paint_timer.stop()
        self._apply_turn.stop()
        changed, self._queued = self._queued, set()
        session = self._shown()
        if session is None:
            self._todo.clear()
            return
        state = session.state
        # a new loop iteration may have started: follow the latest one
        if (
            self.canvas.cpath
            and any(path in state.components for path in changed)
            and component_path(session, self.canvas.cpath) != self._cpath_run
        ):
            self.refresh_all()
            return
        prefix = self._cpath_run
        if prefix is None:
            return
        nodes = self.canvas.scene.nodes
        todo = self._todo
        cut = len(prefix) + 1
        for path in changed:
            if not path.startswith(prefix) or len(path) <= cut or path[cut - 1] != ".":
                continue
            node_id = path[cut:]
            if node_id in nodes:
                todo[node_id] = None
        if sliced:
            self.slice_timer.start()  # the items in their own turns (slices.py), not in this one
        else:
            self._drain(everything=True)

    def _drain(self, *, everything: bool = False) -> None:
        """Update queued items (and their outgoing edges) for about SLICE_MS (`everything`: all of
        them); what is left goes on at the next pass of the event loop."""
        self.slice_timer.stop()
        session = self._shown()
        todo = self._todo
        if session is None or self._cpath_run is None:
            todo.clear()
            return
        nodes = self.canvas.scene.nodes
        deadline = None if everything else time.perf_counter() + SLICE_MS / 1000
        count = 0
        while todo:
            node_id = next(iter(todo))
            del todo[node_id]
            item = nodes.get(node_id)
            if item is None:
                continue
            self._update_item(session, node_id, item)
            for edge in item.edges:
                if edge.source is item:
                    self._update_edge(session, edge)
            count += 1
            if deadline is not None and count % SLICE_CHECK == 0 and time.perf_counter() > deadline:
                break
        if todo:
            self.slice_timer.start()
        if deadline is not None and self.canvas.scene.overview.active:
            self._regroup.start()  # what this slice changed, in its own turn, not all in the next paint
        self._sync_timer()

    def _regroup_overview(self) -> None:
        self.canvas.scene.overview.sync()

    def finish(self) -> None:
        """Apply every queued update now (tests, screenshots, the end of a run)."""
        if self._queued:
            self._apply_queued(sliced=False)
        elif self._todo:
            self._drain(everything=True)

    @property
    def pending(self) -> int:
        """Items still waiting for their update (0: the canvas shows the state)."""
        return len(self._todo) + len(self._queued)

    def _far(self) -> bool:
        return self.canvas.view.transform().m11() < FAR_ZOOM

    def _update_item(self, session: RunSession, node_id: str, item: NodeItem) -> None:
        view = session.state.nodes.get(f"{self._cpath_run}.{node_id}") if self._cpath_run else None
        if view is None:
            item.set_run_state(None)
            self._live.pop(node_id, None)
            return
        text, tail = node_text(session, view)
        overview = self.canvas.scene.overview.active
        quiet = view.status == "pending" and item.run_status in (None, "pending") and self._far()
        if self._live_run and not quiet and not overview:  # far out the overview paints, not the item
            item.setCacheMode(CACHED)
        item.set_run_state(view.status, text, tail, repaint=not quiet)
        if view.status in LIVE:
            self._live[node_id] = item
        else:
            self._live.pop(node_id, None)

    def _update_edge(self, session: RunSession, edge: EdgeItem) -> None:
        if self._cpath_run is None:
            edge.set_run_state(None)
            return
        source = session.state.nodes.get(f"{self._cpath_run}.{edge.edge.source}")
        state = edge_state(edge.edge, source)
        new = None if state == "pending" else state
        if new != edge.run_state and self._live_run and not self.canvas.scene.overview.active:
            edge.setCacheMode(CACHED)
        edge.set_run_state(new)

    def _sync_timer(self) -> None:
        if self._live and not self.timer.isActive():
            self.timer.start()
        elif not self._live and self.timer.isActive():
            self.timer.stop()

    def _animate(self) -> None:
        session = self._shown()
        if session is None:
            self.timer.stop()
            return
        for node_id, item in list(self._live.items()):
            if item.scene() is None:  # the scene was rebuilt under us
                self._live.pop(node_id, None)
                continue
            self._update_item(session, node_id, item)
            item.advance_run_phase()
        self._sync_timer()

    def shutdown(self) -> None:
        self.timer.stop()
        self.paint_timer.stop()
        self._apply_turn.stop()
        self.slice_timer.stop()
        self._regroup.stop()
        self._todo.clear()
        self._live.clear()
