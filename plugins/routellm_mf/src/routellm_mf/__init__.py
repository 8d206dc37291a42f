"""Matrix-factorisation router for routellm (RouteLLM's ``mf``), its trainer and a default checkpoint."""

__version__ = "0.1.0"
