"""Admission control: a bound on the chat requests a worker handles at once, a small wait queue, and shedding.

A request holds a **slot** from the moment it is admitted until its answer is
sent: router scoring, the upstream call and, for a stream, every chunk until the
stream ends (a client that disconnects frees its slot at once). At most
``limit`` requests hold a slot; up to ``max_queue`` more wait for one, first in,
first out, for at most ``queue_timeout`` seconds. Anything beyond is answered at
once:

- **429** ``server_overloaded`` when the queue is full (reason ``queue_full``) or
  a request waited ``queue_timeout`` without getting a slot (``queue_timeout``);
- **503** ``server_draining`` once the worker shuts down (``draining``): requests
  still waiting then, and any that arrive later, are sent elsewhere at once.

Both carry ``Retry-After`` (whole seconds, at least 1: the expected wait, see
:meth:`AdmissionGate.retry_after`) and an OpenAI-shaped body. While the gate
refuses new requests, :class:`AdmissionMiddleware` answers them before the app's
routing, auth and parsing, so that a refusal costs as little as possible.

**The limit.** ``--max-in-flight N`` fixes it. By default it adapts
(:class:`AdaptiveLimit`) between bounds derived from the cores a worker has
(:func:`plan_admission`): it grows while requests have to wait and the worker
keeps up, and shrinks when the worker falls behind, which it measures as the lag
of its event loop (every request's CPU work waits that long) and as the time
prompts wait for their router (a router that scores slowly, such as
``causal_llm``, is the bottleneck). A request waiting on the upstream costs no
CPU, so slow or stalling upstreams let the limit grow, while a worker whose
router is expensive settles far lower than one routing with ``random``.

Nothing here does I/O or CPU work: entering and leaving are a few integer
operations on the event loop, and the controller runs on a 25 ms timer.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from .errors import APIError
from .limits import drain

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .metrics import ServerMetrics
    from .settings import ServerSettings

#: why a request was not admitted (the ``reason`` label of ``routellm_shed_requests_total``)
SHED_REASONS = ("queue_full", "queue_timeout", "draining")

#: Retry-After bounds in seconds (an HTTP delay-seconds is a whole number)
MIN_RETRY_AFTER = 1
MAX_RETRY_AFTER = 60

#: the adaptive limit keeps the median event loop lag of each control window below this (seconds)
LAG_TARGET = 0.005
#: ... and prompts from waiting longer than this for their router to start scoring them (seconds)
SCORING_WAIT_TARGET = 0.05
#: how long a request may wait for a slot by default: a refusal comes within 50 ms, even after waiting
QUEUE_TIMEOUT = 0.02
#: seconds over which refusals are averaged, and the weight of each request in the average slot hold time
RATE_WINDOW = 5.0
HOLD_WEIGHT = 0.02
#: lag samples per control window (one every :data:`LAG_INTERVAL` seconds)
WINDOW = 8
LAG_INTERVAL = 0.025

# what a waiting request is woken with
_ADMITTED, _TIMED_OUT, _DRAINING = "admitted", "timed_out", "draining"


class Shed(APIError):
    """A request the worker did not admit: 429 (overloaded) or 503 (draining), with ``Retry-After``."""

    def __init__(self, reason: str, message: str, retry_after: int) -> None:
        draining = reason == "draining"
        super().__init__(
            503 if draining else 429,
            f"{message}; retry after {retry_after} s",
            type="server_error" if draining else "rate_limit_error",
            code="server_draining" if draining else "server_overloaded",
            headers={"Retry-After": str(retry_after)},
        )
        self.reason = reason
        self.retry_after = retry_after


# -- defaults -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdmissionPlan:
    """The numbers a worker's gate runs with."""

    #: the limit to start with (and to keep, when not adaptive)
    limit: int
    #: bounds of the adaptive limit (both equal ``limit`` when it is fixed)
    minimum: int
    maximum: int
    adaptive: bool
    max_queue: int
    queue_timeout: float
    #: the adaptive limit's target for the event loop's median lag (seconds)
    lag_target: float = LAG_TARGET

    def describe(self) -> str:
        slots = (
            f"{self.minimum}-{self.maximum} (adaptive, lag target {1000 * self.lag_target:g} ms)"
            if self.adaptive
            else str(self.limit)
        )
        return f"{slots} requests in progress per worker, {self.max_queue} waiting for at most {self.queue_timeout:g} s"


def worker_cores(workers: int = 1) -> int:
    """CPUs this process may run on, shared out between ``workers`` processes (at least 1 each)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, workers))


def plan_admission(settings: ServerSettings, cores: int | None = None) -> AdmissionPlan | None:
    """The gate's numbers from the settings; what they leave out (None) derived from the cores per worker.

    - limit: ``--max-in-flight N`` fixes it. By default it adapts between ``cores`` (at least 2) and
      ``128 x cores`` (32 to 1024), starting at ``16 x cores``; how fast the router scores moves it at run time;
    - queue: ``2 x cores`` requests (4 to 64);
    - queue timeout: :data:`QUEUE_TIMEOUT` (20 ms), so that even a request refused after waiting hears it
      within 50 ms;
    - lag target of the adaptive limit: :data:`LAG_TARGET`.

    ``cores`` defaults to :func:`worker_cores`. None when admission control is off (``max_in_flight=0``).
    """
    if settings.max_in_flight == 0:
        return None
    cores = cores or worker_cores(settings.workers)
    if settings.max_in_flight is not None:
        limit = minimum = maximum = settings.max_in_flight
        adaptive = False
    else:
        maximum = min(1024, max(32, 128 * cores))
        minimum = max(2, cores)
        limit = min(maximum, 16 * cores)
        adaptive = True
    max_queue = settings.max_queue if settings.max_queue is not None else min(64, max(4, 2 * cores))
    queue_timeout = settings.queue_timeout if settings.queue_timeout is not None else QUEUE_TIMEOUT
    lag_target = settings.lag_target if settings.lag_target is not None else LAG_TARGET
    return AdmissionPlan(limit, minimum, maximum, adaptive, max_queue, queue_timeout, lag_target)


# -- the gate ---------------------------------------------------------------------------------------
class Slot:
    """A request's admission; :meth:`release` frees it (once, however often it is called)."""

    __slots__ = ("_gate", "_since", "waited")

    def __init__(self, gate: AdmissionGate, waited: float) -> None:
        self._gate: AdmissionGate | None = gate
        self._since = time.monotonic()
        #: seconds spent in the queue before admission
        self.waited = waited

    @property
    def held(self) -> bool:
        return self._gate is not None

    def release(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate._release(time.monotonic() - self._since)


class AdmissionGate:
    """At most ``limit`` admitted requests and ``max_queue`` waiting ones, in one worker (one event loop).

    ``await gate.enter()`` returns a :class:`Slot` or raises :class:`Shed`; :meth:`check` sheds at once when a
    new request would be refused anyway (before any work is spent on it); :meth:`drain` starts shutting down.
    """

    def __init__(self, limit: int, max_queue: int, queue_timeout: float, metrics: ServerMetrics | None = None) -> None:
        if limit < 1 or max_queue < 0 or not queue_timeout > 0:
            raise ValueError(f"need limit >= 1, max_queue >= 0, queue_timeout > 0; got {limit}, {max_queue}, {queue_timeout}")
        self.limit = limit
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.metrics = metrics
        self.in_flight = 0
        self.draining = False
        #: True once a request had to wait or was refused since the controller last looked (the limit binds)
        self.pressed = False
        #: the most requests in progress at once since the controller last looked
        self.peak = 0
        self._waiters: deque[asyncio.Future[str]] = deque()
        #: moving average of how long a request holds its slot (seconds), for Retry-After
        self._hold = 0.0
        #: clients refused and told to come back later, each counted for the seconds it was told to wait, averaged
        #: over the last :data:`RATE_WINDOW` seconds: about how many are waiting out a Retry-After now
        self._waiting = 0.0
        self._rates_at = time.monotonic()
        self._random = random.Random()
        if metrics is not None:
            metrics.admission_limit.inc(limit)

    @property
    def queued(self) -> int:
        return len(self._waiters)

    # -- shedding ------------------------------------------------------------------------------
    def retry_after(self) -> int:
        """Whole seconds until this worker is likely to have room for a request refused now.

        Clients refused lately are taken to come back after the Retry-After they were given, so ahead of a new
        arrival are about as many clients as are waiting one out now (the refusals of the last few seconds, each
        weighted by the seconds it was told to wait), plus the queue. Slots free at ``limit / hold`` per second
        (``hold``: how long requests hold a slot, on average). Rounded up or down at random in proportion, so
        clients refused together do not all come back in the same second.
        """
        if self.draining:
            return MIN_RETRY_AFTER  # another replica can take it now
        self._decay(time.monotonic())
        ahead = self._waiting + self.queued + 1
        expected = ahead * self._hold / self.limit
        whole = math.floor(expected)
        seconds = whole + (1 if self._random.random() < expected - whole else 0)
        seconds = max(MIN_RETRY_AFTER, min(MAX_RETRY_AFTER, seconds))
        self._waiting += seconds / RATE_WINDOW
        return seconds

    def _decay(self, now: float) -> None:
        elapsed = now - self._rates_at
        if elapsed > 0:
            self._waiting *= math.exp(-elapsed / RATE_WINDOW)
            self._rates_at = now

    def _shed(self, reason: str, message: str) -> Shed:
        self.pressed = True
        if self.metrics is not None:
            self.metrics.shed.inc(reason=reason)
        return Shed(reason, message, self.retry_after())

    def _draining(self) -> Shed:
        return self._shed("draining", "this server is shutting down and takes no new requests")

    def _state(self) -> str:
        return (
            f"{self.in_flight} requests in progress and {len(self._waiters)} waiting in this worker "
            f"(limits {self.limit} and {self.max_queue})"
        )

    @property
    def refusing(self) -> bool:
        """Whether a request arriving now would be refused at once."""
        return self.draining or (self.in_flight >= self.limit and len(self._waiters) >= self.max_queue)

    def check(self) -> None:
        """Raise :class:`Shed` if a request arriving now would be refused at once (queue full, or draining)."""
        if self.draining:
            raise self._draining()
        if self.in_flight >= self.limit and len(self._waiters) >= self.max_queue:
            raise self._shed("queue_full", f"the server is at capacity: {self._state()}")

    # -- entering and leaving ------------------------------------------------------------------
    async def enter(self) -> Slot:
        """A slot at once, or after waiting in the queue; :class:`Shed` when there is no room or no slot in time."""
        self.check()
        if self.in_flight < self.limit and not self._waiters:
            self._admitted(1)
            return self._slot(0.0)
        self.pressed = True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        self._waiters.append(waiter)
        self._queued(1)
        started = time.monotonic()
        timer = loop.call_later(self.queue_timeout, self._expire, waiter)
        try:
            outcome = await waiter
        except asyncio.CancelledError:  # the caller went away while waiting
            if waiter.cancelled():
                self._forget(waiter)
            elif waiter.result() == _ADMITTED:  # handed a slot just as it was cancelled: pass the slot on
                self._release(None)
            raise
        finally:
            timer.cancel()
        if outcome == _ADMITTED:
            return self._slot(time.monotonic() - started)
        if outcome == _DRAINING:
            raise self._draining()
        raise self._shed("queue_timeout", f"no capacity within {self.queue_timeout:g} s: {self._state()}")

    def _slot(self, waited: float) -> Slot:
        if self.metrics is not None:
            self.metrics.queue_wait.observe(waited)
        return Slot(self, waited)

    def _expire(self, waiter: asyncio.Future[str]) -> None:
        if not waiter.done():
            self._forget(waiter)
            waiter.set_result(_TIMED_OUT)

    def _forget(self, waiter: asyncio.Future[str]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            return
        self._queued(-1)

    def _release(self, held: float | None) -> None:
        if held is not None:
            self._hold = held if self._hold == 0.0 else (1 - HOLD_WEIGHT) * self._hold + HOLD_WEIGHT * held
        if self.in_flight <= self.limit and self._hand_on():
            return
        self._admitted(-1)

    def _hand_on(self) -> bool:
        """Give a free slot to the longest-waiting request still waiting; False if none waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            self._queued(-1)
            if not waiter.done():
                waiter.set_result(_ADMITTED)
                return True
        return False

    def set_limit(self, limit: int) -> None:
        """A new limit; waiting requests get the slots a higher one frees (a lower one takes effect as slots free)."""
        if limit == self.limit:
            return
        if self.metrics is not None:
            self.metrics.admission_limit.inc(limit - self.limit)
        self.limit = limit
        while self.in_flight < self.limit and self._hand_on():
            self._admitted(1)

    def drain(self) -> None:
        """Shutting down: waiting requests are answered 503 now, and new ones too; admitted ones finish."""
        if self.draining:
            return
        self.draining = True
        while self._waiters:
            waiter = self._waiters.popleft()
            self._queued(-1)
            if not waiter.done():
                waiter.set_result(_DRAINING)

    # -- gauges ---------------------------------------------------------------------------------
    def _admitted(self, delta: int) -> None:
        self.in_flight += delta
        self.peak = max(self.peak, self.in_flight)
        if self.metrics is not None:
            self.metrics.admitted.inc(delta)

    def _queued(self, delta: int) -> None:
        if self.metrics is not None:
            self.metrics.queued.inc(delta)


# -- the adaptive limit -------------------------------------------------------------------------
class AdaptiveLimit:
    """Moves a gate's limit between ``minimum`` and ``maximum`` from what the worker measures (AIMD).

    Fed one event loop lag sample every 25 ms (:meth:`on_lag`); every :data:`WINDOW` samples (0.2 s) it looks at
    the median lag and at the longest a prompt waited for its router (``scoring_wait()``, which resets on
    reading). Either over its target (:data:`LAG_TARGET`, :data:`SCORING_WAIT_TARGET`) while at least half the
    limit was in use: the limit drops to 90 % of what was in use (lag while the worker is nearly idle comes from
    elsewhere, and a lower limit would not help). Both within their target while requests had to wait or were
    refused: it grows by a tenth (at least 1). Otherwise it stays.
    """

    def __init__(
        self,
        gate: AdmissionGate,
        minimum: int,
        maximum: int,
        scoring_wait: Callable[[], float] | None = None,
        lag_target: float = LAG_TARGET,
        scoring_target: float = SCORING_WAIT_TARGET,
        window: int = WINDOW,
    ) -> None:
        self.gate = gate
        self.minimum, self.maximum = minimum, maximum
        self.scoring_wait = scoring_wait
        self.lag_target, self.scoring_target = lag_target, scoring_target
        self.window = window
        self._samples: list[float] = []

    def on_lag(self, lag: float) -> None:
        self._samples.append(lag)
        if len(self._samples) >= self.window:
            samples, self._samples = self._samples, []
            self.adjust(statistics.median(samples), self.scoring_wait() if self.scoring_wait else 0.0)

    def adjust(self, lag: float, scoring_wait: float = 0.0) -> int:
        """One control step from the window's median lag and its longest scoring wait; returns the new limit."""
        gate = self.gate
        behind = lag > self.lag_target or scoring_wait > self.scoring_target
        if behind and 2 * gate.peak >= gate.limit:  # a worker using little of its limit is not slowed by its requests
            limit = max(self.minimum, int(0.9 * min(gate.limit, gate.peak)))
        elif gate.pressed and lag <= self.lag_target and scoring_wait <= self.scoring_target:
            limit = min(self.maximum, gate.limit + max(1, gate.limit // 10))
        else:
            limit = gate.limit
        gate.pressed = False
        gate.peak = gate.in_flight
        gate.set_limit(limit)
        return limit


class LoopLag:
    """Samples the event loop's lag: a timer due every ``interval`` seconds, and how late it runs."""

    def __init__(self, interval: float = LAG_INTERVAL, on_sample: Sequence[Callable[[float], None]] = ()) -> None:
        self.interval = interval
        self.on_sample = list(on_sample)
        self.last = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._due = loop.time() + self.interval
            self._handle = loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        self.last = lag = max(0.0, now - self._due)
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._tick, loop)
        for callback in self.on_sample:
            callback(lag)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class AdmissionMiddleware:
    """Refuses chat requests at once, before routing, auth and parsing, while the gate refuses new requests.

    A refusal is the cheapest answer the server gives, and under overload it gives many: this spares them the
    app's routing and the chat endpoint. Bodies over ``max_read`` bytes go on to the endpoint, which refuses them
    after reading them within its limits. ``on_shed(error, started)`` counts each refusal.
    """

    def __init__(
        self,
        app: ASGIApp,
        gate: AdmissionGate,
        path: str,
        on_shed: Callable[[Shed, float], None] | None = None,
        max_read: int = 64 * 1024,
    ) -> None:
        self.app = app
        self.gate = gate
        self.path = path
        self.on_shed = on_shed
        self.max_read = max_read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if not gate.refusing or scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope.get("headers", ()) if name == b"content-length"), None)
        if length is None or not length.isdigit() or int(length) > self.max_read:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            gate.check()
        except Shed as shed:
            await drain(receive, self.max_read)  # the body is read, so the connection can carry the next request
            if self.on_shed is not None:
                self.on_shed(shed, started)
            await shed.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_gate(
    plan: AdmissionPlan | None, metrics: ServerMetrics | None = None, scoring_wait: Callable[[], float] | None = None
) -> tuple[AdmissionGate | None, AdaptiveLimit | None]:
    """The gate of a plan (None: admission control off) and, for an adaptive plan, its controller."""
    if plan is None:
        return None, None
    gate = AdmissionGate(plan.limit, plan.max_queue, plan.queue_timeout, metrics)
    if not plan.adaptive:
        return gate, None
    return gate, AdaptiveLimit(gate, plan.minimum, plan.maximum, scoring_wait, lag_target=plan.lag_target)
