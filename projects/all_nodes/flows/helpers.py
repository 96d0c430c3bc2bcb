"""Python callbacks of the all_nodes example (called by the `stats` node)."""

from __future__ import annotations


def folder_stats(tree: str, files: list[str]) -> dict[str, object]:
    """Counts the analysed folder's files by extension; the conditional reads `file_count`."""
    by_extension: dict[str, int] = {}
    for name in files:
        ext = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
        by_extension[ext] = by_extension.get(ext, 0) + 1
    return {"file_count": len(files), "tree_lines": len(tree.splitlines()), "by_extension": by_extension}
