"""routellm-bert: RouteLLM's BERT classifier router (``bert``) and its trainer."""

__version__ = "0.1.0"
