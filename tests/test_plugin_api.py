"""The plugin API as documented: register signatures (docs vs code), settings validation, import weight."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field, SecretStr, model_validator

from routellm_core import hookspecs
from routellm_core.config import PluginConfig, validate_settings
from routellm_core.default_plugins.length_router import LengthConfig, LengthRouter
from routellm_core.default_plugins.litellm_embedder import LiteLLMEmbedder, LiteLLMEmbedderConfig
from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter
from routellm_core.errors import ConfigError, PluginError
from routellm_core.lookups import get_embedder
from routellm_core.plugins import _HOOK_FOR_KIND, KINDS, PluginRegistry, get_registry
from routellm_core.testing import check_config_model

PLUGINS_DOC = Path(__file__).resolve().parents[1] / "docs" / "PLUGINS.md"
_NO_DEFAULT = "<required>"


def _documented_signature(hook) -> str:
    """The ``register(...)`` signature written in a hookspec's docstring."""
    found = re.findall(r"``(register\(.*?\))``", inspect.getdoc(hook) or "")
    assert len(found) == 1, f"{hook.__name__}: the docstring must show the register signature once, found {found}"
    return found[0]


def _shape_of_text(text: str) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter of a signature written as Python source."""
    args = ast.parse(f"def {text}: pass").body[0].args  # type: ignore[attr-defined]
    positional = args.posonlyargs + args.args
    defaults = [_NO_DEFAULT] * (len(positional) - len(args.defaults)) + [ast.literal_eval(d) for d in args.defaults]
    shape = [(a.arg, "POSITIONAL_OR_KEYWORD", d) for a, d in zip(positional, defaults, strict=True)]
    shape += [
        (a.arg, "KEYWORD_ONLY", _NO_DEFAULT if d is None else ast.literal_eval(d))
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    assert args.vararg is None and args.kwarg is None, f"{text}: register takes no *args or **kwargs"
    return shape


def _shape_of(signature: inspect.Signature) -> list[tuple[str, str, object]]:
    return [(p.name, p.kind.name, _NO_DEFAULT if p.default is p.empty else p.default) for p in signature.parameters.values()]


def _protocol_signature(hook) -> inspect.Signature:
    annotation = inspect.signature(hook).parameters["register"].annotation
    protocol = getattr(hookspecs, annotation)
    signature = inspect.signature(protocol.__call__)
    return signature.replace(parameters=list(signature.parameters.values())[1:])  # without self


@pytest.mark.parametrize("kind", KINDS)
def test_documented_register_signature_is_the_code(kind):
    hook = getattr(hookspecs, _HOOK_FOR_KIND[kind])
    protocol = _protocol_signature(hook)
    implemented = inspect.signature(PluginRegistry().registrars("a-plugin", "a-distribution")[kind])
    # the protocol a plugin's type checker sees is exactly what the registry implements (annotations included)
    assert implemented == protocol
    # the signature written in the hook's docstring is the protocol's: names, order, keyword-only, defaults
    documented = _documented_signature(hook)
    assert _shape_of_text(documented) == _shape_of(protocol), documented
    # and the plugin guide shows it verbatim
    assert documented in PLUGINS_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_register_protocols_are_documented(kind):
    hook = getattr(hookspecs, _HOOK_FOR_KIND[kind])
    protocol = getattr(hookspecs, inspect.signature(hook).parameters["register"].annotation)
    assert inspect.getdoc(protocol.__call__)


def test_register_rejects_what_it_does_not_document():
    registrars = PluginRegistry().registrars("p", "d")
    with pytest.raises(TypeError, match="validate"):
        registrars["routers"]("r", RandomRouter, validate=lambda kw: None)
    with pytest.raises(TypeError, match="factory"):
        registrars["trainers"]("t", factory=print, add_arguments=print)
    with pytest.raises(TypeError):
        registrars["routers"]("r", RandomRouter, RandomConfig)  # config is keyword-only
    with pytest.raises(PluginError, match="config must be a PluginConfig subclass"):
        registrars["routers"]("r", RandomRouter, config=dict)
    with pytest.raises(PluginError, match="run must be callable"):
        registrars["trainers"]("t", add_arguments=print, run="train.py")
    with pytest.raises(PluginError, match="names must be non-empty strings"):
        registrars["benchmarks"]("", print)


# -- settings validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, name, settings, message",
    [
        ("routers", "random", {"sede": 1}, "unknown key 'sede'; accepted keys: seed$"),
        ("routers", "random", {"seed": 1.0}, r"seed: Input should be a valid integer \(got 1.0\)"),
        ("routers", "random", {"seed": "7"}, r"seed: Input should be a valid integer \(got '7'\)"),
        ("routers", "random", {"seed": 2**127}, "seed: Input should be less than"),
        ("routers", "length", {"scale": -1.5}, r"scale: Input should be greater than 0 \(got -1.5\)"),
        ("routers", "length", {"scale": float("nan")}, "scale: Input should be a finite number"),
        ("routers", "length", {"scale": None}, "scale: Input should be a valid number"),
        ("routers", "length", {"scale": 1, "seed": 2, "sede": 3}, "unknown key 'seed'; unknown key 'sede'; accepted keys: scale"),
        ("embedders", "litellm", {"model": ""}, "model: String should have at least 1 character"),
        ("embedders", "litellm", {"timeout": 0}, r"timeout: Input should be greater than 0 \(got 0\)"),
        ("embedders", "litellm", {"batch_size": "8"}, "batch_size: Input should be a valid integer"),
        ("embedders", "litellm", {"dimensions": 0}, "accepted keys: model, dimensions, batch_size, timeout, and others"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_key(kind, name, settings, message):
    with pytest.raises(ConfigError, match=f"invalid config for {kind[:-1]} '{name}': .*{message}"):
        get_registry().validated_settings(kind, name, settings)


def test_valid_settings_fill_defaults_and_pass_extra_keys_on():
    registry = get_registry()
    assert registry.validated_settings("routers", "random", None) == {"seed": 0}
    assert registry.validated_settings("routers", "length", {"scale": 5}) == {"scale": 5.0}
    assert registry.validated_settings("embedders", "litellm", {"api_base": "http://localhost:1"}) == {
        "model": "text-embedding-3-small",
        "dimensions": None,
        "batch_size": 256,
        "timeout": 60.0,
        "api_base": "http://localhost:1",
    }


def test_embedder_settings_are_validated_before_the_embedder_is_built():
    with pytest.raises(
        ConfigError, match="invalid config for embedder 'litellm': unknown|timeout: Input should be a valid number"
    ):
        get_embedder("litellm", timeout="soon")
    embedder = get_embedder("litellm", model="openai/text-embedding-3-large", api_base="http://localhost:1")
    assert isinstance(embedder, LiteLLMEmbedder) and embedder.extra == {"api_base": "http://localhost:1"}
    assert embedder.dimension == 3072


def test_config_errors_never_echo_secrets_and_shorten_long_values():
    class Remote(PluginConfig):
        api_key: SecretStr = Field(min_length=40)
        prompt: str = Field("", max_length=3)

    with pytest.raises(ConfigError) as err:
        validate_settings(Remote, {"api_key": "sk-short-but-secret", "prompt": "x" * 500}, what="router 'remote'")
    message = str(err.value)
    assert "api_key: Value should have at least 40 items" in message and "sk-short" not in message
    assert "prompt: String should have at most 3 characters (got 'xxx" in message and len(message) < 400


def test_cross_field_checks_are_reported_without_a_key():
    class Ordered(PluginConfig):
        low: int = 0
        high: int = 1

        @model_validator(mode="after")
        def _ordered(self):
            if self.low >= self.high:
                raise ValueError("low must be below high")
            return self

    with pytest.raises(ConfigError, match="invalid config for router 'o': low must be below high; accepted keys: low, high$"):
        validate_settings(Ordered, {"low": 3, "high": 2}, what="router 'o'")


@pytest.mark.parametrize(
    "config, factory",
    [(RandomConfig, RandomRouter), (LengthConfig, LengthRouter), (LiteLLMEmbedderConfig, LiteLLMEmbedder)],
)
def test_builtin_factories_take_their_settings_model(config, factory):
    check_config_model(config, factory)


def test_check_config_model_catches_a_factory_that_lists_settings_again():
    class Seeded(PluginConfig):
        seed: int = 0

    def by_keywords(seed: int = 0) -> RandomRouter:
        return RandomRouter(RandomConfig(seed=seed))

    with pytest.raises(AssertionError, match="first parameter 'seed' is 'int', not the settings model Seeded"):
        check_config_model(Seeded, by_keywords)

    def with_extras(config: Seeded, **settings: object) -> RandomRouter:
        return RandomRouter()

    with pytest.raises(AssertionError, match=r"takes \*\*kwargs: settings go through Seeded"):
        check_config_model(Seeded, with_extras)
    check_config_model(RandomConfig, RandomRouter)


def test_factories_receive_the_validated_model():
    received = []

    def factory(config: RandomConfig) -> RandomRouter:
        received.append(config)
        return RandomRouter(config)

    registry = PluginRegistry()
    registry.registrars("p", "d")["routers"]("seeded", factory, config=RandomConfig)
    router = registry.create_router("seeded", {"seed": 5})
    assert received == [RandomConfig(seed=5)] and router.seed == 5


def test_built_routers_are_unchanged_by_validation():
    router = get_registry().create_router("length", {"scale": 5})
    assert router.describe() == {"router": "length", "scale": 5.0} and router.name == "length"


# -- weight of the plugin layer ---------------------------------------------------------------------


def test_plugins_command_and_core_import_stay_free_of_heavy_libraries():
    code = (
        "import sys, io, contextlib\n"
        "import routellm_core\n"
        "light = sorted(m for m in ('torch', 'transformers', 'onnxruntime', 'litellm', 'pydantic') if m in sys.modules)\n"
        "from routellm_core.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plugins'])\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'onnxruntime', 'litellm') if m in sys.modules)\n"
        "print(light, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_lazy_imports_its_module_only_when_called():
    code = (
        "import sys\n"
        "from routellm_core.hookspecs import lazy\n"
        "parse = lazy('xml.dom.minidom:parseString')\n"
        "before = 'xml.dom.minidom' in sys.modules\n"
        "print(before, parse.__name__, parse('<a/>').documentElement.tagName, 'xml.dom.minidom' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "parseString", "a", "True"]
    with pytest.raises(ValueError, match="package.module:attribute"):
        hookspecs.lazy("routellm_core.hookspecs")


def test_plugins_json_shows_settings_schemas(capsys):
    from routellm_core.cli import main

    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {(r["kind"], r["name"]): r for r in data["registrations"]}
    random = by_name[("routers", "random")]
    assert random["plugin"] == "random_router" and random["distribution"] == "routellm-core"
    assert random["settings_schema"]["properties"]["seed"]["default"] == 0
    assert random["settings_schema"]["additionalProperties"] is False
    assert by_name[("benchmarks", "mmlu")]["settings_schema"] is None
