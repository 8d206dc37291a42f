"""The LiteLLM proxy pre-call hook that routes ``router-<router>-<threshold>`` requests.

The hook scores the request with a routellm router (in a worker thread, so the
proxy's event loop keeps serving) and rewrites ``data["model"]`` to the strong or
weak model group before the proxy picks a deployment. Everything after that,
load balancing, retries, fallbacks, budgets and logging, is LiteLLM's own.

With ``model_groups`` in the settings (N-model routing), ``router-<router>-<w>``
picks one of N model groups instead: the router predicts each group's quality,
each group's price gives the request's expected cost, and the cost knob ``w``
trades one for the other (``routellm_core``'s Controller with a models list).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeGuard

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import ProxyException, UserAPIKeyAuth

from routellm_core.plugin_api import KNOB, MODEL_PREFIX, Controller, Decision, RoutingError

from .settings import RouterSettings

if TYPE_CHECKING:
    from litellm.caching.dual_cache import DualCache
    from litellm.types.utils import CallTypesLiteral

#: call types the hook routes: the proxy's /chat/completions
CHAT_CALL_TYPES = frozenset({"completion", "acompletion"})
#: request metadata key and response header prefix that carry the routing decision
METADATA_KEY = "routellm"
HEADER_PREFIX = "x-routellm-"


class RoutingRecord(dict[str, Any]):
    """The decision, as logged in the request's metadata; its type tells it from client-sent metadata."""


class RoutellmHook(CustomLogger):
    """Routes chat completions for routed model names to the strong or weak model group, or among N groups.

    A routed model name is ``router-<router>-<threshold>`` (with model groups: ``router-<router>-<w>`` or
    ``router-<router>-q<level>``) or a name listed under ``models`` in the settings; any other request
    passes through untouched.
    """

    def __init__(self, settings: RouterSettings, controller: Controller | None = None) -> None:
        super().__init__()
        self.settings = settings
        if controller is not None:
            self.controller = controller
        elif settings.n_model:
            self.controller = Controller(
                routers=list(settings.routers),
                models={
                    "models": [group.models_entry() for group in settings.groups],
                    "expected_output_tokens": settings.expected_output_tokens,
                },
                config=dict(settings.config),
                routing_policy=settings.routing_policy,
            )
        else:
            self.controller = Controller(
                routers=list(settings.routers),
                strong_model=settings.strong_model,
                weak_model=settings.weak_model,
                config=dict(settings.config),
                routing_policy=settings.routing_policy,
            )

    def is_routed(self, model: object) -> TypeGuard[str]:
        return isinstance(model, str) and (model in self.settings.named_models or model.startswith(MODEL_PREFIX))

    def decide(self, messages: Any, model: str, max_tokens: Any = None) -> Decision:
        """Score a request and pick the model group (blocking: the router scores here)."""
        if self.settings.n_model:
            return self.controller.decide(messages, self.settings.routes.get(model, model), max_tokens=max_tokens)
        if model in self.settings.models:
            router, threshold = self.settings.models[model]
            return self.controller.decide(messages, router=router, threshold=threshold)
        return self.controller.decide(messages, model)

    async def async_pre_call_hook(
        self, user_api_key_dict: UserAPIKeyAuth, cache: DualCache, data: dict[str, Any], call_type: CallTypesLiteral
    ) -> dict[str, Any]:
        model = data.get("model")
        if not self.is_routed(model):
            return data
        if call_type not in CHAT_CALL_TYPES:
            raise _bad_request(f"model {model!r} is routed by routellm, which routes chat completions only, not {call_type}")
        max_tokens = data.get("max_tokens")
        if max_tokens is None:
            max_tokens = data.get("max_completion_tokens")
        try:
            decision = await asyncio.to_thread(self.decide, data.get("messages"), model, max_tokens)
        except RoutingError as exc:
            raise _bad_request(str(exc)) from None
        data["model"] = decision.model
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        metadata[METADATA_KEY] = _record(model, decision)
        return data

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: UserAPIKeyAuth,
        response: object,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, object] | None = None,
    ) -> dict[str, str] | None:
        """``x-routellm-router``, ``-threshold``, ``-score`` and ``-model`` on routed responses; with model groups
        ``-router``, ``-policy``, ``-knob`` (or ``-min-quality``), ``-model``, ``-model-name``, ``-quality`` and
        ``-expected-cost``."""
        metadata = data.get("metadata")
        decision = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        if not isinstance(decision, RoutingRecord):  # a plain dict came from the client, not from this hook
            return None
        keys = N_MODEL_HEADERS if "policy" in decision else TWO_MODEL_HEADERS
        return {f"{HEADER_PREFIX}{key.replace('_', '-')}": str(decision[key]) for key in keys if key in decision}


#: the decision's fields sent as ``x-routellm-*`` headers (``_`` becomes ``-``)
TWO_MODEL_HEADERS = ("router", "threshold", "score", "model")
N_MODEL_HEADERS = ("router", "policy", "knob", "min_quality", "model", "model_name", "quality", "expected_cost")


def _record(requested: str, decision: Decision) -> RoutingRecord:
    """The decision as written to the request's metadata (and, in part, to the response headers)."""
    if not decision.n_model:
        return RoutingRecord(
            requested_model=requested,
            router=decision.router,
            threshold=decision.threshold,
            score=decision.score,
            model=decision.model,
        )
    groups = [endpoint.model for endpoint in decision.endpoints]
    return RoutingRecord(
        {
            "requested_model": requested,
            "router": decision.router,
            "policy": decision.policy,
            "knob" if decision.policy == KNOB else "min_quality": decision.threshold,
            "model": decision.model,
            "model_name": decision.model_name,
            "quality": decision.quality,
            "expected_cost": decision.expected_cost,
            "qualities": dict(zip(groups, decision.qualities, strict=True)),
            "expected_costs": dict(zip(groups, decision.costs, strict=True)),
        }
    )


def _bad_request(message: str) -> ProxyException:
    """LiteLLM's own 400: ``{"error": {"message", "type": "invalid_request_error", "param": "model", "code": "400"}}``."""
    return ProxyException(message=message, type="invalid_request_error", param="model", code=400)
