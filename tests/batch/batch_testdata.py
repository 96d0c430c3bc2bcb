"""Test data for the batch tests: a small flow whose rows can fail in every way a dataset row can."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRICES = {"echo": {"input_per_mtok": 1000.0, "output_per_mtok": 3000.0}}
"""Echo is free; a price makes cost a real number to sum (words are tokens)."""

NO_TRACES = {"enabled": False}

FLOW: dict[str, Any] = {
    "id": "demo",
    "kind": "flow",
    "variables": {"n": 1, "word": "w"},
    "nodes": {
        "a": {"type": "noop", "settings": {"value": "$expr{100 / n}"}},
        "ask": {"type": "input", "settings": {"prompt": "who?", "fields": {"who": {"type": "integer"}}}},
        "talk": {"type": "ai_model", "settings": {"model": "echo", "prompt": "say $var{word} $hier{ask.outcome.who}"}},
        "b": {"type": "noop", "settings": {"value": "$var{word}-$hier{ask.outcome.who}"}},
    },
    "edges": [{"from": "a", "to": "ask"}, {"from": "ask", "to": "talk"}, {"from": "talk", "to": "b"}],
}


def write_flow(folder: Path, root: dict[str, Any] | None = None) -> Path:
    path = folder / "flow.dad.json"
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root or FLOW}))
    return path


def kind_of(i: int) -> str:
    """What row i of `demo_rows` is meant to do (the tests' independent expectation)."""
    if i % 50 == 11:
        return "unknown_variable"
    if i % 50 == 29:
        return "crash"
    if i % 10 == 3:
        return "node_fails"  # n = 0: division by zero in node a
    if i % 10 == 7:
        return "bad_input"  # who = "x" for an integer field
    if i % 10 == 5:
        return "wrong_expectation"
    return "ok"


def demo_row(i: int) -> dict[str, Any]:
    kind = kind_of(i)
    variables: dict[str, Any] = {"n": 0 if kind == "node_fails" else 1 + i % 4, "word": f"w{i}"}
    if kind == "unknown_variable":
        variables["bogus"] = 1
    if kind == "crash":
        variables["word"] = "crash"
    who: Any = "x" if kind == "bad_input" else i
    expected = "nope" if kind == "wrong_expectation" else f"{variables['word']}-{i}"
    return {
        "id": f"row{i}",
        "variables": variables,
        "inputs": {"ask": {"who": who}},
        "expect": {
            "checks": [
                {"path": "demo.b.outcome.value", "equals": expected},
                {"condition": "$expr{$hier{talk}.outcome.usage.total_tokens < 500}"},
            ]
        },
    }


def write_rows(folder: Path, rows: list[dict[str, Any]], name: str = "rows.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def batch_run_dirs(run_root: Path, batch_id: str) -> list[Path]:
    return sorted(p for p in run_root.iterdir() if p.name.startswith(f"batch_{batch_id}_"))
