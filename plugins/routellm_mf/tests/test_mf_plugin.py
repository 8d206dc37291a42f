"""The mf router's settings: validated by MFConfig before anything is loaded; MFRouter takes the validated model."""

import pytest
from routellm_mf.plugin import MFConfig
from routellm_mf.router import MFRouter

from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import check_config_model


def test_router_takes_its_config_model():
    check_config_model(MFConfig, MFRouter)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"checkpoint": "a", "checkpoint_path": "b"}, "give checkpoint or checkpoint_path, not both"),
        ({"model_aliases": {"gpt4": 4}}, r"model_aliases.gpt4: Input should be a valid string \(got 4\)"),
        ({"embedding_cache": "yes"}, "embedding_cache: Input should be a valid boolean"),
        ({"embedder_kwargs": ["max_length", 64]}, "embedder_kwargs: Input should be a valid dictionary"),
        ({"strong_model": ""}, "strong_model: String should have at least 1 character"),
        ({"checkpoint_dir": "x"}, "unknown key 'checkpoint_dir'; accepted keys: checkpoint, checkpoint_path, strong_model"),
    ],
)
def test_bad_settings_fail_before_the_checkpoint_is_read(settings, message):
    # a missing checkpoint would be a different error: validation comes first
    with pytest.raises(ConfigError, match=f"invalid config for router 'mf': {message}"):
        get_registry().create_router("mf", {"checkpoint": "/nonexistent/checkpoint", **settings})


def test_embedder_settings_are_validated_too():
    with pytest.raises(
        ConfigError, match=r"invalid config for embedder 'litellm': timeout: Input should be greater than 0 \(got -1\)"
    ):
        get_registry().create_router("mf", {"embedder": "litellm", "embedder_kwargs": {"timeout": -1}})
