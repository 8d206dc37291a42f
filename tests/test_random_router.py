import numpy as np
import pytest

from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter
from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import RouterContractTests


class TestRandomRouterContract(RouterContractTests):
    def make_router(self):
        return get_registry().create_router("random", {"seed": 7})


def test_seed_changes_scores_and_is_uniform():
    prompts = [f"prompt {i}" for i in range(4000)]
    a, b = RandomRouter(RandomConfig(seed=1)).score(prompts), RandomRouter(RandomConfig(seed=2)).score(prompts)
    assert not np.array_equal(a, b)
    assert abs(a.mean() - 0.5) < 0.02
    assert abs(np.mean(a >= 0.3) - 0.7) < 0.03


def test_bad_config_is_rejected_before_construction():
    registry = get_registry()
    with pytest.raises(ConfigError, match="accepted keys: seed"):
        registry.create_router("random", {"sede": 1})
    with pytest.raises(ConfigError, match=r"seed: Input should be a valid integer \(got 'x'\)"):
        registry.create_router("random", {"seed": "x"})
    with pytest.raises(ConfigError, match=r"seed: Input should be a valid integer \(got True\)"):
        registry.create_router("random", {"seed": True})
