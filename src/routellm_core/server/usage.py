"""Token and cost accounting from the usage the upstream models report."""

from __future__ import annotations

from typing import Any, Mapping

from ..litellm_import import import_litellm
from ..model_choice import ModelPrice
from .metrics import ServerMetrics


class UsageMeter:
    """Counts tokens and their cost: a models list's prices, else litellm's cost map (0 for models it does not know)."""

    def __init__(self, metrics: ServerMetrics, prices: Mapping[str, ModelPrice] | None = None) -> None:
        self.metrics = metrics
        self.prices = dict(prices or {})
        self._unmapped: set[str] = set()

    def record(self, model: str, usage: Any) -> None:
        """Count ``usage`` (an object or a dict with ``prompt_tokens`` / ``completion_tokens``) for ``model``."""
        if usage is None:
            return
        prompt = int(_field(usage, "prompt_tokens") or 0)
        completion = int(_field(usage, "completion_tokens") or 0)
        if prompt:
            self.metrics.tokens.inc(prompt, model=model, kind="prompt")
        if completion:
            self.metrics.tokens.inc(completion, model=model, kind="completion")
        cost = 0.0
        price = self.prices.get(model)
        if price is not None:
            cost = price.cost(prompt, completion)
        elif (prompt or completion) and model not in self._unmapped:
            try:
                prompt_cost, completion_cost = import_litellm().cost_per_token(
                    model=model, prompt_tokens=prompt, completion_tokens=completion
                )
                cost = float(prompt_cost) + float(completion_cost)
            except Exception:  # not in litellm's cost map (local models): count 0, and do not ask again
                self._unmapped.add(model)
        self.metrics.cost.inc(cost, model=model)


def _field(usage: Any, name: str) -> Any:
    return usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
