"""Marquee fan-out benchmark: connect time, delivery latency, broadcast rate, memory per client.

For each N in ``--clients`` a fresh server (``MarqueeServer`` on 127.0.0.1, port 0, a temp
SQLite db holding one agent and one supervisor token) runs in its own process (a small
``python -c`` runner that reports its port on stdout), so the clients' CPU does not distort
the server's. A fresh server per round keeps rounds independent: the RSS baseline is not
inflated by memory the previous round freed, and every client's catch-up is empty. Both
processes raise RLIMIT_NOFILE to the hard limit.

* **connect_s** - N idle clients (websockets asyncio client, no compression, no pings, all
  sharing the agent token) connect at most ``--batch`` at a time, each with a timeout; each
  sends ``hello`` (last_seq 0) and reads until ``synced``. Wall time until all N are synced.
* **KiB/conn** - the server's RSS (VmRSS in /proc/<pid>/status) once the N clients are
  synced, minus its RSS before the first connect, divided by N.
* **p50_ms/p99_ms/max_ms, delivered** - a supervisor sends one urgent announcement; per
  client, ``time.perf_counter`` just before the send to the moment that client's read loop
  got the frame (all clients live in this process: one clock). delivered = clients that got
  it within ``--timeout`` s. The bench's own event loop is in these numbers: with thousands
  of clients in one process the tail is partly the bench's turn to read each socket, so
  they are an upper bound on the server's delivery latency.
* **broadcasts/s** - K (``--broadcasts``) more announcements, each sent as soon as the
  supervisor has received the previous one back (the fan-out includes the sender):
  K / (first send -> the last client has all K). **sup_bc/s** - K / (first send -> the
  supervisor's K-th echo). The server allows one connection 20 messages per 10 s, so the
  announcements come from a pool of supervisor connections (same token), at most 20 each.
  Server and bench CPU seconds over that phase show which side was the bottleneck.

Run: ``python bench/marquee.py [--clients 1000,5000] [--broadcasts 20]``. Every connection
goes to 127.0.0.1; every wait has a timeout and the run is bounded by ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

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
HEADER = "clients  connect_s  p50_ms  p99_ms  max_ms  delivered  KiB/conn  broadcasts/s  sup_bc/s"


def raise_fd_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Server = asyncio.subprocess.Process


async def start_server(db: Path, lifetime: float) -> tuple[Server, int]:
    """The marquee server in a child process; returns it and its port."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", RUNNER, str(db), str(lifetime)),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))  # type: ignore[union-attr]
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
    return metrics


class Tally:
    """Counts clients that have received ``want`` announcements; ``done`` once all have."""

    def __init__(self) -> None:
        self.want, self.total, self.reached = 0, 0, 0
        self.done = asyncio.Event()

    def expect(self, want: int, total: int) -> None:
        self.want, self.total, self.reached = want, total, 0
        self.done.clear()

    def got(self, count: int) -> None:
        if count == self.want:
            self.reached += 1
            if self.reached >= self.total:
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
    """Resolves ``waiting[text]`` when the announcement ``text`` comes back; fails on errors."""
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            now, message = time.perf_counter(), json.loads(frame)
            if message["type"] == "error":
                for future in waiting.values():
                    if not future.done():
                        future.set_exception(RuntimeError(f"server error: {message}"))
            elif message["type"] == "announcement" and message["text"] in waiting:
                if not waiting[message["text"]].done():
                    waiting[message["text"]].set_result(now)


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


async def open_many(
    n: int, url: str, token: str, batch: int, timeout: float
) -> tuple[list[ClientConnection], Counter[str]]:
    gate = asyncio.Semaphore(batch)

    async def one() -> ClientConnection:
        async with gate:
            return await open_client(url, token, timeout)

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    ok = [r for r in results if isinstance(r, ClientConnection)]
    errors = Counter(repr(r)[:80] for r in results if not isinstance(r, ClientConnection))
    return ok, errors


async def close_many(conns: list[ClientConnection], batch: int) -> None:
    gate = asyncio.Semaphore(batch)

    async def one(ws: ClientConnection) -> None:
        async with gate:
            await ws.close()

    await asyncio.gather(*(one(ws) for ws in conns), return_exceptions=True)


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
        conns, errors = await open_many(n, url, agent_token, args.batch, timeout)
        connect_s = time.perf_counter() - start
        kib_per_conn = (rss_kib(server.pid) - rss0) / max(1, len(conns))
        if errors:
            print(f"# N={n}: {n - len(conns)} connects failed: {dict(errors)}")
        sups = [await open_client(url, sup_token, timeout) for _ in range(1 + -(-k // _RATE))]
        tally, waiting = Tally(), dict[str, asyncio.Future[float]]()
        agents: list[list[float]] = [[] for _ in conns]  # per client: announcement times
        tasks = [asyncio.create_task(read_agent(*a, tally)) for a in zip(conns, agents)]
        tasks += [asyncio.create_task(read_supervisor(ws, waiting)) for ws in sups]
        conns += sups

        tally.expect(1, len(agents))
        t0 = time.perf_counter()
        await announce(sups[0], f"bench {n} first", waiting, timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), max(0.0, timeout - time.perf_counter() + t0))
        lat = sorted((a[0] - t0) * 1000 for a in agents if a and a[0] - t0 < timeout)
        delivered = f"{len(lat)}/{n}"

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
            if len(done) == len(agents) == n:
                rate = k / wall
            else:
                print(f"# N={n}: only {len(done)}/{n} clients received all {k} broadcasts")
            print(
                f"# N={n}: broadcast phase {wall:.2f} s wall; CPU: server "
                f"{cpu_s(server.pid) - cpu0:.2f} s, bench {time.process_time() - own0:.2f} s"
            )
        return (
            f"{n:>7}  {connect_s:>9.2f}  {pct(lat, 50):>6.1f}  {pct(lat, 99):>6.1f}  "
            f"{(lat[-1] if lat else math.nan):>6.1f}  {delivered:>9}  {kib_per_conn:>8.1f}  "
            f"{rate:>12.1f}  {sup_rate:>8.1f}"
        )
    finally:
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # deadline: no closing handshakes
            for ws in conns:
                ws.transport.abort()
        await close_many(conns, args.batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
        metrics = await stop_server(server)
        keys = ("connections_opened", "broadcasts", "frames_sent", "skipped_slow_clients")
        print(f"# N={n}: server metrics " + ", ".join(f"{m}={metrics.get(m, 0)}" for m in keys))


async def run_all(args: argparse.Namespace, rows: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="marquee-bench-") as tmp:
        for n in args.clients:
            try:
                rows.append(await run_round(n, args, Path(tmp)))
            except Exception as exc:  # report it, skip the larger rounds
                print(f"# N={n} failed: {exc!r}")
                break


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
    print(f"# bench fd limit {nofile}; {os.cpu_count()} CPUs; {args.broadcasts} broadcasts")
    if max(args.clients) + 100 > nofile:
        print(f"# warning: {max(args.clients)} clients need more than the fd limit {nofile}")
    rows: list[str] = []
    status = 0
    try:
        asyncio.run(asyncio.wait_for(run_all(args, rows), args.deadline))
    except TimeoutError:
        print(f"# aborted: the run exceeded --deadline {args.deadline:g} s")
        status = 1
    print(HEADER)
    print("\n".join(rows))
    return status


if __name__ == "__main__":
    sys.exit(main())
