import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from elo_helpers import data_dir  # noqa: E402


@pytest.fixture
def shared_data():
    d = data_dir()
    if d is None:
        pytest.skip("shared data not found (set ROUTELLM_DATA_DIR or put it at ../shared/data)")
    return d
