"""RouteLLM's causal-LLM classifier router (``causal_llm``) for routellm, on a small local LLM with a LoRA adapter."""

__version__ = "0.1.0"
