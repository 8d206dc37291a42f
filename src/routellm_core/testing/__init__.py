"""Helpers for testing routers and anything that calls models.

- :class:`RouterContractTests`: subclass in a plugin's tests to check the Router contract.
- :func:`check_config_model`: a settings model and its factory agree on keys and defaults.
- :class:`EchoUpstream`: a real OpenAI-compatible HTTP server on loopback.
- :func:`shared_data_dir`: where the evaluation and training data are, or None (tests skip with :data:`MISSING`).
"""

from .contract import RouterContractTests, check_config_model
from .data import MISSING, shared_data_dir
from .upstream import EchoUpstream

__all__ = ["MISSING", "RouterContractTests", "EchoUpstream", "check_config_model", "shared_data_dir"]
