"""The shipped index's training data against the evaluation prompts (needs ../shared/data; skips otherwise)."""

from routellm_elo.index import default_index_dir

from routellm_core.decontamination import eval_prompts_from_dir
from routellm_core.testing.shipped import check_shipped_decontamination


def test_no_shipped_training_prompt_equals_an_evaluation_prompt(shared_data):
    eval_sets = eval_prompts_from_dir(shared_data)
    assert len(eval_sets["mmlu"]) == 12560 and len(eval_sets["mt-bench"]) == 240
    check_shipped_decontamination(default_index_dir(), shared_data)
