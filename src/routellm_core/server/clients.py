"""The transports to the upstream models: litellm, or a pooled direct client.

``litellm`` (through :meth:`Controller.acall_model`) reaches any provider. For an
OpenAI-compatible endpoint (a model ``openai/<name>`` with a base URL: llama.cpp,
vLLM, Ollama, a LiteLLM proxy...) the server can instead use one pooled
``openai.AsyncOpenAI`` client per endpoint: the same requests, responses and
exception types, at a fraction of litellm's per-call CPU cost (see
docs/BENCHMARKS.md, ``## Server``). ``upstream_client="auto"`` (the default) picks
the direct client for such endpoints and litellm for everything else.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

from ..controller import Controller
from ..errors import ConfigError
from ..routing import ModelEndpoint

CLIENT_CHOICES = ("auto", "litellm", "openai")


def is_openai_compatible(endpoint: ModelEndpoint) -> bool:
    return bool(endpoint.api_base) and endpoint.model.startswith("openai/") and not endpoint.extra


class UpstreamClients:
    """``await caller.call(endpoint, messages=..., stream=..., timeout=..., **params)``.

    Returns a response with ``model`` set to the endpoint's model, or for
    ``stream=True`` an object with ``__aiter__`` over chunks (each relabelled) and
    ``aclose()``.
    """

    def __init__(self, controller: Controller, mode: str = "auto", retries: int = 0, max_connections: int = 1024,
                 shards: int = 16) -> None:
        if mode not in CLIENT_CHOICES:
            raise ConfigError(f"upstream_client must be one of {', '.join(CLIENT_CHOICES)}, got {mode!r}")
        self.controller = controller
        self.mode = mode
        self.retries = retries
        self.max_connections = max_connections
        self.shards = max(1, shards)
        self._clients: dict[tuple[str, str], list[Any]] = {}
        self._turn = 0

    def direct(self, endpoint: ModelEndpoint) -> bool:
        if self.mode == "litellm":
            return False
        if self.mode == "openai" and not is_openai_compatible(endpoint):
            raise ConfigError(f"upstream_client='openai' needs 'openai/<model>' with a base URL, got {endpoint!r}")
        return is_openai_compatible(endpoint)

    def prepare(self, endpoint: ModelEndpoint) -> None:
        """Check that the mode can serve the endpoint and build its clients now (not inside a request's deadline)."""
        if self.direct(endpoint):
            self._client(endpoint)

    def _client(self, endpoint: ModelEndpoint) -> Any:
        """One of ``shards`` pooled clients for the endpoint, in turn.

        httpx's connection pool scans all its connections on every request and
        response, so one pool with hundreds of connections costs several ms of
        CPU per request under load; small pools used in turn keep that flat.
        """
        key = (endpoint.api_base or "", endpoint.api_key or "")
        clients = self._clients.get(key)
        if clients is None:
            import httpx
            import openai

            per_shard = max(1, self.max_connections // self.shards)
            limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
            clients = self._clients[key] = [
                openai.AsyncOpenAI(base_url=endpoint.api_base, api_key=endpoint.api_key or "no-key",
                                   max_retries=self.retries, http_client=httpx.AsyncClient(limits=limits))
                for _ in range(self.shards)
            ]
        self._turn = (self._turn + 1) % len(clients)
        return clients[self._turn]

    async def call(self, endpoint: ModelEndpoint, *, messages: list[dict], stream: bool, timeout: float, **params: Any) -> Any:
        if not self.direct(endpoint):
            result = await self.controller.acall_model(endpoint, messages=messages, stream=stream, timeout=timeout,
                                                       max_retries=self.retries, **params)
            return _LitellmStream(result) if stream else result
        client = self._client(endpoint)
        name = endpoint.model.split("/", 1)[1]
        result = await client.chat.completions.create(model=name, messages=messages, stream=stream, timeout=timeout, **params)
        if stream:
            return _OpenAIStream(result, endpoint.model)
        result.model = endpoint.model
        return result

    async def aclose(self) -> None:
        for clients in self._clients.values():
            for client in clients:
                await client.close()
        self._clients.clear()


class _OpenAIStream:
    def __init__(self, stream: Any, model: str) -> None:
        self._stream, self._model = stream, model

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for chunk in self._stream:
            chunk.model = self._model
            yield chunk

    async def aclose(self) -> None:
        await self._stream.close()


class _LitellmStream:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        for target in (self._stream, getattr(self._stream, "completion_stream", None)):
            close = getattr(target, "aclose", None) or getattr(target, "close", None)
            if close is not None:
                try:
                    result = close()
                    if hasattr(result, "__await__"):
                        await result
                except Exception:  # best effort
                    pass
                return
