"""Tiny local models for the causal_llm tests: a byte-level BPE tokenizer and a 2-layer Llama, built in seconds."""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LABELS = ["[[1]]", "[[2]]", "[[3]]", "[[4]]", "[[5]]"]
CORPUS = [
    "What is 2 + 2? Prove that there are infinitely many primes.",
    "Write a Python function that parses timestamps, with tests.",
    "Translate good morning into French. Summarise the causes of the war.",
    "You are a router for AI assistants. Question Prediction grade",
] * 4


def tiny_tokenizer(labels: bool = False):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|pad|>")
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    if labels:
        fast.add_tokens(LABELS, special_tokens=True)
    fast.chat_template = CHATML
    return fast


def tiny_llama(directory: Path, *, labels: bool = False, seed: int = 0) -> Path:
    """Save a random 2-layer Llama with its tokenizer in ``directory`` (with the five label tokens when ``labels``)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tok = tiny_tokenizer(labels)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
