"""Typed background operations (agent_assist.app.ops): run on the worker, outcomes on "main"."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from agent_assist.app.ops import Op, OpWorker
from agent_assist.errors import AgentAssistError


class Main:
    """Stands in for the GUI thread: collects callbacks and runs them when the test says."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []
        self.arrived = threading.Semaphore(0)

    def __call__(self, callback: Callable[[], None]) -> None:
        self.pending.append(callback)
        self.arrived.release()

    def run(self, count: int) -> None:
        for _ in range(count):
            assert self.arrived.acquire(timeout=10), "no outcome arrived"
        while self.pending:
            self.pending.pop(0)()


@pytest.fixture
def main() -> Main:
    return Main()


def worker(main: Main, errors: list[str], **options: object) -> OpWorker[list[str]]:
    resource: list[str] = []
    started: OpWorker[list[str]] = OpWorker(
        name="test-worker",
        open_resource=lambda: resource,
        what="the test resource",
        on_error=errors.append,
        run_on_main=main,
        **options,  # type: ignore[arg-type]
    )
    started.start()
    return started


def test_ops_run_in_order_on_the_worker_and_their_results_go_to_main(main: Main) -> None:
    errors: list[str] = []
    ops = worker(main, errors)
    threads: list[str] = []
    results: list[int] = []

    def append(resource: list[str], word: str) -> int:
        threads.append(threading.current_thread().name)
        resource.append(word)
        return len(resource)

    ops.submit(Op(lambda r: append(r, "a")).success(results.append))
    ops.submit(Op(lambda r: append(r, "b")).success(results.append))
    main.run(2)
    ops.stop()
    assert results == [1, 2]
    assert threads == ["test-worker", "test-worker"]
    assert errors == []


def test_a_failure_goes_to_the_ops_failure_callback_or_else_on_error(main: Main) -> None:
    errors: list[str] = []
    ops = worker(main, errors)
    reasons: list[str] = []

    def refuse(resource: list[str]) -> None:
        raise AgentAssistError("no article 'x' in the cache")

    ops.submit(Op(refuse).failure(reasons.append))
    ops.submit(Op(refuse))
    main.run(2)
    ops.stop()
    assert reasons == ["no article 'x' in the cache"]
    assert errors == ["no article 'x' in the cache"]


def test_an_unexpected_error_is_one_sentence_and_the_worker_goes_on(main: Main) -> None:
    errors: list[str] = []
    ops = worker(main, errors)
    done: list[int] = []

    def crash(resource: list[str]) -> None:
        raise KeyError("boom")

    ops.submit(Op(crash))
    ops.submit(Op(lambda r: 7).success(done.append))
    main.run(2)
    ops.stop()
    assert errors == ["the test resource failed (KeyError); try again"]
    assert done == [7]


def test_a_resource_that_cannot_open_fails_every_op_with_the_reason(main: Main) -> None:
    errors: list[str] = []

    def cannot_open() -> list[str]:
        raise AgentAssistError("disk full")

    ops: OpWorker[list[str]] = OpWorker(
        name="test-worker",
        open_resource=cannot_open,
        what="the test resource",
        on_error=errors.append,
        run_on_main=main,
    )
    ops.start()
    reasons: list[str] = []
    ops.submit(Op(lambda r: len(r)).failure(reasons.append))
    main.run(2)
    ops.stop()
    assert errors == ["the test resource is not available: disk full"]
    assert reasons == ["the test resource is not available: disk full"]


def test_when_ready_runs_once_the_resource_is_open(main: Main) -> None:
    errors: list[str] = []
    ops = worker(main, errors)
    ready = threading.Event()
    ops.when_ready(ready.set)
    assert ready.wait(10)
    later: list[str] = []
    ops.when_ready(lambda: later.append("now"))  # already open: at once
    ops.stop()
    assert later == ["now"]


def test_tick_soon_runs_the_tick_before_its_time(main: Main) -> None:
    errors: list[str] = []
    ticked = threading.Event()
    ops = worker(main, errors, tick=lambda resource: ticked.set(), every=3600.0, first_tick=3600.0)
    ops.tick_soon()
    assert ticked.wait(10)
    ops.stop()
    assert errors == []
