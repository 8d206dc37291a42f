"""Registers the ``minilm`` (torch) and ``minilm-onnx`` (int8 ONNX) embedders. Imports nothing heavy."""

from __future__ import annotations

from routellm_core.hookspecs import hookimpl


def _minilm(**kwargs):
    from .encoder import MiniLMEmbedder

    return MiniLMEmbedder(**kwargs)


def _minilm_onnx(**kwargs):
    from .encoder import MiniLMOnnxEmbedder

    return MiniLMOnnxEmbedder(**kwargs)


@hookimpl
def routellm_register_embedders(register):
    register("minilm", _minilm, description="all-MiniLM-L6-v2 (384-d), local and offline, torch CPU")
    register("minilm-onnx", _minilm_onnx, description="all-MiniLM-L6-v2 as int8 ONNX (needs routellm-minilm[onnx])")
