"""The minilm embedders take their validated settings models (no model files needed)."""

import pytest
from routellm_minilm.encoder import MiniLMEmbedder, MiniLML3Embedder, MiniLMOnnxEmbedder
from routellm_minilm.plugin import MiniLMConfig, MiniLML3Config, MiniLMOnnxConfig

from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import check_config_model


@pytest.mark.parametrize(
    "config, embedder",
    [(MiniLMConfig, MiniLMEmbedder), (MiniLMOnnxConfig, MiniLMOnnxEmbedder), (MiniLML3Config, MiniLML3Embedder)],
)
def test_embedders_take_their_config_models(config, embedder):
    check_config_model(config, embedder)


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("minilm", {"dtype": "float16"}, "dtype: Input should be 'auto', 'float32' or 'bfloat16'"),
        ("minilm", {"max_length": 513}, "max_length: Input should be less than or equal to 512"),
        ("minilm-onnx", {"batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
        ("minilm-onnx", {"device": "cuda"}, "unknown key 'device'; accepted keys: max_length, batch_size, num_threads$"),
        ("minilm-l3", {"num_threads": 1.5}, "num_threads: Input should be a valid integer"),
        ("minilm-l3", {"max_length": 64}, "unknown key 'max_length'; accepted keys: batch_size, num_threads, head_tokens$"),
    ],
)
def test_bad_settings(name, settings, message):
    with pytest.raises(ConfigError, match=f"invalid config for embedder '{name}': {message}"):
        get_registry().validated_settings("embedders", name, settings)
