"""N-model routing in the proxy: the model groups a request may go to, and their prices.

```yaml
callback_settings:
  routellm:
    routers: [mf]
    model_groups:                        # the proxy's model_list groups to route among
      - group: frontier                  # model_name of a group in model_list
        name: gpt-4o                     # the router's name for the model (default: the group's name)
      - {group: mini, name: gpt-4o-mini}
      - group: local
        name: llama-3.1-8b-instruct
        price: {input: 0, output: 0}     # USD per 1M input / output tokens
    expected_output_tokens: 256          # optional: for each request's expected cost
```

A group's price, in USD per 1M input and output tokens, is the first of: ``price`` in its entry; the
``input_cost_per_token`` / ``output_cost_per_token`` of its deployments' ``model_info`` or
``litellm_params`` (LiteLLM's own custom-pricing keys); litellm's cost map for each deployment's
``model_info.base_model`` or ``litellm_params.model``. A group with several deployments costs what the
dearest of them does (the highest input and the highest output price). A group none of these price is
an error at start naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from routellm_core.plugin_api import (
    MODEL_PREFIX,
    ConfigError,
    ModelPrice,
    check_cost,
    litellm_price,
)

#: output tokens a request is expected to produce (the request's max_tokens when smaller), as routellm serve
DEFAULT_EXPECTED_OUTPUT_TOKENS = 256
ENTRY_KEYS = ("group", "name", "price")
PRICE_HINT = "price: {input: USD per 1M input tokens, output: USD per 1M output tokens} (0 for a free model)"
_PER_TOKEN = ("input_cost_per_token", "output_cost_per_token")


@dataclass(frozen=True)
class ModelGroup:
    """A model group routed among: its ``model_name``, the router's name for it, its price and where that came from."""

    group: str
    name: str
    price: ModelPrice
    price_source: str

    def models_entry(self) -> dict[str, Any]:
        """The group as an entry of routellm's models list (its endpoint is the group: the proxy calls it)."""
        price = {"input": self.price.input_per_million, "output": self.price.output_per_million}
        return {"name": self.name, "model": self.group, "price": price}


def parse_groups(
    value: Any,
    model_list: Any,
    where: str,
    *,
    price_lookup: Callable[[str], ModelPrice | None] = litellm_price,
) -> tuple[ModelGroup, ...]:
    """The ``model_groups`` list, checked against the proxy's ``model_list`` (None: not known) and priced."""
    if not isinstance(value, list) or len(value) < 2:
        raise ConfigError(
            f"{where} must list at least two model groups to route among, each a model_name of model_list or "
            f"{{group, name, price}}; got {value!r}"
        )
    deployments = _deployments(model_list)
    groups: list[ModelGroup] = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(entry, str):
            entry = {"group": entry}
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{at} must be a model_name or a mapping with the keys {', '.join(ENTRY_KEYS)}, got {entry!r}")
        unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
        if unknown:
            raise ConfigError(f"{at}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(ENTRY_KEYS)}")
        group = _text(entry.get("group"), f"{at}.group", "the model_name of a group in model_list")
        name = _text(entry.get("name", group), f"{at}.name", "the router's name for the model")
        if group.startswith(MODEL_PREFIX):
            raise ConfigError(f"{at}.group: {group!r}: names starting with {MODEL_PREFIX!r} are routed names, not model groups")
        if deployments is not None and group not in deployments:
            known = ", ".join(sorted(deployments)) or "none"
            raise ConfigError(f"{at}.group: unknown model group {group!r}; model_list has: {known}")
        price, source = _price(entry.get("price"), (deployments or {}).get(group, []), f"{at} ({group!r})", price_lookup)
        groups.append(ModelGroup(group, name, price, source))
    for attr in ("group", "name"):
        seen = [getattr(g, attr) for g in groups]
        repeated = sorted({x for x in seen if seen.count(x) > 1})
        if repeated:
            raise ConfigError(f"{where}: each {attr} may appear once; repeated: {', '.join(map(repr, repeated))}")
    return tuple(groups)


def _text(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be {what} (a non-empty string), got {value!r}")
    text = value.strip()
    if not text.isascii() or not text.isprintable():
        raise ConfigError(f"{where} must be printable ASCII (it is sent in response headers), got {text!r}")
    return text


def _deployments(model_list: Any) -> dict[str, list[Mapping[str, Any]]] | None:
    """model_name -> its deployments, from the proxy's model_list (None when it is not known)."""
    if model_list is None:
        return None
    found: dict[str, list[Mapping[str, Any]]] = {}
    for deployment in model_list if isinstance(model_list, list) else []:
        if isinstance(deployment, Mapping) and isinstance(deployment.get("model_name"), str):
            found.setdefault(deployment["model_name"], []).append(deployment)
    return found


def _price(
    given: Any,
    deployments: Sequence[Mapping[str, Any]],
    where: str,
    price_lookup: Callable[[str], ModelPrice | None],
) -> tuple[ModelPrice, str]:
    if given is not None:
        if not isinstance(given, Mapping) or not given or set(given) - {"input", "output"}:
            raise ConfigError(f"{where}: the price must be {PRICE_HINT}, got {given!r}")
        return (
            ModelPrice(
                check_cost(given.get("input", 0.0), what=f"{where}: input price per 1M tokens"),
                check_cost(given.get("output", 0.0), what=f"{where}: output price per 1M tokens"),
            ),
            "settings",
        )
    prices: list[tuple[ModelPrice, str]] = []
    for deployment in deployments:
        found = _deployment_price(deployment, where, price_lookup)
        if found is None:
            params = deployment.get("litellm_params")
            model = params.get("model") if isinstance(params, Mapping) else None
            raise ConfigError(
                f"{where}: model group has no price: litellm's cost map does not know its deployment {model!r} and "
                f"neither its model_info nor its litellm_params give input_cost_per_token/output_cost_per_token; "
                f"add {PRICE_HINT} to its model_groups entry"
            )
        prices.append(found)
    if not prices:
        raise ConfigError(f"{where}: model group has no price (its deployments are not known here); add {PRICE_HINT}")
    price = ModelPrice(max(p.input_per_million for p, _ in prices), max(p.output_per_million for p, _ in prices))
    return price, ", ".join(sorted({source for _, source in prices}))


def _deployment_price(
    deployment: Mapping[str, Any], where: str, price_lookup: Callable[[str], ModelPrice | None]
) -> tuple[ModelPrice, str] | None:
    params = deployment.get("litellm_params")
    params = params if isinstance(params, Mapping) else {}
    info = deployment.get("model_info")
    info = info if isinstance(info, Mapping) else {}
    for source, mapping in (("model_info", info), ("litellm_params", params)):
        if any(mapping.get(key) is not None for key in _PER_TOKEN):
            per_token = [check_cost(mapping.get(key) or 0.0, what=f"{where}: {source}.{key}") * 1_000_000 for key in _PER_TOKEN]
            return ModelPrice(per_token[0], per_token[1]), source
    for key in (info.get("base_model"), params.get("model")):
        if isinstance(key, str) and key:
            price = price_lookup(key)
            if price is not None:
                return price, "litellm cost map"
    return None
