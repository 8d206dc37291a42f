"""Checks of a shipped checkpoint's training data against the evaluation prompts, for plugins' tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def check_shipped_decontamination(checkpoint: Path, data_dir: Path) -> dict[str, Any]:
    """Re-read the training files a shipped checkpoint names (``training_summary.json``, paths relative to
    ``data_dir``), drop what its ``decontamination.json`` lists, and assert that the files are unchanged,
    the kept prompt count matches the summary and no kept prompt equals an evaluation prompt after
    normalisation. Returns the summary."""
    from ..decontamination import eval_prompts_from_dir, normalise
    from ..hashing import sha256_file, sha256_text
    from ..training_data import load_files

    summary: dict[str, Any] = json.loads((checkpoint / "training_summary.json").read_text())
    files = [data_dir / f["path"] for f in summary["files"]]
    for f, meta in zip(files, summary["files"], strict=True):
        assert sha256_file(f) == meta["sha256"], f"{f} changed since training"
    data = load_files(files)
    dropped = {item["train_prompt_sha256"] for item in json.loads((checkpoint / "decontamination.json").read_text())["items"]}
    kept = [p for p in data.prompts if sha256_text(p) not in dropped]
    assert len(kept) == summary["data"]["prompts"]
    eval_norm = {normalise(p) for prompts in eval_prompts_from_dir(data_dir).values() for p in prompts}
    assert not [p for p in kept if normalise(p) in eval_norm]
    return summary
