"""Helpers for testing routers and anything that calls models.

- :class:`RouterContractTests`: subclass in a plugin's tests to check the Router contract.
- :func:`check_config_model`: a settings model and its factory agree on keys and defaults.
- :class:`EchoUpstream`: a real OpenAI-compatible HTTP server on loopback.
- :class:`HashEmbedder`: a deterministic fake embedder of any dimension (no model files).
- :func:`shared_data_dir`: where the evaluation and training data are, or None (tests skip with :data:`MISSING`).
- :func:`free_port`: a free TCP port on loopback.
- :func:`serve`: ``routellm serve <args>`` as a real subprocess on a free port, as a :class:`ServerProcess`:
  ``with serve(args) as server:`` starts it, waits for ``/health`` (or ``ready_path``), and stops it
  (SIGTERM, then SIGKILL); ``server.url`` is its root, ``server.base_url`` the OpenAI base URL (``…/v1``),
  ``server.process`` the ``Popen``, ``server.log()`` its output. Options: ``python`` (another interpreter,
  e.g. a lean virtual environment's), ``env`` (``None`` values unset a variable), ``host``, ``port``,
  ``ready_timeout``, ``log`` (a file to keep it in).
- :func:`upstream_args`: the ``routellm serve`` options for two models (``openai/strong``, ``openai/weak``) on one
  upstream, such as an :class:`EchoUpstream`.
- :func:`serve_upstream`: :class:`EchoUpstream` in a subprocess of its own (its command-line options), as a
  :class:`ServerProcess`.
- :class:`ServerProcess`: what :func:`serve` returns, for any HTTP server command; :class:`ServeError` when one
  exits early or is not ready in time, with the end of its log; :func:`wait_http_ok` and :func:`stop_process`,
  the two steps alone for a ``Popen`` of your own.
"""

from .contract import RouterContractTests, check_config_model
from .data import MISSING, shared_data_dir
from .fakes import HashEmbedder
from .serving import ServeError, ServerProcess, free_port, serve, serve_upstream, stop_process, upstream_args, wait_http_ok
from .upstream import EchoUpstream

__all__ = [
    "MISSING",
    "RouterContractTests",
    "EchoUpstream",
    "HashEmbedder",
    "ServeError",
    "ServerProcess",
    "check_config_model",
    "free_port",
    "serve",
    "serve_upstream",
    "shared_data_dir",
    "stop_process",
    "upstream_args",
    "wait_http_ok",
]
