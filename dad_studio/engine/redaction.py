"""The secrets of one run: what the event bus scrubs before any sink, handler or subscriber sees it.

A run's secrets are the values of environment variables named like credentials (*_API_KEY, *_TOKEN,
*_SECRET, *_PASSWORD), every credential held in the user's credentials.json (dad_studio.nodes.config:
a key the providers use without it ever being in the environment), and the values of the variables
the run marks secret (`RunContext.secret_variables`, CLI `--secret-var NAME=VALUE`). Variables marked
secret are also hidden by name wherever a `variables` mapping is recorded (run.json, run_started,
component_started), whatever their value.
"""

from __future__ import annotations

import logging
from typing import Any

from dad_studio.engine.run_context import RunContext
from dad_studio.runs.redact import MIN_ENV_SECRET_LENGTH, Redactor, env_secrets

__all__ = ["MIN_SECRET_VARIABLE_LENGTH", "credential_secrets", "run_redactor"]

log = logging.getLogger(__name__)

MIN_SECRET_VARIABLE_LENGTH = 4
"""A secret variable's value is replaced inside other text only from this length on (replacing every
`a` or `1` would garble timestamps and ids); by name it is hidden whatever its length."""


def credential_secrets() -> list[str]:
    """The credential values of the user's configuration (credentials.json); none when it cannot be
    read (the providers will report that themselves; the message never shows the file's content)."""
    from dad_studio.nodes.config import ConfigError, UserConfig

    try:
        config = UserConfig.load()
    except ConfigError as exc:
        log.warning("secrets of credentials.json not known to the run's redaction: %s", exc)
        return []
    return [v for v in config.credentials.values() if len(v) >= MIN_ENV_SECRET_LENGTH]


def _variable_secret(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) >= MIN_SECRET_VARIABLE_LENGTH else None


def run_redactor(run_context: RunContext) -> Redactor:
    """The Redactor of one run (built once, at its start)."""
    secrets = env_secrets() + credential_secrets()
    names = set(run_context.secret_variables)
    for name in names:
        if name in run_context.variables:
            text = _variable_secret(run_context.variables[name])
            if text is not None:
                secrets.append(text)
    return Redactor(secrets, names)
