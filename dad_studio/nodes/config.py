"""User-level configuration: credentials, trusted folders, provider settings, price table.

Everything here lives in one folder outside every project, so that nothing secret or personal is
ever saved in a flow file or a run folder:

- ``platformdirs.user_config_dir("dad-studio")``, or the folder named by ``DAD_STUDIO_CONFIG_DIR``
  (tests and portable installs use it);
- ``credentials.json``: ``{"OPENAI_API_KEY": "...", "ANTHROPIC_API_KEY": "..."}``, keyed by the
  environment variable each value stands in for. An environment variable always wins over the file.
  Only read here, never written: the user edits it (JSON, because tomllib cannot write);
- ``config.json``: ``{"trusted_folders": [...], "providers": {"openai": {"base_url": ...}}}``,
  written by ``trust_folder``;
- ``prices.json``: the user's price overrides, merged over the packaged table (``prices.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "DAD_STUDIO_CONFIG_DIR"
CONFIG_FILE = "config.json"
CREDENTIALS_FILE = "credentials.json"
PRICES_FILE = "prices.json"


class ConfigError(Exception):
    """A user config file exists but cannot be used; the message names the file."""


def config_dir() -> Path:
    """The user config folder (not created)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("dad-studio"))


def _read_json_object(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        # The message names the file and the JSON position only; never the content (it may hold keys).
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ConfigError(f"cannot read {path}{where}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


@dataclass
class UserConfig:
    """The user's configuration, loaded from :func:`config_dir`."""

    directory: Path
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    """Secret values by environment-variable name. ``repr=False``: a repr must never show a key."""
    trusted_folders: list[Path] = field(default_factory=list)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-provider settings (``base_url``, ``max_retries``, ``timeout_s``...), never keys."""

    @property
    def price_table_path(self) -> Path:
        return self.directory / PRICES_FILE

    @property
    def credentials_path(self) -> Path:
        return self.directory / CREDENTIALS_FILE

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    @classmethod
    def load(cls, directory: Path | None = None) -> UserConfig:
        directory = directory if directory is not None else config_dir()
        creds_raw = _read_json_object(directory / CREDENTIALS_FILE)
        credentials = {str(k): v for k, v in creds_raw.items() if isinstance(v, str) and v}
        conf = _read_json_object(directory / CONFIG_FILE)
        trusted = conf.get("trusted_folders", [])
        providers = conf.get("providers", {})
        if not isinstance(trusted, list) or not all(isinstance(p, str) for p in trusted):
            raise ConfigError(f"{directory / CONFIG_FILE}: 'trusted_folders' must be a list of paths")
        if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
            raise ConfigError(f"{directory / CONFIG_FILE}: 'providers' must map provider names to objects")
        return cls(directory, credentials, [Path(p) for p in trusted], providers)

    def credential(self, env_var: str) -> str | None:
        """The secret for ``env_var``: the environment first, then credentials.json."""
        return os.environ.get(env_var) or self.credentials.get(env_var) or None

    def save(self) -> None:
        """Write config.json (trusted folders and providers; credentials are never written)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = _read_json_object(self.config_path)
        existing["trusted_folders"] = [str(p) for p in self.trusted_folders]
        existing["providers"] = self.providers
        tmp = self.config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.config_path)
