"""The configured models: endpoints, prices, and the one format that lists N of them.

A :class:`ModelEndpoint` is a model litellm can call. With N-model routing, a :class:`ModelSet` lists the
models a request may go to, each a :class:`ModelSpec`: the router's name for it (what the router predicts
quality for), its endpoint, and its price in USD per 1M input and output tokens. The Controller, the server
and any adapter read the same format, :func:`parse_models` (a list of entries, or a mapping with a
``models:`` list) or :func:`load_models` (a YAML file of that mapping)::

    models:
      - name: gpt-4o                 # the router's name for the model
        model: openai/gpt-4o         # litellm model id (default: the name)
        price: {input: 2.5, output: 10}   # USD per 1M tokens (default: litellm's cost map)
      - name: llama-3.1-8b
        model: openai/llama3.1       # any OpenAI-compatible server:
        api_base: http://127.0.0.1:8081/v1
        api_key: ${LLAMA_KEY}        # ${VAR} is read from the environment
        price: {input: 0, output: 0}
    expected_output_tokens: 256      # optional, the default

A model without a price in its entry takes litellm's (:func:`~routellm_core.model_choice.litellm_price`);
one litellm does not know is a ConfigError naming it and saying how to give a price.

The expected cost of a request on a model: its price for the request's input tokens (estimated from the
text of all its messages, :func:`~routellm_core.model_choice.estimate_tokens`) and for
``expected_output_tokens`` output tokens (256 by default), or the request's ``max_tokens`` when smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import yaml

from .config import expand_env
from .errors import ConfigError
from .messages import content_text
from .model_choice import ModelPrice, check_cost, litellm_price

#: output tokens a request is expected to produce, for its expected cost (the request's max_tokens when smaller)
DEFAULT_EXPECTED_OUTPUT_TOKENS = 256
#: input tokens of the reference request that orders models by price (the dearer of two is the strong one)
REFERENCE_INPUT_TOKENS = 1000
#: the keys of one entry of a models list
ENTRY_KEYS = ("name", "model", "api_base", "api_key", "price")
#: the keys of a models mapping (a config file)
FILE_KEYS = ("models", "expected_output_tokens")

_PRICE_HINT = "price: {input: USD per 1M input tokens, output: USD per 1M output tokens} (0 for a free local model)"


@dataclass(frozen=True)
class ModelEndpoint:
    """A model litellm can call: a litellm model id plus optional endpoint settings.

    For any OpenAI-compatible server (Ollama, llama.cpp, vLLM) use
    ``model="openai/<served-name>"`` with ``api_base`` pointing at its ``/v1``.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def litellm_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(self.extra)
        kwargs["model"] = self.model
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        return kwargs

    def __repr__(self) -> str:  # never show the key
        return f"ModelEndpoint(model={self.model!r}, api_base={self.api_base!r})"


#: builds an endpoint from (litellm model id, api_base, api_key); the server's adds its own checks
EndpointFactory = Callable[[str, "str | None", "str | None"], ModelEndpoint]


def plain_endpoint(model: str, api_base: str | None, api_key: str | None) -> ModelEndpoint:
    return ModelEndpoint(model=model, api_base=api_base or None, api_key=api_key or None)


@dataclass(frozen=True)
class ModelSpec:
    """One configured model: the router's name for it, how to call it, and its price.

    ``price_source`` says where the price came from: ``"config"`` or ``"litellm"`` (its cost map).
    """

    name: str
    endpoint: ModelEndpoint
    price: ModelPrice
    price_source: str = "config"

    @property
    def model(self) -> str:
        """The litellm model id."""
        return self.endpoint.model


@dataclass(frozen=True)
class ModelSet:
    """The N models requests are routed among, in the configured order (names unique, at least two)."""

    models: tuple[ModelSpec, ...]
    expected_output_tokens: int = DEFAULT_EXPECTED_OUTPUT_TOKENS

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        if len(self.models) < 2:
            raise ConfigError(f"a models list needs at least two models to route among, got {len(self.models)}")
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"model names must be unique in a models list; repeated: {', '.join(map(repr, dupes))}")
        object.__setattr__(self, "expected_output_tokens", _output_tokens(self.expected_output_tokens))

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Any:
        return iter(self.models)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    @property
    def prices(self) -> tuple[ModelPrice, ...]:
        return tuple(m.price for m in self.models)

    @property
    def endpoints(self) -> tuple[ModelEndpoint, ...]:
        return tuple(m.endpoint for m in self.models)

    def index(self, name: str) -> int:
        """The position of the model named ``name``; ConfigError naming the configured ones otherwise."""
        for i, spec in enumerate(self.models):
            if spec.name == name:
                return i
        raise ConfigError(f"no model named {name!r} is configured; configured: {', '.join(self.names)}")

    def output_tokens(self, max_tokens: Any = None) -> int:
        """Output tokens a request is expected to produce: ``expected_output_tokens``, or ``max_tokens`` when smaller."""
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and 0 < max_tokens < self.expected_output_tokens:
            return max_tokens
        return self.expected_output_tokens

    def costs(self, input_tokens: float, output_tokens: float | None = None) -> np.ndarray:
        """Each model's expected cost (USD) for a request of this many input (and output) tokens."""
        out = self.expected_output_tokens if output_tokens is None else output_tokens
        return np.asarray([m.price.cost(input_tokens, out) for m in self.models], dtype=np.float64)

    def prompt_costs(self, prompts: Sequence[str]) -> np.ndarray:
        """``(len(prompts), N)``: each prompt's expected cost on each model, sent as one user message."""
        rows = [self.costs(request_input_tokens([{"role": "user", "content": p}])) for p in prompts]
        return np.asarray(rows, dtype=np.float64).reshape(len(prompts), len(self))

    def by_price(self) -> tuple[ModelSpec, ...]:
        """The models from the dearest to the cheapest (for a reference request; on a tie, the order listed)."""
        reference = self.costs(REFERENCE_INPUT_TOKENS)
        order = sorted(range(len(self.models)), key=lambda i: (-reference[i], i))
        return tuple(self.models[i] for i in order)

    def describe(self) -> list[dict[str, Any]]:
        """A JSON-able summary (no keys): name, litellm id, api_base, prices and where they came from."""
        return [
            {
                "name": m.name,
                "model": m.model,
                "api_base": m.endpoint.api_base,
                "price": {"input": m.price.input_per_million, "output": m.price.output_per_million},
                "price_source": m.price_source,
            }
            for m in self.models
        ]


def request_input_tokens(messages: Iterable[Any]) -> int:
    """Estimated input tokens of a chat request: the text of all its messages (roles included)."""
    chars = 0
    for message in messages:
        if isinstance(message, Mapping):
            chars += len(str(message.get("role", ""))) + 1
            try:
                chars += len(content_text(message.get("content")))
            except Exception:  # odd content is the routing text's concern, not the cost estimate's
                pass
    return max(1, math.ceil(chars / 4))


def _output_tokens(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"expected_output_tokens must be a positive integer, got {value!r}")
    return value


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(f"{where}: missing {key!r} (the router's name for the model)")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    value = value.strip()
    if key in ("name", "model") and (not value.isascii() or not value.isprintable()):
        raise ConfigError(f"{where}: {key!r} must be printable ASCII (it is sent in response headers), got {value!r}")
    return value


def parse_model_entry(
    entry: Any,
    *,
    where: str = "models[0]",
    api_base: str | None = None,
    api_key: str | None = None,
    make_endpoint: EndpointFactory = plain_endpoint,
    price_lookup: Callable[[str], ModelPrice | None] = litellm_price,
) -> ModelSpec:
    """One entry of a models list (see the module docstring) as a :class:`ModelSpec`.

    ``api_base`` / ``api_key`` are the defaults for an entry without its own.
    """
    if isinstance(entry, ModelSpec):
        return entry
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping with the keys {', '.join(ENTRY_KEYS)}, got {entry!r}")
    unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; accepted keys: {', '.join(ENTRY_KEYS)}")
    entry = expand_env(dict(entry), where=where)
    name = _text(entry, "name", where, required=True)
    assert name is not None
    where = f"{where} ({name!r})"
    model = _text(entry, "model", where) or name
    endpoint = make_endpoint(
        model, _text(entry, "api_base", where) or api_base or None, _text(entry, "api_key", where) or api_key or None
    )
    price_entry = entry.get("price")
    if price_entry is None:
        price = price_lookup(endpoint.model)
        if price is None:
            raise ConfigError(
                f"model {name!r} ({endpoint.model}) has no price: litellm's cost map does not know it; "
                f"give one in its entry: {_PRICE_HINT}"
            )
        return ModelSpec(name, endpoint, price, "litellm")
    if not isinstance(price_entry, Mapping) or not price_entry or set(price_entry) - {"input", "output"}:
        raise ConfigError(f"{where}: the price must be {_PRICE_HINT}, got {price_entry!r}")
    price = ModelPrice(
        check_cost(price_entry.get("input", 0.0), what=f"{where}: input price per 1M tokens"),
        check_cost(price_entry.get("output", 0.0), what=f"{where}: output price per 1M tokens"),
    )
    return ModelSpec(name, endpoint, price, "config")


def parse_models(
    data: Any,
    *,
    source: str = "models",
    api_base: str | None = None,
    api_key: str | None = None,
    expected_output_tokens: int | None = None,
    make_endpoint: EndpointFactory = plain_endpoint,
    price_lookup: Callable[[str], ModelPrice | None] = litellm_price,
) -> ModelSet:
    """A :class:`ModelSet` from a list of entries or a mapping ``{models: [...], expected_output_tokens: N}``.

    ``expected_output_tokens`` given here overrides the mapping's. Entries may be :class:`ModelSpec` objects.
    """
    if isinstance(data, ModelSet):
        return data if expected_output_tokens is None else ModelSet(data.models, expected_output_tokens)
    tokens = DEFAULT_EXPECTED_OUTPUT_TOKENS
    if isinstance(data, Mapping):
        unknown = sorted(str(k) for k in data if k not in FILE_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; accepted keys: {', '.join(FILE_KEYS)}")
        if "expected_output_tokens" in data:
            tokens = data["expected_output_tokens"]
        if "models" not in data:
            raise ConfigError(f"{source}: missing 'models', the list of models to route among")
        data = data["models"]
    if not isinstance(data, (list, tuple)):
        raise ConfigError(f"{source}: 'models' must be a list of models, each {{name, model, api_base, api_key, price}}")
    if expected_output_tokens is not None:
        tokens = expected_output_tokens
    specs = [
        parse_model_entry(
            entry,
            where=f"{source}: models[{i}]",
            api_base=api_base,
            api_key=api_key,
            make_endpoint=make_endpoint,
            price_lookup=price_lookup,
        )
        for i, entry in enumerate(data)
    ]
    try:
        return ModelSet(tuple(specs), _output_tokens(tokens))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def read_models_file(path: str | Path) -> Any:
    """The YAML data of a models file (``yaml.safe_load``), unparsed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read models file {str(p)!r}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from None


def load_models(path: str | Path, **kwargs: Any) -> ModelSet:
    """:func:`parse_models` of a YAML file (keyword arguments as there)."""
    return parse_models(read_models_file(path), source=str(path), **kwargs)


__all__ = [
    "DEFAULT_EXPECTED_OUTPUT_TOKENS",
    "ENTRY_KEYS",
    "EndpointFactory",
    "ModelEndpoint",
    "ModelSet",
    "ModelSpec",
    "load_models",
    "parse_model_entry",
    "parse_models",
    "plain_endpoint",
    "read_models_file",
    "request_input_tokens",
]
