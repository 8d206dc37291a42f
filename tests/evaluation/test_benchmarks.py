"""The built-in benchmarks load RouteLLM's files (skipped without the data) and the random router scores 0.5."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_core.default_plugins import benchmarks as B
from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter
from routellm_core.evaluation import BenchmarkDataError
from routellm_core.evaluation import metrics as M
from routellm_core.lookups import load_benchmark
from routellm_core.plugins import get_registry

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def test_registered_with_the_documented_signature():
    registry = get_registry()
    for name in ("mt-bench", "mmlu", "gsm8k"):
        reg = registry.get("benchmarks", name)
        assert reg.distribution == "routellm-core"
        assert "data_dir" in reg.factory.__code__.co_varnames


@pytest.mark.parametrize(
    "name, n, removed, strong_mean, weak_mean",
    [
        ("mt-bench", 72, 8, 9.211805555555555, 8.28125),
        ("gsm8k", 1307, 12, 1121 / 1307, 833 / 1307),
        ("mmlu", 12556, 4, None, None),
    ],
)
def test_real_benchmarks_load(data_dir, name, n, removed, strong_mean, weak_mean, evals_root):
    data = load_benchmark(name, data_dir)
    assert data.name == name and len(data) == n == len(data.ids) == data.scores.shape[0]
    assert data.info["contaminated_removed"] == removed
    assert (data.strong_model, data.weak_model) == (STRONG, WEAK)
    assert len(data.digest) == 64 and data.digest == load_benchmark(name, evals_root).digest
    if strong_mean is not None:
        assert data.model_scores(STRONG).mean() == pytest.approx(strong_mean, abs=1e-12)
        assert data.model_scores(WEAK).mean() == pytest.approx(weak_mean, abs=1e-12)
    contaminated = {
        json.loads(line)["eval_prompt"]
        for line in open(evals_root / name.replace("-", "_") / "contaminated_prompts.jsonl", encoding="utf-8")
    }
    assert not contaminated & set(data.prompts)


def test_mt_bench_routes_on_turn_one_and_scores_both_turns(data_dir, evals_root):
    data = load_benchmark("mt-bench", data_dir)
    root = evals_root / "mt_bench"
    questions = {q["question_id"]: q for q in map(json.loads, open(root / "question.jsonl", encoding="utf-8"))}
    judgements = [json.loads(line) for line in open(root / "judgements.jsonl", encoding="utf-8")]
    qid = int(data.ids[0])
    assert data.prompts[0] == questions[qid]["turns"][0]
    turns = [j["score"] for j in judgements if j["question_id"] == qid and j["model"] == STRONG]
    assert len(turns) == 2 and data.model_scores(STRONG)[0] == sum(turns) / 2
    assert questions[qid]["turns"][1] in data.extra_texts and len(data.all_texts()) == 2 * 72
    # the benchmark mean equals upstream's mean over every judgement of the kept questions
    kept = set(map(int, data.ids))
    upstream = np.mean([j["score"] for j in judgements if j["question_id"] in kept and j["model"] == WEAK])
    assert data.model_scores(WEAK).mean() == pytest.approx(upstream, abs=1e-12)


def test_mmlu_loads_whatever_domains_exist(data_dir, tmp_path, evals_root):
    src = evals_root / "mmlu"
    dst = tmp_path / "mmlu"
    (dst / "responses").mkdir(parents=True)
    (dst / "contaminated_prompts.jsonl").write_bytes((src / "contaminated_prompts.jsonl").read_bytes())
    for domain in ("anatomy", "virology"):
        name = f"mmlu_{domain}.csv"
        (dst / "responses" / name).write_bytes((src / "responses" / name).read_bytes())
    data = load_benchmark("mmlu", tmp_path)
    assert data.info["domains"] == ["anatomy", "virology"]
    assert {i.split("/")[0] for i in data.ids} == {"anatomy", "virology"}


@pytest.mark.parametrize("name", ["mt-bench", "gsm8k", "mmlu"])
def test_random_router_apgr_is_one_half(data_dir, name):
    data = load_benchmark(name, data_dir)
    _, _, s, w = data.pair()
    seeds = range(40) if name == "mt-bench" else range(3)  # 72 prompts: one seed is a wide draw; average
    values = [M.apgr(M.per_prompt_curve(RandomRouter(RandomConfig(seed=seed)).score(data.prompts), s, w)) for seed in seeds]
    assert abs(np.mean(values) - 0.5) <= 0.02
    assert M.apgr(M.random_curve(s, w)) == 0.5
    assert M.apgr(M.oracle_curve(s, w)) > 0.9


def test_missing_data_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(BenchmarkDataError) as err:
        get_registry().get("benchmarks", "gsm8k").factory(data_dir=None)
    message = str(err.value)
    assert "nowhere" in message and "ROUTELLM_DATA_DIR" in message and "user cache" in message
    assert "ROUTELLM_DOWNLOAD" in message
    with pytest.raises(BenchmarkDataError, match="Check --data-dir"):
        load_benchmark("mmlu", tmp_path / "empty")


def test_unknown_benchmark_lists_the_available_ones():
    with pytest.raises(BenchmarkDataError) as err:
        load_benchmark("mmlu-pro")
    assert "gsm8k" in str(err.value) and "mt-bench" in str(err.value) and "file:PATH" in str(err.value)


def test_malformed_outcome_csv_names_line_and_column(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "gsm8k_responses.csv").write_text(
        f"prompt,{WEAK},{STRONG}\nq1,True,False\nq2,True,maybe\n", encoding="utf-8"
    )
    (tmp_path / "gsm8k" / "contaminated_prompts.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(BenchmarkDataError, match=r"line 3, column 'gpt-4-1106-preview': expected True or False"):
        load_benchmark("gsm8k", tmp_path)


# -- download path: checksum verification with local files ------------------------------------


def _local_fetch(root, tamper=False):
    def fetch(url):
        rel = url.split(f"/{B.UPSTREAM_PREFIX}/", 1)[1]
        payload = (root / rel).read_bytes()
        return payload + b" " if tamper else payload

    return fetch


def test_download_verifies_checksums(data_dir, evals_root, tmp_path):
    files = B._files_for("gsm8k")
    root = B.download_files(files, tmp_path, fetch=_local_fetch(evals_root))
    assert root == tmp_path / "routellm-evals"
    assert load_benchmark("gsm8k", tmp_path).digest == load_benchmark("gsm8k", data_dir).digest
    # already verified files are not fetched again
    B.download_files(files, tmp_path, fetch=lambda url: pytest.fail("fetched again"))


def test_download_rejects_a_tampered_file(evals_root, tmp_path):
    with pytest.raises(BenchmarkDataError, match="checksum mismatch for gsm8k/gsm8k_responses.csv"):
        B.download_files(["gsm8k/gsm8k_responses.csv"], tmp_path, fetch=_local_fetch(evals_root, tamper=True))
    assert not (tmp_path / "routellm-evals" / "gsm8k" / "gsm8k_responses.csv").exists()
    assert not list((tmp_path / "routellm-evals" / "gsm8k").glob("*.part"))


def test_download_is_used_when_allowed(evals_root, tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTELLM_DATA_DIR", raising=False)
    monkeypatch.setenv("ROUTELLM_DOWNLOAD", "1")
    monkeypatch.setattr(B, "_http_get", _local_fetch(evals_root))
    data = get_registry().get("benchmarks", "mt-bench").factory()
    assert len(data) == 72
    assert (tmp_path / "cache" / "data" / "routellm-evals" / "mt_bench" / "judgements.jsonl").exists()


def test_upstream_manifest_matches_the_local_copies(evals_root):
    for rel in B.UPSTREAM_FILES:
        B.verify_file(evals_root / rel, rel)
    assert B.upstream_url("gsm8k/test.jsonl", "abc123") == (
        "https://raw.githubusercontent.com/lm-sys/RouteLLM/abc123/routellm/evals/gsm8k/test.jsonl"
    )
