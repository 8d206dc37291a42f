"""Helpers for testing routers and anything that calls models.

- :class:`RouterContractTests`: subclass in a plugin's tests to check the Router contract.
- :class:`EchoUpstream`: a real OpenAI-compatible HTTP server on loopback.
"""

from .contract import RouterContractTests
from .upstream import EchoUpstream

__all__ = ["RouterContractTests", "EchoUpstream"]
