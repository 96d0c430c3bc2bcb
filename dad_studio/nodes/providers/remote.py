"""Providers backed by the official SDKs: OpenAI (and every OpenAI-compatible server) and Anthropic.

The SDKs are imported inside the calls: importing them costs ~0.5 s, which the engine and the CLI
must not pay for flows that never call a model. Retries (429, 5xx, connection errors) use the
SDKs' own loop (``max_retries``, exponential backoff, honouring ``retry-after`` / ``retry-after-ms``).
Every error is turned into a ProviderError whose message has the key scrubbed out, raised without
its cause so that no traceback holding headers is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dad_studio.nodes.providers.base import DeltaSink, ModelRequest, ModelResponse, ProviderError, scrub

STRUCTURED_TOOL = "structured_output"


@dataclass
class Endpoint:
    """How to reach a provider. ``api_key`` is secret: kept out of repr, never logged."""

    base_url: str | None
    api_key: str
    max_retries: int = 2
    timeout_s: float = 120.0

    def __repr__(self) -> str:
        return f"Endpoint(base_url={self.base_url!r}, max_retries={self.max_retries}, timeout_s={self.timeout_s})"


def _error(provider: str, endpoint: Endpoint, exc: Exception) -> ProviderError:
    """A safe, one-line message for an SDK exception."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status == 401:
        detail = "authentication failed (401): check the API key"
    elif status is not None:
        detail = f"HTTP {status} ({name}): {exc}"
    elif name in ("APIConnectionError", "APITimeoutError"):
        where = endpoint.base_url or "the default endpoint"
        cause = exc.__cause__
        reason = f": {type(cause).__name__}: {cause}" if cause else ""
        what = "timed out" if name == "APITimeoutError" else "could not connect"
        detail = f"{what} to {where} after {endpoint.max_retries + 1} attempt(s){reason}"
    else:
        detail = f"{name}: {exc}"
    return ProviderError(scrub(f"{provider} call failed: {detail}", [endpoint.api_key]))


def _dump(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    return dump(mode="json") if callable(dump) else obj


class _SdkProvider:
    """One call through an official SDK: build the client, stream or complete, map its errors.

    Subclasses give the SDK-specific parts: which client and error class (`_sdk`, importing the
    SDK only when a call is made), the request parameters, the plain call, the streaming loop and
    the reading of a whole response.
    """

    def __init__(self, endpoint: Endpoint, provider: str) -> None:
        self._endpoint = endpoint
        self._provider = provider

    def _sdk(self) -> tuple[Any, type[Exception]]:
        raise NotImplementedError

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        raise NotImplementedError

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def _stream(
        self, client: Any, params: dict[str, Any], emit: DeltaSink | None, request: ModelRequest
    ) -> ModelResponse:
        raise NotImplementedError

    def _response(self, response: Any) -> ModelResponse:
        raise NotImplementedError

    async def complete(self, request: ModelRequest, emit: DeltaSink | None) -> ModelResponse:
        client_class, error_class = self._sdk()
        ep = self._endpoint
        client = client_class(
            api_key=ep.api_key, base_url=ep.base_url, max_retries=ep.max_retries, timeout=ep.timeout_s
        )
        params = self._params(request)
        try:
            async with client:
                if request.stream:
                    return await self._stream(client, params, emit, request)
                response = await self._create(client, params)
        except error_class as exc:
            raise _error(self._provider, ep, exc) from None
        return self._response(response)


class OpenAIProvider(_SdkProvider):
    """Chat completions. ``provider`` is the label used in messages (``openai`` or ``ollama``)."""

    def __init__(self, endpoint: Endpoint, provider: str = "openai") -> None:
        super().__init__(endpoint, provider)

    def _sdk(self) -> tuple[Any, type[Exception]]:
        import openai

        return openai.AsyncOpenAI, openai.OpenAIError

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system_text():
            messages.append({"role": "system", "content": request.system_text()})
        messages.append({"role": "user", "content": request.user_text()})
        params: dict[str, Any] = {"model": request.name, "messages": messages}
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": STRUCTURED_TOOL, "schema": request.schema, "strict": False},
            }
        return params

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        return await client.chat.completions.create(**params)

    def _response(self, response: Any) -> ModelResponse:
        if not response.choices:
            raise ProviderError(f"{self._provider} returned no choices")
        usage = response.usage
        return ModelResponse(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            raw=_dump(response),
        )

    async def _stream(
        self, client: Any, params: dict[str, Any], emit: DeltaSink | None, request: ModelRequest
    ) -> ModelResponse:
        stream = await client.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
        pieces: list[str] = []
        prompt_tokens = completion_tokens = 0
        finish: str | None = None
        async with stream:
            async for chunk in stream:
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens
                    completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        pieces.append(delta)
                        if emit is not None:
                            await emit(delta)
                    finish = choice.finish_reason or finish
        text = "".join(pieces)
        raw = {"streamed": True, "text": text, "finish_reason": finish}
        raw["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        return ModelResponse(text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, raw=raw)


class AnthropicProvider(_SdkProvider):
    """Messages API. Structured output is a forced tool call whose input schema is the schema."""

    DEFAULT_MAX_TOKENS = 4096

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, "anthropic")

    def _sdk(self) -> tuple[Any, type[Exception]]:
        import anthropic

        return anthropic.AsyncAnthropic, anthropic.AnthropicError

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.name,
            "max_tokens": request.max_tokens or self.DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": request.user_text()}],
        }
        if request.system_text():
            params["system"] = request.system_text()
        if request.temperature is not None:
            params["temperature"] = min(request.temperature, 1.0)
        if request.schema is not None:
            params["tools"] = [
                {
                    "name": STRUCTURED_TOOL,
                    "description": "Give the answer as JSON matching this schema.",
                    "input_schema": request.schema,
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": STRUCTURED_TOOL}
        return params

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        return await client.messages.create(**params)

    def _response(self, response: Any) -> ModelResponse:
        text_parts: list[str] = []
        structured: Any = None
        has_structured = False
        for block in response.content:
            if block.type == "text":
                text_parts.append(block.text)
            elif block.type == "tool_use" and block.name == STRUCTURED_TOOL:
                structured, has_structured = block.input, True
        text = json.dumps(structured, ensure_ascii=False) if has_structured else "".join(text_parts)
        return ModelResponse(
            text=text,
            prompt_tokens=response.usage.input_tokens,
            completion_tokens=response.usage.output_tokens,
            structured=structured,
            has_structured=has_structured,
            raw=_dump(response),
        )

    async def _stream(
        self, client: Any, params: dict[str, Any], emit: DeltaSink | None, request: ModelRequest
    ) -> ModelResponse:
        tool = request.schema is not None
        stream = await client.messages.create(**params, stream=True)
        text_parts: list[str] = []
        json_parts: list[str] = []
        prompt_tokens = completion_tokens = 0
        stop: str | None = None
        async with stream:
            async for event in stream:
                kind = event.type
                if kind == "message_start":
                    prompt_tokens = event.message.usage.input_tokens
                    completion_tokens = event.message.usage.output_tokens
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        text_parts.append(delta.text)
                        if emit is not None:
                            await emit(delta.text)
                    elif delta.type == "input_json_delta":
                        json_parts.append(delta.partial_json)
                        if emit is not None:
                            await emit(delta.partial_json)
                elif kind == "message_delta":
                    completion_tokens = event.usage.output_tokens
                    stop = event.delta.stop_reason or stop
        text = "".join(json_parts) if tool and json_parts else "".join(text_parts)
        raw = {"streamed": True, "text": text, "stop_reason": stop}
        return ModelResponse(text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, raw=raw)
