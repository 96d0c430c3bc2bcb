"""Files a node records as artifacts (`ctx.record_artifact`): copied into the run's folder.

RUNS.md: `artifact_written.artifact` is a path inside `artifacts/`, and continuation copies an
element's `artifacts/<hier/path>/` folder into the new run. A file a node wrote elsewhere (a
file_operation target) is therefore copied to `artifacts/<hier/path>/<name>` and the event names
that copy, so the run keeps the file as it was even if the original changes later.

The copy is done in a worker thread (the event loop, which the studio's GUI shares, never waits on
the disk); all copies of one node attempt start at once, their events are emitted in the order the
files were recorded, and the node's `node_completed` waits for them (`settle`). A file that vanished
or cannot be read before its copy is made is reported by a `log` event (warning) instead.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dad_studio.model.events import EventType

if TYPE_CHECKING:
    from dad_studio.engine.context import ExecutionContext

__all__ = ["ArtifactCopies", "guess_media_type"]

log = logging.getLogger(__name__)

_OCTET = "application/octet-stream"


def guess_media_type(path: Path, media_type: str = _OCTET) -> str:
    if media_type == _OCTET:
        return mimetypes.guess_type(path.name)[0] or media_type
    return media_type


def _copy(source: Path, target: Path) -> int:
    if source != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target.stat().st_size


class ArtifactCopies:
    """The recorded files of one node attempt, copied in threads and announced in record order."""

    __slots__ = ("_names", "_tasks", "execution", "hier_path")

    def __init__(self, execution: ExecutionContext, hier_path: str) -> None:
        self.execution = execution
        self.hier_path = hier_path
        self._names: dict[Path, str] = {}
        """Source file -> its name in the node's artifact folder (a file recorded twice is copied
        again under the same name; two files of one name from different folders get `name_2`...)."""
        self._tasks: list[asyncio.Task[None]] = []

    def record(self, path: Path, media_type: str = _OCTET) -> None:
        """Start copying `path` into the node's artifact folder; its event follows the copy."""
        run = self.execution.run
        source = Path(path).resolve()
        media_type = guess_media_type(source, media_type)
        recorder = run.recorder
        artifacts_root = (run.run_dir / "artifacts").resolve()
        target: Path | None
        if recorder is None:
            target = None  # no run folder: the event names the file where it is
        elif source.is_relative_to(artifacts_root):
            target = source  # already inside artifacts/ (ctx.write_artifact, or a node that wrote there)
        else:
            target = recorder.artifact_dir(self.hier_path) / self._name_for(source)
        loop = asyncio.get_running_loop()
        copied = loop.run_in_executor(None, _copy, source, target if target is not None else source)
        previous = self._tasks[-1] if self._tasks else None
        task = loop.create_task(self._announce(previous, copied, source, target, artifacts_root, media_type))
        self._tasks.append(task)

    def _name_for(self, source: Path) -> str:
        name = self._names.get(source)
        if name is None:
            taken = set(self._names.values())
            name, n = source.name, 1
            while name in taken:
                n += 1
                name = f"{source.stem}_{n}{source.suffix}"
            self._names[source] = name
        return name

    async def _announce(
        self,
        previous: asyncio.Task[None] | None,
        copied: asyncio.Future[int],
        source: Path,
        target: Path | None,
        artifacts_root: Path,
        media_type: str,
    ) -> None:
        try:
            size: int | None = await copied
            error = None
        except OSError as exc:
            size, error = None, exc
        if previous is not None:
            await asyncio.wait([previous])  # announced in record order; its own failure is its own
        bus = self.execution.run.bus
        if error is not None:
            bus.emit(
                EventType.LOG,
                self.hier_path,
                {"level": "warning", "message": f"artifact {source} could not be copied into the run: {error}"},
            )
            return
        name = target.relative_to(artifacts_root).as_posix() if target is not None else str(source)
        bus.emit(EventType.ARTIFACT_WRITTEN, self.hier_path, {"artifact": name, "size": size, "media_type": media_type})

    async def settle(self) -> None:
        """Wait until every recorded file is copied and announced (before the node's result)."""
        tasks, self._tasks = self._tasks, []
        if tasks:
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                raise

    def cancel(self) -> None:
        """The node was cancelled: announce nothing more (copies already in a thread finish there)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
