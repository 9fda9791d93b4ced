"""Marquee fan-out benchmark: connect time, delivery latency, broadcast rate, memory per client.

Per N in ``--clients``: a fresh ``MarqueeServer`` (127.0.0.1, port 0, temp SQLite db with one
agent and one supervisor token) in a child process, so the clients' CPU does not distort the
server's (fresh, so no round inherits freed memory). Both processes raise RLIMIT_NOFILE.

* connect_s: N idle clients (websockets asyncio client, no compression, no pings, one shared
  agent token), ``--batch`` at a time, each sending ``hello`` and reading until ``synced``.
* KiB/conn: (server VmRSS with N clients synced - VmRSS before the first connect) / N.
* p50/p99/max_ms, delivered: one urgent announcement; per client, ``time.perf_counter`` just
  before the supervisor's send to when that client's read loop got it (one process, one
  clock); delivered within ``--timeout`` s. Includes the bench's own turn to read each of N
  sockets, so it is an upper bound on the server's latency (the bench freezes its GC first).
* broadcasts/s: K (``--broadcasts``) more, each sent once the supervisor got the previous one
  back; K / (first send -> last client has all K). sup_bc/s: K / (first send -> K-th echo).
  The server allows a connection 20 messages per 10 s: a pool of supervisor connections
  (same token) sends at most 20 each. Server and bench CPU over this phase are printed.

Run: ``python bench/marquee.py [--clients 1000,5000] [--broadcasts 20]``. Only 127.0.0.1;
every wait has a timeout; a watchdog ends the whole run after ``--deadline`` s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent_assist.marquee.server import _RATE
from agent_assist.marquee.store import MarqueeStore

ROOT = Path(__file__).resolve().parents[1]
RUNNER = """
import asyncio, contextlib, json, resource, sys
from agent_assist.marquee.server import MarqueeServer
from agent_assist.marquee.store import MarqueeStore

async def main():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = MarqueeServer(MarqueeStore(sys.argv[1]), host="127.0.0.1", port=0)
    port = await server.start()
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(json.dumps({"port": port, "nofile": nofile}), flush=True)
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    with contextlib.suppress(TimeoutError):  # "stop", EOF or the lifetime
        await asyncio.wait_for(stdin.readline(), float(sys.argv[2]))
    await server.close()
    print(json.dumps(dict(server.metrics)), flush=True)

asyncio.run(main())
"""
HELLO = json.dumps({"type": "hello", "v": 1, "last_seq": 0})
ANNOUNCEMENT = '{"type":"announcement"'  # how the server's encode() starts this message
HEADER = "clients  connect_s  p50_ms  p99_ms  max_ms    delivered  KiB/conn  broadcasts/s  sup_bc/s"
Server = asyncio.subprocess.Process
T = TypeVar("T")
CHILDREN: set[int] = set()  # live server pids, for the deadline watchdog


def raise_fd_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_server(db: Path, lifetime: float) -> tuple[Server, int]:
    """The marquee server in a child process; returns it and its port."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", RUNNER, str(db), str(lifetime)),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    CHILDREN.add(proc.pid)
    assert proc.stdout is not None
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    except (TimeoutError, ValueError):
        await stop_server(proc)
        raise RuntimeError("the server process did not report its port") from None
    print(f"# server pid {proc.pid} on 127.0.0.1:{info['port']}, fd limit {info['nofile']}")
    return proc, int(info["port"])


async def stop_server(proc: Server) -> dict[str, int]:
    """Ask the server to close; returns its metrics. Kills it if it does not exit in time."""
    metrics: dict[str, int] = {}
    with contextlib.suppress(Exception):
        proc.stdin.write(b"stop\n")  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        metrics = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))  # type: ignore[union-attr]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 10)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    CHILDREN.discard(proc.pid)
    return metrics


class Tally:
    """Counts clients that have received ``want`` announcements; ``done`` once all have."""

    def __init__(self) -> None:
        self.want = self.left = 0
        self.done = asyncio.Event()

    def expect(self, want: int, clients: int) -> None:
        self.want, self.left = want, clients
        self.done.clear()

    def got(self, count: int) -> None:
        if count == self.want:
            self.left -= 1
            if self.left <= 0:
                self.done.set()


async def read_agent(ws: ClientConnection, times: list[float], tally: Tally) -> None:
    """Appends the perf_counter time of each announcement to ``times``."""
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            now = time.perf_counter()
            if isinstance(frame, str) and frame.startswith(ANNOUNCEMENT):
                times.append(now)
                tally.got(len(times))


async def read_supervisor(ws: ClientConnection, waiting: dict[str, asyncio.Future[float]]) -> None:
    """Resolves ``waiting[text]`` when announcement ``text`` comes back; fails on errors."""
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            now, message = time.perf_counter(), json.loads(frame)
            future = waiting.get(message.get("text", ""))
            if message["type"] == "error":
                for pending in waiting.values():
                    if not pending.done():
                        pending.set_exception(RuntimeError(f"server error: {message}"))
            elif message["type"] == "announcement" and future and not future.done():
                future.set_result(now)


async def open_client(url: str, token: str, timeout: float) -> ClientConnection:
    """Connect, send hello, read until synced."""
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        ping_interval=None,
        proxy=None,
        open_timeout=timeout,
        close_timeout=timeout,
    )
    try:
        async with asyncio.timeout(timeout):
            await ws.send(HELLO)
            while not str(await ws.recv()).startswith('{"type":"synced"'):
                pass
    except BaseException:
        ws.transport.abort()
        raise
    return ws


async def bounded(jobs: Sequence[Awaitable[T]], limit: int) -> list[T | BaseException]:
    """Run ``jobs``, at most ``limit`` at a time; exceptions are returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)


async def announce(
    ws: ClientConnection, text: str, waiting: dict[str, asyncio.Future[float]], timeout: float
) -> float:
    """Send an urgent announcement; returns when (perf_counter) the sender got it back."""
    waiting[text] = asyncio.get_running_loop().create_future()
    await ws.send(json.dumps({"type": "announce", "text": text, "priority": "urgent"}))
    return await asyncio.wait_for(waiting[text], timeout)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)] if values else math.nan


async def run_round(n: int, args: argparse.Namespace, tmp: Path) -> str:
    store = MarqueeStore(tmp / f"marquee-{n}.db")
    agent_token = store.create_token(role="agent", name="bench-agent", site="s1", team="t1")
    sup_token = store.create_token(role="supervisor", name="bench-supervisor", site="s1")
    store.db.close()
    server, port = await start_server(tmp / f"marquee-{n}.db", args.deadline)
    url, k, timeout = f"ws://127.0.0.1:{port}/", args.broadcasts, args.timeout
    conns: list[ClientConnection] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        rss0, start = rss_kib(server.pid), time.perf_counter()
        jobs = [open_client(url, agent_token, timeout) for _ in range(n)]
        results = await bounded(jobs, args.batch)
        connect_s = time.perf_counter() - start
        conns = [r for r in results if isinstance(r, ClientConnection)]
        kib_per_conn = (rss_kib(server.pid) - rss0) / max(1, len(conns))
        if errors := Counter(repr(r)[:80] for r in results if isinstance(r, BaseException)):
            print(f"# N={n}: {n - len(conns)} connects failed: {dict(errors)}")
        sups = [await open_client(url, sup_token, timeout) for _ in range(1 + -(-k // _RATE))]
        tally, waiting = Tally(), dict[str, asyncio.Future[float]]()
        agents: list[list[float]] = [[] for _ in conns]  # per client: announcement times
        tasks = [
            asyncio.create_task(read_agent(ws, a, tally))
            for ws, a in zip(conns, agents, strict=True)
        ]
        tasks += [asyncio.create_task(read_supervisor(ws, waiting)) for ws in sups]
        conns += sups
        gc.collect()  # and freeze: the bench's GC must not rescan N connections mid-measurement
        gc.freeze()

        tally.expect(1, len(agents))
        t0 = time.perf_counter()
        await announce(sups[0], f"bench {n} first", waiting, timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), max(0.0, timeout - time.perf_counter() + t0))
        lat = sorted((a[0] - t0) * 1000 for a in agents if a and a[0] - t0 < timeout)

        rate = sup_rate = math.nan
        if k:
            tally.expect(1 + k, len(agents))
            cpu0, own0, t1 = cpu_s(server.pid), time.process_time(), time.perf_counter()
            for i in range(k):
                echo = await announce(sups[1 + i // _RATE], f"bench {n} #{i}", waiting, timeout)
            sup_rate = k / (echo - t1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), timeout)
            done = [a[k] for a in agents if len(a) > k]
            wall = (max(done) if done else time.perf_counter()) - t1
            if len(done) == n:
                rate = k / wall
            else:
                print(f"# N={n}: only {len(done)}/{n} clients received all {k} broadcasts")
            print(
                f"# N={n}: broadcast phase {wall:.2f} s wall; CPU: server "
                f"{cpu_s(server.pid) - cpu0:.2f} s, bench {time.process_time() - own0:.2f} s"
            )
        return (
            f"{n:>7}  {connect_s:>9.2f}  {pct(lat, 50):>6.1f}  {pct(lat, 99):>6.1f}  "
            f"{(lat[-1] if lat else math.nan):>6.1f}  {f'{len(lat)}/{n}':>11}  "
            f"{kib_per_conn:>8.1f}  {rate:>12.1f}  {sup_rate:>8.1f}"
        )
    finally:
        gc.unfreeze()
        await bounded([ws.close() for ws in conns], args.batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
        metrics = await stop_server(server)
        keys = ("connections_opened", "broadcasts", "frames_sent", "skipped_slow_clients")
        print(f"# N={n}: server metrics " + ", ".join(f"{m}={metrics.get(m, 0)}" for m in keys))


async def run_all(args: argparse.Namespace, rows: list[str], tmp: Path) -> None:
    for n in args.clients:
        try:
            rows.append(await run_round(n, args, tmp))
        except Exception as exc:  # report it and skip the larger rounds
            print(f"# N={n} failed: {exc!r}")
            break


def abort(deadline: float, rows: list[str], tmp: str) -> None:
    """The deadline watchdog (a timer thread): kill the server, print what we have, exit."""
    print(f"# aborted: the run exceeded --deadline {deadline:g} s", flush=True)
    for pid in list(CHILDREN):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(tmp, ignore_errors=True)
    print(HEADER, *rows, sep="\n", flush=True)
    os._exit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1000,5000", help="comma-separated client counts")
    parser.add_argument("--broadcasts", type=int, default=20, help="announcements after the first")
    parser.add_argument("--batch", type=int, default=200, help="concurrent connects/closes")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-step timeout, seconds")
    parser.add_argument("--deadline", type=float, default=900.0, help="whole run, seconds")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    nofile = raise_fd_limit()
    print(f"# bench fd limit {nofile}, {os.cpu_count()} CPUs, {args.broadcasts} broadcasts")
    if max(args.clients) + 100 > nofile:
        print(f"# warning: {max(args.clients)} clients need more than the fd limit {nofile}")
    rows: list[str] = []
    tmp = tempfile.mkdtemp(prefix="marquee-bench-")
    watchdog = threading.Timer(args.deadline, abort, (args.deadline, rows, tmp))
    watchdog.daemon = True
    watchdog.start()
    try:
        asyncio.run(run_all(args, rows, Path(tmp)))
    finally:
        watchdog.cancel()
        shutil.rmtree(tmp, ignore_errors=True)
    print(HEADER, *rows, sep="\n")
    return 0 if len(rows) == len(args.clients) else 1


if __name__ == "__main__":
    sys.exit(main())
