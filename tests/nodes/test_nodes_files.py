"""file_operation: every operation, failures, fail_fast, artifacts and a path-escape suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from dad_studio.model.settings import FileOperationSettings
from dad_studio.nodes.base import NodeFailure
from dad_studio.nodes.files import FileOperationExecutor


@pytest.fixture
def dirs(tmp_path):
    base = tmp_path / "base"
    outside = tmp_path / "outside"
    shared = tmp_path / "shared"
    for d in (base, outside, shared):
        d.mkdir()
    (outside / "secret.txt").write_text("do not touch")
    (base / "notes.txt").write_text("line one\nline two\n")
    return base, outside, shared


def snapshot(folder: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for root, dnames, fnames in os.walk(folder):
        for n in dnames:
            out[os.path.relpath(os.path.join(root, n), folder)] = None
        for n in fnames:
            p = os.path.join(root, n)
            out[os.path.relpath(p, folder)] = Path(p).read_bytes()
    return out


async def run(ctx, base: Path, ops, **kw):
    settings = FileOperationSettings(base_directory=str(base), operations=ops, **kw)
    return await FileOperationExecutor().execute(ctx, settings)


async def test_create_edit_list_search_info_move_delete(make_ctx, dirs):
    base, _, _ = dirs
    ctx = make_ctx(variables={"who": "Ada"})
    out = await run(
        ctx,
        base,
        [
            {"type": "create_file", "path": "docs/hello.md", "content": "Hello $var{who}\n"},
            {"type": "edit_file", "path": "notes.txt", "edits": [{"old_text": "line two", "new_text": "line 2"}]},
            {"type": "create_directory", "path": "empty/inner"},
            {"type": "list_directory", "path": "."},
            {"type": "search_files", "path": ".", "pattern": "**/*.md"},
            {"type": "get_file_info", "path": "notes.txt"},
            {"type": "move_file", "path": "docs/hello.md", "destination": "moved/hello.md"},
            {"type": "delete_file", "path": "notes.txt"},
            {"type": "delete_directory", "path": "empty"},
        ],
    )
    r = out.outcome["results"]
    assert out.outcome["all_succeeded"] and all(x["success"] for x in r)
    assert "+Hello Ada" in r[0]["diff"] and r[0]["diff"].startswith("--- a/docs/hello.md")
    assert "-line two\n+line 2\n" in r[1]["diff"]
    assert [e["name"] for e in r[3]["entries"]] == ["docs", "empty", "notes.txt"]
    assert r[3]["content"] == "docs/\nempty/\nnotes.txt"
    assert r[4]["matches"] == ["docs/hello.md"]
    assert r[5]["info"]["size"] == len("line one\nline 2\n") and r[5]["info"]["is_file"]
    assert (base / "moved/hello.md").read_text() == "Hello Ada\n"
    assert not (base / "notes.txt").exists() and not (base / "empty").exists()
    recorded = [p for p, _ in ctx.artifacts]
    assert recorded == [base / "docs/hello.md", base / "notes.txt", base / "moved/hello.md"]
    assert ctx.artifacts[0][1] == "text/markdown"


async def test_create_file_overwrites_with_diff(make_ctx, dirs):
    base, _, _ = dirs
    out = await run(make_ctx(), base, [{"type": "create_file", "path": "notes.txt", "content": "new\n"}])
    diff = out.outcome["results"][0]["diff"]
    assert "-line one" in diff and "+new" in diff


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([{"old_text": "absent", "new_text": "x"}], "does not occur"),
        ([{"old_text": "line", "new_text": "x"}], "occurs 2 times"),
        ([{"old_text": "", "new_text": "x"}], "old_text is empty"),
        ([], "needs at least one edit"),
        # the second edit sees the first one's result
        (
            [{"old_text": "one", "new_text": "two"}, {"old_text": "line two", "new_text": "x"}],
            "edit 2: .* occurs 2 times",
        ),
    ],
)
async def test_edit_file_failures_leave_file_untouched(make_ctx, dirs, edits, message):
    base, _, _ = dirs
    with pytest.raises(NodeFailure, match=message):
        await run(make_ctx(), base, [{"type": "edit_file", "path": "notes.txt", "edits": edits}])
    assert (base / "notes.txt").read_text() == "line one\nline two\n"


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            {"type": "edit_file", "path": "missing.txt", "edits": [{"old_text": "a", "new_text": "b"}]},
            "not an existing file",
        ),
        ({"type": "delete_file", "path": "missing.txt"}, "not an existing file"),
        ({"type": "delete_file", "path": "."}, "not an existing file"),
        ({"type": "delete_directory", "path": "."}, "cannot be deleted"),
        ({"type": "delete_directory", "path": "notes.txt"}, "not an existing folder"),
        ({"type": "create_directory", "path": "notes.txt"}, "not a folder"),
        ({"type": "list_directory", "path": "nope"}, "not an existing folder"),
        ({"type": "move_file", "path": "notes.txt"}, "needs a destination"),
        ({"type": "move_file", "path": "nope", "destination": "x"}, "does not exist"),
        ({"type": "move_file", "path": "notes.txt", "destination": "notes.txt"}, "already exists"),
        ({"type": "search_files", "path": "."}, "needs a pattern"),
        ({"type": "get_file_info", "path": "nope"}, "does not exist"),
        ({"type": "create_file", "path": ".", "content": "x"}, "is a folder"),
    ],
)
async def test_operation_failures(make_ctx, dirs, op, message):
    base, _, _ = dirs
    with pytest.raises(NodeFailure, match=message):
        await run(make_ctx(), base, [op])


async def test_fail_fast_false_runs_all(make_ctx, dirs):
    base, _, _ = dirs
    out = await run(
        make_ctx(),
        base,
        [{"type": "delete_file", "path": "missing"}, {"type": "create_file", "path": "after.txt", "content": "x"}],
        fail_fast=False,
    )
    assert out.outcome["all_succeeded"] is False
    assert [r["success"] for r in out.outcome["results"]] == [False, True]
    assert (base / "after.txt").exists()


async def test_fail_fast_keeps_partial_results(make_ctx, dirs):
    base, _, _ = dirs
    with pytest.raises(NodeFailure) as info:
        await run(
            make_ctx(),
            base,
            [
                {"type": "create_file", "path": "a.txt", "content": "x"},
                {"type": "delete_file", "path": "missing"},
                {"type": "create_file", "path": "b.txt", "content": "x"},
            ],
        )
    assert len(info.value.outcome["results"]) == 2
    assert not (base / "b.txt").exists()


async def test_missing_base_directory(make_ctx, tmp_path):
    with pytest.raises(NodeFailure, match="base_directory does not exist"):
        await run(make_ctx(), tmp_path / "nope", [{"type": "list_directory"}])


async def test_default_base_directory_is_the_run_dir(make_ctx):
    ctx = make_ctx()
    settings = FileOperationSettings(operations=[{"type": "create_file", "path": "out.txt", "content": "hi"}])
    await FileOperationExecutor().execute(ctx, settings)
    assert (ctx.run_dir / "out.txt").read_text() == "hi"


async def test_allowed_directories_extend_the_base(make_ctx, dirs):
    base, _, shared = dirs
    out = await run(
        make_ctx(),
        base,
        [
            {"type": "create_file", "path": str(shared / "x.txt"), "content": "ok"},
            {"type": "create_file", "path": "../shared/y.txt", "content": "ok"},
        ],
        allowed_directories=[str(shared)],
    )
    assert out.outcome["all_succeeded"]
    assert (shared / "x.txt").exists() and (shared / "y.txt").exists()


def test_bad_settings():
    with pytest.raises(ValidationError):
        FileOperationSettings(operations=[])
    with pytest.raises(ValidationError):
        FileOperationSettings(operations=[{"type": "format_disk"}])
    with pytest.raises(ValidationError):
        FileOperationSettings(operations=[{"type": "edit_file", "edits": [{"old": "x"}]}])


# -- path escapes ---------------------------------------------------------------------------------


def _escape_cases(base: Path, outside: Path, shared: Path) -> list[tuple[list[dict], list[str]]]:
    """(operations, allowed_directories) that must all be refused."""
    o = str(outside)
    rel_out = os.path.relpath(outside, base)
    cases: list[tuple[list[dict], list[str]]] = [
        ([{"type": "create_file", "path": "../outside/new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "sub/../../outside/new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": f"{rel_out}/new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": f"{o}/new.txt", "content": "x"}], []),
        ([{"type": "edit_file", "path": f"{o}/secret.txt", "edits": [{"old_text": "do", "new_text": "x"}]}], []),
        ([{"type": "delete_file", "path": "../outside/secret.txt"}], []),
        ([{"type": "delete_directory", "path": ".."}], []),
        ([{"type": "delete_directory", "path": "../outside"}], []),
        ([{"type": "create_directory", "path": "../outside/newdir"}], []),
        ([{"type": "list_directory", "path": ".."}], []),
        ([{"type": "get_file_info", "path": "/etc/passwd"}], []),
        ([{"type": "move_file", "path": "notes.txt", "destination": "../outside/stolen.txt"}], []),
        ([{"type": "move_file", "path": "../outside/secret.txt", "destination": "mine.txt"}], []),
        ([{"type": "move_file", "path": "notes.txt", "destination": f"{o}/stolen.txt"}], []),
        ([{"type": "search_files", "path": ".", "pattern": "../outside/*"}], []),
        ([{"type": "search_files", "path": ".", "pattern": "**/../../outside/*"}], []),
        ([{"type": "search_files", "path": ".", "pattern": f"{o}/*"}], []),
        ([{"type": "search_files", "path": "..", "pattern": "*"}], []),
        # symlinks: a link to a file outside, to a folder outside, a symlinked parent, a dangling link out
        ([{"type": "create_file", "path": "link_file", "content": "x"}], []),
        ([{"type": "edit_file", "path": "link_file", "edits": [{"old_text": "do", "new_text": "x"}]}], []),
        ([{"type": "create_file", "path": "link_dir/new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "link_dir/deeper/new.txt", "content": "x"}], []),
        ([{"type": "delete_file", "path": "link_dir/secret.txt"}], []),
        ([{"type": "create_file", "path": "dangling", "content": "x"}], []),
        ([{"type": "move_file", "path": "notes.txt", "destination": "link_dir/stolen.txt"}], []),
        # Windows-style separators and drives, NUL bytes, UNC paths
        ([{"type": "create_file", "path": "..\\outside\\new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "sub\\..\\..\\outside\\new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "C:\\Windows\\new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "\\\\server\\share\\new.txt", "content": "x"}], []),
        ([{"type": "create_file", "path": "ok.txt\x00../../outside/new.txt", "content": "x"}], []),
        ([{"type": "search_files", "path": ".", "pattern": "..\\outside\\*"}], []),
        # allowed_directories edge cases: a sibling sharing a prefix, the parent of an allowed folder
        ([{"type": "create_file", "path": f"{shared}2/new.txt", "content": "x"}], [str(shared)]),
        ([{"type": "create_file", "path": f"{shared}/../outside/new.txt", "content": "x"}], [str(shared)]),
        ([{"type": "create_file", "path": f"{o}/new.txt", "content": "x"}], [str(shared)]),
    ]
    return cases


def _make_links(base: Path, outside: Path) -> None:
    (base / "link_file").symlink_to(outside / "secret.txt")
    (base / "link_dir").symlink_to(outside, target_is_directory=True)
    (base / "dangling").symlink_to(outside / "not_yet.txt")
    (base / "sub").mkdir()


async def test_path_escapes_are_all_refused(make_ctx, dirs):
    base, outside, shared = dirs
    (shared.parent / "shared2").mkdir()
    _make_links(base, outside)
    make_ctx()  # creates the fake run folder beside base before the snapshot
    before_outside = snapshot(outside)
    before_root = sorted(os.listdir(base.parent))
    cases = _escape_cases(base, outside, shared)
    assert len(cases) >= 20
    for ops, allowed in cases:
        ctx = make_ctx()
        with pytest.raises(NodeFailure) as info:
            await run(ctx, base, ops, allowed_directories=allowed)
        msg = info.value.message
        assert any(
            word in msg for word in ("outside the allowed", "NUL byte", "Windows drive", "contains '..'", "is absolute")
        ), (ops, msg)
        assert ctx.artifacts == []
    assert snapshot(outside) == before_outside
    assert sorted(os.listdir(base.parent)) == before_root
    assert snapshot(shared.parent / "shared2") == {}
    assert (base / "notes.txt").read_text() == "line one\nline two\n"


async def test_search_does_not_follow_links_out(make_ctx, dirs):
    base, outside, _ = dirs
    _make_links(base, outside)
    out = await run(make_ctx(), base, [{"type": "search_files", "path": ".", "pattern": "**/*.txt"}])
    assert out.outcome["results"][0]["matches"] == ["notes.txt"]


async def test_root_as_allowed_directory_is_refused(make_ctx, dirs):
    base, _, _ = dirs
    with pytest.raises(NodeFailure, match="filesystem root"):
        await run(make_ctx(), base, [{"type": "list_directory"}], allowed_directories=["/"])
