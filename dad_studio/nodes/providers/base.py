"""What every provider shares: the request and response shapes, message layout, key scrubbing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

DeltaSink = Callable[[str], Awaitable[None]]
"""Where streamed text goes (``ctx.emit_delta``)."""


class ProviderError(Exception):
    """A provider call failed in an expected way; the message is safe to show (keys scrubbed)."""


@dataclass
class ModelRequest:
    """One rendered model call. ``name`` is the part of ``model`` after the provider prefix."""

    provider: str
    name: str
    prompt: str
    system: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    schema: dict[str, Any] | None = None
    stream: bool = False

    @property
    def model(self) -> str:
        return f"{self.provider}:{self.name}" if self.name else self.provider

    def system_text(self) -> str:
        return "\n\n".join(s for s in self.system if s)

    def user_text(self) -> str:
        """The user message: each context block tagged and numbered, then the prompt."""
        parts = [f'<context index="{i}">\n{text}\n</context>' for i, text in enumerate(self.context, 1)]
        parts.append(self.prompt)
        return "\n\n".join(parts)


@dataclass
class ModelResponse:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    structured: Any = None
    """Already-parsed structured answer (e.g. an Anthropic tool call); else parsed from ``text``."""
    has_structured: bool = False
    raw: Any = None
    """The provider's response as plain JSON-able data, for the node's ``output``."""


class Provider(Protocol):
    async def complete(self, request: ModelRequest, emit: DeltaSink | None) -> ModelResponse: ...


def split_model(model: str) -> tuple[str, str]:
    """``"openai:gpt-4o"`` -> ``("openai", "gpt-4o")``; ``"echo"`` -> ``("echo", "")``."""
    provider, _, name = model.partition(":")
    return provider.strip().lower(), name.strip()


def count_words(text: str) -> int:
    """The offline providers' token count: whitespace-separated words (deterministic, documented)."""
    return len(text.split())


_CHUNK = re.compile(r"\S+\s*|\s+")


def word_chunks(text: str) -> Iterable[str]:
    """Split text into word-sized pieces whose concatenation is the text (offline streaming)."""
    return _CHUNK.findall(text)


_WINDOW = 12


def scrub(message: str, secrets: Iterable[str | None]) -> str:
    """Remove every secret, and any 12-character piece of one, from a message.

    SDK errors can echo request headers or a server's "incorrect key sk-..." text; a fragment is
    scrubbed too because servers sometimes echo a key partly masked.
    """
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        message = message.replace(secret, "***")
        if len(secret) > _WINDOW:
            for i in range(len(secret) - _WINDOW + 1):
                piece = secret[i : i + _WINDOW]
                if piece in message:
                    message = message.replace(piece, "***")
    return message
