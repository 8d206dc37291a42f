"""The server's Prometheus metrics, kept and exposed by ``prometheus_client``.

Each app gets its own ``CollectorRegistry`` (several apps in one process do not
collide). With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment before the
server starts, every process writes its values there and ``/metrics`` sums
counters and histograms over all processes (``--workers N``); the in-flight
gauge is summed over live processes. Without it, ``/metrics`` shows the values
of the process that answers.

Label values come only from the server's own configuration (enabled routers,
configured models, a fixed set of statuses and error types), never from raw
request input, so cardinality stays bounded.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as _PCounter
from prometheus_client import Gauge as _PGauge
from prometheus_client import Histogram as _PHistogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics import MetricWrapperBase

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
LAG_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory shared by worker processes, when multi-process metrics are on."""
    return os.environ.get(MULTIPROC_ENV) or None


class _Metric:
    def __init__(self, metric: MetricWrapperBase, name: str, label_names: Sequence[str], registry: CollectorRegistry) -> None:
        self._metric = metric
        self.name = name
        self.label_names = tuple(label_names)
        self._registry = registry
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, labels: dict[str, str]) -> Any:  # a prometheus_client Counter, Gauge or Histogram
        if not self.label_names:
            return self._metric
        key = tuple([str(labels.get(n, "")) for n in self.label_names])
        child = self._children.get(key)
        if child is None:  # label values come from configuration only (see above), so this stays small
            child = self._children[key] = self._metric.labels(*key)
        return child

    def _sample(self, suffix: str, labels: dict[str, str]) -> float:
        value = self._registry.get_sample_value(self.name + suffix, {n: str(labels.get(n, "")) for n in self.label_names})
        return value or 0.0


class Counter(_Metric):
    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        self._child(labels).inc(amount)

    def get(self, **labels: str) -> float:
        """This process's value."""
        return self._sample("", labels)


class Gauge(_Metric):
    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        self._child(labels).inc(amount)

    def dec(self, amount: float = 1.0, /, **labels: str) -> None:
        self._child(labels).dec(amount)

    def get(self, **labels: str) -> float:
        return self._sample("", labels)


class Histogram(_Metric):
    def observe(self, value: float, **labels: str) -> None:
        self._child(labels).observe(value)

    def count(self, **labels: str) -> int:
        """Observations in this process."""
        return int(self._sample("_count", labels))


class ServerMetrics:
    """The server's metrics; :meth:`render` returns the exposition text."""

    CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        c, h = self._counter, self._histogram
        self.requests = c(
            "routellm_requests_total",
            "Chat completion requests by router, answering model and HTTP status.",
            ("router", "model", "status"),
        )
        self.errors = c("routellm_errors_total", "Failed requests by router, model and error type.", ("router", "model", "type"))
        self.decisions = c(
            "routellm_routing_decisions_total", "Routing decisions by router and routed model.", ("router", "model", "tier")
        )
        self.fallbacks = c(
            "routellm_fallbacks_total",
            "Retries on the other model after the routed model failed.",
            ("router", "from_model", "to_model", "outcome"),
        )
        self.upstream_errors = c(
            "routellm_upstream_errors_total", "Failed upstream calls by model and error type.", ("model", "type")
        )
        self.tokens = c("routellm_tokens_total", "Tokens reported by the upstream models.", ("model", "kind"))
        self.cost = c(
            "routellm_cost_usd_total", "Estimated cost in USD from litellm's model cost map (0 for unmapped models).", ("model",)
        )
        self.expected_cost = c(
            "routellm_expected_cost_usd_total",
            "With a models list: the expected cost (USD, from the configured prices) of the answered requests, "
            "by router and answering model.",
            ("router", "model"),
        )
        self.in_flight = Gauge(
            _PGauge(
                "routellm_in_flight_requests",
                "Chat completion requests being handled.",
                registry=self.registry,
                multiprocess_mode="livesum",
            ),
            "routellm_in_flight_requests",
            (),
            self.registry,
        )
        self.workers_ready = Gauge(
            _PGauge(
                "routellm_workers_ready",
                "Worker processes whose routers are built and that serve.",
                registry=self.registry,
                multiprocess_mode="livesum",
            ),
            "routellm_workers_ready",
            (),
            self.registry,
        )
        self.admitted = self._live_gauge(
            "routellm_admitted_requests", "Chat requests holding an admission slot (scoring, upstream call, stream)."
        )
        self.queued = self._live_gauge("routellm_queued_requests", "Chat requests waiting for an admission slot.")
        self.admission_limit = self._live_gauge(
            "routellm_admission_limit", "Admission slots (requests handled at once); summed over workers."
        )
        self.shed = c(
            "routellm_shed_requests_total",
            "Chat requests answered 429 or 503 without being handled, by reason (queue_full, queue_timeout, draining).",
            ("reason",),
        )
        self.queue_wait = h(
            "routellm_queue_wait_seconds", "Time admitted chat requests waited for an admission slot (0: at once).", ()
        )
        self.loop_lag = h(
            "routellm_event_loop_lag_seconds",
            "How late a timer sampled every 25 ms ran on the worker's event loop: time every request's work waits for CPU.",
            (),
            buckets=LAG_BUCKETS,
        )
        self.routing_latency = h("routellm_routing_latency_seconds", "Time to score a request and pick a model.", ("router",))
        self.upstream_latency = h(
            "routellm_upstream_latency_seconds",
            "Upstream call duration (streams: until the last chunk).",
            ("model", "stream", "outcome"),
        )
        self.request_latency = h(
            "routellm_request_latency_seconds",
            "Whole request duration (streams: until the response starts).",
            ("router", "status"),
        )
        self.batch_sizes = h(
            "routellm_score_batch_size",
            "Prompts per router scoring call (concurrent requests are batched).",
            ("router",),
            buckets=BATCH_BUCKETS,
        )
        self.scores = h(
            "routellm_router_score", "Router scores (estimated P(strong model wins)).", ("router",), buckets=SCORE_BUCKETS
        )
        self.predicted_quality = h(
            "routellm_predicted_quality",
            "With a models list: the predicted quality of the routed model, by router and model.",
            ("router", "model"),
            buckets=SCORE_BUCKETS,
        )

    def _live_gauge(self, name: str, help_text: str) -> Gauge:
        """An unlabelled gauge summed over live worker processes in multi-process mode."""
        return Gauge(_PGauge(name, help_text, registry=self.registry, multiprocess_mode="livesum"), name, (), self.registry)

    def _counter(self, name: str, help_text: str, labels: Sequence[str]) -> Counter:
        return Counter(_PCounter(name, help_text, labels, registry=self.registry), name, labels, self.registry)

    def _histogram(
        self, name: str, help_text: str, labels: Sequence[str], buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return Histogram(
            _PHistogram(name, help_text, labels, registry=self.registry, buckets=buckets), name, labels, self.registry
        )

    def ready_workers(self) -> int:
        """Workers that finished starting: this process (0 or 1), or every live worker in multi-process mode."""
        directory = multiprocess_dir()
        if directory is None:
            return int(self.workers_ready.get())
        from prometheus_client import multiprocess

        total = 0.0
        merged = multiprocess.MultiProcessCollector.merge(  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
            _gauge_files(directory), accumulate=False
        )
        for metric in merged:
            if metric.name == "routellm_workers_ready":
                total += sum(sample.value for sample in metric.samples)
        return int(total)

    def render(self) -> bytes:
        """The exposition text: this app's registry, or every process's values in multi-process mode."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry)


def _gauge_files(directory: str) -> list[str]:
    import glob

    return glob.glob(os.path.join(directory, "gauge_livesum_*.db"))
