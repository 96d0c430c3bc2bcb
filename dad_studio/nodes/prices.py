"""Model prices: a packaged default table (``prices.json`` beside this file) with the user's
``<config dir>/prices.json`` merged over it, and run-level overrides (``ctx.resources["prices"]``)
over both. Prices are USD per million tokens; the longest key that prefixes ``provider:name`` wins,
so ``openai:gpt-4o-mini-2024-07-18`` is priced as ``openai:gpt-4o-mini``. An unknown model costs 0
(recorded, not guessed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dad_studio.nodes.config import ConfigError

DEFAULT_PRICES = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        total = prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        return round(total / 1_000_000, 10)


def _parse(data: Mapping[str, Any], source: str) -> dict[str, Price]:
    table: dict[str, Price] = {}
    for key, entry in data.items():
        if key.startswith("_"):
            continue
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{source}: price of {key!r} must be an object")
        try:
            table[key] = Price(float(entry.get("input_per_mtok", 0)), float(entry.get("output_per_mtok", 0)))
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: price of {key!r} must hold numbers") from None
    return table


def _load_file(path: Path) -> dict[str, Price]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read price table {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a price table is a JSON object")
    return _parse(data, str(path))


class PriceTable:
    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)

    @classmethod
    def load(cls, user_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> PriceTable:
        prices = _load_file(DEFAULT_PRICES)
        if user_file is not None:
            prices.update(_load_file(user_file))
        if overrides:
            prices.update(_parse(overrides, "resources['prices']"))
        return cls(prices)

    def lookup(self, model: str) -> Price | None:
        best = max((k for k in self._prices if model.startswith(k)), key=len, default=None)
        return self._prices[best] if best is not None else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.lookup(model)
        return price.cost(prompt_tokens, completion_tokens) if price else 0.0
