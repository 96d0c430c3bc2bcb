"""The run store's shared helpers: one sqlite write transaction, one atomic file write."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dad_studio.fileformat import write_atomic
from dad_studio.runs.common import atomic_write
from dad_studio.runs.index import write_transaction


def _conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x INTEGER)")
    return conn


def test_runs_write_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "a.sqlite")
    with write_transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(KeyError), write_transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        raise KeyError("boom")
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not conn.in_transaction


def test_runs_write_transaction_is_the_one_the_batch_store_uses() -> None:
    from dad_studio.batch import store

    assert store.write_transaction is write_transaction
    assert not hasattr(store, "_write")


def _fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_runs_atomic_write_fsyncs_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fsyncs(monkeypatch)
    atomic_write(tmp_path / "fast.json", b"1", fsync=False)
    assert calls == []
    atomic_write(tmp_path / "safe.json", b"2")
    assert len(calls) == 2  # the file, then its folder (the rename survives a power cut)
    assert (tmp_path / "fast.json").read_bytes() == b"1" and (tmp_path / "safe.json").read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.json", "safe.json"]  # no temp left


def test_runs_atomic_write_leaves_no_temp_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run.json"
    target.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk said no")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk said no"):
        atomic_write(target, b"new", fsync=False)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_runs_atomic_write_is_fileformats_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, b"{}")
    os.chmod(target, 0o600)
    atomic_write(target, b'{"a": 1}', fsync=False)
    assert target.read_bytes() == b'{"a": 1}'
    assert target.stat().st_mode & 0o777 == 0o600


def test_runs_package_import_does_not_load_the_flow_file_package() -> None:
    code = "import sys, dad_studio.runs; print('dad_studio.fileformat' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
