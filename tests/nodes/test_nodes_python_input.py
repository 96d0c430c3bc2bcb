"""python and input nodes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dad_studio.model.settings import InputSettings, PythonSettings
from dad_studio.nodes.base import InputUnavailable, NodeFailure
from dad_studio.nodes.human_input import InputExecutor
from dad_studio.nodes.python_call import PythonExecutor

MODULE = """
import asyncio

def add(a, b):
    return {"sum": a + b}

async def slow_upper(text):
    await asyncio.sleep(0)
    return {"text": text.upper()}

def not_a_dict():
    return [1, 2]

def boom():
    raise RuntimeError("user code failed")

VALUE = 3
"""


@pytest.fixture
def flow_dir(tmp_path):
    (tmp_path / "tools.py").write_text(MODULE)
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "more.py").write_text("def hello(name):\n    return {'greeting': 'hi ' + name}\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    return tmp_path


async def py(ctx, callable, **args):
    return await PythonExecutor().execute(ctx, PythonSettings(callable=callable, args=args))


async def test_file_callable_with_typed_args(make_ctx, flow_dir):
    ctx = make_ctx(variables={"n": 4}, results={"flow.prev": {"outcome": {"x": 10}}})
    out = await py(ctx, "tools.py:add", a="$expr{n}", b="$hier{prev.outcome.x}")
    assert out.outcome == {"sum": 14}
    assert out.input["args"] == {"a": 4, "b": 10}


async def test_async_callable_and_dotted_project_module(make_ctx, flow_dir):
    assert (await py(make_ctx(), "tools.py:slow_upper", text="abc")).outcome == {"text": "ABC"}
    assert (await py(make_ctx(), "helpers.more:hello", name="Ada")).outcome == {"greeting": "hi Ada"}


async def test_installed_module(make_ctx):
    out = await py(make_ctx(), "json:loads", s='{"a": 1}')
    assert out.outcome == {"a": 1}


@pytest.mark.parametrize(
    ("callable", "message"),
    [
        ("tools.py:not_a_dict", "returned list; it must return a dict"),
        ("tools.py:missing", "has no attribute 'missing'"),
        ("tools.py:VALUE", "is not callable"),
        ("nope.py:f", "file not found"),
        ("no_such_pkg_xyz.mod:f", "cannot import 'no_such_pkg_xyz.mod': ModuleNotFoundError"),
        ("broken.py:f", "SyntaxError"),
    ],
)
async def test_python_failures(make_ctx, flow_dir, callable, message):
    with pytest.raises(NodeFailure, match=message):
        await py(make_ctx(), callable)


async def test_wrong_args(make_ctx, flow_dir):
    with pytest.raises(NodeFailure, match="does not accept these args"):
        await py(make_ctx(), "tools.py:add", a=1)


async def test_user_exception_propagates_with_traceback(make_ctx, flow_dir):
    with pytest.raises(RuntimeError, match="user code failed"):
        await py(make_ctx(), "tools.py:boom")


async def test_python_refused_when_untrusted(make_ctx, flow_dir):
    with pytest.raises(NodeFailure, match="not trusted"):
        await py(make_ctx(trusted=False), "tools.py:add", a=1, b=2)


def test_python_bad_settings():
    for bad in ("no_colon", "mod:1bad", ":f"):
        with pytest.raises(ValidationError):
            PythonSettings(callable=bad)


# -- input ----------------------------------------------------------------------------------------

FIELDS = {
    "name": {"type": "string"},
    "notes": {"type": "text", "required": False},
    "count": {"type": "integer", "default": 2},
    "ratio": {"type": "number"},
    "ok": {"type": "boolean"},
    "color": {"type": "choice", "choices": ["red", "green", 3]},
    "topic": {"type": "string", "default": "about $var{thing}"},
}


async def ask(ctx, prompt="Tell me about $var{thing}", fields=FIELDS):
    return await InputExecutor().execute(ctx, InputSettings(prompt=prompt, fields=fields))


async def test_input_asks_validates_coerces_and_fills_defaults(make_ctx):
    ctx = make_ctx(variables={"thing": "cats"}, answers=[{"name": "Ada", "ratio": "2.5", "ok": "yes", "color": "3"}])
    out = await ask(ctx)
    assert out.outcome == {
        "name": "Ada",
        "notes": None,
        "count": 2,
        "ratio": 2.5,
        "ok": True,
        "color": 3,
        "topic": "about cats",
    }
    req = ctx.input_requests[0]
    assert req["prompt"] == "Tell me about cats" and req["current"] is None
    assert req["fields"]["color"]["choices"] == ["red", "green", 3]


async def test_input_static_answer_is_used_without_asking(make_ctx):
    ctx = make_ctx(
        variables={"thing": "x"}, node_input={"name": "B", "ratio": 1, "ok": False, "color": "red", "count": "7"}
    )
    out = await ask(ctx)
    assert out.outcome["count"] == 7 and ctx.input_requests == []


async def test_input_lists_every_bad_field(make_ctx):
    ctx = make_ctx(
        variables={"thing": "x"},
        answers=[{"count": "three", "ratio": "nan", "ok": "maybe", "color": "blue", "extra": 1}],
    )
    with pytest.raises(NodeFailure) as info:
        await ask(ctx)
    msg = info.value.message
    for part in [
        "name: required",
        "count: expected an integer",
        "ratio: expected a finite number",
        "ok: expected true or false",
        "color: 'blue' is not one of",
        "extra: unknown field",
    ]:
        assert part in msg


async def test_input_scalar_answer_for_a_single_field(make_ctx):
    ctx = make_ctx(answers=["42"])
    out = await ask(ctx, prompt="", fields={"n": {"type": "integer"}})
    assert out.outcome == {"n": 42}


async def test_input_non_object_answer(make_ctx):
    with pytest.raises(NodeFailure, match="must be an object"):
        await ask(make_ctx(variables={"thing": "x"}, answers=[[1, 2]]))


async def test_input_unavailable_propagates(make_ctx):
    with pytest.raises(InputUnavailable):
        await ask(make_ctx(variables={"thing": "x"}))


@pytest.mark.parametrize(
    ("kind", "value"), [("integer", True), ("integer", 2.5), ("number", True), ("string", {"a": 1}), ("boolean", 3)]
)
async def test_input_type_mismatches(make_ctx, kind, value):
    with pytest.raises(NodeFailure, match="invalid input"):
        await ask(make_ctx(answers=[{"v": value}]), prompt="", fields={"v": {"type": kind}})


def test_input_bad_settings():
    with pytest.raises(ValidationError):
        InputSettings(fields={})
    with pytest.raises(ValidationError):
        InputSettings(fields={"c": {"type": "choice"}})
    with pytest.raises(ValidationError):
        InputSettings(fields={"c": {"type": "date"}})


async def test_edited_file_is_reloaded_on_the_next_run(make_ctx, tmp_path):
    import os

    tool = tmp_path / "edited.py"
    tool.write_text("COUNT = [0]\ndef f():\n    COUNT[0] += 1\n    return {'v': 'old', 'n': COUNT[0]}\n")
    assert (await py(make_ctx(), "edited.py:f")).outcome == {"v": "old", "n": 1}
    assert (await py(make_ctx(), "edited.py:f")).outcome == {"v": "old", "n": 2}  # unchanged: imported once
    before = tool.stat().st_mtime_ns
    tool.write_text("COUNT = [0]\ndef f():\n    COUNT[0] += 1\n    return {'v': 'new', 'n': COUNT[0]}\n")
    os.utime(tool, ns=(before + 10**9, before + 10**9))  # same size: the mtime alone must tell
    assert (await py(make_ctx(), "edited.py:f")).outcome == {"v": "new", "n": 1}


async def test_same_named_files_in_two_folders_do_not_collide(tmp_path):
    import sys

    from dad_studio.nodes.python_call import resolve_callable

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "helpers.py").write_text(f"def who():\n    return {{'flow': {name!r}}}\n")
    who_a = resolve_callable("helpers.py:who", tmp_path / "a")
    who_b = resolve_callable("helpers:who", tmp_path / "b")
    assert (who_a(), who_b()) == ({"flow": "a"}, {"flow": "b"})
    assert who_a.__module__ not in sys.modules and who_b.__module__ not in sys.modules


async def test_user_dataclass_module_loads(make_ctx, tmp_path):
    (tmp_path / "dc.py").write_text(
        "from __future__ import annotations\nimport dataclasses\n"
        "@dataclasses.dataclass\nclass P:\n    x: int\n"
        "def f():\n    return dataclasses.asdict(P(3))\n"
    )
    assert (await py(make_ctx(), "dc.py:f")).outcome == {"x": 3}
