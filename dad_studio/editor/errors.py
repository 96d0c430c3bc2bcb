"""Errors and small shared types of the editing document."""

from __future__ import annotations

from typing import Any

ComponentPath = tuple[str, ...]
"""Where a component sits: ``()`` is the root, ``("loop",)`` the body of node ``loop``, and so on."""


class CommandError(Exception):
    """A command was refused; the message is a sentence for the user and nothing was changed."""


class FlowFileError(Exception):
    """A flow file could not be opened; ``problems`` lists every reason found (fileformat Problems)."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Any] = list(problems or [])
