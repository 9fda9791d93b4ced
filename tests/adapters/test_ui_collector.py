"""Cycles are collected on the GUI thread only (ui.collector), never by a worker's allocation."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from ui.collector import MainThreadCollector


class Node:
    """Half of a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def automatic_gc() -> Iterator[None]:
    """The interpreter's default: automatic collection on (the suite turns it off)."""
    gc.enable()
    yield
    gc.disable()


def test_while_it_lives_a_worker_thread_never_collects(qtbot: QtBot, automatic_gc: None) -> None:
    collector = MainThreadCollector(interval_ms=60_000)
    try:
        dead = cycle()
        churn = threading.Thread(target=lambda: [cycle() for _ in range(50_000)])
        churn.start()
        churn.join()
        assert not gc.isenabled()
        assert dead() is not None  # nobody collected: 50,000 cycles were made on a worker
        collector.check()  # the GUI thread's timer tick
        assert dead() is None
        assert collector.collections == 1
    finally:
        collector.stop()
    assert gc.isenabled()  # given back


def test_below_the_thresholds_a_tick_collects_nothing(qtbot: QtBot, automatic_gc: None) -> None:
    gc.collect()
    collector = MainThreadCollector(interval_ms=60_000)
    try:
        dead = cycle()
        collector.check()
        assert dead() is not None
        assert collector.collections == 0
    finally:
        collector.stop()


def test_the_timer_collects_on_its_own(qtbot: QtBot, automatic_gc: None) -> None:
    collector = MainThreadCollector(interval_ms=10)
    try:
        dead = cycle()
        for _ in range(5_000):
            cycle()
        qtbot.waitUntil(lambda: dead() is None, timeout=5000)
    finally:
        collector.stop()
