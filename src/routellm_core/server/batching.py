"""Micro-batched scoring: concurrent requests share one ``Router.score`` call.

Routers are batched by contract (``score(prompts)``), and a learned router
scores 32 prompts in about the time of a few. Each router gets a queue; while
one batch is being scored in a worker thread, new prompts wait and go together
in the next batch. An idle server scores a lone request at once (no waiting
window), so batching adds no latency, and under load it cuts thread hops and
model calls. Batch and one-by-one scores are equal (the router contract tests
check this), so routing decisions do not depend on load.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import numpy as np


class BatchScorer:
    """``await scorer.score(prompt)`` for one router, batching concurrent calls.

    By default a prompt's result is its score (``router.score_checked``, a float); ``batch`` replaces that
    call (``batch(prompts)`` returns one result per prompt, e.g. a row of predicted qualities per model)
    and ``convert`` turns each result into the value callers get.
    """

    def __init__(
        self,
        router: Any,
        max_batch: int = 64,
        on_batch: Any = None,
        *,
        batch: Callable[[list[str]], Any] | None = None,
        convert: Callable[[Any], Any] = float,
    ) -> None:
        self.router = router
        self.batch = batch if batch is not None else router.score_checked
        self.convert = convert
        self.on_batch = on_batch
        self.max_batch = max(1, int(max_batch))
        self._pending: list[tuple[str, asyncio.Future[Any], float]] = []
        self._task: asyncio.Task[None] | None = None
        #: sizes of the batches scored so far (count, total prompts), for tests and metrics
        self.batches = 0
        self.prompts = 0
        #: the longest a prompt waited for its batch to start since :meth:`take_max_wait` last read it (seconds)
        self.max_wait = 0.0

    def take_max_wait(self) -> float:
        """The longest a prompt waited for the router since the last call (seconds); resets it.

        Prompts wait while the batch before theirs is scored: long waits mean the router is busy for longer than
        the requests in flight can afford (a slow router, or too many requests for it).
        """
        value, self.max_wait = self.max_wait, 0.0
        if self._pending:  # still waiting, behind a batch that takes long
            value = max(value, time.monotonic() - self._pending[0][2])
        return value

    async def score(self, prompt: str) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((prompt, future, time.monotonic()))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            taken, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            batch = [(p, f) for p, f, _ in taken if not f.done()]  # callers that were cancelled meanwhile
            if not batch:
                continue
            self.max_wait = max(self.max_wait, time.monotonic() - taken[0][2])
            prompts = [p for p, _ in batch]
            try:
                scores = await asyncio.to_thread(self.batch, prompts)
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.cancel()
                raise
            except Exception:  # score one by one, so only the prompts the router fails on get its error
                scores = await asyncio.to_thread(self._score_each, prompts)
            self.batches += 1
            self.prompts += len(batch)
            if self.on_batch is not None:
                self.on_batch(len(batch))
            values = scores if isinstance(scores, list) else list(np.asarray(scores, dtype=np.float64))
            for (_, future), value in zip(batch, values, strict=True):
                if future.done():
                    continue
                if isinstance(value, BaseException):
                    future.set_exception(value)
                else:
                    future.set_result(self.convert(value))

    def _score_each(self, prompts: list[str]) -> list[Any]:
        out: list[Any] = []
        for prompt in prompts:
            try:
                out.append(np.asarray(self.batch([prompt]), dtype=np.float64)[0])
            except Exception as exc:
                out.append(exc)
        return out
