"""The ``ai_model`` node: render a prompt, call a model, record text, structured answer and usage.

The provider is the prefix of ``model``: ``echo`` (default) and ``scripted:FILE`` are offline (see
``providers/offline.py`` for their exact answers and token counting), ``openai:NAME`` goes through
the OpenAI SDK (also any OpenAI-compatible server via a base URL), ``ollama:NAME`` is the same
against http://localhost:11434/v1 with a dummy key, ``anthropic:NAME`` through the Anthropic SDK.

Provider settings come from the user config's ``providers`` section, overridden by
``ctx.resources["providers"][NAME]``: ``base_url``, ``max_retries`` (2), ``timeout_s`` (120),
``api_key_env`` (which variable holds the key) and ``requires_key`` (false for keyless local servers).
Keys come only from the environment or the user's ``credentials.json`` (``config.py``); a missing
key fails the node with a message naming the variable to set, and every error is scrubbed of it.

Outcome: ``{text, structured, usage: {prompt_tokens, completion_tokens, total_tokens, cost}, model}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from dad_studio.model.results import Usage
from dad_studio.model.settings import AIModelSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput
from dad_studio.nodes.config import ConfigError, UserConfig
from dad_studio.nodes.prices import PriceTable
from dad_studio.nodes.providers.base import ModelRequest, ModelResponse, Provider, ProviderError, split_model
from dad_studio.nodes.providers.offline import EchoProvider, ScriptedProvider

KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
OLLAMA_BASE_URL = "http://localhost:11434/v1"
PROVIDERS = ("echo", "scripted", "openai", "ollama", "anthropic")


def _user_config(ctx: NodeContext) -> UserConfig:
    given = ctx.resources.get("user_config")
    if isinstance(given, UserConfig):
        return given
    try:
        return UserConfig.load()
    except ConfigError as exc:
        raise NodeFailure(str(exc)) from None


def provider_settings(ctx: NodeContext, config: UserConfig, provider: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if provider == "ollama":
        merged.update(base_url=OLLAMA_BASE_URL, requires_key=False)
    merged.update(config.providers.get(provider, {}))
    run_level = ctx.resources.get("providers", {})
    if isinstance(run_level, Mapping) and isinstance(run_level.get(provider), Mapping):
        merged.update(run_level[provider])
    for secret_field in ("api_key", "key"):
        if secret_field in merged:
            raise NodeFailure(
                f"provider settings for {provider!r} hold an '{secret_field}': keys belong in the environment "
                f"or in {config.credentials_path}, not in configuration"
            )
    return merged


def _endpoint(ctx: NodeContext, config: UserConfig, provider: str) -> Any:
    from dad_studio.nodes.providers.remote import Endpoint

    conf = provider_settings(ctx, config, provider)
    env_var = str(conf.get("api_key_env", KEY_ENV.get(provider, "OPENAI_API_KEY")))
    key = config.credential(env_var)
    if key is None:
        if conf.get("requires_key", True):
            raise NodeFailure(
                f"no API key for {provider}: set the environment variable {env_var} "
                f"(or add it to {config.credentials_path})"
            )
        key = provider  # keyless local servers accept any value; the SDKs insist on one
    try:
        return Endpoint(
            base_url=conf.get("base_url"),
            api_key=key,
            max_retries=int(conf.get("max_retries", 2)),
            timeout_s=float(conf.get("timeout_s", 120.0)),
        )
    except (TypeError, ValueError):
        raise NodeFailure(f"provider settings for {provider!r}: max_retries and timeout_s must be numbers") from None


def _parse_json(text: str) -> Any:
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    return json.loads(body)


def check_structured(schema: dict[str, Any], response: ModelResponse) -> Any:
    """The structured answer, validated against ``schema``; NodeFailure listing every problem."""
    import jsonschema

    if response.has_structured:
        value = response.structured
    else:
        try:
            value = _parse_json(response.text)
        except ValueError as exc:
            raise NodeFailure(f"the model's answer is not JSON ({exc}): {response.text[:200]!r}") from None
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:20]]
        raise NodeFailure("the model's answer does not match structured_output:\n" + "\n".join(lines))
    return value


class AIModelExecutor:
    """One per node type per run; keeps the scripted providers' fallback counters for the run."""

    def __init__(self) -> None:
        self._scripted: dict[str, ScriptedProvider] = {}

    def _provider(self, ctx: NodeContext, provider: str) -> Provider:
        if provider == "echo":
            return EchoProvider()
        if provider == "scripted":
            key = str(ctx.flow_dir)
            if key not in self._scripted:
                self._scripted[key] = ScriptedProvider(ctx.flow_dir)
            return self._scripted[key]
        config = _user_config(ctx)
        endpoint = _endpoint(ctx, config, provider)
        from dad_studio.nodes.providers.remote import AnthropicProvider, OpenAIProvider

        if provider == "anthropic":
            return AnthropicProvider(endpoint)
        return OpenAIProvider(endpoint, provider)

    def _request(self, ctx: NodeContext, settings: AIModelSettings) -> ModelRequest:
        provider, name = split_model(ctx.render(settings.model))
        if provider not in PROVIDERS:
            raise NodeFailure(
                f"unknown model provider {provider!r} in {settings.model!r}; known: {', '.join(PROVIDERS)}"
            )
        if provider in ("openai", "ollama", "anthropic", "scripted") and not name:
            raise NodeFailure(f"model {settings.model!r} needs a name after '{provider}:'")
        if settings.structured_output is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(settings.structured_output).check_schema(settings.structured_output)
            except jsonschema.SchemaError as exc:
                raise NodeFailure(f"structured_output is not a valid JSON schema: {exc.message}") from None
        system = settings.system_instructions
        system_list = [system] if isinstance(system, str) else list(system or [])
        return ModelRequest(
            provider=provider,
            name=name,
            prompt=ctx.render(settings.prompt),
            system=[ctx.render(s) for s in system_list],
            context=[ctx.render(c) for c in settings.context_sources],
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            schema=settings.structured_output,
            stream=settings.stream,
        )

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, AIModelSettings)
        request = self._request(ctx, settings)
        provider = self._provider(ctx, request.provider)
        try:
            response = await provider.complete(request, ctx.emit_delta if request.stream else None)
        except ProviderError as exc:
            raise NodeFailure(str(exc)) from None
        prices = self._prices(ctx)
        cost = prices.cost(request.model, response.prompt_tokens, response.completion_tokens)
        usage = Usage(
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            total_tokens=response.prompt_tokens + response.completion_tokens,
            cost=cost,
        )
        record_input = {
            "model": request.model,
            "system": request.system,
            "context": request.context,
            "prompt": request.prompt,
        }
        outcome: dict[str, Any] = {
            "text": response.text,
            "structured": None,
            "usage": usage.model_dump(),
            "model": request.model,
        }
        if request.schema is not None:
            try:
                outcome["structured"] = check_structured(request.schema, response)
            except NodeFailure as exc:
                raise NodeFailure(exc.message, outcome=outcome, output=response.raw) from None
        return NodeOutput(outcome=outcome, input=record_input, output=response.raw, usage=usage)

    def _prices(self, ctx: NodeContext) -> PriceTable:
        overrides = ctx.resources.get("prices")
        try:
            user_file = _user_config(ctx).price_table_path
            return PriceTable.load(user_file, overrides if isinstance(overrides, Mapping) else None)
        except ConfigError as exc:
            raise NodeFailure(str(exc)) from None
