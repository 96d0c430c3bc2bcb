"""The CLI's terminal input handler: one question at a time across branches, mistyped answers asked again."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

from dad_studio.cli.run_cmd import PlainProgress, TerminalInput
from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition


class FakeTerminal:
    """Answers prompts from a script (by the prompt's text), slowly, and counts overlapping reads."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.active = 0
        self.most_active = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.asked.append(text.strip())
        time.sleep(0.03)
        with self._lock:
            self.active -= 1
            for key, queue in self.answers.items():
                if key in text:
                    return queue.pop(0)
        raise AssertionError(f"unexpected prompt {text!r}")


async def test_two_waiting_branches_ask_one_at_a_time_and_typos_are_asked_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow = FlowDefinition(id="f")
    flow.node("start", type="noop")
    for name in ("left", "right"):
        flow.node(name, type="input", settings={"prompt": name, "fields": {f"{name}_n": {"type": "integer"}}})
        flow.connect("start", name)
    flow.node("raw", type="noop", pre_events=["node_input_required"])
    flow.connect("start", "raw")
    terminal = FakeTerminal({"left_n": ["x", "1"], "right_n": ["2.5", "2"], "input (JSON)": ["{oops", '{"k": 3}']})
    rc = RunContext(records=False)
    rc.register_node_input_handler(TerminalInput(PlainProgress(io.StringIO()), prompt=terminal).handle)
    seen: list[dict[str, Any]] = []
    rc.register_event_handler("node_input_received", seen.append)
    result = await FlowRunner(flow, rc).run()
    assert result.status.value == "completed"
    assert terminal.most_active == 1
    assert len(terminal.asked) == 6
    assert {e["path"]: e["input"] for e in seen} == {
        "f.left": {"left_n": 1},
        "f.right": {"right_n": 2},
        "f.raw": {"k": 3},
    }
    err = capsys.readouterr().err
    assert "'x' is not a whole number" in err and "'2.5' is not a whole number" in err and "not JSON" in err
