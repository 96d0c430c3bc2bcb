"""Offline providers: ``echo`` and ``scripted:FILE``. Deterministic, free, no network.

``echo`` answers with what it was sent, in this fixed shape (a section is left out when empty)::

    [system]
    <system instructions, joined by a blank line>
    [context 1]
    <first context block>
    [context 2]
    ...
    [prompt]
    <the prompt>

Token counts are whitespace-separated words: ``prompt_tokens`` counts the words of the system
instructions, context blocks and prompt, ``completion_tokens`` the words of the answer. Cost is 0.
With ``structured_output`` echo answers with the prompt itself if the prompt is JSON, and otherwise
with a value built from the schema: ``default`` or the first of ``examples`` / ``enum`` when given,
else the answer text for strings, 0 for numbers, false for booleans, [] for arrays and an object
holding every property for objects. With ``stream`` the answer is sent word by word.

``scripted:FILE`` answers from canned responses in a JSON file (path relative to the flow's folder)::

    {"responses": [
        {"match": "summarise", "text": "A short summary."},
        {"match": ["list", "files"], "structured": {"files": ["a.py"]}},
        {"match": "explode", "error": "simulated provider failure"},
        {"text": "first fallback"},
        "second fallback (a bare string is a text answer)"
    ]}

(a bare list is accepted as ``responses``). A call takes the first entry whose ``match`` substrings
(one string or a list, all required, case-sensitive) occur in the full request text (system,
context and prompt); when none matches, the entries without ``match`` answer in turn, one per
call, the last one repeating. ``structured`` gives a JSON answer (its text is the JSON);
``error`` fails the call; ``usage`` ({prompt_tokens, completion_tokens}) overrides the word counts.
No entry at all for a call fails it with a message naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dad_studio.nodes.providers.base import (
    DeltaSink,
    ModelRequest,
    ModelResponse,
    ProviderError,
    count_words,
    word_chunks,
)


def echo_text(request: ModelRequest) -> str:
    sections: list[str] = []
    if request.system_text():
        sections.append(f"[system]\n{request.system_text()}")
    for i, block in enumerate(request.context, 1):
        sections.append(f"[context {i}]\n{block}")
    sections.append(f"[prompt]\n{request.prompt}")
    return "\n".join(sections)


def _request_words(request: ModelRequest) -> int:
    return sum(count_words(t) for t in [*request.system, *request.context, request.prompt])


def skeleton(schema: Mapping[str, Any], text: str) -> Any:
    """A deterministic value shaped like ``schema`` (echo's structured answer)."""
    if "default" in schema:
        return schema["default"]
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {name: skeleton(sub, text) for name, sub in props.items() if isinstance(sub, Mapping)}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text


async def _stream(text: str, emit: DeltaSink | None) -> None:
    if emit is None:
        return
    for piece in word_chunks(text):
        await emit(piece)


class EchoProvider:
    async def complete(self, request: ModelRequest, emit: DeltaSink | None) -> ModelResponse:
        text = echo_text(request)
        structured: Any = None
        if request.schema is not None:
            try:
                structured = json.loads(request.prompt)
            except ValueError:
                structured = skeleton(request.schema, text)
            text = json.dumps(structured, ensure_ascii=False)
        if request.stream:
            await _stream(text, emit)
        return ModelResponse(
            text=text,
            prompt_tokens=_request_words(request),
            completion_tokens=count_words(text),
            structured=structured,
            has_structured=request.schema is not None,
            raw={"provider": "echo", "text": text},
        )


def load_script(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(f"scripted responses file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProviderError(f"cannot read scripted responses {path}: {exc}") from None
    responses = data.get("responses") if isinstance(data, dict) else data
    if not isinstance(responses, list):
        raise ProviderError(f"{path}: expected a list of responses or {{'responses': [...]}}")
    for i, entry in enumerate(responses):
        if not isinstance(entry, str | dict):
            raise ProviderError(f"{path}: response {i} must be a string or an object")
        if isinstance(entry, dict):
            unknown = set(entry) - {"match", "text", "structured", "error", "usage"}
            if unknown:
                raise ProviderError(f"{path}: response {i} has unknown keys {sorted(unknown)}")
            match = entry.get("match")
            if match is not None and not (
                isinstance(match, str) or (isinstance(match, list) and all(isinstance(m, str) for m in match))
            ):
                raise ProviderError(f"{path}: response {i}: 'match' must be a string or a list of strings")
    return responses


class ScriptedProvider:
    """One instance per executor (so per run): the fallback counter is kept per file."""

    def __init__(self, flow_dir: Path) -> None:
        self._flow_dir = flow_dir
        self._calls: dict[Path, int] = {}

    def _pick(self, path: Path, responses: list[Any], full_text: str) -> Any:
        fallbacks: list[Any] = []
        for entry in responses:
            match = entry.get("match") if isinstance(entry, dict) else None
            if match is None:
                fallbacks.append(entry)
                continue
            needles = [match] if isinstance(match, str) else match
            if all(n in full_text for n in needles):
                return entry
        if not fallbacks:
            raise ProviderError(f"no scripted response in {path} matches this prompt and none is a fallback")
        n = self._calls.get(path, 0)
        self._calls[path] = n + 1
        return fallbacks[min(n, len(fallbacks) - 1)]

    async def complete(self, request: ModelRequest, emit: DeltaSink | None) -> ModelResponse:
        if not request.name:
            raise ProviderError("scripted model needs a file: model 'scripted:responses.json'")
        path = (self._flow_dir / request.name).resolve()
        responses = load_script(path)
        full = "\n".join([*request.system, *request.context, request.prompt])
        entry = self._pick(path, responses, full)
        if isinstance(entry, str):
            entry = {"text": entry}
        if "error" in entry:
            raise ProviderError(f"scripted error: {entry['error']}")
        has_structured = "structured" in entry
        structured = entry.get("structured")
        text = entry.get("text")
        if text is None:
            text = json.dumps(structured, ensure_ascii=False) if has_structured else ""
        if not isinstance(text, str):
            raise ProviderError(f"{path}: 'text' must be a string")
        usage = entry.get("usage") or {}
        if request.stream:
            await _stream(text, emit)
        return ModelResponse(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens", count_words(full))),
            completion_tokens=int(usage.get("completion_tokens", count_words(text))),
            structured=structured,
            has_structured=has_structured,
            raw={"provider": "scripted", "file": request.name, "text": text},
        )
