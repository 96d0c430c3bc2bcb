"""Model providers for the ``ai_model`` node, chosen by the prefix of its ``model`` setting.

``echo`` and ``scripted:FILE`` are offline and deterministic; ``openai:``, ``ollama:`` and
``anthropic:`` call the official SDKs, imported lazily so that importing the engine stays cheap.
"""

from __future__ import annotations

from dad_studio.nodes.providers.base import (
    DeltaSink,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderError,
    split_model,
)

__all__ = ["DeltaSink", "ModelRequest", "ModelResponse", "Provider", "ProviderError", "split_model"]
