"""Whether a flow file may run code (command / python nodes, `py:` expressions) without --trust.

The single place the trust decision is made. Until the trusted-folders feature exists, every
flow is trusted; the CLI still accepts --trust so scripts written today keep working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_trusted"]


def is_trusted(flow_path: Path) -> bool:
    """True if the flow at `flow_path` may run code without the user saying so."""
    del flow_path
    return True
