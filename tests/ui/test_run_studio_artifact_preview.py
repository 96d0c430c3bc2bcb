"""Artifact browser: previews of huge files (bounded reads, no broken truncated images) and the listing."""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

from PySide6 import QtGui

from dad_studio.ui.run.artifacts import PREVIEW_BYTES, read_preview

HUGE = 2 * 1024**3


def _sparse(path: Path, head: bytes = b"") -> Path:
    with path.open("wb") as stream:
        stream.write(head)
        stream.truncate(HUGE)  # a hole: 2 GB on paper, nothing on disk
    return path


def _measure(path: Path) -> tuple[tuple[str, object], float, int]:
    tracemalloc.start()
    start = time.monotonic()
    try:
        result = read_preview(path)
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


def test_run_studio_preview_of_a_2_gb_text_file_reads_only_its_head(tmp_path: Path) -> None:
    (kind, content), elapsed, peak = _measure(_sparse(tmp_path / "big.log", b"first line\n"))
    assert kind == "binary"  # the hole reads as zero bytes
    assert f"{HUGE:,} bytes" in str(content)
    assert elapsed < 1
    assert peak < 4 * PREVIEW_BYTES


def test_run_studio_preview_of_a_2_gb_json_file_is_cut_text(tmp_path: Path) -> None:
    (kind, content), elapsed, peak = _measure(_sparse(tmp_path / "big.json", b'{"a": ' + b" " * 100))
    assert kind == "text" and str(content).startswith('{"a": ')
    assert len(str(content)) == PREVIEW_BYTES
    assert elapsed < 1 and peak < 8 * PREVIEW_BYTES


def test_run_studio_preview_of_a_2_gb_image_says_too_large(tmp_path: Path) -> None:
    (kind, content), elapsed, peak = _measure(_sparse(tmp_path / "huge.png", b"\x89PNG\r\n\x1a\n"))
    assert kind == "text"
    assert content == f"huge.png: too large to preview ({HUGE / 1e6:,.0f} MB) — Open"
    assert elapsed < 1 and peak < 1024 * 1024


def test_run_studio_preview_keeps_an_image_over_the_text_limit_whole(tmp_path: Path, qapp: object) -> None:
    pixels = random.Random(7).randbytes(700 * 700 * 4)  # noise: the PNG is well over PREVIEW_BYTES
    image = QtGui.QImage(pixels, 700, 700, QtGui.QImage.Format.Format_RGB32)
    path = tmp_path / "noise.png"
    assert image.save(str(path))
    assert PREVIEW_BYTES < path.stat().st_size < 8 * 1024 * 1024
    kind, content = read_preview(path)
    assert kind == "image" and len(content) == path.stat().st_size
    pixmap = QtGui.QPixmap()
    assert pixmap.loadFromData(content) and pixmap.width() == 700


def test_a_file_written_twice_is_one_row_at_its_latest_size(tmp_path: Path) -> None:
    """Two artifact_written events for one file (a node rewrote it) list it once, not twice."""
    from dad_studio.runs import RunWriter
    from dad_studio.runs.testing import EventLog
    from dad_studio.ui.run.artifacts import scan

    run_dir = tmp_path / "run_x"
    writer = RunWriter(run_dir)
    writer.open({"root_component_id": "f"}, b"{}")
    log = EventLog(writer)
    report = writer.artifact_dir("f.a") / "report.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    for text in ("first", "first and more"):
        report.write_text(text)
        log.emit("artifact_written", "f.a", artifact="f/a/report.md", size=len(text), media_type="text/markdown")
    log.emit("artifact_written", "f.a", artifact="f/a/other.txt", size=1, media_type="text/plain")
    writer.close(status="completed")
    files = [(e.hier, e.label, e.size) for e in scan(run_dir) if e.file is not None]
    assert files == [(("f", "a"), "report.md", len("first and more")), (("f", "a"), "other.txt", 1)]
