"""Errors and small shared types of the editing document."""

from __future__ import annotations

ComponentPath = tuple[str, ...]
"""Where a component sits: ``()`` is the root, ``("loop",)`` the body of node ``loop``, and so on."""


class CommandError(Exception):
    """A command was refused; the message is a sentence for the user and nothing was changed."""
