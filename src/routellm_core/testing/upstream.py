"""A real OpenAI-compatible chat server on loopback, for tests and benchmarks.

Answers ``POST /v1/chat/completions`` (plain and ``stream=True`` server-sent
events) with ``"[<model>] <last user text>"`` and ``GET /v1/models``. Optional
fault injection: a fraction of calls fail (HTTP 500, or ``fail_status``: 429
comes with ``Retry-After: 1``, as a rate-limited provider answers) and a
fraction stall.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (e.g. timed out on a stalled call): expected, not worth a traceback
        super().handle_error(request, client_address)


class EchoUpstream:
    """Start with ``with EchoUpstream() as up: up.base_url``.

    Args:
        fail_rate: fraction of chat calls answered with HTTP ``fail_status``.
        fail_status: the status of a failed call (500; 429 comes with ``Retry-After: 1``).
        stall_rate: fraction of chat calls that sleep ``stall_seconds`` before answering.
        delay: seconds every chat call waits before answering.
        stream_stall_after: streamed answers stall (``stall_seconds``) after this many chunks.
        seed: seed of the fault draw.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fail_rate: float = 0.0,
        stall_rate: float = 0.0,
        stall_seconds: float = 30.0,
        delay: float = 0.0,
        seed: int = 0,
        stream_stall_after: int | None = None,
        fail_status: int = 500,
    ) -> None:
        self.fail_rate, self.stall_rate, self.stall_seconds, self.delay = fail_rate, stall_rate, stall_seconds, delay
        self.fail_status = fail_status
        #: when set, every streamed answer sleeps ``stall_seconds`` after sending this many chunks
        self.stream_stall_after = stream_stall_after
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        #: how many chat calls were answered normally, failed, or stalled (also served at ``GET /stats``)
        self.stats: dict[str, int] = {"ok": 0, "fail": 0, "stall": 0}
        self.calls: list[dict[str, Any]] = []
        #: keep every request body in ``calls`` (turn off for long load runs)
        self.record_calls = True
        self._server = _Server((host, port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET/AF_INET6 server's address is (str, int, ...)
        return f"http://{host}:{port}/v1"

    def start(self) -> "EchoUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "EchoUpstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _draw(self) -> str:
        with self._rng_lock:
            x = self._rng.random()
            fate = "fail" if x < self.fail_rate else "stall" if x < self.fail_rate + self.stall_rate else "ok"
            self.stats[fate] += 1
        return fate

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

            def log_message(self, *args: object) -> None:
                pass

            def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/stats":
                    with upstream._rng_lock:
                        stats = dict(upstream.stats)
                    self._send_json(200, stats)
                elif self.path.rstrip("/") == "/v1/models":
                    self._send_json(200, {"object": "list", "data": [{"id": "echo", "object": "model", "owned_by": "test"}]})
                else:
                    self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send_json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                if upstream.record_calls:
                    upstream.calls.append(body)
                fate = upstream._draw()
                if upstream.delay:
                    time.sleep(upstream.delay)
                if fate == "fail":
                    status = upstream.fail_status
                    if status == 429:
                        error = {"message": "rate limit reached (injected fault)", "type": "rate_limit_error"}
                        self._send_json(429, {"error": error}, {"Retry-After": "1"})
                    else:
                        self._send_json(
                            status, {"error": {"message": "upstream exploded (injected fault)", "type": "server_error"}}
                        )
                    return
                if fate == "stall":
                    time.sleep(upstream.stall_seconds)
                model = body.get("model", "echo")
                text = _last_user_text(body.get("messages") or [])
                answer = f"[{model}] {text}"
                created = int(time.time())
                prompt_tokens = max(1, len(text.split()))
                completion_tokens = len(answer.split())
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    words = answer.split(" ")
                    for i, word in enumerate(words):
                        piece = word if i == 0 else " " + word
                        chunk = {
                            "id": "chatcmpl-echo",
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": ({"role": "assistant", "content": piece} if i == 0 else {"content": piece}),
                                    "finish_reason": None,
                                }
                            ],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        if upstream.stream_stall_after is not None and i + 1 == upstream.stream_stall_after:
                            self.wfile.flush()
                            time.sleep(upstream.stall_seconds)
                    final = {
                        "id": "chatcmpl-echo",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                        },
                    }
                    self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send_json(
                    200,
                    {
                        "id": "chatcmpl-echo",
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                        },
                    },
                )

        return Handler


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def main(argv: list[str] | None = None) -> int:
    """``python -m routellm_core.testing.upstream --port 0 --fail-rate 0.1``: prints the base URL, serves until killed."""
    import argparse

    parser = argparse.ArgumentParser(description="loopback OpenAI-compatible echo server with fault injection")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=500, help="HTTP status of a failed call (429: with Retry-After)")
    parser.add_argument("--stall-rate", type=float, default=0.0)
    parser.add_argument("--stall-seconds", type=float, default=30.0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    upstream = EchoUpstream(
        host=args.host,
        port=args.port,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
        stall_rate=args.stall_rate,
        stall_seconds=args.stall_seconds,
        delay=args.delay,
        seed=args.seed,
    )
    upstream.record_calls = False
    upstream.start()
    print(upstream.base_url, flush=True)
    try:
        upstream._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        upstream.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
