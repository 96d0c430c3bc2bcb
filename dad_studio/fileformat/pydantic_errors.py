"""Turn pydantic ValidationErrors into Problems with JSON pointers into the document.

Pydantic's `loc` mixes real keys with union-member tags (`'str'`, `'list[str]'`, `'function-after[...]'`).
We follow `loc` through the input data: a step that exists in the data is a pointer token, one that
does not is a tag and is dropped (except the last step of a `missing` error: the absent key). Errors
of several union members at one place are merged into one message.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dad_studio.fileformat.problems import Problem, pointer_join


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tokens(loc: tuple[int | str, ...], data: Any, missing: bool) -> list[str | int]:
    tokens: list[str | int] = []
    current = data
    for index, step in enumerate(loc):
        last = index == len(loc) - 1
        in_dict = isinstance(current, dict) and isinstance(step, str) and step in current
        in_list = isinstance(current, list | tuple) and isinstance(step, int) and -len(current) <= step < len(current)
        if in_dict or in_list:
            tokens.append(step)
            current = current[step]
        elif last and missing:
            tokens.append(step)
        elif isinstance(current, dict | list | tuple) and not isinstance(step, str):
            tokens.append(step)  # e.g. a tuple position the input lacks
            current = None
        # else: a union tag such as 'str' or 'function-after[...]': not part of the document
    return tokens


def _message(error: Any, known: dict[str, list[str]] | None, tokens: list[str | int]) -> str:
    kind = error["type"]
    if kind == "missing":
        return f"required field {tokens[-1]!r} is missing" if tokens else "a required field is missing"
    if kind == "extra_forbidden":
        name = tokens[-1] if tokens else "?"
        message = f"unknown field {name!r}"
        if known is not None:
            options = known.get("/".join(str(t) for t in tokens[:-1]))
            if options:
                message += f" (known: {', '.join(options)})"
        return message
    message = str(error["msg"])
    if kind.endswith("_type") or kind in {"literal_error", "enum", "union_tag_invalid"}:
        value = error.get("input")
        message += f", got {type(value).__name__} {_short(value)}"
    return message


def problems_from_validation_error(
    exc: ValidationError,
    data: Any,
    base: str,
    *,
    known: dict[str, list[str]] | None = None,
    prefix: str = "",
) -> list[Problem]:
    """One Problem per place in `data` (merging union alternatives), pointers rooted at `base`.

    `known` maps a '/'-joined token path inside `data` to the field names allowed there, so that an
    unknown key can be answered with the known ones.
    """
    by_pointer: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        tokens = _tokens(tuple(error["loc"]), data, error["type"] == "missing")
        pointer = pointer_join(base, *tokens)
        message = _message(error, known, tokens)
        messages = by_pointer.setdefault(pointer, [])
        if message not in messages:
            messages.append(message)
    result = []
    for pointer, messages in by_pointer.items():
        text = messages[0] if len(messages) == 1 else "; or ".join(messages)
        result.append(Problem(pointer, prefix + text))
    return result
