"""Typed background operations for the desktop app (as Anki's ``CollectionOp``).

An :class:`Op` is what to do with the resource a worker thread owns (``run``),
and what to do with the result (:meth:`Op.success`) or a failure
(:meth:`Op.failure`, one clear sentence). An :class:`OpWorker` opens its
resource on its own thread (an SQLite connection stays in the thread that
opened it), runs ops one at a time in the order they were submitted, and hands
every outcome to ``run_on_main``: in the app, the GUI thread (through a Qt
signal), so callbacks may touch widgets. Submitting never waits::

    worker.submit(Op(lambda kb: kb.search(text)).success(show).failure(complain))

A worker may also have a periodic ``tick`` (e.g. sync every five minutes).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from agent_assist.errors import AgentAssistError

__all__ = ["Op", "OpWorker", "RunOnMain", "run_here"]

log = logging.getLogger("agent_assist.app")

R = TypeVar("R")  # the resource a worker owns
T = TypeVar("T")  # what an op returns

RunOnMain = Callable[[Callable[[], None]], None]
"""Run a callback on the GUI thread (callable from any thread; never waits)."""


def run_here(callback: Callable[[], None]) -> None:
    """A :data:`RunOnMain` for code without a GUI (tests, tools): run on the worker thread."""
    callback()


@dataclass(frozen=True, slots=True)
class Op(Generic[R, T]):
    """One background operation: ``run(resource)`` on the worker, then a callback on main."""

    run: Callable[[R], T]
    on_success: Callable[[T], None] | None = None
    on_failure: Callable[[str], None] | None = None

    def success(self, callback: Callable[[T], None]) -> Op[R, T]:
        """The same op, calling ``callback(result)`` when it succeeds."""
        return replace(self, on_success=callback)

    def failure(self, callback: Callable[[str], None]) -> Op[R, T]:
        """The same op, calling ``callback(reason)`` instead of the worker's ``on_error``."""
        return replace(self, on_failure=callback)


class OpWorker(threading.Thread, Generic[R]):
    """A thread that owns one resource and runs :class:`Op` s on it in order.

    Args:
        open_resource: called first, on this thread; when it raises AgentAssistError,
            ``on_error`` hears why and every op fails with that reason.
        what: how failures name the resource, e.g. "the knowledge cache".
        on_error: where failures go when an op has no ``failure`` callback.
        run_on_main: how callbacks reach the GUI thread (:func:`run_here` without a GUI).
        tick, every, first_tick: ``tick(resource)`` every ``every`` seconds, the first
            ``first_tick`` seconds after opening (and at once after :meth:`tick_soon`).
    """

    def __init__(
        self,
        *,
        name: str,
        open_resource: Callable[[], R],
        what: str,
        on_error: Callable[[str], None],
        run_on_main: RunOnMain = run_here,
        tick: Callable[[R], None] | None = None,
        every: float = 300.0,
        first_tick: float = 5.0,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._open, self._what, self._on_error = open_resource, what, on_error
        self._main, self._tick, self._every, self._first = run_on_main, tick, every, first_tick
        self._jobs: queue.Queue[Callable[[R | None], None] | None] = queue.Queue()  # None: stop
        self._tick_job: Callable[[R | None], None] = self._run_tick
        self._lock = threading.Lock()
        self._when_ready: list[Callable[[], None]] | None = []  # None once open (or failed)
        self._unavailable = f"{what} is not open"

    def submit(self, op: Op[R, T]) -> None:
        """Queue ``op`` (from any thread; never waits)."""
        self._jobs.put(lambda resource: self._execute(op, resource))

    def call(self, job: Callable[[R | None], None]) -> None:
        """Queue a plain job that takes the resource (None if it could not be opened) itself."""
        self._jobs.put(job)

    def tick_soon(self) -> None:
        """Run the tick next, instead of waiting for its time."""
        self._jobs.put(self._tick_job)

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on this thread) once the resource is open or failed to open."""
        with self._lock:
            if self._when_ready is not None:
                self._when_ready.append(callback)
                return
        callback()

    def stop(self) -> None:
        """Finish the current op (opening cannot be cut short), skip the rest, and end."""
        self._jobs.put(None)
        if self.is_alive():
            self.join()

    def run(self) -> None:
        resource = self._opened()
        due = time.monotonic() + self._first if self._tick is not None else None
        while True:
            try:
                job = self._jobs.get(
                    timeout=None if due is None else max(0.0, due - time.monotonic())
                )
            except queue.Empty:
                job = self._tick_job
            if job is None:
                return
            if job is self._tick_job and due is not None:
                due = time.monotonic() + self._every
            job(resource)

    def _opened(self) -> R | None:
        resource = None
        try:
            resource = self._open()
        except AgentAssistError as exc:
            self._unavailable = f"{self._what} is not available: {exc}"
            self._main(lambda: self._on_error(self._unavailable))
        finally:
            with self._lock:
                callbacks, self._when_ready = self._when_ready or [], None
            for callback in callbacks:
                callback()
        return resource

    def _run_tick(self, resource: R | None) -> None:
        if self._tick is not None and resource is not None:
            self._execute(Op(self._tick), resource)

    def _execute(self, op: Op[R, T], resource: R | None) -> None:
        try:
            if resource is None:
                raise AgentAssistError(self._unavailable)
            result = op.run(resource)
        except AgentAssistError as exc:
            reason = str(exc)
        except (
            Exception
        ) as exc:  # e.g. the cache locked by a CLI sync: this op fails, not the worker
            log.exception("%s: an operation failed", self.name)
            reason = f"{self._what} failed ({exc.__class__.__name__}); try again"
        else:
            if op.on_success is not None:
                succeeded = op.on_success
                self._main(lambda: succeeded(result))
            return
        failed = op.on_failure or self._on_error
        self._main(lambda: failed(reason))
