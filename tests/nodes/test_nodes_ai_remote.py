"""ai_model through the real OpenAI and Anthropic SDKs against a loopback fake server."""

from __future__ import annotations

import json
import socket

import pytest
from nodes_fake_llm_server import FakeLLMServer

from dad_studio.model.settings import AIModelSettings
from dad_studio.nodes.ai_model import AIModelExecutor
from dad_studio.nodes.base import NodeFailure

KEY = "sk-test-DISTINCTIVE-7f3a9c2e1b5d4e6f8a0b"
WRONG = "sk-wrong-DISTINCTIVE-0c1d2e3f4a5b6c7d8e9f"
SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


@pytest.fixture
def server():
    with FakeLLMServer(KEY) as srv:
        yield srv


def resources(server, provider, **extra):
    base = server.url + "/v1" if provider in ("openai", "ollama") else server.url
    return {"providers": {provider: {"base_url": base, "max_retries": 2, "timeout_s": 5, **extra}}}


async def call(ctx, **settings):
    return await AIModelExecutor().execute(ctx, AIModelSettings(**settings))


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_no_key(text: str) -> None:
    assert "DISTINCTIVE" not in text


# -- openai ---------------------------------------------------------------------------------------


async def test_openai_completion(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ctx = make_ctx(resources=resources(server, "openai"))
    out = await call(
        ctx, model="openai:gpt-4o-mini", prompt="hi", system_instructions="sys", temperature=0.2, max_tokens=9
    )
    assert out.outcome["text"] == "Hello from the fake model"
    assert out.usage.prompt_tokens == 11 and out.usage.completion_tokens == 5 and out.usage.total_tokens == 16
    assert out.usage.cost == pytest.approx((11 * 0.15 + 5 * 0.6) / 1e6)
    body = server.behaviour.requests[0]["body"]
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 9 and body["model"] == "gpt-4o-mini"
    assert_no_key(json.dumps(out.output) + json.dumps(out.outcome) + json.dumps(out.input))


async def test_openai_stream_deltas_and_usage(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ctx = make_ctx(resources=resources(server, "openai"))
    out = await call(ctx, model="openai:gpt-4o-mini", prompt="hi", stream=True)
    assert len(ctx.deltas) > 2
    assert "".join(ctx.deltas) == out.outcome["text"] == "Hello from the fake model"
    assert out.usage.total_tokens == 16
    assert server.behaviour.requests[0]["body"]["stream_options"] == {"include_usage": True}


async def test_openai_structured_output(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.behaviour.structured = {"answer": 42}
    out = await call(
        make_ctx(resources=resources(server, "openai")), model="openai:m", prompt="q", structured_output=SCHEMA
    )
    assert out.outcome["structured"] == {"answer": 42}
    fmt = server.behaviour.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA


async def test_openai_structured_mismatch(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.behaviour.structured = {"answer": "many"}
    with pytest.raises(NodeFailure, match="does not match structured_output"):
        await call(
            make_ctx(resources=resources(server, "openai")), model="openai:m", prompt="q", structured_output=SCHEMA
        )


async def test_openai_retries_429_and_500_then_succeeds(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fast = {"retry-after-ms": "10"}
    server.behaviour.failures = [
        (429, fast, '{"error": {"message": "slow down"}}'),
        (500, fast, '{"error": {"message": "oops"}}'),
    ]
    out = await call(make_ctx(resources=resources(server, "openai")), model="openai:m", prompt="q", stream=True)
    assert out.outcome["text"] == "Hello from the fake model"
    assert len(server.behaviour.requests) == 3


async def test_openai_retries_exhausted(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fast = {"retry-after-ms": "10"}
    server.behaviour.failures = [(503, fast, '{"error": {"message": "down"}}')] * 3
    with pytest.raises(NodeFailure, match="HTTP 503") as info:
        await call(make_ctx(resources=resources(server, "openai", max_retries=2)), model="openai:m", prompt="q")
    assert len(server.behaviour.requests) == 3
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_openai_error_bodies_echoing_the_key_are_scrubbed(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.behaviour.failures = [(500, {}, json.dumps({"error": {"message": f"bad request with key {KEY}"}}))]
    with pytest.raises(NodeFailure) as info:
        await call(make_ctx(resources=resources(server, "openai", max_retries=0)), model="openai:m", prompt="q")
    assert "HTTP 500" in info.value.message and "bad request with key ***" in info.value.message
    assert_no_key(info.value.message)


async def test_openai_wrong_key(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", WRONG)
    with pytest.raises(NodeFailure, match=r"authentication failed \(401\)") as info:
        await call(make_ctx(resources=resources(server, "openai")), model="openai:m", prompt="q")
    assert_no_key(info.value.message)
    assert len(server.behaviour.requests) == 1  # a 401 is not retried


async def test_openai_unreachable_endpoint(make_ctx, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    port = closed_port()
    res = {"providers": {"openai": {"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0, "timeout_s": 2}}}
    with pytest.raises(NodeFailure, match=f"could not connect to http://127.0.0.1:{port}/v1") as info:
        await call(make_ctx(resources=res), model="openai:m", prompt="q")
    assert_no_key(info.value.message)


async def test_openai_missing_key_names_the_variable(make_ctx, server):
    with pytest.raises(NodeFailure, match="set the environment variable OPENAI_API_KEY"):
        await call(make_ctx(resources=resources(server, "openai")), model="openai:m", prompt="q")
    assert server.behaviour.requests == []


async def test_key_and_base_url_from_user_config(make_ctx, server, user_config_dir):
    (user_config_dir / "credentials.json").write_text(json.dumps({"OPENAI_API_KEY": KEY}))
    (user_config_dir / "config.json").write_text(
        json.dumps({"providers": {"openai": {"base_url": server.url + "/v1"}}})
    )
    out = await call(make_ctx(), model="openai:m", prompt="q")
    assert out.outcome["text"] == "Hello from the fake model"
    assert server.behaviour.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"


async def test_sdk_env_base_url_is_honoured(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    out = await call(make_ctx(), model="openai:m", prompt="q")
    assert out.outcome["text"] == "Hello from the fake model"


async def test_a_key_in_provider_settings_is_refused(make_ctx, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(NodeFailure, match="keys belong in the environment"):
        await call(make_ctx(resources=resources(server, "openai", api_key="x")), model="openai:m", prompt="q")


async def test_ollama_needs_no_key_and_uses_openai_protocol(make_ctx, monkeypatch):
    with FakeLLMServer("ollama") as srv:
        out = await call(make_ctx(resources=resources(srv, "ollama")), model="ollama:llama3.2", prompt="q")
    assert out.outcome["text"] == "Hello from the fake model" and out.usage.cost == 0
    assert srv.behaviour.requests[0]["body"]["model"] == "llama3.2"


def test_ollama_default_base_url(make_ctx):
    from dad_studio.nodes.ai_model import provider_settings
    from dad_studio.nodes.config import UserConfig

    conf = provider_settings(make_ctx(), UserConfig.load(), "ollama")
    assert conf["base_url"] == "http://localhost:11434/v1" and conf["requires_key"] is False


# -- anthropic ------------------------------------------------------------------------------------


async def test_anthropic_completion(make_ctx, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    ctx = make_ctx(resources=resources(server, "anthropic"))
    out = await call(
        ctx,
        model="anthropic:claude-3-5-haiku-latest",
        prompt="hi",
        system_instructions=["a", "b"],
        context_sources=["ctx"],
    )
    assert out.outcome["text"] == "Hello from the fake model"
    assert out.usage.prompt_tokens == 11 and out.usage.completion_tokens == 5
    assert out.usage.cost == pytest.approx((11 * 0.8 + 5 * 4.0) / 1e6)
    req = server.behaviour.requests[0]
    assert req["path"] == "/v1/messages"
    # The SDK sends the key as x-api-key (older) or a bearer token (2.x): either way, this key.
    assert KEY in (req["headers"].get("x-api-key"), req["headers"].get("authorization", "").removeprefix("Bearer "))
    assert req["body"]["system"] == "a\n\nb" and req["body"]["max_tokens"] == 4096
    assert req["body"]["messages"][0]["content"] == '<context index="1">\nctx\n</context>\n\nhi'


async def test_anthropic_stream(make_ctx, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    ctx = make_ctx(resources=resources(server, "anthropic"))
    out = await call(ctx, model="anthropic:claude", prompt="hi", stream=True)
    assert "".join(ctx.deltas) == out.outcome["text"] == "Hello from the fake model"
    assert len(ctx.deltas) > 2
    assert out.usage.prompt_tokens == 11 and out.usage.completion_tokens == 5


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_structured_output_is_a_forced_tool(make_ctx, server, monkeypatch, stream):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    server.behaviour.structured = {"answer": 7}
    out = await call(
        make_ctx(resources=resources(server, "anthropic")),
        model="anthropic:c",
        prompt="q",
        structured_output=SCHEMA,
        stream=stream,
    )
    assert out.outcome["structured"] == {"answer": 7}
    body = server.behaviour.requests[0]["body"]
    assert body["tools"][0]["input_schema"] == SCHEMA and body["tool_choice"]["type"] == "tool"


async def test_anthropic_retries_then_succeeds(make_ctx, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    fast = {"retry-after-ms": "10"}
    server.behaviour.failures = [
        (429, fast, '{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'),
        (529, fast, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}'),
    ]
    out = await call(make_ctx(resources=resources(server, "anthropic")), model="anthropic:c", prompt="q")
    assert out.outcome["text"] == "Hello from the fake model"
    assert len(server.behaviour.requests) == 3


async def test_anthropic_wrong_key_and_missing_key(make_ctx, server, monkeypatch):
    with pytest.raises(NodeFailure, match="set the environment variable ANTHROPIC_API_KEY"):
        await call(make_ctx(resources=resources(server, "anthropic")), model="anthropic:c", prompt="q")
    monkeypatch.setenv("ANTHROPIC_API_KEY", WRONG)
    with pytest.raises(NodeFailure, match="authentication failed") as info:
        await call(make_ctx(resources=resources(server, "anthropic")), model="anthropic:c", prompt="q")
    assert_no_key(info.value.message)


async def test_anthropic_unreachable_endpoint_is_mapped_like_openai(make_ctx, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    port = closed_port()
    res = {"providers": {"anthropic": {"base_url": f"http://127.0.0.1:{port}", "max_retries": 0, "timeout_s": 2}}}
    for stream in (False, True):
        with pytest.raises(NodeFailure, match=f"anthropic call failed: could not connect to http://127.0.0.1:{port}"):
            await call(make_ctx(resources=res), model="anthropic:c", prompt="q", stream=stream)


def test_both_sdk_providers_share_one_call_path():
    from dad_studio.nodes.providers.remote import AnthropicProvider, OpenAIProvider

    # build the client, stream or complete, map errors: written once (review finding), SDK parts apart
    assert OpenAIProvider.complete is AnthropicProvider.complete
    assert OpenAIProvider._stream is not AnthropicProvider._stream
