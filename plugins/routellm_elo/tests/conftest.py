import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from elo_helpers import data_dir  # noqa: E402

from routellm_core.testing import MISSING


@pytest.fixture
def shared_data():
    d = data_dir()
    if d is None:
        pytest.skip(MISSING)
    return d
