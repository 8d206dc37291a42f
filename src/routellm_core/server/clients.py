"""The transports to the upstream models: a pooled direct HTTP client, or litellm.

For an OpenAI-compatible endpoint (a model ``openai/<name>`` with a base URL:
llama.cpp, vLLM, Ollama, a LiteLLM proxy...) the server posts the request itself
with pooled ``httpx`` clients: the body is the client's validated JSON
(serialised in the parsing worker thread for big requests), and the answer is
relayed as parsed JSON. No SDK builds or transforms the request, which for a
request with many messages cost seconds of CPU on the event loop. Everything
else goes through litellm (``Controller.acall_model``), which reaches any
provider; requests with many messages call litellm's synchronous API in a
worker thread, so its request building stays off the event loop too.
``upstream_client="auto"`` (the default) picks the direct client where it can.

Every call returns a :class:`Completion` (the response, ``model`` set to the
endpoint's model, and its JSON for the client) or, with ``stream=True``, an
:class:`UpstreamStream` of chunk dicts.
Failures raise :class:`UpstreamHTTPError` (the upstream answered an error),
:class:`UpstreamProtocolError` (its answer is not OpenAI's format),
:class:`RejectedByClient` (litellm's own message checks refuse the request; no
call was made), ``httpx`` transport errors, or litellm's (openai's) exceptions.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any, AsyncIterator

from .. import __version__
from ..controller import Controller
from ..errors import ConfigError
from ..routing import ModelEndpoint
from .parsing import PARSE_IN_THREAD_BYTES, ChatRequest

CLIENT_CHOICES = ("auto", "litellm", "openai")

#: HTTP statuses worth a retry (as the openai SDK does)
_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


def is_openai_compatible(endpoint: ModelEndpoint) -> bool:
    return bool(endpoint.api_base) and endpoint.model.startswith("openai/") and not endpoint.extra


class UpstreamHTTPError(Exception):
    """The upstream answered with an HTTP error status (or an error event in a stream: ``status_code`` None)."""

    def __init__(self, status_code: int | None, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class RejectedByClient(Exception):
    """The upstream's client library (litellm) refuses the request before calling the upstream."""


class UpstreamProtocolError(Exception):
    """The upstream's answer is not an OpenAI chat completion (not JSON, not an object...)."""


@dataclass
class Completion:
    """A non-streamed answer: the response (``model`` relabelled) and its JSON for the client."""

    payload: dict[str, Any]
    body: bytes


class UpstreamStream:
    """Async iterator over chunk dicts, with ``aclose()`` to release the upstream connection."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


def dumps_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; a lone surrogate from an upstream's text is written as its JSON escape."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def _error_text(data: bytes) -> str:
    """The message of an OpenAI-style error body, or the body's start."""
    try:
        body = json.loads(data)
    except ValueError:
        text = data.decode("utf-8", "replace").strip()
        return text[:500] or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for key in ("message", "detail", "error"):
                value = error.get(key)
                if isinstance(value, str) and value:
                    return value
        elif isinstance(error, str) and error:
            return error
    return json.dumps(body)[:500]


class UpstreamClients:
    """``await clients.call(endpoint, request, timeout=...)``: a response dict or an :class:`UpstreamStream`."""

    def __init__(
        self, controller: Controller, mode: str = "auto", retries: int = 0, max_connections: int = 1024, shards: int = 16
    ) -> None:
        if mode not in CLIENT_CHOICES:
            raise ConfigError(f"upstream_client must be one of {', '.join(CLIENT_CHOICES)}, got {mode!r}")
        self.controller = controller
        self.mode = mode
        self.retries = retries
        self.max_connections = max_connections
        self.shards = max(1, shards)
        self._clients: dict[str, list[Any]] = {}
        self._targets: dict[tuple[str | None, str | None, bool], tuple[Any, dict[str, str], Any]] = {}
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
        """One of ``shards`` pooled clients for the endpoint's base URL, in turn.

        httpx's connection pool scans all its connections on every request and
        response, so one pool with hundreds of connections costs several ms of
        CPU per request under load; small pools used in turn keep that flat.
        """
        key = endpoint.api_base or ""
        clients = self._clients.get(key)
        if clients is None:
            import httpx

            per_shard = max(1, self.max_connections // self.shards)
            limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
            clients = self._clients[key] = [httpx.AsyncClient(limits=limits) for _ in range(self.shards)]
        self._turn = (self._turn + 1) % len(clients)
        return clients[self._turn]

    def _target(self, endpoint: ModelEndpoint, stream: bool, timeout: float) -> tuple[Any, dict[str, str], Any]:
        """URL, headers and timeouts of a direct call, built once per endpoint (parsing a URL each call costs CPU)."""
        import httpx

        key = (endpoint.api_base, endpoint.api_key, stream)
        target = self._targets.get(key)
        if target is None:
            url = httpx.URL((endpoint.api_base or "").rstrip("/") + "/chat/completions")
            headers = {
                "Authorization": f"Bearer {endpoint.api_key or 'no-key'}",
                "Content-Type": "application/json",
                "Accept": "text/event-stream" if stream else "application/json",
                "User-Agent": f"routellm/{__version__}",
            }
            target = self._targets[key] = (url, headers, httpx.Timeout(timeout))
        if target[2].read != timeout:
            return target[0], target[1], httpx.Timeout(timeout)
        return target

    async def call(self, endpoint: ModelEndpoint, request: ChatRequest, *, timeout: float) -> Any:
        if self.direct(endpoint):
            return await self._call_direct(endpoint, request, timeout)
        return await self._call_litellm(endpoint, request, timeout)

    # -- direct ----------------------------------------------------------------------------
    async def _call_direct(self, endpoint: ModelEndpoint, request: ChatRequest, timeout: float) -> Any:
        import httpx

        client = self._client(endpoint)
        body = request.upstream_body(endpoint.model.split("/", 1)[1])
        url, headers, timeouts = self._target(endpoint, request.stream, timeout)
        attempt = 0
        while True:
            try:
                response = await client.send(
                    client.build_request("POST", url, content=body, headers=headers, timeout=timeouts), stream=True
                )
            except httpx.TransportError:
                if attempt >= self.retries:
                    raise
                attempt += 1
                await asyncio.sleep(_backoff(attempt))
                continue
            if response.status_code >= 400:
                data = await _read_and_close(response)
                if response.status_code in _RETRY_STATUSES and attempt < self.retries:
                    attempt += 1
                    await asyncio.sleep(_backoff(attempt))
                    continue
                raise UpstreamHTTPError(response.status_code, _error_text(data))
            break
        if request.stream:
            return _SSEStream(response, endpoint.model)
        data = await _read_and_close(response)
        if len(data) > PARSE_IN_THREAD_BYTES:
            return await asyncio.to_thread(_completion, data, endpoint.model)
        return _completion(data, endpoint.model)

    # -- litellm -------------------------------------------------------------------------------
    async def _call_litellm(self, endpoint: ModelEndpoint, request: ChatRequest, timeout: float) -> Any:
        kwargs = dict(request.params, messages=request.messages, stream=request.stream, timeout=timeout, max_retries=self.retries)
        if request.large:  # litellm builds the provider request in Python: keep that off the event loop
            await asyncio.to_thread(_litellm_precheck, request.messages)
            result = await asyncio.to_thread(self.controller.call_model, endpoint, **kwargs)
            return _ThreadedLitellmStream(result) if request.stream else await asyncio.to_thread(_litellm_completion, result)
        _litellm_precheck(request.messages)
        result = await self.controller.acall_model(endpoint, **kwargs)
        return _LitellmStream(result) if request.stream else _litellm_completion(result)

    async def aclose(self) -> None:
        for clients in self._clients.values():
            for client in clients:
                await client.aclose()
        self._clients.clear()


def _backoff(attempt: int) -> float:
    base: float = 0.5 * 2 ** (attempt - 1)  # int ** int is typed Any (a negative exponent gives a float)
    return min(8.0, base) * (0.75 + random.random() / 2)


async def _read_and_close(response: Any) -> bytes:
    try:
        data: bytes = await response.aread()
        return data
    finally:
        await response.aclose()


def _dump(response: Any, **kwargs: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = response.model_dump(mode="json", **kwargs)
    return dumped


def _completion(data: bytes, model: str) -> Completion:
    try:
        payload = json.loads(data)
    except ValueError:
        raise UpstreamProtocolError(f"the answer is not JSON: {data[:200].decode('utf-8', 'replace')!r}") from None
    if not isinstance(payload, dict):
        raise UpstreamProtocolError(f"the answer is not a JSON object: {type(payload).__name__}")
    payload["model"] = model
    return Completion(payload, dumps_json(payload))


def _litellm_precheck(messages: list[Any]) -> None:
    """litellm's own check of user messages (content part types), run first so its refusal is not taken for a failed call."""
    try:
        from litellm.utils import validate_chat_completion_user_messages
    except ImportError:  # another litellm version: its call reports what it refuses
        return
    try:
        validate_chat_completion_user_messages(messages)
    except Exception as exc:
        raise RejectedByClient(str(exc)) from None


def _litellm_completion(response: Any) -> Completion:
    payload = _dump(response)
    return Completion(payload, dumps_json(payload))


class _SSEStream(UpstreamStream):
    """Server-sent events of an OpenAI-compatible upstream, parsed into chunk dicts."""

    def __init__(self, response: Any, model: str) -> None:
        self._response, self._model = response, model

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        data: list[str] = []
        async for line in self._response.aiter_lines():
            if line:
                if line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                continue  # comments, event names, ids
            if not data:
                continue
            event, data = "\n".join(data), []
            if event.strip() == "[DONE]":
                return
            yield self._chunk(event)
        if data and "\n".join(data).strip() != "[DONE]":
            yield self._chunk("\n".join(data))

    def _chunk(self, event: str) -> dict[str, Any]:
        try:
            chunk = json.loads(event)
        except ValueError:
            raise UpstreamProtocolError(f"a stream event is not JSON: {event[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError(f"a stream event is not a JSON object: {event[:200]!r}")
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise UpstreamHTTPError(None, str(message or error))
        chunk["model"] = self._model
        return chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class _LitellmStream(UpstreamStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for chunk in self._stream:
            yield _dump(chunk, exclude_none=True)

    async def aclose(self) -> None:
        await _close_litellm(self._stream)


class _ThreadedLitellmStream(UpstreamStream):
    """litellm's synchronous stream, each chunk read in a worker thread."""

    _END = object()

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._iterator = iter(stream)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            chunk = await asyncio.to_thread(next, self._iterator, self._END)
            if chunk is self._END:
                return
            yield _dump(chunk, exclude_none=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(_close_sync, self._iterator)


def _close_sync(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # best effort
            pass


async def _close_litellm(stream: Any) -> None:
    for target in (stream, getattr(stream, "completion_stream", None)):
        close = getattr(target, "aclose", None) or getattr(target, "close", None)
        if close is not None:
            try:
                result = close()
                if hasattr(result, "__await__"):
                    await result
            except Exception:  # best effort
                pass
            return
