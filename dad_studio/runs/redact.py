"""Secret redaction: the one scrub every record of a run goes through (RUNS.md: secrets never appear
in any file of the run).

The engine scrubs each event once, on its event bus, before any sink (the run writer, telemetry),
handler or subscriber (the CLI's progress lines, the studio) sees it; the run writer scrubs again
what it writes (manifest, blobs), with the same function. A secret is a value (an API key from the
environment or the user's credentials, the value of a variable marked secret) replaced by `***`
wherever it occurs inside a string; variables marked secret are also replaced by name in every
`variables` mapping (so a secret number or a short value is hidden there too).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from dad_studio.runs.common import REDACTED, dumps, dumps_bytes

__all__ = [
    "MIN_ENV_SECRET_LENGTH",
    "SECRET_ENV_SUFFIXES",
    "RedactingLoggerAdapter",
    "Redactor",
    "env_secrets",
    "scrub",
]

SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
MIN_ENV_SECRET_LENGTH = 8
"""Shorter environment values are not treated as secrets: replacing `abc` everywhere would garble
the records and hide nothing worth hiding."""

_PLAIN = (int, float, bool, type(None))
_REDACTED_BYTES = REDACTED.encode()


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables named like credentials (*_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if k.upper().endswith(SECRET_ENV_SUFFIXES) and len(v) >= MIN_ENV_SECRET_LENGTH]


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of each secret inside its strings (keys included) replaced by
    `***`. Containers are copied, never changed in place; `secrets` should be longest first, so a
    secret that contains another is replaced whole."""
    ordered = secrets if isinstance(secrets, tuple | list) else tuple(secrets)
    return _scrub(value, ordered)


def _scrub(value: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = REDACTED if value == secret else value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, _PLAIN):
        return value
    # Any other object is written as the text dumps() gives it: scrub that form when it holds a secret.
    text = dumps(value)
    if any(secret in text for secret in secrets):
        return _scrub(json.loads(text), secrets)
    return value


class Redactor:
    """The secrets of one run and the ways to hide them (events, text, log records)."""

    __slots__ = ("_forms", "secret_names", "secrets")

    def __init__(self, secrets: Iterable[str] = (), secret_names: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self.secret_names: frozenset[str] = frozenset(secret_names)
        # Each secret as its bytes appear in compact JSON (escaped quotes, backslashes, control characters),
        # longest first, so a secret that contains another is replaced whole.
        forms = {json.dumps(s, ensure_ascii=False)[1:-1].encode() for s in self.secrets}
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self.secrets or self.secret_names)

    def scrub(self, value: Any) -> Any:
        """`value` with the secrets replaced (see `scrub`); the same object when nothing matched."""
        return _scrub(value, self.secrets) if self.secrets and self._contains(value) else value

    def text(self, text: str) -> str:
        """A line for people (progress, log messages) with the secrets replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def hide_variables(self, fields: dict[str, Any]) -> dict[str, Any]:
        """`fields` with the secret variables of its `variables` mapping replaced by name (a copy when
        one is there, else the same dict)."""
        if self.secret_names:
            variables = fields.get("variables")
            if isinstance(variables, dict) and not self.secret_names.isdisjoint(variables):
                hidden = {k: (REDACTED if k in self.secret_names else v) for k, v in variables.items()}
                return {**fields, "variables": hidden}
        return fields

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as every consumer may see it: the same dict when it holds no secret (the hot
        path: a walk over its strings, no copy), else a scrubbed copy."""
        event = self.hide_variables(event)
        if self.secrets and self._contains(event):
            scrubbed: dict[str, Any] = _scrub(event, self.secrets)
            return scrubbed
        return event

    def in_json(self, data: bytes) -> bool:
        """Whether a secret occurs in JSON text (as its JSON-escaped form)."""
        return any(form in data for form in self._forms)

    def json_bytes(self, data: bytes) -> bytes:
        """JSON text with every secret replaced inside its strings (the text stays valid JSON)."""
        for form in self._forms:
            data = data.replace(form, _REDACTED_BYTES)
        return data

    def raw_bytes(self, data: bytes) -> bytes:
        """Any bytes (a blob) with every secret's UTF-8 bytes replaced."""
        for secret in self.secrets:
            data = data.replace(secret.encode(), _REDACTED_BYTES)
        return data

    def _contains(self, value: Any) -> bool:
        """Whether a secret occurs in `value` as the run writer would write it: one orjson dump and a
        byte search per secret (~1 µs for an event; a walk over its strings in Python costs ~20)."""
        if isinstance(value, str):
            return any(secret in value for secret in self.secrets)
        return self.in_json(dumps_bytes(value))


class RedactingLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter whose messages are formatted and scrubbed before they reach any handler (the
    run's telemetry log file among them)."""

    def __init__(self, logger: logging.Logger, extra: Mapping[str, object], redactor: Redactor) -> None:
        super().__init__(logger, extra)
        self.redactor = redactor

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            super().log(level, self.redactor.text(text), **kwargs)
