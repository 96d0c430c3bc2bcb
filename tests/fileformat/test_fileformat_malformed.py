"""Malformed flow files through the real CLI entry point: exit 2, the offending element named, no traceback."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.fileformat import SCHEMA_VERSION

Doc = dict[str, Any]


def base_doc() -> Doc:
    """A small valid flow: a conditional, a command, a for_each with a body, explicit edges."""
    return {
        "format": "dad-flow",
        "schema_version": 1,
        "root": {
            "id": "demo",
            "kind": "flow",
            "variables": {"language": "English"},
            "nodes": {
                "scan": {"type": "noop", "settings": {"value": "$var{language}"}},
                "big": {"type": "conditional", "settings": {"statement": "$expr{$hier{scan}.outcome.value == 'x'}"}},
                "warn": {"type": "command", "settings": {"commands": ["echo big"]}},
                "loop": {
                    "type": "for_each",
                    "settings": {
                        "statement": "$expr{[1, 2]}",
                        "max_iterations": 5,
                        "body": {
                            "kind": "flow",
                            "nodes": {"step": {"type": "noop", "settings": {"value": "$var{item}"}}},
                        },
                    },
                },
            },
            "edges": [
                {"from": "scan", "to": "big"},
                {"from": "big", "port": "true", "to": "warn"},
                {"from": "big", "port": "false", "to": "loop"},
            ],
        },
    }


def mutate(change: Callable[[Doc], None]) -> Callable[[Path], bytes]:
    def build(_: Path) -> bytes:
        doc = copy.deepcopy(base_doc())
        change(doc)
        return json.dumps(doc, indent=2).encode()

    return build


def raw(data: bytes) -> Callable[[Path], bytes]:
    return lambda _: data


def nodes(doc: Doc) -> Doc:
    result: Doc = doc["root"]["nodes"]
    return result


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split("/")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _delete(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split("/")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        del target[last]

    return change


VALID = json.dumps(base_doc(), indent=2).encode()


def _duplicate_node(_: Path) -> bytes:
    text = VALID.decode()
    return text.replace('"scan": {', '"scan": {"type": "noop"},\n "scan": {', 1).encode()


def _duplicate_setting(_: Path) -> bytes:
    return VALID.decode().replace('"commands": [', '"shell": true, "shell": false, "commands": [', 1).encode()


def _with_ref(target_name: str, target_doc: Doc | None) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        if target_doc is not None:
            (folder / target_name).write_text(json.dumps(target_doc))
        doc = base_doc()
        nodes(doc)["sub"] = {"type": "subflow", "settings": {"ref": target_name}}
        return json.dumps(doc).encode()

    return build


def _ref_cycle(folder: Path) -> bytes:
    other = base_doc()
    other["root"]["id"] = "other"
    nodes(other)["back"] = {"type": "subflow", "settings": {"ref": "flow.dad.json"}}
    (folder / "other.dad.json").write_text(json.dumps(other))
    doc = base_doc()
    nodes(doc)["sub"] = {"type": "subflow", "settings": {"ref": "other.dad.json"}}
    return json.dumps(doc).encode()


def _deep_body(_: Path) -> bytes:
    doc = base_doc()
    nodes(doc)["loop"]["settings"]["body"]["nodes"]["step"]["settings"] = {"value": 7}
    return json.dumps(doc).encode()


# (case id, file builder, substrings the output must contain)
CASES: list[tuple[str, Callable[[Path], bytes], tuple[str, ...]]] = [
    ("empty", raw(b""), ("empty",)),
    ("whitespace", raw(b"  \n\t\n"), ("empty",)),
    ("truncated", raw(VALID[: len(VALID) // 2]), ("invalid JSON", "truncated")),
    ("truncated_one_byte", raw(VALID[:-2]), ("invalid JSON",)),
    ("binary_garbage", raw(bytes(range(256)) * 40), ("NUL bytes",)),
    ("png_header", raw(b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200))), ("not valid UTF-8",)),
    ("utf16", raw(VALID.decode().encode("utf-16")), ("UTF-16",)),
    ("latin1", raw(VALID.decode().replace("English", "Français").encode("latin-1")), ("not valid UTF-8", "line")),
    ("nesting_100000", raw(b"[" * 100_000 + b"]" * 100_000), ("nested too deeply",)),
    ("nesting_500_objects", raw(b'{"a":' * 500 + b"1" + b"}" * 500), ("nested more than",)),
    ("nan", raw(VALID.replace(b'"English"', b"NaN")), ("NaN",)),
    ("huge_int", raw(VALID.replace(b'"English"', b"9" * 5000)), ("invalid JSON",)),
    ("huge_float", raw(VALID.replace(b'"English"', b"1e999")), ("too large",)),
    ("top_level_array", raw(b"[1, 2, 3]"), ("JSON object",)),
    ("top_level_string", raw(b'"dad-flow"'), ("JSON object",)),
    ("missing_format", mutate(_delete("format")), ("/format", "dad-flow")),
    ("wrong_format", mutate(_set("format", "dad-graph")), ("/format", "dad-graph")),
    ("missing_schema_version", mutate(_delete("schema_version")), ("/schema_version",)),
    ("schema_version_string", mutate(_set("schema_version", "1")), ("/schema_version", "integer")),
    (
        "future_schema_version",
        mutate(_set("schema_version", 99)),
        ("schema_version 99", f"newer than {SCHEMA_VERSION}"),
    ),
    ("missing_root", mutate(_delete("root")), ("/root", "missing 'root'")),
    ("unknown_top_key", mutate(_set("extra", 1)), ("/extra", "unknown top-level key")),
    ("root_not_object", mutate(_set("root", [])), ("/root", "JSON object")),
    ("root_without_id", mutate(_delete("root/id")), ("/root", "needs an 'id'")),
    ("wrong_kind", mutate(_set("root/kind", "workflow")), ("/root/kind",)),
    ("duplicate_node_id", _duplicate_node, ("/root/nodes/scan", "duplicate element id 'scan'")),
    ("duplicate_setting_key", _duplicate_setting, ("/root/nodes/warn/settings/shell", "duplicate key")),
    ("invalid_node_id", mutate(lambda d: nodes(d).update({"1bad": {"type": "noop"}})), ("/root/nodes/1bad",)),
    ("long_node_id", mutate(lambda d: nodes(d).update({"n" * 151: {"type": "noop"}})), ("151 characters",)),
    ("unknown_type", mutate(_set("root/nodes/warn/type", "comand")), ("/root/nodes/warn/type", "'comand'")),
    ("node_not_object", mutate(_set("root/nodes/warn", "command")), ("/root/nodes/warn",)),
    (
        "wrong_setting_type",
        mutate(_set("root/nodes/warn/settings/commands", "echo")),
        ("/root/nodes/warn/settings/commands",),
    ),
    (
        "unknown_setting",
        mutate(_set("root/nodes/warn/settings/comands", ["x"])),
        ("/root/nodes/warn/settings/comands", "unknown field"),
    ),
    (
        "missing_setting",
        mutate(_delete("root/nodes/big/settings/statement")),
        ("/root/nodes/big/settings/statement", "required"),
    ),
    (
        "for_each_no_max",
        mutate(_delete("root/nodes/loop/settings/max_iterations")),
        ("/root/nodes/loop/settings/max_iterations",),
    ),
    ("body_setting_type", _deep_body, ("/root/nodes/loop/settings/body/nodes/step/settings/value",)),
    (
        "body_unknown_field",
        mutate(_set("root/nodes/loop/settings/body/nodes/step/colour", "red")),
        ("/root/nodes/loop/settings/body/nodes/step/colour",),
    ),
    ("timeout_string", mutate(_set("root/nodes/warn/timeout_s", "soon")), ("/root/nodes/warn/timeout_s",)),
    ("bad_join", mutate(_set("root/nodes/warn/join", "some")), ("/root/nodes/warn/join",)),
    (
        "bad_pre_event",
        mutate(_set("root/nodes/warn/pre_events", ["before"])),
        ("/root/nodes/warn/pre_events/0", "'before'"),
    ),
    ("edges_not_list", mutate(_set("root/edges", {"from": "scan"})), ("/root/edges",)),
    (
        "dangling_edge",
        mutate(lambda d: d["root"]["edges"].append({"from": "warn", "to": "ghost"})),
        ("/root/edges/3/to", "'ghost'"),
    ),
    (
        "dangling_source",
        mutate(lambda d: d["root"]["edges"].append({"from": "ghost", "to": "warn"})),
        ("/root/edges/3/from", "'ghost'"),
    ),
    ("edge_missing_to", mutate(_delete("root/edges/0/to")), ("/root/edges/0/to", "required")),
    ("unknown_on", mutate(_set("root/edges/0/on", "failure")), ("/root/edges/0/on", "'failure'")),
    (
        "cycle",
        mutate(lambda d: d["root"]["edges"].append({"from": "warn", "to": "scan"})),
        ("cycle: scan -> big -> warn -> scan",),
    ),
    (
        "self_loop",
        mutate(lambda d: d["root"]["edges"].append({"from": "warn", "to": "warn"})),
        ("cycle: warn -> warn",),
    ),
    ("conditional_without_port", mutate(_delete("root/edges/1/port")), ("/root/edges/1", "conditional 'big'", "port")),
    ("port_on_non_conditional", mutate(_set("root/edges/0/port", "true")), ("/root/edges/0/port", "'scan'")),
    ("bad_port_value", mutate(_set("root/edges/1/port", "maybe")), ("/root/edges/1/port",)),
    ("builtin_variable", mutate(_set("root/variables/run_id", "x")), ("/root/variables/run_id", "built-in")),
    (
        "unknown_variable",
        mutate(_set("root/nodes/scan/settings/value", "$var{langauge}")),
        ("/root/nodes/scan/settings/value", "'langauge'", "did you mean 'language'"),
    ),
    (
        "unknown_hier",
        mutate(_set("root/nodes/big/settings/statement", "$expr{$hier{scna}.outcome}")),
        ("/root/nodes/big/settings/statement", "'scna'"),
    ),
    (
        "template_syntax",
        mutate(_set("root/nodes/scan/settings/value", "$expr{1 +}")),
        ("/root/nodes/scan/settings/value", "template error"),
    ),
    (
        "loop_var_outside_body",
        mutate(_set("root/nodes/scan/settings/value", "$var{item}")),
        ("/root/nodes/scan/settings/value", "'item'"),
    ),
    ("layout_bad_shape", mutate(_set("root/layout", {"scan": [1, 2, 3]})), ("/root/layout/scan",)),
    (
        "subflow_body_and_ref",
        mutate(
            lambda d: nodes(d).update(
                {"sub": {"type": "subflow", "settings": {"ref": "x.dad.json", "body": {"nodes": {}}}}}
            )
        ),
        ("/root/nodes/sub/settings", "exactly one"),
    ),
    ("subflow_ref_missing", _with_ref("missing.dad.json", None), ("/root/nodes/sub/settings/ref", "no such file")),
    ("subflow_ref_invalid", _with_ref("broken.dad.json", {"format": "dad-flow"}), ("broken.dad.json",)),
    ("subflow_ref_cycle", _ref_cycle, ("cycle between files", "flow.dad.json -> other.dad.json -> flow.dad.json")),
]


@pytest.mark.parametrize(("case", "build", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file_exits_2_and_names_the_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    build: Callable[[Path], bytes],
    expected: tuple[str, ...],
) -> None:
    flow = tmp_path / "flow.dad.json"
    flow.write_bytes(build(tmp_path))
    status = main(["validate", str(flow)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert status == 2, text
    for needle in expected:
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert "Traceback" not in text
    assert "internal error" not in text

    status = main(["validate", "--json", str(flow)])
    report = json.loads(capsys.readouterr().out)
    assert status == 2
    assert report["valid"] is False
    assert any(p["severity"] == "error" for p in report["problems"])


def test_at_least_thirty_malformed_cases() -> None:
    assert len(CASES) >= 30


def test_the_base_document_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "flow.dad.json"
    flow.write_bytes(VALID)
    assert main(["validate", str(flow)]) == 0, capsys.readouterr()


@pytest.mark.parametrize("kind", ["missing", "directory", "permission"])
def test_unreadable_paths_are_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    target = tmp_path / "flow.dad.json"
    if kind == "directory":
        target.mkdir()
    elif kind == "permission":
        if os.name == "nt" or os.geteuid() == 0:
            pytest.skip("root (or Windows) reads files regardless of their mode")
        target.write_bytes(VALID)
        target.chmod(0)
    status = main(["validate", str(target)])
    text = "".join(capsys.readouterr())
    assert status == 2
    assert {"missing": "no such file", "directory": "is a directory", "permission": "permission denied"}[kind] in text
    assert "Traceback" not in text
    assert main(["fmt", str(target)]) == 2
    assert "Traceback" not in "".join(capsys.readouterr())


def test_file_over_the_size_limit_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "flow.dad.json"
    with open(flow, "wb") as handle:  # sparse: no 65 MB actually written
        handle.truncate(65 * 1024 * 1024)
    assert main(["validate", str(flow)]) == 2
    assert "limited to 67,108,864 bytes" in "".join(capsys.readouterr())


@pytest.mark.slow
def test_fifty_megabyte_file_is_a_problem_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "flow.dad.json"
    doc = base_doc()
    nodes(doc)["blob"] = {"type": "noop", "settings": {"value": 42, "padding": "x" * (50 * 1024 * 1024)}}
    flow.write_text(json.dumps(doc))
    assert flow.stat().st_size > 50 * 1024 * 1024
    assert main(["validate", str(flow)]) == 2
    text = "".join(capsys.readouterr())
    assert "/root/nodes/blob/settings/value" in text
    assert "/root/nodes/blob/settings/padding" in text
    assert "Traceback" not in text


def test_console_script_reports_without_traceback(tmp_path: Path) -> None:
    flow = tmp_path / "flow.dad.json"
    flow.write_bytes(VALID.replace(b'"to": "big"', b'"to": "ghost"'))
    script = Path(sys.executable).with_name("dad-studio")
    proc = subprocess.run([str(script), "validate", str(flow)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert f"{flow}:/root/edges/0/to:" in proc.stderr
    assert "'ghost'" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
