"""Contract tests every router must pass; plugins subclass :class:`RouterContractTests`.

:func:`check_config_model` checks that a router's or embedder's factory takes its validated settings model.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from ..config import PluginConfig
    from ..router import Router

CONTRACT_PROMPTS = [
    "hi",
    "What is 2 + 2?",
    "Prove that there are infinitely many primes, then generalise the argument to primes of the form 4k+3.",
    "Write a Python function that parses RFC 3339 timestamps, with tests.",
    "Translate 'good morning' into French.",
    "",
    "Ünïcödé ✓ 数学 🙂",
    "Summarise the causes of the First World War in three paragraphs. " * 20,
]


class RouterContractTests:
    """Subclass and implement :meth:`make_router` (a fresh router each call).

    ``batch_rtol`` / ``batch_atol``: how far a prompt's score in a batch may be from its score alone. A router
    whose batched forward pass rounds differently from a single one (padding changes matrix shapes) sets the
    tolerance it documents.
    """

    prompts = CONTRACT_PROMPTS
    batch_rtol: float = 1e-5
    batch_atol: float = 1e-6

    def make_router(self) -> Router:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def test_scores_shape_and_range(self) -> None:
        scores = np.asarray(self.make_router().score(self.prompts))
        assert scores.shape == (len(self.prompts),)
        assert np.issubdtype(scores.dtype, np.floating)
        assert np.all(np.isfinite(scores))
        assert np.all((scores >= 0.0) & (scores <= 1.0))

    def test_deterministic_across_instances(self) -> None:
        a = np.asarray(self.make_router().score(self.prompts))
        b = np.asarray(self.make_router().score(self.prompts))
        np.testing.assert_array_equal(a, b)

    def test_batch_equals_one_by_one(self) -> None:
        router = self.make_router()
        batch = np.asarray(router.score(self.prompts), dtype=np.float64)
        single = np.array([float(np.asarray(router.score([p]))[0]) for p in self.prompts])
        np.testing.assert_allclose(batch, single, rtol=self.batch_rtol, atol=self.batch_atol)

    def test_empty_batch(self) -> None:
        scores = np.asarray(self.make_router().score([]))
        assert scores.shape == (0,)

    def test_route_applies_threshold_rule(self) -> None:
        router = self.make_router()
        score = float(np.asarray(router.score([self.prompts[1]]))[0])
        assert router.route(self.prompts[1], 0.0).strong
        assert router.route(self.prompts[1], score).strong
        if score < 1.0:
            above = float(np.nextafter(score, 2.0))
            assert not router.route(self.prompts[1], min(above, 1.0)).strong or score >= min(above, 1.0)

    def test_describe_is_json(self) -> None:
        import json

        json.dumps(self.make_router().describe())


def check_config_model(config: type[PluginConfig], factory: Callable[..., Any]) -> None:
    """Assert that ``factory`` takes the validated settings model ``config`` as the registry hands it over:
    one parameter annotated with ``config`` (optional: ``None`` builds the defaults), nothing else required,
    and no keyword arguments that would let a setting bypass the model."""
    import re
    import typing

    params = [p for p in inspect.signature(factory).parameters.values() if p.name != "self"]
    assert params, f"{getattr(factory, '__qualname__', factory)} takes no parameter for its {config.__name__}"
    first, rest = params[0], params[1:]
    annotation = first.annotation  # a type, or its source text under ``from __future__ import annotations``
    if isinstance(annotation, str):
        takes_config = re.fullmatch(rf"{config.__name__}( \| None)?|Optional\[{config.__name__}\]", annotation) is not None
    else:
        takes_config = annotation is config or config in typing.get_args(annotation)
    assert takes_config, (
        f"{getattr(factory, '__qualname__', factory)}: its first parameter {first.name!r} is {annotation!r}, "
        f"not the settings model {config.__name__}"
    )
    required = [p.name for p in rest if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not required, f"{getattr(factory, '__qualname__', factory)} requires {required} beyond its {config.__name__}"
    assert not any(p.kind == p.VAR_KEYWORD for p in rest), (
        f"{getattr(factory, '__qualname__', factory)} takes **kwargs: settings go through {config.__name__}"
    )
