"""The run's single event stream: sinks, handlers and async subscribers.

Events are plain dicts `{seq, ts, type, path, ...}` (RUNS.md) because they are built on the hot
path and written as one JSON line each. Delivery order for every event is fixed: sinks first (the
run writer, telemetry: synchronously, so an event is on disk before the engine takes its next
step), then handlers registered on the RunContext, then every async subscriber (`runner.iter()`).
One EventBus per run; nothing here is shared between runs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from dad_studio.model.events import EventType

__all__ = ["Clock", "EventBus", "EventHandler", "adapt_handler", "utc_now"]

log = logging.getLogger(__name__)

Event = dict[str, Any]
EventHandler = Callable[..., Any]
"""`fn(event)`, or Burr-style keyword-only `fn(*, event, **future_kwargs)`; sync or async."""
Sink = Callable[[Event], None]


def utc_now() -> str:
    """UTC ISO-8601 with microseconds, the `ts` of every event."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def adapt_handler(fn: EventHandler) -> Callable[[Event], Any]:
    """Decide once how to call a handler: positionally if it takes a positional argument, else by keyword.

    Keyword handlers receive `event`, `type` and `path` when they accept them (or `**kwargs`): new
    keywords can be added later without breaking handlers that accept `**future_kwargs`.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if positional:
        return fn
    names = {p.name for p in params}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    wanted = [k for k in ("event", "type", "path") if var_kw or k in names]

    def call(event: Event) -> Any:
        values = {"event": event, "type": event.get("type"), "path": event.get("path")}
        return fn(**{k: values[k] for k in wanted})

    return call


class Clock:
    """`utc_now()` at a fraction of the cost: the text up to the second is formatted once a second.

    One per run (no module-level state); the hot path stamps several events per node.
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        micros = int((t - second) * 1_000_000)
        return f"{self._prefix}.{micros:06d}+00:00"


class EventBus:
    """Numbering, timestamps and fan-out of one run's events."""

    __slots__ = ("_handlers", "_pending", "_redact", "_seq", "_sinks", "_subscribers", "_wildcard", "heard", "now")

    def __init__(
        self,
        handlers: dict[str, list[Callable[[Event], Any]]] | None = None,
        redact: Callable[[Event], Event] | None = None,
    ) -> None:
        self._seq = 0
        self._redact = redact
        """Applied to every event before anyone sees it (dad_studio.runs.redact.Redactor.event): one scrub
        for the log, telemetry, handlers and subscribers alike."""
        self._sinks: list[Sink] = []
        handlers = dict(handlers or {})
        self._wildcard = handlers.pop("*", [])
        self._handlers = handlers
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self.heard = bool(self._handlers or self._wildcard)
        """Whether anything receives events (a sink, a handler, a subscriber). While nothing does (a
        run without records, stream or handlers), the hot path only counts its events (`unheard`)
        instead of building them: ~10% of a no-op node's cost."""
        self.now = Clock().now
        """The run's clock: UTC ISO-8601 with microseconds."""

    @property
    def seq(self) -> int:
        """The number of the last event emitted."""
        return self._seq

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)
        self.heard = True

    def unheard(self) -> None:
        """Count an event nobody would receive (`heard` is False) without building it."""
        self._seq += 1

    def subscribe(self) -> asyncio.Queue[Event | None]:
        """A queue that receives every later event; `None` marks the end of the stream."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.add_subscriber(queue)
        return queue

    def add_subscriber(self, queue: asyncio.Queue[Event | None]) -> None:
        """Deliver every later event to a queue made elsewhere (`runner.iter()` makes its queue
        before the run, and so its bus, exists); `None` is put on it when the stream ends."""
        self._subscribers.append(queue)
        self.heard = True

    def close_subscribers(self) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)
        self._subscribers.clear()
        self.heard = bool(self._sinks or self._handlers or self._wildcard)

    def emit(
        self, type_: EventType | str, path: str, fields: dict[str, Any] | None = None, ts: str | None = None
    ) -> Event:
        """Build, number and deliver one event. Sink errors propagate: a record that cannot be
        written must not pass silently. Handler errors are logged and never stop the run.

        `ts` lets the caller reuse a timestamp it just took for the same instant (a node's
        `started_at` is its `node_started` event's time); by default the clock is read."""
        self._seq += 1
        etype = type_ if type_.__class__ is str else str(type_)
        event: Event = {"seq": self._seq, "ts": ts or self.now(), "type": etype, "path": path}
        if fields:
            event.update(fields)
        if self._redact is not None:
            event = self._redact(event)
        for sink in self._sinks:
            sink(event)
        if self._handlers:
            handlers = self._handlers.get(etype)
            if handlers:
                for handler in handlers:
                    self._call(handler, event)
        if self._wildcard:
            for handler in self._wildcard:
                self._call(handler, event)
        if self._subscribers:
            for queue in self._subscribers:
                queue.put_nowait(event)
        return event

    def _call(self, handler: Callable[[Event], Any], event: Event) -> None:
        try:
            result = handler(event)
        except Exception:
            log.exception("event handler %r failed on %s event %d", handler, event["type"], event["seq"])
            return
        if inspect.isawaitable(result):
            future = asyncio.ensure_future(result)
            self._pending.add(future)
            future.add_done_callback(self._handler_done)

    def _handler_done(self, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("async event handler failed", exc_info=future.exception())

    async def drain(self) -> None:
        """Wait for async handlers still running (called before the run's records close)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def cancel_pending(self) -> None:
        for future in list(self._pending):
            future.cancel()


async def maybe_await(value: Awaitable[Any] | Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
