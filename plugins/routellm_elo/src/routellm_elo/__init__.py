"""Similarity-weighted Elo router (RouteLLM's ``sw_ranking``) for routellm."""

__version__ = "0.1.0"
