import numpy as np
import pytest

from routellm_core.default_plugins.length_router import LengthRouter
from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import RouterContractTests


class TestLengthRouterContract(RouterContractTests):
    def make_router(self):
        return get_registry().create_router("length", {"scale": 500})


def test_scores_increase_with_length():
    scores = LengthRouter().score(["", "a", "ab" * 10, "x" * 1000, "y" * 100_000])
    assert scores[0] == 0.0 and scores[3] == 0.5
    assert np.all(np.diff(scores) > 0) and scores[-1] < 1.0


def test_bad_scale():
    with pytest.raises(ConfigError, match=r"scale: Input should be greater than 0 \(got 0\)"):
        get_registry().create_router("length", {"scale": 0})
