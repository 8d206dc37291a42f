"""Helpers for testing routers and anything that calls models.

- :class:`RouterContractTests`: subclass in a plugin's tests to check the Router contract.
- :func:`check_config_model`: a settings model and its factory agree on keys and defaults.
- :class:`EchoUpstream`: a real OpenAI-compatible HTTP server on loopback.
"""

from .contract import RouterContractTests, check_config_model
from .upstream import EchoUpstream

__all__ = ["RouterContractTests", "EchoUpstream", "check_config_model"]
