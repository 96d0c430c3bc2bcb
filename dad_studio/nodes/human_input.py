"""The ``input`` node: ask the user for typed values during the run.

If input was supplied before the node ran (``ctx.node_input``: ``--input``, ``pre_events``, a
handler) it is used as is; otherwise the node asks through ``ctx.request_input`` with
``{"prompt", "fields", "current"}`` (``fields`` is the JSON of the field definitions) and waits.
Answers are checked against the field types, with the coercions a command line needs: "3" -> 3 for
``integer``, "2.5" -> 2.5 for ``number``, "yes"/"no"/"true"/"false"/"1"/"0" for ``boolean``, and a
``choice`` given as the text of one of its choices. A missing or empty value takes the field's
default (string defaults are templates); a required field with neither fails. A scalar answer to a
one-field form is that field's value. Every bad field is listed in one NodeFailure.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from dad_studio.model.settings import InputField, InputSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class _Bad(ValueError):
    pass


def coerce(field: InputField, value: Any) -> Any:
    kind = field.type
    if kind in ("string", "text"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Bad(f"expected text, got {type(value).__name__}")
        return str(value)
    if kind == "integer":
        if isinstance(value, bool):
            raise _Bad("expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise _Bad(f"expected an integer, got {value!r}")
    if kind == "number":
        if isinstance(value, bool):
            raise _Bad("expected a number, got a boolean")
        if isinstance(value, int | float):
            number = float(value) if isinstance(value, float) else value
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _Bad(f"expected a number, got {value!r}") from None
        else:
            raise _Bad(f"expected a number, got {type(value).__name__}")
        if isinstance(number, float) and not math.isfinite(number):
            raise _Bad(f"expected a finite number, got {value!r}")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Bad(f"expected true or false, got {value!r}")
    choices = field.choices or []
    if value in choices:
        return value
    for choice in choices:
        if isinstance(value, str) and str(choice) == value.strip():
            return choice
    raise _Bad(f"{value!r} is not one of {choices!r}")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def validate_answer(ctx: NodeContext, settings: InputSettings, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        if len(settings.fields) == 1 and not isinstance(answer, list):
            answer = {next(iter(settings.fields)): answer}
        else:
            raise NodeFailure(f"input answer must be an object of field values, got {type(answer).__name__}")
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in answer:
        if name not in settings.fields:
            problems.append(f"{name}: unknown field (fields: {', '.join(settings.fields)})")
    for name, field in settings.fields.items():
        raw = answer.get(name)
        if _empty(raw) and not (field.type in ("string", "text") and raw == "" and not field.required):
            default = ctx.render_value(field.default) if field.default is not None else None
            if default is None:
                if field.required:
                    problems.append(f"{name}: required")
                else:
                    values[name] = None
                continue
            raw = default
        try:
            values[name] = coerce(field, raw)
        except _Bad as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise NodeFailure("invalid input:\n" + "\n".join(f"- {p}" for p in problems))
    return values


class InputExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, InputSettings)
        prompt = ctx.render(settings.prompt) if settings.prompt else ""
        request = {
            "prompt": prompt,
            "fields": {name: f.model_dump(mode="json") for name, f in settings.fields.items()},
            "current": ctx.node_input,
        }
        answer = ctx.node_input if ctx.node_input is not None else await ctx.request_input(request)
        values = validate_answer(ctx, settings, answer)
        return NodeOutput(outcome=values, input={"prompt": prompt, "answer": answer})
