"""The shipped checkpoint's training data against the evaluation prompts (needs ../shared/data; skips otherwise)."""

from routellm_mf.checkpoint import default_checkpoint_dir

from routellm_core.decontamination import eval_prompts_from_dir
from routellm_core.testing.shipped import check_shipped_decontamination


def test_eval_prompts_found(shared_data):
    sets = eval_prompts_from_dir(shared_data)
    assert len(sets["mmlu"]) == 12560 and len(sets["gsm8k"]) >= 1319 and len(sets["mt-bench"]) == 240


def test_no_shipped_training_prompt_equals_an_evaluation_prompt(shared_data):
    check_shipped_decontamination(default_checkpoint_dir(), shared_data)
