"""docs/LITELLM.md, run as written: its commands, files and client code, read from the markdown itself.

The guide's code blocks are taken from the document in order (so the guide and this test cannot drift):

- a ``yaml`` block whose first line is ``# <name>.yaml`` is a file of the guide: it is written, byte for
  byte, into the working directory; other ``yaml`` blocks are fragments of the proxy config, checked
  with the hook's own settings parser;
- each command of a ``bash`` block is run as written, by its kind: ``export`` lines are evaluated by
  bash; ``routellm ...`` is run; ``litellm ...`` starts the real proxy (on a free port in place of the
  guide's ``--port``); ``pytest ...`` collects (``--collect-only``) the tests it names; ``pip install``
  lines are checked for what they install (every path exists and is a distribution, and together
  they name every distribution the guide's proxy config needs: the core, the hook, each router's
  plugin and the plugins those depend on) rather than re-run. Any other command fails the test;
- each ``python`` block is executed (with the proxy's free port in place of the guide's) and its
  output kept.

Stand-ins: the providers' models are ``routellm_core.testing.EchoUpstream`` on loopback, reached
through ``OPENAI_BASE_URL`` (which litellm's ``openai/`` provider reads), so the guide's proxy.yaml is
used unchanged; a self-hosted model at the guide's ``127.0.0.1:8080`` is the same echo server (its
address put in place of that one). The echo answers ``[<model>] <prompt>``, naming the deployment that
answered. The guide's ``prompts.jsonl`` (the user's own prompts) is the list below.

The N-model section needs its router (``mf``) to predict quality for the model names its config gives
(mf's N-model checkpoint); without that its blocks are not run and its test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from routellm_core.testing import EchoUpstream, ServeError, ServerProcess, free_port

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "LITELLM.md"
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 240.0  # seconds: importing the proxy alone takes ~15 s of CPU
N_MODEL_SECTION = "N-model routing: choose among your model groups"
#: the guide's address of a self-hosted model, served by the echo server in the test
SELF_HOSTED = "127.0.0.1:8080"
#: the user's prompts for ``routellm calibrate --prompts prompts.jsonl``: easy and hard ones
PROMPTS = [
    "hi",
    "Hello, how are you?",
    "What is the capital of France?",
    "Translate 'good morning' into Spanish.",
    "Tell me a joke about cats.",
    "What's 2+2?",
    "Write a haiku about autumn.",
    "Give me a synonym for happy.",
    "Prove that sqrt(2) is irrational.",
    "Write a Python function that returns the n-th Fibonacci number in O(log n) time, with tests.",
    "Explain the difference between TCP and UDP, with examples of when to use each.",
    "Derive the closed form of the sum of the first n squares and prove it by induction.",
    "Implement a thread-safe LRU cache in C++ with O(1) get and put.",
    "Design a database schema for a multi-tenant SaaS billing system and explain the trade-offs.",
    "Write a SQL query that finds the second highest salary per department.",
    "Summarise the causes of the First World War in three paragraphs.",
]


@dataclass(frozen=True)
class Block:
    section: str  # the "## " heading it is under
    lang: str
    text: str


def guide_blocks(text: str) -> list[Block]:
    """The fenced code blocks of the guide, in order, with the section each is in."""
    blocks, section, lang, lines = [], "", None, []
    for line in text.splitlines():
        if lang is None and line.startswith("## "):
            section = line[3:].strip()
        elif lang is None and line.startswith("```"):
            lang, lines = line[3:].strip(), []
        elif lang is not None and line.startswith("```"):
            blocks.append(Block(section, lang, "\n".join(lines) + "\n"))
            lang = None
        elif lang is not None:
            lines.append(line)
    assert lang is None, "an unclosed code block in the guide"
    return blocks


def commands(script: str) -> list[str]:
    """The commands of a bash block, one per line (backslash continuations joined, blank and comment lines dropped)."""
    out: list[str] = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line.strip())
    return out


def file_name(block: Block) -> str | None:
    """``proxy.yaml`` for a yaml block that starts with ``# proxy.yaml``."""
    match = re.match(r"# ([\w.-]+\.ya?ml)\s*(?::|$)", block.text.splitlines()[0]) if block.lang == "yaml" else None
    return match.group(1) if match else None


# -- what the install lines must name ---------------------------------------------------------------------


def _project(path: Path) -> dict:
    return tomllib.loads((path / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def local_distributions() -> dict[str, Path]:
    """Distribution name -> directory, for the core and every plugin in this repository."""
    found = {_project(ROOT)["name"]: ROOT}
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        found[_project(pyproject.parent)["name"]] = pyproject.parent
    return found


def with_local_dependencies(names: set[str]) -> set[str]:
    """``names`` and, recursively, the distributions of this repository they depend on."""
    local = local_distributions()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in local:
            todo += [d for d in map(_name, _project(local[name]).get("dependencies", [])) if d in local]
    return seen


def router_distributions(routers: list[str]) -> set[str]:
    """The distribution that registers each router, from ``routellm plugins --json``."""
    listing = subprocess.run(
        [str(BIN / "routellm"), "plugins", "--json"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    registered = {r["name"]: r["distribution"] for r in json.loads(listing)["registrations"] if r["kind"] == "routers"}
    missing = [r for r in routers if r not in registered]
    assert not missing, f"routers of the guide that no installed plugin registers: {missing}"
    return {registered[r] for r in routers}


def installed_by(command: str) -> set[str]:
    """The distributions a guide's ``pip install`` line installs from this repository (paths checked)."""
    tokens = shlex.split(command, comments=True)
    assert tokens[:2] == ["pip", "install"], command
    names = set()
    for token in tokens[2:]:
        if token.startswith("-"):
            continue
        path, _, extras = token.partition("[")
        directory = (ROOT / path).resolve()
        assert (directory / "pyproject.toml").is_file(), f"{command!r}: {path!r} is not a distribution of this repository"
        project = _project(directory)
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in project.get("optional-dependencies", {}), f"{command!r}: {project['name']} has no extra {extra!r}"
        names.add(project["name"])
    return names


# -- running the guide ----------------------------------------------------------------------------------


@dataclass
class GuideRun:
    """Runs the guide's blocks in order in ``workdir``, with the environment the guide's commands build up."""

    workdir: Path
    env: dict[str, str]
    upstream_url: str
    proxies: list[ServerProcess] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)  # the guide's port -> the free port used instead
    outputs: dict[str, list[str]] = field(default_factory=dict)  # section -> output of each python block
    installs: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # every command, as written in the guide
    n_model_skipped: str | None = None  # why the N-model section was not run

    def run(self, blocks: list[Block]) -> None:
        for block in blocks:
            name = file_name(block)
            if name:
                (self.workdir / name).write_text(block.text.replace(SELF_HOSTED, self.upstream_url.split("/")[2]))
            elif block.lang == "yaml":
                self.check_fragment(block)
            elif block.lang == "bash":
                for command in commands(block.text):
                    self.ran.append(command)
                    self.command(command)
            elif block.lang == "python":
                self.outputs.setdefault(block.section, []).append(self.python(block.text))

    def command(self, command: str) -> None:
        tokens = shlex.split(command, comments=True)
        assignments = {}
        while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
            key, _, value = tokens.pop(0).partition("=")
            assignments[key] = value
        program = tokens[0]
        if program == "export":
            self.export(command)
        elif program == "pip":
            self.installs.append(command)
        elif program == "routellm":
            result = self.shell(tokens, assignments, timeout=300)
            assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
            self.outputs.setdefault(command, []).append(result.stdout)
        elif program == "pytest":
            result = self.shell([*tokens, "--collect-only", "-q", "-p", "no:cacheprovider"], assignments, cwd=ROOT, timeout=300)
            assert result.returncode == 0, f"{command!r} does not collect:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            assert re.search(r"\d+ tests? collected", result.stdout), result.stdout[-2000:]
        elif program == "litellm":
            self.start_proxy(tokens, assignments)
        else:
            pytest.fail(f"the guide has a command this test does not know how to run: {command!r}")

    def export(self, command: str) -> None:
        names = re.findall(r"\bexport\s+([A-Za-z_][A-Za-z0-9_]*)=", command)
        script = command + "\n" + "".join(f'printf "%s\\0" "${{{n}}}"\n' for n in names)
        result = subprocess.run(["bash", "-c", script], env=self.env, capture_output=True, text=True, timeout=60, check=True)
        values = result.stdout.split("\0")[: len(names)]
        assert len(values) == len(names) and all(values), f"{command!r} exported {values!r}"
        self.env.update(zip(names, values, strict=True))

    def shell(self, tokens: list[str], assignments: dict[str, str], *, cwd: Path | None = None, timeout: float):
        executable = BIN / tokens[0]
        argv = [str(executable) if executable.exists() else tokens[0], *tokens[1:]]
        return subprocess.run(
            argv, cwd=cwd or self.workdir, env={**self.env, **assignments}, capture_output=True, text=True, timeout=timeout
        )

    def start_proxy(self, tokens: list[str], assignments: dict[str, str]) -> None:
        for proxy in self.proxies:
            proxy.stop()
        argv = [str(BIN / "litellm"), *tokens[1:]]
        assert "--port" in argv, "the guide's litellm command gives --port"
        i = argv.index("--port") + 1
        port = self.ports.setdefault(argv[i], free_port())
        argv[i] = str(port)
        assert argv[argv.index("--host") + 1] == "127.0.0.1", "the guide starts the proxy on loopback"
        process = ServerProcess(
            argv,
            port=port,
            ready_path="/health/liveliness",
            env={**self.env, **assignments},
            cwd=self.workdir,
            log=self.workdir / f"proxy-{len(self.proxies)}.log",
            ready_timeout=STARTUP_TIMEOUT,
            poll_interval=0.25,
            stop_timeout=20,
            what="the litellm proxy",
        )
        self.proxies.append(process)
        try:
            process.start()
        except ServeError as exc:
            pytest.fail(str(exc))

    def python(self, code: str) -> str:
        for theirs, ours in self.ports.items():
            code = code.replace(f"127.0.0.1:{theirs}", f"127.0.0.1:{ours}")
        out = io.StringIO()
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, str(GUIDE), "exec"), {"__name__": "__guide__"})
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return out.getvalue()

    def check_fragment(self, block: Block) -> None:
        from routellm_litellm.settings import parse_settings

        data = yaml.safe_load(block.text)
        assert isinstance(data, dict) and "callback_settings" in data, f"a yaml block of the guide that is no file:\n{block.text}"
        cwd = Path.cwd()
        os.chdir(self.workdir)  # its relative config path is read from the proxy's working directory
        try:
            parse_settings(data["callback_settings"]["routellm"])
        finally:
            os.chdir(cwd)

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.stop()


def _missing() -> list[str]:
    need = ["litellm", "fastapi", "apscheduler", "backoff", "litellm_proxy_extras", "openai", "routellm_litellm", "routellm_mf"]
    missing = [m for m in need if importlib.util.find_spec(m) is None]
    if not (BIN / "litellm").exists():
        missing.append("the litellm console script")
    return missing


MISSING = _missing()
needs_proxy = pytest.mark.skipif(bool(MISSING), reason=f"the guide needs: {', '.join(MISSING)}")


def n_model_blocked(blocks: list[Block]) -> str | None:
    """Why the N-model section cannot run here (None: it can): mf must predict for its model_groups' names."""
    (config,) = [b for b in blocks if b.section == N_MODEL_SECTION and file_name(b)]
    settings = yaml.safe_load(config.text)["callback_settings"]["routellm"]
    names = [g.get("name", g["group"]) if isinstance(g, dict) else g for g in settings["model_groups"]]
    from routellm_core.errors import RoutellmError
    from routellm_core.plugins import get_registry

    router_name = settings["routers"][0]
    try:
        router = get_registry().create_router(router_name)
        for name in names:
            router.resolve_quality_model(name)
    except (RoutellmError, AttributeError) as exc:
        return f"{router_name} cannot predict quality for the N-model example's names here: {exc}"
    return None


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("litellm-guide")
    (workdir / "prompts.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    with EchoUpstream() as upstream:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "OPENAI_BASE_URL": upstream.base_url,  # the provider: litellm's openai/ models call it
            "NO_PROXY": "127.0.0.1,localhost",
            "LITELLM_TELEMETRY_DISABLED": "True",
            "ROUTELLM_CACHE_DIR": str(workdir / "cache"),  # routellm.yaml turns mf's embedding cache on
        }
        env.pop("LITELLM_MASTER_KEY", None)  # the guide sets it
        env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
        run = GuideRun(workdir=workdir, env=env, upstream_url=upstream.base_url)
        blocks = guide_blocks(GUIDE.read_text())
        run.n_model_skipped = n_model_blocked(blocks)
        if run.n_model_skipped:
            blocks = [b for b in blocks if b.section != N_MODEL_SECTION]
        try:
            run.run(blocks)
            yield run
        finally:
            run.stop()


def mf_scores(prompts: list[str]) -> list[float]:
    from routellm_core.plugins import get_registry

    return [float(s) for s in get_registry().create_router("mf").score(prompts)]


@needs_proxy
def test_quick_start_runs_as_written(guide_run):
    ran = " ".join(guide_run.ran)
    for kind in ("pip install", "routellm calibrate", "export LITELLM_MASTER_KEY", "litellm --config"):
        assert kind in ran, f"the quick start has no {kind!r} command"
    (calibrated,) = [out for command, out in guide_run.outputs.items() if command.startswith("routellm calibrate")]
    assert re.search(r"model name: router-mf-0\.\d+", calibrated[0]), calibrated[0]

    (output,) = guide_run.outputs["Quick start"]
    lines = output.splitlines()
    assert len(lines) == 5, output
    easy, hard = "hi", "Write a SQL query that finds the second highest salary per department."
    threshold = float(re.search(r'model="router-mf-([0-9.]+)"', GUIDE.read_text()).group(1))
    for (group_line, answer), prompt, score in zip([lines[0:2], lines[2:4]], [easy, hard], mf_scores([easy, hard]), strict=True):
        group, header_score = group_line.split()
        assert float(header_score) == pytest.approx(score)
        assert group == ("strong" if score >= threshold else "weak")
        assert answer == f"[{'gpt-4o' if group == 'strong' else 'gpt-4o-mini'}] {prompt}"
    assert lines[1].startswith("[gpt-4o-mini]") and lines[3].startswith("[gpt-4o]"), "the guide's prompts go both ways"
    # smart is router-mf-0.53 by proxy.yaml: "hi" streams from the weak group
    assert lines[4] == "[gpt-4o-mini] hi"


@needs_proxy
def test_proxy_without_the_routellm_config_file_stops_with_one_line(guide_run):
    """The guide says a missing ``config`` file stops the proxy at start with one line saying so."""
    moved = guide_run.workdir / "routellm.yaml.away"
    (guide_run.workdir / "routellm.yaml").rename(moved)
    try:
        result = subprocess.run(
            [str(BIN / "litellm"), "--config", "proxy.yaml", "--host", "127.0.0.1", "--port", str(free_port())],
            cwd=guide_run.workdir,
            env=guide_run.env,
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
        )
    finally:
        moved.rename(guide_run.workdir / "routellm.yaml")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    (line,) = [x for x in output.splitlines() if "routellm: " in x]
    assert "callback_settings.routellm.config: routellm config file 'routellm.yaml' not found" in line


def test_install_lines_name_every_distribution_the_guide_needs():
    """Checked, not re-run: each path of the guide's install lines is a distribution of this repository, and the
    quick start's line installs the core, the hook, the plugin of every router its proxy.yaml lists and the
    plugins those depend on (mf needs routellm-minilm)."""
    blocks = guide_blocks(GUIDE.read_text())
    quick = [c for b in blocks if b.section == "Quick start" and b.lang == "bash" for c in commands(b.text)]
    installs = [c for c in quick if c.startswith("pip install")]
    assert installs, "the quick start has no install line"
    installed = set().union(*(installed_by(c) for c in installs))
    for block in blocks:  # the other install lines of the guide name real paths and extras too
        for command in commands(block.text) if block.lang == "bash" else []:
            if command.startswith("pip install"):
                installed_by(command)
    (proxy,) = [b for b in blocks if b.section == "Quick start" and file_name(b) == "proxy.yaml"]
    config = yaml.safe_load(proxy.text)
    routers = config["callback_settings"]["routellm"]["routers"]
    assert "routellm_litellm.hook" in config["litellm_settings"]["callbacks"]
    needed = with_local_dependencies({"routellm-core", "routellm-litellm", *router_distributions(routers)})
    assert "routellm-minilm" in needed  # what the old guide forgot
    assert needed <= installed, f"the install line misses {sorted(needed - installed)}"


def test_the_example_threshold_splits_real_traffic():
    """The guide's threshold sends some of a mix of easy and hard prompts to each group with the shipped mf
    (a threshold far from mf's scores would send all of them to one group)."""
    pytest.importorskip("routellm_mf")
    text = GUIDE.read_text()
    thresholds = {float(t) for t in re.findall(r"router-mf-(0\.\d+)", text)}
    assert thresholds, "the guide routes with no router-mf-<threshold>"
    scores = mf_scores(PROMPTS)
    for threshold in thresholds:
        strong = sum(s >= threshold for s in scores) / len(scores)
        assert 0.0 < strong < 1.0, f"router-mf-{threshold}: {strong:.0%} of the prompts go to the strong group"


@needs_proxy
def test_n_model_section_runs_as_written(guide_run):
    """The N-model example: each name is routed to the group routellm's rule picks from mf's predictions and the
    groups' prices (litellm's cost map for the OpenAI groups, the settings' for the self-hosted one)."""
    if guide_run.n_model_skipped:
        pytest.skip(guide_run.n_model_skipped)
    from routellm_core.model_choice import ModelPrice, cheapest_at_least, choose, litellm_price
    from routellm_core.model_set import request_input_tokens
    from routellm_core.plugins import get_registry

    blocks = guide_blocks(GUIDE.read_text())
    (config,) = [b for b in blocks if b.section == N_MODEL_SECTION and file_name(b)]
    data = yaml.safe_load(config.text)
    settings = data["callback_settings"]["routellm"]
    deployments = {d["model_name"]: d["litellm_params"]["model"] for d in data["model_list"]}
    groups = [g["group"] for g in settings["model_groups"]]
    names = [g.get("name", g["group"]) for g in settings["model_groups"]]
    prices = [
        ModelPrice(**{f"{k}_per_million": v for k, v in g["price"].items()})
        if "price" in g
        else litellm_price(deployments[g["group"]])
        for g in settings["model_groups"]
    ]
    named = {k: v if isinstance(v, str) else f"router-{v['router']}-q{v['min_quality']}" for k, v in settings["models"].items()}
    (output,) = guide_run.outputs[N_MODEL_SECTION]
    lines = [line.split() for line in output.splitlines()]
    assert len(lines) == 4, output
    prompt = re.search(
        r'prompt = "(.*)"', [b for b in blocks if b.section == N_MODEL_SECTION and b.lang == "python"][0].text
    ).group(1)
    quality = get_registry().create_router(settings["routers"][0]).predict_quality([prompt], names)[0]
    tokens = request_input_tokens([{"role": "user", "content": prompt}])
    costs = [p.cost(tokens, settings.get("expected_output_tokens", 256)) for p in prices]
    for model, group, name, q, cost in lines:
        route = named.get(model, model)
        value = route.rsplit("-", 1)[1]
        i = cheapest_at_least(quality, costs, float(value[1:])) if value.startswith("q") else choose(quality, costs, float(value))
        assert (group, name) == (groups[i], names[i]), f"{model}: {group} answered"
        assert float(q) == pytest.approx(quality[i]) and float(cost) == pytest.approx(costs[i])
    assert lines[0][1] == groups[int(max(range(len(groups)), key=lambda j: (quality[j], -costs[j])))]  # w = 0: the best
    assert lines[2][1] == groups[min(range(len(groups)), key=lambda j: (costs[j], -quality[j]))]  # w = 1: the cheapest
