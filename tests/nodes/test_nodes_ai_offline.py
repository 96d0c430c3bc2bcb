"""ai_model with the offline providers (echo, scripted), prices and bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from dad_studio.model.settings import AIModelSettings
from dad_studio.nodes.ai_model import AIModelExecutor
from dad_studio.nodes.base import NodeFailure
from dad_studio.nodes.prices import PriceTable


async def run(ctx, **settings):
    return await AIModelExecutor().execute(ctx, AIModelSettings(**settings))


async def test_echo_shape_tokens_and_cost(make_ctx):
    ctx = make_ctx(variables={"lang": "French"})
    out = await run(
        ctx,
        prompt="Say hi in $var{lang}",
        system_instructions=["Be brief.", "Be kind."],
        context_sources=["first $var{lang}", "second"],
    )
    text = out.outcome["text"]
    assert text == (
        "[system]\nBe brief.\n\nBe kind.\n[context 1]\nfirst French\n[context 2]\nsecond\n[prompt]\nSay hi in French"
    )
    # words: system 4, context 3, prompt 4 -> 11; the answer's words
    assert out.usage.prompt_tokens == 11
    assert out.usage.completion_tokens == len(text.split())
    assert out.usage.total_tokens == 11 + len(text.split())
    assert out.usage.cost == 0
    assert out.outcome["usage"] == out.usage.model_dump()
    assert out.outcome["model"] == "echo"
    assert out.outcome["structured"] is None
    assert out.input["prompt"] == "Say hi in French"
    assert ctx.deltas == []


async def test_echo_without_system_or_context(make_ctx):
    out = await run(make_ctx(), prompt="plain")
    assert out.outcome["text"] == "[prompt]\nplain"


async def test_echo_stream_emits_deltas_that_add_up(make_ctx):
    ctx = make_ctx()
    out = await run(ctx, prompt="one two  three\nfour", stream=True)
    assert len(ctx.deltas) > 3
    assert "".join(ctx.deltas) == out.outcome["text"]


async def test_echo_structured_from_json_prompt(make_ctx):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    out = await run(make_ctx(), prompt='{"n": 3}', structured_output=schema)
    assert out.outcome["structured"] == {"n": 3}
    assert json.loads(out.outcome["text"]) == {"n": 3}


async def test_echo_structured_skeleton_from_schema(make_ctx):
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "count": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["a", "b"]},
            "ok": {"type": "boolean", "default": True},
        },
        "required": ["title", "count", "tags", "kind", "ok"],
    }
    out = await run(make_ctx(), prompt="describe", structured_output=schema)
    s = out.outcome["structured"]
    assert s["count"] == 0 and s["tags"] == [] and s["kind"] == "a" and s["ok"] is True
    assert s["title"] == "[prompt]\ndescribe"


async def test_structured_mismatch_fails_with_errors(make_ctx):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n", "m"]}
    with pytest.raises(NodeFailure) as info:
        await run(make_ctx(), prompt='{"n": "three"}', structured_output=schema)
    assert "'m' is a required property" in info.value.message
    assert "/n: 'three' is not of type 'integer'" in info.value.message
    assert info.value.outcome["text"] == '{"n": "three"}'


async def test_bad_schema_is_a_node_failure(make_ctx):
    with pytest.raises(NodeFailure, match="not a valid JSON schema"):
        await run(make_ctx(), prompt="x", structured_output={"type": "no-such-type"})


@pytest.mark.parametrize(
    ("model", "message"),
    [("gemini:pro", "unknown model provider 'gemini'"), ("openai:", "needs a name"), ("scripted", "needs a name")],
)
async def test_bad_model_names(make_ctx, model, message):
    with pytest.raises(NodeFailure, match=message):
        await run(make_ctx(), model=model, prompt="x")


def test_bad_settings_are_rejected_by_the_model():
    with pytest.raises(ValidationError):
        AIModelSettings(prompt="x", temperature=5)
    with pytest.raises(ValidationError):
        AIModelSettings(prompt="x", max_tokens=0)
    with pytest.raises(ValidationError):
        AIModelSettings(prompt="x", unknown_field=1)
    with pytest.raises(ValidationError):
        AIModelSettings()


# -- scripted -------------------------------------------------------------------------------------


def write_script(folder: Path, data) -> None:
    (folder / "responses.json").write_text(json.dumps(data))


async def test_scripted_rules_and_fallbacks(make_ctx, tmp_path):
    write_script(
        tmp_path,
        {
            "responses": [
                {"match": "summarise", "text": "A summary."},
                {"match": ["list", "files"], "structured": {"files": ["a.py"]}},
                {"text": "first fallback"},
                "second fallback",
            ]
        },
    )
    ex = AIModelExecutor()
    ctx = make_ctx()

    async def ask(prompt, **kw):
        return await ex.execute(ctx, AIModelSettings(model="scripted:responses.json", prompt=prompt, **kw))

    assert (await ask("please summarise this")).outcome["text"] == "A summary."
    schema = {"type": "object", "properties": {"files": {"type": "array"}}}
    out = await ask("list the files", structured_output=schema)
    assert out.outcome["structured"] == {"files": ["a.py"]}
    assert (await ask("list only")).outcome["text"] == "first fallback"
    assert (await ask("other")).outcome["text"] == "second fallback"
    assert (await ask("again")).outcome["text"] == "second fallback"


async def test_scripted_matches_system_and_context_and_streams(make_ctx, tmp_path):
    write_script(tmp_path, [{"match": "SECRET-CONTEXT", "text": "found it in context", "usage": {"prompt_tokens": 7}}])
    ctx = make_ctx()
    out = await run(ctx, model="scripted:responses.json", prompt="q", context_sources=["SECRET-CONTEXT"], stream=True)
    assert out.outcome["text"] == "found it in context"
    assert "".join(ctx.deltas) == "found it in context"
    assert out.usage.prompt_tokens == 7 and out.usage.completion_tokens == 4


async def test_scripted_error_entry_fails_node(make_ctx, tmp_path):
    write_script(tmp_path, [{"match": "boom", "error": "simulated outage"}])
    with pytest.raises(NodeFailure, match="scripted error: simulated outage"):
        await run(make_ctx(), model="scripted:responses.json", prompt="boom")


async def test_scripted_no_match_and_no_fallback(make_ctx, tmp_path):
    write_script(tmp_path, [{"match": "only this", "text": "x"}])
    with pytest.raises(NodeFailure, match="no scripted response"):
        await run(make_ctx(), model="scripted:responses.json", prompt="something else")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "cannot read scripted responses"),
        ('{"responses": 3}', "expected a list"),
        ("[3]", "must be a string or an object"),
        ('[{"txt": "typo"}]', "unknown keys"),
        ('[{"match": 3, "text": "x"}]', "'match' must be"),
    ],
)
async def test_scripted_bad_files(make_ctx, tmp_path, content, message):
    if content is not None:
        (tmp_path / "responses.json").write_text(content)
    with pytest.raises(NodeFailure, match=message):
        await run(make_ctx(), model="scripted:responses.json", prompt="x")


# -- prices ---------------------------------------------------------------------------------------


def test_price_table_longest_prefix_and_user_override(tmp_path):
    table = PriceTable.load()
    assert table.cost("openai:gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert table.cost("openai:gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.5)
    assert table.cost("openai:unknown-model", 1000, 1000) == 0
    user = tmp_path / "prices.json"
    user.write_text(json.dumps({"openai:gpt-4o-mini": {"input_per_mtok": 1, "output_per_mtok": 2}}))
    table = PriceTable.load(user, {"echo": {"input_per_mtok": 3, "output_per_mtok": 0}})
    assert table.cost("openai:gpt-4o-mini", 500_000, 500_000) == pytest.approx(1.5)
    assert table.cost("echo", 1_000_000, 0) == pytest.approx(3)


async def test_price_override_from_user_config_dir_applies_to_echo(make_ctx, user_config_dir):
    (user_config_dir / "prices.json").write_text(json.dumps({"echo": {"input_per_mtok": 1e6, "output_per_mtok": 0}}))
    out = await run(make_ctx(), prompt="two words")
    assert out.usage.cost == pytest.approx(2.0)


async def test_broken_user_price_file_is_a_clear_failure(make_ctx, user_config_dir):
    (user_config_dir / "prices.json").write_text("{broken")
    with pytest.raises(NodeFailure, match="cannot read price table"):
        await run(make_ctx(), prompt="x")
