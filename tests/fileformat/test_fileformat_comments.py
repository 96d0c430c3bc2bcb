"""schema_version 2: canvas comments in the file, the 1 -> 2 migrator, and fmt on v1 files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.fileformat import MIGRATORS, SCHEMA_VERSION, dumps_flow, load_flow, loads_flow
from dad_studio.model import Comment, FlowDefinition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flows"
V2 = FIXTURES / "v2_comments.dad.json"


def doc(root: dict[str, Any], version: int = SCHEMA_VERSION) -> str:
    return json.dumps({"format": "dad-flow", "schema_version": version, "root": root})


def test_current_version_is_2_with_a_registered_1_to_2_migrator() -> None:
    assert SCHEMA_VERSION == 2
    assert 1 in MIGRATORS


def test_frozen_v2_fixture_loads_clean_with_its_comments_and_is_canonical() -> None:
    result = load_flow(V2)
    assert result.problems == [] and result.migrated_from is None
    comp = result.component
    assert comp is not None
    assert [c.id for c in comp.comments] == ["inputs", "outputs"]
    first = comp.comments[0]
    assert (first.text, first.x, first.y, first.width, first.height, first.color) == (
        "Inputs\nfetch the data first",
        -30,
        -50,
        250,
        150,
        "#3d7eff",
    )
    body = comp.nodes["each"].body
    assert body is not None and [c.id for c in body.comments] == ["inner"]
    assert dumps_flow(comp) == V2.read_bytes()


def test_comments_are_written_after_layout_one_per_line_in_canonical_key_order() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.layout = {"a": (0, 0)}
    flow.comments = [Comment(id="c", text="t", x=1, y=2, width=3, height=4, color="#aabbcc")]
    text = dumps_flow(flow).decode()
    assert list(json.loads(text)["root"]) == ["id", "kind", "nodes", "edges", "layout", "comments"]
    line = '      {"id": "c", "text": "t", "x": 1, "y": 2, "width": 3, "height": 4, "color": "#aabbcc"}\n'
    assert line in text
    flow.comments[0].color = None
    assert '"height": 4}\n' in dumps_flow(flow).decode()  # no color key when none is set


def test_v2_file_without_comments_differs_from_v1_only_by_the_version() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    v2 = dumps_flow(flow)
    assert b"comments" not in v2
    v1 = v2.replace(b'"schema_version": 2', b'"schema_version": 1')
    assert v1 != v2
    result = loads_flow(v1)
    assert result.migrated_from == 1 and [w.pointer for w in result.warnings] == ["/schema_version"]
    assert result.component is not None and dumps_flow(result.component) == v2


def test_comment_problems_ids_and_sizes() -> None:
    def problems(comments: list[dict[str, Any]]) -> list[tuple[str, str]]:
        result = loads_flow(doc({"id": "f", "nodes": {}, "edges": [], "comments": comments}))
        return [(p.pointer, p.message) for p in result.errors]

    ok = {"id": "c", "text": "", "x": 0, "y": 0, "width": 10, "height": 10}
    assert problems([ok]) == []
    [(pointer, message)] = problems([ok, dict(ok)])
    assert pointer == "/root/comments/1/id" and "duplicate comment id 'c'" in message
    [(pointer, message)] = problems([{**ok, "id": "9bad"}])
    assert pointer == "/root/comments/0/id" and "invalid comment id" in message
    found = problems([{**ok, "width": 0}, {**ok, "id": "d", "height": -5}])
    assert [p for p, _ in found] == ["/root/comments/0/width", "/root/comments/1/height"]
    [(pointer, _)] = problems([{**ok, "color": "red"}])
    assert pointer == "/root/comments/0/color"
    [(pointer, _)] = problems([{**ok, "extra": 1}])
    assert pointer.startswith("/root/comments/0")


def test_comment_rect_floats_are_rounded_and_comment_text_is_not_a_template() -> None:
    comment = {"id": "c", "text": "$var{nope} $hier{missing}", "x": 1.6, "y": -2.4, "width": 10.5, "height": 20}
    result = loads_flow(doc({"id": "f", "nodes": {}, "edges": [], "comments": [comment]}))
    assert result.problems == []
    assert result.component is not None
    c = result.component.comments[0]
    assert (c.x, c.y, c.width, c.height) == (2, -2, 10, 20)


def test_comments_do_not_change_flow_validation() -> None:
    """Same flow with and without comments: the same problems (comments are layout, not meaning)."""
    root = {"id": "f", "nodes": {"a": {"type": "noop", "settings": {"value": "$var{nope}"}}}, "edges": []}
    without = [(p.pointer, p.message) for p in loads_flow(doc(root)).problems]
    comment = {"id": "a", "text": "same id as a node is fine", "x": 0, "y": 0, "width": 5, "height": 5}
    with_comment = [(p.pointer, p.message) for p in loads_flow(doc({**root, "comments": [comment]})).problems]
    assert without and with_comment == without


def test_fmt_upgrades_a_v1_file_and_check_reports_needs_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "shared.dad.json"
    shutil.copy(FIXTURES / "v1_shared_step.dad.json", target)
    before = target.read_bytes()
    assert main(["fmt", "--check", str(target)]) == 0
    out = capsys.readouterr().out
    assert "needs upgrade" in out and "schema_version 1" in out
    assert target.read_bytes() == before  # --check never writes
    assert main(["fmt", str(target)]) == 0
    assert json.loads(target.read_bytes())["schema_version"] == 2
    assert main(["fmt", "--check", str(target)]) == 0
    assert "needs upgrade" not in capsys.readouterr().out


def test_fmt_check_still_fails_a_v1_file_that_is_not_canonical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "f.dad.json"
    target.write_text(doc({"id": "f", "nodes": {"a": {"type": "noop"}}}, version=1))
    assert main(["fmt", "--check", str(target)]) == 1
    assert "not in canonical form" in capsys.readouterr().out
