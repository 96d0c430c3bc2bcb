"""folder_analyzer: every operation, gitignore (nested), patterns, limits, confinement."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dad_studio.model.settings import FolderAnalyzerSettings
from dad_studio.nodes.base import NodeFailure
from dad_studio.nodes.folders import FolderAnalyzerExecutor


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "build").mkdir()
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "README.md").write_text("# Title\nsome words here\n")
    (root / "debug.log").write_text("ignored")
    (root / "build" / "out.bin").write_bytes(b"\x00\x01")
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / "src" / "pkg" / ".gitignore").write_text("*.tmp\n!keep.log\n")
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n" * 100)
    (root / "src" / "pkg" / "scratch.tmp").write_text("tmp")
    (root / "src" / "pkg" / "keep.log").write_text("kept by a nested negation")
    (root / "src" / "data.bin").write_bytes(b"abc\x00def")
    return root


async def run(ctx, base, *ops, **kw):
    settings = FolderAnalyzerSettings(base_directory=str(base), operations=list(ops), **kw)
    return await FolderAnalyzerExecutor().execute(ctx, settings)


async def test_tree_diagram_respects_nested_gitignore(make_ctx, repo):
    out = await run(make_ctx(), repo, {"operation_type": "get_tree_diagram"})
    assert out.outcome["tree"] == (
        "repo/\n"
        "├── .gitignore\n"
        "├── README.md\n"
        "└── src/\n"
        "    ├── data.bin\n"
        "    ├── main.py\n"
        "    └── pkg/\n"
        "        ├── .gitignore\n"
        "        ├── keep.log\n"
        "        └── mod.py\n"
        "\n"
        "2 directories, 7 files"
    )
    assert out.outcome["files"] == [
        ".gitignore",
        "README.md",
        "src/data.bin",
        "src/main.py",
        "src/pkg/.gitignore",
        "src/pkg/keep.log",
        "src/pkg/mod.py",
    ]
    assert out.outcome["total_files"] == 7 and out.outcome["total_directories"] == 2


async def test_without_gitignore_everything_but_dot_git(make_ctx, repo):
    out = await run(make_ctx(), repo, {"operation_type": "find_files", "respect_gitignore": False})
    files = out.outcome["results"][0]["files"]
    assert "debug.log" in files and "build/out.bin" in files and "src/pkg/scratch.tmp" in files
    assert not any(f.startswith(".git/") for f in files)


async def test_include_exclude_and_max_depth(make_ctx, repo):
    out = await run(
        make_ctx(),
        repo,
        {"operation_type": "find_files", "include_patterns": ["*.py"]},
        {"operation_type": "find_files", "path": "src", "exclude_patterns": ["pkg/"]},
        {"operation_type": "get_structure", "max_depth": 1},
    )
    r = out.outcome["results"]
    assert r[0]["files"] == ["src/main.py", "src/pkg/mod.py"]
    assert r[1]["files"] == ["src/data.bin", "src/main.py"]
    names = [c["name"] for c in r[2]["structure"]["children"]]
    assert names == [".gitignore", "README.md", "src"]
    assert r[2]["structure"]["children"][2]["children"] == []


async def test_analyze_folder_content_modes_and_limits(make_ctx, repo):
    out = await run(
        make_ctx(),
        repo,
        {"operation_type": "analyze_folder", "path": "src", "content_read_mode": "full", "max_file_size": 100},
    )
    files = {f["path"]: f for f in out.outcome["results"][0]["files"]}
    assert files["src/main.py"]["content"] == "print('hi')\n"
    assert files["src/data.bin"]["binary"] is True and files["src/data.bin"]["content"] is None
    assert "max_file_size" in files["src/pkg/mod.py"]["skipped"]
    assert out.outcome["total_size"] == sum(f["size"] for f in files.values())


async def test_max_total_words_truncates(make_ctx, repo):
    out = await run(
        make_ctx(),
        repo,
        {
            "operation_type": "analyze_folder",
            "include_patterns": ["*.md", "*.py"],
            "content_read_mode": "full",
            "max_total_words": 5,
        },
    )
    result = out.outcome["results"][0]
    assert result["truncated"] is True
    total = sum(f.get("words", 0) for f in result["files"])
    assert total == 5
    assert any(f.get("skipped") == "max_total_words reached" for f in result["files"])


async def test_preview_mode(make_ctx, repo):
    out = await run(
        make_ctx(), repo, {"operation_type": "analyze_file", "path": "src/pkg/mod.py", "content_read_mode": "preview"}
    )
    content = out.outcome["results"][0]["file"]["content"]
    assert content.count("\n") == 40


async def test_analyze_file_reads_in_full_by_default(make_ctx, repo):
    out = await run(make_ctx(), repo, {"operation_type": "analyze_file", "path": "README.md"})
    f = out.outcome["results"][0]["file"]
    assert f["content"] == "# Title\nsome words here\n" and f["words"] == 5 and f["extension"] == ".md"
    assert out.outcome["files"] == ["README.md"]


async def test_failures(make_ctx, repo, tmp_path):
    (tmp_path / "outside").mkdir()
    (repo / "out_link").symlink_to(tmp_path / "outside", target_is_directory=True)
    for op, message in [
        ({"operation_type": "analyze_file", "path": "src"}, "not an existing file"),
        ({"operation_type": "get_tree_diagram", "path": "nope"}, "not an existing folder"),
        ({"operation_type": "find_files", "path": ".."}, "outside the allowed"),
        ({"operation_type": "find_files", "path": "/etc"}, "outside the allowed"),
        ({"operation_type": "find_files", "path": "out_link"}, "outside the allowed"),
        ({"operation_type": "find_files", "path": "..\\outside"}, "outside the allowed"),
        ({"operation_type": "analyze_file", "path": "README.md\x00x"}, "NUL byte"),
    ]:
        with pytest.raises(NodeFailure, match=message) as info:
            await run(make_ctx(), repo, op)
        assert info.value.outcome["results"][0]["success"] is False


async def test_symlinked_file_leading_out_is_listed_not_read(make_ctx, repo, tmp_path):
    (tmp_path / "secret.txt").write_text("secret words")
    (repo / "src" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    out = await run(make_ctx(), repo, {"operation_type": "analyze_folder", "path": "src", "content_read_mode": "full"})
    files = {f["path"]: f for f in out.outcome["results"][0]["files"]}
    assert files["src/leak.txt"]["content"] is None and "outside" in files["src/leak.txt"]["skipped"]


def test_bad_settings():
    with pytest.raises(ValidationError):
        FolderAnalyzerSettings(operations=[{"operation_type": "explode"}])
    with pytest.raises(ValidationError):
        FolderAnalyzerSettings(operations=[{"operation_type": "find_files", "max_depth": -1}])
    with pytest.raises(ValidationError):
        FolderAnalyzerSettings(operations=[])
