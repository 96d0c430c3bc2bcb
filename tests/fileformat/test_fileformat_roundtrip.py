"""Canonical bytes: fixed points, key order, defaults, frozen fixtures, fmt, migrators, JSON Schema."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dad_studio.cli.main import main
from dad_studio.fileformat import (
    MIGRATORS,
    SCHEMA_VERSION,
    dumps_flow,
    json_schema,
    load_flow,
    loads_flow,
    save_flow,
)
from dad_studio.fileformat.migrate import migrate
from dad_studio.fileformat.schema import SCHEMA_FILE, schema_bytes
from dad_studio.model import (
    BUILTIN_VARIABLES,
    AgentDefinition,
    Comment,
    ComponentDefinition,
    FlowDefinition,
    NodeDefinition,
    RetryPolicy,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "flows"
CANONICAL_FILES = sorted(FIXTURES.glob("*.dad.json")) + sorted((REPO / "projects").glob("**/*.dad.json"))


# -- frozen fixtures and fmt -----------------------------------------------------------------------


def as_current_version(v1_bytes: bytes) -> bytes:
    """A canonical v1 file as the current version writes it: v2 added only the optional `comments`,
    so the version line is the one difference."""
    head = b'  "schema_version": 1,\n'
    assert v1_bytes.count(head) == 1
    return v1_bytes.replace(head, f'  "schema_version": {SCHEMA_VERSION},\n'.encode(), 1)


def test_frozen_v1_fixture_still_loads_and_is_canonical() -> None:
    path = FIXTURES / "v1_repo_digest.dad.json"
    result = load_flow(path)
    # one "upgraded" warning for the file and one for the v1 file its subflow.ref loads
    assert sorted((p.pointer, p.severity, p.file.name if p.file else None) for p in result.problems) == [
        ("/schema_version", "warning", "v1_repo_digest.dad.json"),
        ("/schema_version", "warning", "v1_shared_step.dad.json"),
    ]
    assert all("upgraded on load from schema_version 1" in p.message for p in result.problems)
    assert result.migrated_from == 1
    assert result.component is not None and result.component.comments == []
    assert dumps_flow(result.component) == as_current_version(path.read_bytes())
    loop = result.component.nodes["per_file"]
    assert loop.body is not None and list(loop.body.nodes) == ["read", "note"]
    assert result.component.nodes["scan"].retry == RetryPolicy(max_attempts=3, backoff_s=0.5)


@pytest.mark.parametrize("path", CANONICAL_FILES, ids=[p.name for p in CANONICAL_FILES])
def test_fmt_twice_is_byte_identical(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for sibling in path.parent.glob("*.dad.json"):  # refs resolve next to the file
        shutil.copy(sibling, tmp_path / sibling.name)
    target = tmp_path / path.name
    assert main(["fmt", str(target)]) == 0, capsys.readouterr()
    once = target.read_bytes()
    assert main(["fmt", str(target)]) == 0
    assert target.read_bytes() == once
    assert main(["fmt", "--check", str(target)]) == 0


def test_fmt_makes_implicit_edges_explicit_and_check_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "f.dad.json"
    doc = {
        "schema_version": 1,
        "format": "dad-flow",
        "root": {"nodes": {"a": {"type": "noop"}, "b": {"type": "noop"}, "c": {"type": "noop"}}, "id": "f"},
    }
    target.write_text(json.dumps(doc))
    assert main(["fmt", "--check", str(target)]) == 1
    assert "not in canonical form" in capsys.readouterr().out
    assert json.loads(target.read_text()) == doc  # --check never writes
    assert main(["fmt", str(target)]) == 0
    written = json.loads(target.read_text())
    assert list(written) == ["format", "schema_version", "root"]
    assert written["root"]["edges"] == [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]
    assert main(["fmt", "--check", str(target)]) == 0


def test_fmt_refuses_invalid_files_and_leaves_them_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.dad.json"
    bad = tmp_path / "bad.dad.json"
    good.write_bytes((FIXTURES / "v1_shared_step.dad.json").read_bytes())
    bad.write_text('{"format": "dad-flow", "schema_version": 1, "root": {"id": "x", "nodes": {"a": {"type": "nope"}}}}')
    before = bad.read_bytes()
    assert main(["fmt", str(good), str(bad)]) == 2
    assert "/root/nodes/a/type" in capsys.readouterr().err
    assert bad.read_bytes() == before


def test_bom_is_a_warning_and_fmt_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "f.dad.json"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "v1_shared_step.dad.json").read_bytes())
    result = load_flow(path)
    assert result.ok and [w.message for w in result.warnings if "byte order mark" in w.message]
    assert main(["fmt", str(path)]) == 0
    assert path.read_bytes() == as_current_version((FIXTURES / "v1_shared_step.dad.json").read_bytes())


# -- canonical form details ------------------------------------------------------------------------


def test_key_order_defaults_and_one_line_edges_and_layout() -> None:
    flow = FlowDefinition(id="f", description="d", variables={"b": 1, "a": 2})
    flow.node(
        "n",
        NodeDefinition(
            type="command",
            retry=RetryPolicy(max_attempts=2),
            timeout_s=5,
            join="any",
            pre_events=["node_input_required"],
            settings={"shell": False, "commands": ["x"], "timeout_s": 3.0},
            description="first",
        ),
    )
    flow.node("m", type="ai_model", settings={"prompt": "p"})
    flow.connect("n", "m", on_error=True)
    flow.layout = {"zz": (1, 1), "m": (10, 20), "n": (-5, 0)}
    text = dumps_flow(flow).decode()
    doc = json.loads(text)
    assert list(doc["root"]) == ["id", "kind", "description", "variables", "nodes", "edges", "layout"]
    assert list(doc["root"]["variables"]) == ["b", "a"]  # free-form maps keep their order
    node = doc["root"]["nodes"]["n"]
    assert list(node) == ["type", "description", "settings", "pre_events", "join", "timeout_s", "retry"]
    assert list(node["settings"]) == ["commands", "timeout_s", "shell"]  # the settings model's order
    assert node["retry"] == {"max_attempts": 2}  # defaults omitted
    assert doc["root"]["nodes"]["m"] == {"type": "ai_model", "settings": {"prompt": "p"}}
    assert '      {"from": "n", "on": "error", "to": "m"}\n' in text
    assert '      "n": [-5, 0],\n      "m": [10, 20],\n      "zz": [1, 1]\n' in text
    assert text.endswith("}\n") and "\t" not in text


def test_unknown_type_settings_sorted_and_unknown_keys_after_model_fields() -> None:
    flow = FlowDefinition(id="f")
    flow.node("p", type="plugin_thing", settings={"zeta": 1, "alpha": {"y": 1, "x": 2}})
    flow.node("c", type="command", settings={"zz": 1, "aa": 2, "commands": ["x"]})
    doc = json.loads(dumps_flow(flow))
    assert list(doc["root"]["nodes"]["p"]["settings"]) == ["alpha", "zeta"]
    assert list(doc["root"]["nodes"]["p"]["settings"]["alpha"]) == ["y", "x"]
    assert list(doc["root"]["nodes"]["c"]["settings"]) == ["commands", "aa", "zz"]


def test_nested_settings_models_are_ordered_too() -> None:
    flow = FlowDefinition(id="f")
    op = {"content": "c", "path": "p.txt", "type": "create_file"}
    flow.node("w", type="file_operation", settings={"operations": [op], "base_directory": "."})
    doc = json.loads(dumps_flow(flow))
    settings_ = doc["root"]["nodes"]["w"]["settings"]
    assert list(settings_) == ["base_directory", "operations"]
    assert list(settings_["operations"][0]) == ["type", "path", "content"]


def test_layout_floats_are_rounded_on_load() -> None:
    raw = '{"format": "dad-flow", "schema_version": 1, "root": {"id": "f", "nodes": {"a": {"type": "noop"}}, "edges": [], "layout": {"a": [10.6, -3.2]}}}'
    result = loads_flow(raw)
    assert result.ok and result.component is not None
    assert result.component.layout == {"a": (11, -3)}
    assert b'"a": [11, -3]' in dumps_flow(result.component)


def test_non_ascii_text_is_written_as_utf8() -> None:
    flow = FlowDefinition(id="f", description="Résumé — 要約")
    data = dumps_flow(flow)
    assert "Résumé — 要約".encode() in data
    assert loads_flow(data).component == _normalised(flow)


def test_save_is_atomic_leaves_no_temp_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.dad.json"
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    save_flow(path, flow)
    if os.name != "nt":
        path.chmod(0o640)
    flow.node("b", type="noop")
    save_flow(path, flow)
    assert [p.name for p in tmp_path.iterdir()] == ["f.dad.json"]
    if os.name != "nt":
        assert path.stat().st_mode & 0o777 == 0o640
    assert load_flow(path).component == _normalised(flow)


def test_save_into_missing_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        save_flow(tmp_path / "missing" / "f.dad.json", FlowDefinition(id="f"))


# -- migrators -------------------------------------------------------------------------------------


def test_fake_v0_to_v1_migrator_upgrades_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
        """In the fake v0, the root was called `flow` and edges were [from, to] pairs."""
        root = doc.pop("flow")
        root["edges"] = [{"from": a, "to": b} for a, b in root["edges"]]
        return {"format": doc["format"], "schema_version": 0, "root": root}

    monkeypatch.setitem(MIGRATORS, 0, v0_to_v1)
    v0 = {
        "format": "dad-flow",
        "schema_version": 0,
        "flow": {"id": "old", "nodes": {"a": {"type": "noop"}, "b": {"type": "noop"}}, "edges": [["a", "b"]]},
    }
    result = loads_flow(json.dumps(v0))
    assert result.ok, result.problems
    assert result.migrated_from == 0
    assert any("upgraded on load from schema_version 0" in w.message for w in result.warnings)
    assert result.component is not None
    assert [(e.source, e.target) for e in result.component.effective_edges()] == [("a", "b")]
    assert json.loads(dumps_flow(result.component))["schema_version"] == SCHEMA_VERSION


def test_migrators_chain_in_order_and_failures_are_problems() -> None:
    seen: list[int] = []

    def step(n: int) -> Any:
        def run(doc: dict[str, Any]) -> dict[str, Any]:
            seen.append(n)
            doc["trail"] = [*doc.get("trail", []), n]
            return doc

        return run

    problems: list[Any] = []
    doc, start = migrate({"schema_version": 1}, problems, migrators={1: step(1), 2: step(2)}, current=3)
    assert doc is not None and doc["trail"] == [1, 2] and doc["schema_version"] == 3 and start == 1
    assert seen == [1, 2] and problems == []

    def boom(doc: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("flow")

    doc, _ = migrate({"schema_version": 1}, problems, migrators={1: boom}, current=2)
    assert doc is None and "upgrading from schema_version 1 to 2 failed" in problems[0].message
    problems.clear()
    doc, _ = migrate({"schema_version": 0}, problems, migrators={}, current=2)
    assert doc is None and "schema_version 0 is not supported" in problems[0].message


def test_newer_schema_version_is_refused_naming_both() -> None:
    result = loads_flow('{"format": "dad-flow", "schema_version": 7, "root": {}}')
    assert result.component is None
    [problem] = result.errors
    assert problem.pointer == "/schema_version"
    assert "schema_version 7" in problem.message and f"newer than {SCHEMA_VERSION}" in problem.message


# -- JSON Schema -----------------------------------------------------------------------------------


def test_shipped_schema_equals_a_fresh_generation() -> None:
    assert SCHEMA_FILE.read_bytes() == schema_bytes(), (
        "regenerate: python -c 'from dad_studio.fileformat.schema import main; main()'"
    )


def test_schema_accepts_fixtures_and_rejects_bad_settings() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(FIXTURES.glob("*.dad.json")):  # the schema is the current version's: v1 as migrated
        data = path.read_bytes()
        errors = list(validator.iter_errors(json.loads(as_current_version(data) if path.name[:3] == "v1_" else data)))
        assert errors == [], (path, errors[:1])
    v1 = json.loads((FIXTURES / "v1_repo_digest.dad.json").read_bytes())
    assert list(validator.iter_errors(v1)), "the shipped schema names the current schema_version"
    doc = json.loads(as_current_version((FIXTURES / "v1_repo_digest.dad.json").read_bytes()))
    doc["root"]["nodes"]["warn"]["settings"]["commands"] = "echo"
    assert list(validator.iter_errors(doc))
    doc = json.loads(as_current_version((FIXTURES / "v1_repo_digest.dad.json").read_bytes()))
    doc["root"]["comments"] = [{"id": "c", "text": "", "x": 0, "y": 0, "width": 0, "height": 10}]
    assert list(validator.iter_errors(doc)), "a comment's size is positive"
    doc = json.loads(as_current_version((FIXTURES / "v1_repo_digest.dad.json").read_bytes()))
    doc["root"]["nodes"]["per_file"]["settings"]["body"]["nodes"]["note"]["settings"]["temperature"] = "hot"
    assert list(validator.iter_errors(doc))


# -- property: save -> load -> save is a fixed point ------------------------------------------------

IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in BUILTIN_VARIABLES)
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="$"), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SAFE_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def components(draw: st.DrawFn, depth: int = 0, outer: frozenset[str] = frozenset()) -> ComponentDefinition:
    kind = draw(st.sampled_from(["flow", "agent"]))
    cls = FlowDefinition if kind == "flow" else AgentDefinition
    variables = draw(st.dictionaries(IDENT, JSON_VALUES, max_size=3))
    comp = cls(id=draw(IDENT) if depth == 0 else None, kind=kind, description=draw(SAFE_TEXT), variables=variables)
    scope = sorted(outer | set(variables))
    ids = draw(st.lists(IDENT, max_size=6, unique=True))
    kinds = ["noop", "noop", "sleep", "conditional"] + (["for_each", "subflow"] if depth < 2 else [])
    for node_id in ids:
        node_kind = draw(st.sampled_from(kinds))
        fields: dict[str, Any] = {
            "description": draw(SAFE_TEXT),
            "join": draw(st.sampled_from(["all", "any"])),
            "timeout_s": draw(st.none() | st.floats(0.001, 1e6)),
            "retry": draw(
                st.none() | st.builds(RetryPolicy, max_attempts=st.integers(1, 5), backoff_s=st.floats(0, 60))
            ),
            "pre_events": draw(st.sampled_from([[], ["node_input_required"]])),
        }
        if node_kind == "noop":
            choices = ["", "plain text", *(f"value $var{{{v}}}" for v in scope), *(f"$hier{{{i}}}" for i in ids)]
            comp.node(node_id, type="noop", settings={"value": draw(st.sampled_from(choices))}, **fields)
        elif node_kind == "sleep":
            comp.node(node_id, type="sleep", settings={"seconds": draw(st.floats(0, 10))}, **fields)
        elif node_kind == "conditional":
            comp.conditional(node_id, draw(st.sampled_from(["$expr{true}", "$expr{1 > 2}"])), **fields)
        elif node_kind == "for_each":
            item, index = draw(IDENT), draw(IDENT)
            body = draw(components(depth + 1, frozenset(scope) | {item, index}))
            comp.for_each(
                node_id,
                "$expr{[1, 2]}",
                body,
                max_iterations=draw(st.integers(1, 9)),
                item_var=item,
                index_var=index,
                **fields,
            )
        else:
            overrides = draw(st.dictionaries(IDENT, SAFE_TEXT, max_size=2))
            body = draw(components(depth + 1, frozenset(scope) | set(overrides)))
            comp.subflow(node_id, body, variables=overrides, **fields)
    conditionals = {i for i in ids if comp.nodes[i].type == "conditional"}
    if draw(st.booleans()) and not conditionals:
        comp.edges = None  # the builder's implicit order of addition
    else:
        comp.edges = []
        pairs = [(a, b) for n, a in enumerate(ids) for b in ids[n + 1 :]]
        chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=8)) if pairs else []
        for a, b in chosen:
            if a in conditionals:
                comp.connect(a, b, port=draw(st.sampled_from(["true", "false"])))
            else:
                on = draw(st.sampled_from(["success", "error", "always"]))
                comp.connect(a, b, on_error=on == "error", always=on == "always")
    comp.layout = {
        i: (draw(st.integers(-5000, 5000)), draw(st.integers(-5000, 5000))) for i in ids if draw(st.booleans())
    }
    comment_ids = draw(st.lists(IDENT, max_size=3, unique=True))
    comp.comments = [
        Comment(
            id=cid,
            text=draw(st.text(max_size=20)),  # any text, `$` and newlines included: comments are no templates
            x=draw(st.integers(-5000, 5000)),
            y=draw(st.integers(-5000, 5000)),
            width=draw(st.integers(1, 3000)),
            height=draw(st.integers(1, 3000)),
            color=draw(st.none() | st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)),
        )
        for cid in comment_ids
    ]
    return comp


def _normalised(component: ComponentDefinition) -> ComponentDefinition:
    """What a save writes: implicit edges made explicit, recursively."""
    copy = component.model_copy(deep=True)
    stack = [copy]
    while stack:
        comp = stack.pop()
        comp.edges = list(comp.effective_edges())
        stack.extend(node.body for node in comp.nodes.values() if node.body is not None)
    return copy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(components())
def test_save_load_save_is_a_fixed_point(component: ComponentDefinition) -> None:
    data = dumps_flow(component)
    result = loads_flow(data)
    assert result.ok, [p.format() for p in result.errors]
    assert result.component is not None
    assert dumps_flow(result.component) == data
    assert result.component == _normalised(component)
