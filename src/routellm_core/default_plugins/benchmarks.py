"""Built-in benchmarks: RouteLLM's published evaluation outcomes (``mt-bench``, ``mmlu``, ``gsm8k``), and the
N-model benchmarks ``routerbench-zs`` and ``llmrouter-dcrouter`` (per-prompt costs; see the end of this module).

Files (format in the project's data README) are read from the first of:

1. ``data_dir`` (``routellm eval --data-dir DIR``),
2. ``$ROUTELLM_DATA_DIR``,
3. ``<user cache dir>/data`` (``$ROUTELLM_CACHE_DIR`` or ``~/.cache/routellm``),

where a directory may hold the files directly (``mmlu/``, ``gsm8k/``,
``mt_bench/``) or under ``routellm-evals/``. When none has them and downloads
are allowed (a loader's ``download=True``, as ``routellm eval --download``
passes it; with ``download`` left out, ``$ROUTELLM_DOWNLOAD=1``), they are
fetched with pooch from the upstream repository (``lm-sys/RouteLLM``,
``routellm/evals/``) into the user cache directory and each file is verified
against the sha256 in :data:`UPSTREAM_FILES` before use; a mismatch is an error
and the file is discarded. Files already there with the right sha256 are not
fetched again.

Published contamination lists are applied (prompts equal to an
``eval_prompt`` are removed, as upstream does). MMLU loads whatever domain
files are present. MT-Bench routes on the first turn and scores the routed
model on both turns: a question's quality is the mean of its two GPT-4
judgements (1-10), so the benchmark mean equals upstream's mean over all
judgements.
"""

from __future__ import annotations

import math
import os
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import ConfigError
from ..evaluation.data import (
    DOWNLOAD_ENV,
    EXPECTED_OUTPUT_TOKENS,
    BenchmarkData,
    BenchmarkDataError,
    downloads_allowed,
    nmodel_default_pair,
    prompt_costs,
)
from ..hashing import sha256_file
from ..hookspecs import RegisterBenchmark, hookimpl
from ..model_choice import ModelPrice, check_cost
from ..paths import DATA_ENV, data_dir_candidates, user_cache_dir
from ..tabular import is_missing, parse_records, parse_score, read_records, read_text

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
UPSTREAM_REPO = "lm-sys/RouteLLM"
#: git ref the files are fetched from; the content is pinned by the sha256 sums below
#: whatever the ref (override with $ROUTELLM_EVALS_REF, e.g. to a commit SHA).
UPSTREAM_REF = "main"
UPSTREAM_PREFIX = "routellm/evals"
SUBDIR = "routellm-evals"

#: sha256 of each upstream file (relative to ``routellm/evals/``), taken from unchanged copies
UPSTREAM_FILES: dict[str, str] = {
    "gsm8k/contaminated_prompts.jsonl": "1f5a7be02148ee0f7f306d233ba76a6573c826cee9499a34f8ef938a1a84c234",
    "gsm8k/gsm8k_responses.csv": "1f38ed03db354a020f71e92022383dc3cf37bbf2694dea4daaeea7b6c43fe57b",
    "mmlu/contaminated_prompts.jsonl": "9606c968198eabf5efa46ccba31286392c8e35525d83c86661618ffc5ec6d40e",
    "mmlu/responses/mmlu_anatomy.csv": "53ebea8257805eeecc25713728264b8235cffad7b720962a3eafc92fd27ef537",
    "mmlu/responses/mmlu_astronomy.csv": "49915ece9dfe8aadbd351f221ada2ea86b6f832ce49fa64d1622a0f066c19794",
    "mmlu/responses/mmlu_business_ethics.csv": "13a45bed754ffe8f0e7f0348e69085c648a1ae0e91aa76cd5e6906fa45f7ec8e",
    "mmlu/responses/mmlu_clinical_knowledge.csv": "5ea37709bfbad4df7a3fcbd8973413f7645a2adfef9772490f09d3f293ffe882",
    "mmlu/responses/mmlu_college_biology.csv": "c38620db5b9f6f1b0fde7bc8d8299b8e2305c4dacbb1567c904cd51618d627d5",
    "mmlu/responses/mmlu_college_mathematics.csv": "3f22f42779c48509c66e21d7d1fc3054eb0256c1b5b772bb6d9a3af1b253238b",
    "mmlu/responses/mmlu_college_medicine.csv": "63d71d29e630fc6538e1705a51f4267bdbbdea0fa7ee85056ad7d6f8f10d3987",
    "mmlu/responses/mmlu_college_physics.csv": "8162a0660d4ef7b963088e0a176d4b8630096127a0d0b5ed003f649cbad34455",
    "mmlu/responses/mmlu_computer_security.csv": "26446faf7460f03aa2d82a05c170faedb5cbf6d7bdda133b1146229107097d1c",
    "mmlu/responses/mmlu_conceptual_physics.csv": "ea40473704b64cb60d564ffe91962848ec6fc3106b40089d08cebc98d5c7226d",
    "mmlu/responses/mmlu_econometrics.csv": "927b4d877cec8697f3b8378bb7e7c7a279babaea2edacf350ea50908701907b9",
    "mmlu/responses/mmlu_electrical_engineering.csv": "de2fb7c2e9addb4808f5b3f7c79efbfdfb86216235bb7dc28ab70bc53664f11e",
    "mmlu/responses/mmlu_elementary_mathematics.csv": "88697ff0d238b5852c7a959379dc8b0b45c3554ed4b2ee7cbb7ffc34e06c7cf5",
    "mmlu/responses/mmlu_formal_logic.csv": "094a462626468569ad595c03e66e73a299188cfa175248b499dba94e005506e6",
    "mmlu/responses/mmlu_global_facts.csv": "6f75ddf7d6eb94ac0471529a85ff7f8b738c9f4055185b3114eed26393222d06",
    "mmlu/responses/mmlu_high_school_biology.csv": "444982fc2c750ab8cbc6942a0c0267040aa5023c1d2364247d20e2a28b4e325d",
    "mmlu/responses/mmlu_high_school_chemistry.csv": "ae5e62479365dcd056354c568f60da65b1df9f1de57dda3953a8e9933a6f12e4",
    "mmlu/responses/mmlu_high_school_computer_science.csv": "d156d9448a6e899f7f976a0afac148a928bf709a2baa573f0c407854a25bdb11",
    "mmlu/responses/mmlu_high_school_european_history.csv": "c64afd6c5e30ef0cd5c10beab961ac05e7ba55d6b48cd93bf6ad0a45f90515bf",
    "mmlu/responses/mmlu_high_school_geography.csv": "21b12044be4a6b9813880ad46372006dc0846e7f85fa46883bb73dbd90fba30a",
    "mmlu/responses/mmlu_high_school_government_and_politics.csv": (
        "2791689acc61775a5857f4f3a5fd248d30552553c3a96f6ee63dc28285437259"
    ),
    "mmlu/responses/mmlu_high_school_macroeconomics.csv": "73b931a2a06ba74a5c9f1e005d45a25004e36be5d075d98f8ebcf89b3fda367b",
    "mmlu/responses/mmlu_high_school_microeconomics.csv": "f7ea151efb4c9d96374db3358ac7e97e4d8349e26715f61dac98bc9d854ca046",
    "mmlu/responses/mmlu_high_school_physics.csv": "1e2103fc8f7f1cfac7c00952b26db2418acab092486af78a9c51c551ae2ff9be",
    "mmlu/responses/mmlu_high_school_psychology.csv": "d11604f2c7a2425258d5b9a285ef71737c011cc3a91456890f088a0ee4c55212",
    "mmlu/responses/mmlu_high_school_us_history.csv": "a71186d143363e203b2f216d78c9d21f10cca51de455ef176c9c01b77f546592",
    "mmlu/responses/mmlu_high_school_world_history.csv": "e9c52305977dc37b3e48eee727ad933b2d24d96ca3a06aec865a8900b1e87d2c",
    "mmlu/responses/mmlu_human_aging.csv": "0d6c4109b4f61f138781ce50bbc60ff2e90dd451694d3926a088be5a5bd88aa8",
    "mmlu/responses/mmlu_human_sexuality.csv": "20916037e3012731883f926738daf47ed994f74ba25518fdb7f0df72a81143fd",
    "mmlu/responses/mmlu_international_law.csv": "e389b886e3e1570bfdf798f6f56dc3c675350200c5baf0f41a0766294ff312eb",
    "mmlu/responses/mmlu_jurisprudence.csv": "7e94c3849231be7b2654db11e44ee51531f8474e300fe83b1e05438df3038f0b",
    "mmlu/responses/mmlu_logical_fallacies.csv": "fa2d94cd2e901621aaebd0a7e64560b5dbbe4249086795398533eed2561c0c1e",
    "mmlu/responses/mmlu_machine_learning.csv": "9301e928481be6e20b3541e1ac112b25a4a71338b21592978c0d219cb6240020",
    "mmlu/responses/mmlu_management.csv": "a00b12ab0265918f9335a85ce02303ddaea0491a7b099f88a05986eeac4aa4fb",
    "mmlu/responses/mmlu_marketing.csv": "3ee0b6560ebe0eb4f14ce63227d6f6ec8cb8b6e57e345eae9460be742672f36c",
    "mmlu/responses/mmlu_miscellaneous.csv": "c2e1a5b0394a8429f55b6340e1865166ac17ec6b3571523005e413b3b2843b9f",
    "mmlu/responses/mmlu_moral_disputes.csv": "8b2b973b1987b724f39fd10970604d7f1150747a0db9ce766c193bd978c9d0c4",
    "mmlu/responses/mmlu_moral_scenarios.csv": "78ded6fdca1cd0d5c4ed16a5ed4aebf2e98401b9c00b20e565e6cce5bf1153c7",
    "mmlu/responses/mmlu_nutrition.csv": "ba197fbf4b6c5034414d66ea7747211056cf5f709f83d919d2d856245720cc51",
    "mmlu/responses/mmlu_philosophy.csv": "2f30ad01ab529ddea00dff4ff87e950fef838a78754c94f6884120628a7d0591",
    "mmlu/responses/mmlu_professional_accounting.csv": "fe5ee976a625832ecf624086103619523d063a3a728c60681b6a53c55b638a37",
    "mmlu/responses/mmlu_professional_law.csv": "60a4308df4f481ff8840590b29061835207b50a9f06a9fc68baf12b114f7e2e0",
    "mmlu/responses/mmlu_professional_psychology.csv": "bfb3a7fb653e2b195d3fa258894af64d3f1c3dbd4059c1e0feb728131d20f9b3",
    "mmlu/responses/mmlu_public_relations.csv": "2196279ea2535fbda62509c3156209b764459a3d515a9ba84b69cf16bb4c27d0",
    "mmlu/responses/mmlu_security_studies.csv": "1354bb17649f95b7dd8ef3179e22329abe6bef84e639d63370ae9e80b2509905",
    "mmlu/responses/mmlu_sociology.csv": "903ba6259b13f2877607abef22b7b19cb575104268d4ced615e3129d3caafb47",
    "mmlu/responses/mmlu_us_foreign_policy.csv": "f1c1d266753a3f161e2018c16c6948fb78c7f5e506a10b4fc0441049962a6c69",
    "mmlu/responses/mmlu_virology.csv": "d525f1ba88982befd42140e73822fe940e73db82bbdcdd569d95f26c3dd41e68",
    "mmlu/responses/mmlu_world_religions.csv": "49dc00d44e069ecaac6a7f7e2188f4a8bce5df56ee91bb15f55519d07f64af8e",
    "mt_bench/contaminated_prompts.jsonl": "a77356ecd7cab6ba9bfb6d7b91c512f83aee4f82309934387a6cdfb915882109",
    "mt_bench/judgements.jsonl": "ffd1d44e7af835c810d35ebd420b88a47acd8aac850f46b149b9889964ae4478",
    "mt_bench/question.jsonl": "119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7",
}

BENCHMARK_FILES = {
    "mt-bench": ("mt_bench/question.jsonl", "mt_bench/judgements.jsonl", "mt_bench/contaminated_prompts.jsonl"),
    "gsm8k": ("gsm8k/gsm8k_responses.csv", "gsm8k/contaminated_prompts.jsonl"),
    "mmlu": ("mmlu/contaminated_prompts.jsonl",),  # plus mmlu/responses/mmlu_<domain>.csv
}


# -- locating and fetching the files --------------------------------------------------------


def _evals_root(base: Path, probe: str) -> Path | None:
    for root in (base / SUBDIR, base):
        if (root / probe).exists():
            return root
    return None


def upstream_url(relpath: str, ref: str | None = None) -> str:
    ref = ref or os.environ.get("ROUTELLM_EVALS_REF") or UPSTREAM_REF
    return f"https://raw.githubusercontent.com/{UPSTREAM_REPO}/{ref}/{UPSTREAM_PREFIX}/{relpath}"


def verify_file(path: str | os.PathLike[str], relpath: str) -> None:
    """Raise BenchmarkDataError unless ``path`` has the published sha256 of ``relpath``."""
    expected = UPSTREAM_FILES.get(relpath)
    if expected is None:
        raise BenchmarkDataError(f"no published checksum for {relpath!r}")
    actual = sha256_file(path)
    if actual != expected:
        raise BenchmarkDataError(f"checksum mismatch for {relpath} ({path}): sha256 {actual}, expected {expected}")


class _FetchError(Exception):
    """A download failed (as opposed to: it arrived with the wrong checksum)."""


def download_files(relpaths: Iterable[str], dest: str | os.PathLike[str], *, fetch: Callable[[str], bytes] | None = None) -> Path:
    """Fetch ``relpaths`` from upstream into ``dest/routellm-evals`` with pooch, verifying each sha256.

    ``fetch(url) -> bytes`` defaults to an HTTPS GET (timeout 60 s). Files already
    present with the right checksum are kept; a file with a wrong checksum is
    never written in place.
    """
    import pooch

    root = Path(dest) / SUBDIR
    relpaths = list(relpaths)
    for rel in relpaths:
        if rel not in UPSTREAM_FILES:
            raise BenchmarkDataError(f"no published checksum for {rel!r}")
    urls = {rel: upstream_url(rel) for rel in relpaths}
    store = pooch.create(
        path=root, base_url="", registry={rel: f"sha256:{UPSTREAM_FILES[rel]}" for rel in relpaths}, urls=urls, retry_if_failed=0
    )

    def downloader(url: str, output_file: Any, _pooch: Any, check_only: bool = False) -> bool | None:
        if check_only:
            return True
        try:
            payload = (fetch or _http_get)(url)
        except Exception as exc:  # network errors of every kind
            raise _FetchError(f"cannot download {url}: {exc}") from None
        if isinstance(output_file, (str, os.PathLike)):
            Path(output_file).write_bytes(payload)
        else:
            output_file.write(payload)
        return None

    for rel in relpaths:
        try:
            store.fetch(rel, downloader=downloader)
        except _FetchError as exc:
            raise BenchmarkDataError(str(exc)) from None
        except ValueError as exc:  # pooch: the downloaded file's hash differs from the registry's
            raise BenchmarkDataError(f"checksum mismatch for {rel} (from {urls[rel]}): {exc}") from None
    return root


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - fixed https URL
        body: bytes = resp.read()
        return body


def _files_for(benchmark: str) -> list[str]:
    if benchmark == "mmlu":
        return sorted(k for k in UPSTREAM_FILES if k.startswith("mmlu/"))
    return list(BENCHMARK_FILES[benchmark])


def locate(benchmark: str, data_dir: str | os.PathLike[str] | None = None, *, download: bool | None = None) -> Path:
    """The directory holding ``benchmark``'s files (``mmlu/``, ``gsm8k/``, ``mt_bench/``).

    Without ``data_dir``, files found nowhere are downloaded into the user cache when
    :func:`~routellm_core.evaluation.data.downloads_allowed` (``download``, else ``$ROUTELLM_DOWNLOAD``).
    """
    probe = "mmlu/responses" if benchmark == "mmlu" else BENCHMARK_FILES[benchmark][0]
    looked = []
    for label, base in data_dir_candidates(data_dir):
        root = _evals_root(base, probe)
        if root is not None:
            return root
        looked.append(f"{label} {base} (and {base / SUBDIR})")
    if data_dir is None and downloads_allowed(download):
        return download_files(_files_for(benchmark), user_cache_dir() / "data")
    hint = (
        f"Pass --data-dir DIR, set ${DATA_ENV}, or set ${DOWNLOAD_ENV}=1 (routellm eval --download) "
        f"to fetch RouteLLM's files from github.com/{UPSTREAM_REPO} into {user_cache_dir() / 'data'}"
    )
    if data_dir is not None:
        hint = "Check --data-dir (without it, $ROUTELLM_DATA_DIR, the user cache and downloads are used)"
    raise BenchmarkDataError(
        f"benchmark {benchmark!r}: data not found; looked for {probe} in: " + "; ".join(looked) + f". {hint}"
    )


# -- parsing ----------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for where, row in read_records(path, BenchmarkDataError, suffixes=(".jsonl",)):
        if not isinstance(row, dict):
            raise BenchmarkDataError(f"{where}: expected a JSON object")
        rows.append(row)
    return rows


def contaminated_prompts(root: Path, subdir: str) -> set[str]:
    path = root / subdir / "contaminated_prompts.jsonl"
    out = set()
    for i, row in enumerate(_jsonl(path), 1):
        prompt = row.get("eval_prompt")
        if not isinstance(prompt, str):
            raise BenchmarkDataError(f"{path}: record {i}: no string 'eval_prompt'")
        out.add(prompt)
    return out


def _correct(value: str, where: str, column: str) -> float:
    try:
        x = parse_score(value)
    except ValueError:
        x = None
    if x is None or x not in (0.0, 1.0):
        raise BenchmarkDataError(f"{where}, column {column!r}: expected True or False, got {value[:40]!r}")
    return x


def _read_outcomes_csv(path: Path) -> tuple[list[str], list[str], list[list[float]]]:
    """``(prompts, models, rows)`` of a RouteLLM outcome CSV (``prompt``, ``<model>`` True/False, ``<model>_response``)."""
    records = read_records(path, BenchmarkDataError, suffixes=(".csv",))
    if not records:
        raise BenchmarkDataError(f"{path} has no rows")
    header = list(records[0][1])
    if "prompt" not in header:
        raise BenchmarkDataError(f"{path}: line 1: no 'prompt' column (columns: {', '.join(header)})")
    models = [h for h in header if h != "prompt" and not h.endswith("_response")]
    if len(models) < 2:
        raise BenchmarkDataError(f"{path}: line 1: expected at least two model columns, found {models}")
    prompts = [r["prompt"] for _, r in records]
    rows = [[_correct(r[m], where, m) for m in models] for where, r in records]
    return prompts, models, rows


def _check_pair(models: list[str], where: str) -> None:
    for m in (STRONG, WEAK):
        if m not in models:
            raise BenchmarkDataError(f"{where}: no column for {m!r} (models: {', '.join(models)})")


# -- loaders ----------------------------------------------------------------------------------


def load_gsm8k(data_dir: str | os.PathLike[str] | None = None, *, download: bool | None = None) -> BenchmarkData:
    """GSM8K test (1,319 questions, 8-shot answers), decontaminated: 1,307 prompts."""
    root = locate("gsm8k", data_dir, download=download)
    path = root / "gsm8k" / "gsm8k_responses.csv"
    prompts, models, rows = _read_outcomes_csv(path)
    _check_pair(models, str(path))
    bad = contaminated_prompts(root, "gsm8k")
    keep = [i for i, prompt in enumerate(prompts) if prompt not in bad]
    return BenchmarkData(
        name="gsm8k",
        prompts=[prompts[i] for i in keep],
        models=models,
        scores=np.asarray([rows[i] for i in keep], dtype=np.float64).reshape(len(keep), len(models)),
        strong_model=STRONG,
        weak_model=WEAK,
        ids=[str(i) for i in keep],
        description="GSM8K test, correctness of 8-shot answers (RouteLLM outcomes), contamination removed",
        info={"root": str(root), "total": len(prompts), "contaminated_removed": len(prompts) - len(keep)},
    )


def load_mmlu(data_dir: str | os.PathLike[str] | None = None, *, download: bool | None = None) -> BenchmarkData:
    """MMLU 5-shot correctness, every ``mmlu/responses/mmlu_<domain>.csv`` present, decontaminated."""
    root = locate("mmlu", data_dir, download=download)
    files = sorted((root / "mmlu" / "responses").glob("mmlu_*.csv"))
    if not files:
        raise BenchmarkDataError(f"no mmlu_<domain>.csv files in {root / 'mmlu' / 'responses'}")
    bad = contaminated_prompts(root, "mmlu")
    prompts: list[str] = []
    ids: list[str] = []
    rows: list[list[float]] = []
    models: list[str] | None = None
    total = 0
    domains = []
    for path in files:
        domain = path.stem[len("mmlu_") :]
        domains.append(domain)
        p, m, r = _read_outcomes_csv(path)
        _check_pair(m, str(path))
        order = [m.index(STRONG), m.index(WEAK)]
        if models is None:
            models = [STRONG, WEAK]
        total += len(p)
        for i, (prompt, row) in enumerate(zip(p, r, strict=True)):
            if prompt in bad:
                continue
            prompts.append(prompt)
            ids.append(f"{domain}/{i}")
            rows.append([row[j] for j in order])
    assert models is not None
    return BenchmarkData(
        name="mmlu",
        prompts=prompts,
        models=models,
        scores=np.asarray(rows, dtype=np.float64).reshape(len(prompts), 2),
        strong_model=STRONG,
        weak_model=WEAK,
        ids=ids,
        description=f"MMLU 5-shot correctness, {len(files)} domains (RouteLLM outcomes), contamination removed",
        info={"root": str(root), "domains": domains, "total": total, "contaminated_removed": total - len(prompts)},
    )


def load_mt_bench(data_dir: str | os.PathLike[str] | None = None, *, download: bool | None = None) -> BenchmarkData:
    """MT-Bench: route on turn 1; quality = mean GPT-4 judgement (1-10) of the routed model over both turns."""
    root = locate("mt-bench", data_dir, download=download)
    qpath, jpath = root / "mt_bench" / "question.jsonl", root / "mt_bench" / "judgements.jsonl"
    questions = _jsonl(qpath)
    bad = contaminated_prompts(root, "mt_bench")
    judgements: dict[tuple[int, str, int], float] = {}
    models: list[str] = []
    for lineno, row in enumerate(_jsonl(jpath), 1):
        try:
            key = (int(row["question_id"]), str(row["model"]), int(row["turn"]))
            score = float(row["score"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkDataError(f"{jpath}: record {lineno}: needs question_id, model, turn and score ({exc})") from None
        if key in judgements:
            raise BenchmarkDataError(f"{jpath}: record {lineno}: second judgement for question {key[0]}, {key[1]}, turn {key[2]}")
        if not 1.0 <= score <= 10.0:
            raise BenchmarkDataError(f"{jpath}: record {lineno}: score {score} outside 1-10 (a failed judgement?)")
        judgements[key] = score
        if key[1] not in models:
            models.append(key[1])
    _check_pair(models, str(jpath))
    models = [STRONG, WEAK] + [m for m in models if m not in (STRONG, WEAK)]
    prompts, ids, rows, second_turns = [], [], [], []
    removed = 0
    for lineno, q in enumerate(questions, 1):
        turns = q.get("turns")
        if not (isinstance(turns, list) and len(turns) >= 2 and all(isinstance(t, str) for t in turns[:2])):
            raise BenchmarkDataError(f"{qpath}: record {lineno}: 'turns' must hold two strings")
        if turns[0] in bad or turns[1] in bad:
            removed += 1
            continue
        qid = int(q["question_id"])
        model_scores: list[float] = []
        for m in models:
            try:
                model_scores.append((judgements[(qid, m, 1)] + judgements[(qid, m, 2)]) / 2.0)
            except KeyError as exc:
                raise BenchmarkDataError(
                    f"{jpath}: no judgement for question {qid}, model {m!r}, turn {exc.args[0][2]}"
                ) from None
        prompts.append(turns[0])
        second_turns.extend(turns[1:])
        ids.append(str(qid))
        rows.append(model_scores)
    return BenchmarkData(
        name="mt-bench",
        prompts=prompts,
        models=models,
        scores=np.asarray(rows, dtype=np.float64).reshape(len(prompts), len(models)),
        strong_model=STRONG,
        weak_model=WEAK,
        ids=ids,
        description="MT-Bench, routed on turn 1, mean GPT-4 judgement of both turns (RouteLLM outcomes), contamination removed",
        info={"root": str(root), "total": len(questions), "contaminated_removed": removed},
        extra_texts=second_turns,
    )


# -- N-model benchmarks ---------------------------------------------------------------------------
#
# Both live in the training-data directory: ``<data dir>/train/<name>/`` or ``<data dir>/<name>/``, with
# the data dir found as for the other benchmarks (``--data-dir``, ``$ROUTELLM_DATA_DIR``, the user cache).
# They are not downloaded: their sources are named in the error when the files are missing.

#: subdirectory of a data dir that may hold the N-model benchmarks
TRAIN_SUBDIR = "train"
ROUTERBENCH_DIR = "routerbench-zs"
ROUTERBENCH_FILES = ("arc_challenge_test.csv", "mbpp_test.csv", "winograde_test.csv")
#: the pair a two-model router is evaluated on (as N = 2) on routerbench-zs: the RouteLLM paper's models
ROUTERBENCH_STRONG = "gpt-4-1106-preview"
ROUTERBENCH_WEAK = "mistralai/mixtral-8x7b-chat"
#: columns of the RouterBench CSVs that are not a model's correctness
ROUTERBENCH_META_COLUMNS = ("", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to")
DCROUTER_DIR = "llmrouter-dcrouter"
DCROUTER_FILE = "test.json"

#: Prices (USD per 1M input tokens, per 1M output tokens) of llmrouter-dcrouter's nine models: Together AI's
#: serverless list prices by model size (4.1B-8B: 0.20, 8.1B-21B: 0.30, 41.1B-80B: 0.90; input = output)
#: as listed in 2024, applied by each model's parameter count (in the comment). Where litellm's cost map
#: (litellm 1.108.7, read 2026-12-04) lists the same model at Together AI, it agrees: Mistral-7B-Instruct-v0.3
#: 0.20, Llama-3.1-8B 0.20, Llama-3.1-Nemotron-70B 0.88. Per-prompt cost: estimated prompt tokens x input
#: price + EXPECTED_OUTPUT_TOKENS (256) x output price.
DCROUTER_PRICES: dict[str, ModelPrice] = {
    "qwen2.5-7b-instruct": ModelPrice(0.20, 0.20),  # 7.6B
    "llama3-chatqa-1.5-8b": ModelPrice(0.20, 0.20),  # 8.0B
    "mistral-7b-instruct-v0.3": ModelPrice(0.20, 0.20),  # 7.2B
    "llama-3.1-8b-instruct": ModelPrice(0.20, 0.20),  # 8.0B
    "gemma-2-9b-it": ModelPrice(0.30, 0.30),  # 9.2B
    "codegemma-7b": ModelPrice(0.30, 0.30),  # 8.5B
    "llama-3.3-nemotron-super-49b-v1": ModelPrice(0.90, 0.90),  # 49.9B
    "llama-3.1-nemotron-51b-instruct": ModelPrice(0.90, 0.90),  # 51.5B
    "llama3-chatqa-1.5-70b": ModelPrice(0.90, 0.90),  # 70.6B
}
DCROUTER_PRICE_SOURCE = (
    "Together AI serverless list prices by model size (2024), USD per 1M tokens; "
    f"cost = estimated prompt tokens x input + {EXPECTED_OUTPUT_TOKENS} output tokens x output"
)


def locate_train_benchmark(name: str, probe: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding ``<name>/<probe>``: ``<dir>/train/<name>`` or ``<dir>/<name>`` of the first data dir that has it."""
    looked = []
    for label, base in data_dir_candidates(data_dir):
        for root in (base / TRAIN_SUBDIR / name, base / name):
            if (root / probe).is_file():
                return root
        looked.append(f"{label} {base}")
    raise BenchmarkDataError(
        f"benchmark {name!r}: data not found; looked for {TRAIN_SUBDIR}/{name}/{probe} and {name}/{probe} in: "
        + "; ".join(looked)
        + f". Pass --data-dir DIR or set ${DATA_ENV}; it is not downloaded: {_SOURCES[name]}"
    )


_SOURCES = {
    ROUTERBENCH_DIR: "RouterBench's zero-shot split as RouterDC publishes it (github.com/shuhao02/RouterDC, "
    "withmartian/routerbench), files " + ", ".join(ROUTERBENCH_FILES),
    DCROUTER_DIR: "LLMRouter's DCRouter data (github.com/ulab-uiuc/LLMRouter), file test.json",
}


def load_routerbench_zs(data_dir: str | os.PathLike[str] | None = None) -> BenchmarkData:
    """RouterBench zero-shot test split (ARC-Challenge, MBPP, Winogrande): 953 prompts, 11 models, 0/1 correctness
    and per-prompt cost in USD (``<model>|total_cost``). An empty correctness cell (a failed answer) counts as 0."""
    root = locate_train_benchmark(ROUTERBENCH_DIR, ROUTERBENCH_FILES[0], data_dir)
    missing = [f for f in ROUTERBENCH_FILES if not (root / f).is_file()]
    if missing:
        raise BenchmarkDataError(f"benchmark {ROUTERBENCH_DIR!r}: {root} lacks {', '.join(missing)}")
    prompts: list[str] = []
    ids: list[str] = []
    rows: list[list[float]] = []
    cost_rows: list[list[float]] = []
    models: list[str] | None = None
    empty = 0
    for name in ROUTERBENCH_FILES:
        path = root / name
        records = read_records(path, BenchmarkDataError, suffixes=(".csv",))
        if not records:
            raise BenchmarkDataError(f"{path} has no rows")
        header = list(records[0][1])
        file_models = [h for h in header if h not in ROUTERBENCH_META_COLUMNS and "|" not in h]
        if models is None:
            models = file_models
            if len(models) < 2:
                raise BenchmarkDataError(f"{path}: line 1: expected at least two model columns, found {models}")
        elif set(file_models) != set(models):
            raise BenchmarkDataError(f"{path}: line 1: models differ from {ROUTERBENCH_FILES[0]}'s: {', '.join(file_models)}")
        lacking = [f"{m}|total_cost" for m in models if f"{m}|total_cost" not in header]
        if "prompt" not in header or lacking:
            raise BenchmarkDataError(f"{path}: line 1: no column {(['prompt'] if 'prompt' not in header else lacking)[0]!r}")
        for where, record in records:
            row = []
            for m in models:
                value = record[m]
                if is_missing(value):
                    empty += 1
                    row.append(0.0)
                    continue
                try:
                    x = parse_score(value)
                except ValueError:
                    x = math.nan
                if not 0.0 <= x <= 1.0:
                    raise BenchmarkDataError(f"{where}, column {m!r}: expected a correctness in [0, 1], got {value[:40]!r}")
                row.append(x)
            try:
                cost_rows.append(
                    [check_cost(record[f"{m}|total_cost"], what=f"{where}, column '{m}|total_cost'") for m in models]
                )
            except ConfigError as exc:
                raise BenchmarkDataError(str(exc)) from None
            rows.append(row)
            prompts.append(record["prompt"])
            ids.append(record.get("sample_id") or f"{name}/{len(ids)}")
    assert models is not None
    scores = np.asarray(rows, dtype=np.float64)
    strong, weak = (
        (ROUTERBENCH_STRONG, ROUTERBENCH_WEAK)
        if ROUTERBENCH_STRONG in models and ROUTERBENCH_WEAK in models
        else nmodel_default_pair(models, scores, np.asarray(cost_rows))
    )
    return BenchmarkData(
        name=ROUTERBENCH_DIR,
        prompts=prompts,
        models=models,
        scores=scores,
        strong_model=strong,
        weak_model=weak,
        ids=ids,
        description="RouterBench zero-shot test split (ARC-Challenge, MBPP, Winogrande): 11 models, correctness, USD per prompt",
        info={"root": str(root), "files": list(ROUTERBENCH_FILES), "empty_scores_as_0": empty},
        costs=np.asarray(cost_rows, dtype=np.float64),
    )


def load_llmrouter_dcrouter(data_dir: str | os.PathLike[str] | None = None) -> BenchmarkData:
    """LLMRouter's DCRouter test set: 500 prompts, 9 open models, scores 0..1; per-prompt costs from
    :data:`DCROUTER_PRICES` (estimated prompt tokens, :data:`EXPECTED_OUTPUT_TOKENS` output tokens)."""
    root = locate_train_benchmark(DCROUTER_DIR, DCROUTER_FILE, data_dir)
    path = root / DCROUTER_FILE
    records = parse_records(read_text(path, BenchmarkDataError, what="benchmark file"), str(path), ".json", BenchmarkDataError)
    if not records:
        raise BenchmarkDataError(f"{path} has no records")
    prompts: list[str] = []
    rows: list[list[float]] = []
    models: list[str] | None = None
    for where, record in records:
        question = record.get("question") if isinstance(record, dict) else None
        scores = record.get("scores") if isinstance(record, dict) else None
        if not isinstance(question, str) or not isinstance(scores, dict):
            raise BenchmarkDataError(f"{where}: expected {{'question': str, 'scores': {{model: score}}}}")
        if models is None:
            models = list(scores)
            unpriced = [m for m in models if m not in DCROUTER_PRICES]
            if unpriced:
                raise BenchmarkDataError(f"{where}: model {unpriced[0]!r} has no price in DCROUTER_PRICES")
        elif set(scores) != set(models):
            raise BenchmarkDataError(f"{where}: the models in 'scores' differ from the first record's")
        row = []
        for m in models:
            try:
                x = parse_score(scores[m])
            except ValueError:
                x = math.nan
            if not 0.0 <= x <= 1.0:
                raise BenchmarkDataError(f"{where}, scores.{m}: expected a score in [0, 1], got {scores[m]!r}")
            row.append(x)
        rows.append(row)
        prompts.append(question)
    assert models is not None
    scores_matrix = np.asarray(rows, dtype=np.float64)
    costs = prompt_costs(prompts, models, DCROUTER_PRICES)
    strong, weak = nmodel_default_pair(models, scores_matrix, costs)
    return BenchmarkData(
        name=DCROUTER_DIR,
        prompts=prompts,
        models=models,
        scores=scores_matrix,
        strong_model=strong,
        weak_model=weak,
        ids=[str(i) for i in range(len(prompts))],
        description="LLMRouter DCRouter test set: 9 open models, scores 0..1, costs from a price table",
        info={"root": str(root), "prices": DCROUTER_PRICE_SOURCE, "output_tokens": EXPECTED_OUTPUT_TOKENS},
        costs=costs,
    )


@hookimpl
def routellm_register_benchmarks(register: RegisterBenchmark) -> None:
    register("mt-bench", load_mt_bench, description="MT-Bench (80 questions, 2 turns), GPT-4 judge scores 1-10; routes on turn 1")
    register("mmlu", load_mmlu, description="MMLU 5-shot correctness (whatever domain files are present)")
    register("gsm8k", load_gsm8k, description="GSM8K test correctness (8-shot)")
    register(
        ROUTERBENCH_DIR,
        load_routerbench_zs,
        description="N-model: RouterBench zero-shot test (953 prompts, 11 models, correctness, USD per prompt)",
    )
    register(
        DCROUTER_DIR,
        load_llmrouter_dcrouter,
        description="N-model: LLMRouter DCRouter test (500 prompts, 9 open models, scores 0..1, costs from a price table)",
    )
