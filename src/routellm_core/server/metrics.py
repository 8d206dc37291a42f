"""Prometheus metrics in the text exposition format, without a dependency.

Counters, a gauge and histograms keyed by label tuples, guarded by one lock.
Label values come only from the server's own configuration (enabled routers,
configured models, a fixed set of statuses and error types), never from raw
request input, so cardinality stays bounded. With ``--workers N`` each worker
process keeps its own metrics.
"""

from __future__ import annotations

import bisect
import threading
from typing import Iterable, Sequence

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(x: float) -> str:
    x = float(x)
    if x == float("inf"):
        return "+Inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


class _Metric:
    def __init__(self, name: str, help_text: str, kind: str, labels: Sequence[str], lock: threading.Lock) -> None:
        self.name, self.help, self.kind, self.label_names, self._lock = name, help_text, kind, tuple(labels), lock

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        return tuple(str(labels.get(n, "")) for n in self.label_names)


class Counter(_Metric):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        with self._lock:
            return self.values.get(self._key(labels), 0.0)

    def lines(self) -> Iterable[str]:
        for key, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.label_names, key)} {_num(value)}"


class Gauge(Counter):
    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)


class Histogram(_Metric):
    def __init__(self, *args, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(*args)
        self.buckets = tuple(sorted(buckets))
        self.values: dict[tuple[str, ...], list] = {}  # key -> [bucket counts..., sum, count]

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            row = self.values.get(key)
            if row is None:
                row = self.values[key] = [0] * len(self.buckets) + [0.0, 0]
            if index < len(self.buckets):
                row[index] += 1
            row[-2] += value
            row[-1] += 1

    def count(self, **labels: str) -> int:
        with self._lock:
            row = self.values.get(self._key(labels))
            return int(row[-1]) if row else 0

    def lines(self) -> Iterable[str]:
        for key, row in sorted(self.values.items()):
            cumulative = 0
            for bound, n in zip(self.buckets, row[: len(self.buckets)], strict=True):
                cumulative += n
                le = 'le="' + _num(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {cumulative}"
            le = 'le="+Inf"'
            yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {row[-1]}"
            yield f"{self.name}_sum{_labels(self.label_names, key)} {_num(row[-2])}"
            yield f"{self.name}_count{_labels(self.label_names, key)} {row[-1]}"


class ServerMetrics:
    """The server's metrics; :meth:`render` returns the exposition text."""

    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: list[_Metric] = []
        c, h = self._counter, self._histogram
        self.requests = c("routellm_requests_total", "Chat completion requests by router, answering model and HTTP status.",
                          ("router", "model", "status"))
        self.errors = c("routellm_errors_total", "Failed requests by router, model and error type.", ("router", "model", "type"))
        self.decisions = c("routellm_routing_decisions_total", "Routing decisions by router and routed model.",
                           ("router", "model", "tier"))
        self.fallbacks = c("routellm_fallbacks_total", "Retries on the other model after the routed model failed.",
                           ("router", "from_model", "to_model", "outcome"))
        self.upstream_errors = c("routellm_upstream_errors_total", "Failed upstream calls by model and error type.",
                                 ("model", "type"))
        self.tokens = c("routellm_tokens_total", "Tokens reported by the upstream models.", ("model", "kind"))
        self.cost = c("routellm_cost_usd_total", "Estimated cost in USD from litellm's model cost map (0 for unmapped models).",
                      ("model",))
        self.in_flight = self._gauge("routellm_in_flight_requests", "Chat completion requests being handled.", ())
        self.routing_latency = h("routellm_routing_latency_seconds", "Time to score a request and pick a model.", ("router",))
        self.upstream_latency = h("routellm_upstream_latency_seconds",
                                  "Upstream call duration (streams: until the last chunk).", ("model", "stream", "outcome"))
        self.request_latency = h("routellm_request_latency_seconds", "Whole request duration (streams: until the response starts).",
                                 ("router", "status"))
        self.batch_sizes = h("routellm_score_batch_size", "Prompts per router scoring call (concurrent requests are batched).",
                             ("router",), buckets=BATCH_BUCKETS)
        self.scores = h("routellm_router_score", "Router scores (estimated P(strong model wins)).", ("router",),
                        buckets=SCORE_BUCKETS)

    def _counter(self, name, help_text, labels) -> Counter:
        metric = Counter(name, help_text, "counter", labels, self._lock)
        self._metrics.append(metric)
        return metric

    def _gauge(self, name, help_text, labels) -> Gauge:
        metric = Gauge(name, help_text, "gauge", labels, self._lock)
        self._metrics.append(metric)
        return metric

    def _histogram(self, name, help_text, labels, buckets=LATENCY_BUCKETS) -> Histogram:
        metric = Histogram(name, help_text, "histogram", labels, self._lock, buckets=buckets)
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            for metric in self._metrics:
                out.append(f"# HELP {metric.name} {metric.help}")
                out.append(f"# TYPE {metric.name} {metric.kind}")
                out.extend(metric.lines())
        return "\n".join(out) + "\n"
