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
* ``--repeats R``: R latency broadcasts instead of one, each once every client has the one
  before (and 0.3 s later); each is printed, the row has the median of their p50/p99/max.

``--redis``: two nodes sharing state through Redis instead of one SQLite node. A throwaway
redis-server (127.0.0.1, free port, no persistence; fresh per N) holds the two tokens; node A
and node B are ``MarqueeServer(RedisBackend(url))`` in two child processes (separate
processes, so they and the bench share the machine's cores as real nodes would). Client i
connects to node i % 2; every supervisor connection is on node A, so clients on node B get
announcements through Redis pub/sub. KiB/conn is per node (A/B, each node's RSS growth over
its own clients); the CPU lines also show redis-server. Each handshake costs a node two Redis
round trips (token, snapshot) on redis-py's asyncio pool, whose 100 connections (its default)
can all be busy in a connect storm: the next command fails (MaxConnectionsError), the node
answers 500 or closes 1011, counted under "connects failed". ``--batch 100`` (~50 concurrent
handshakes per node) stays clear of it.

``--light``: once synced, each agent's transport is handed from websockets to a minimal frame
reader (``LightReader``: timestamps announcement frames, answers pings, closes with a close
frame). Reading through websockets costs the bench ~24 us of CPU a frame (~7 us with
``--light``), which at 10,000 clients is most of the measured latency; with ``--light`` it is
closer to the server's own fan-out time (still an upper bound: one process reads them all).

Run: ``python bench/marquee.py [--clients 1000,5000] [--broadcasts 20] [--repeats 5]
[--redis] [--light]``. Only 127.0.0.1; every wait has a timeout; a watchdog ends the whole
run after ``--deadline`` s.
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
import socket
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
import asyncio, collections, contextlib, json, logging, os, resource, sys
from agent_assist.marquee.server import MarqueeServer
from agent_assist.marquee.store import MarqueeStore

class FirstFew(logging.Handler):  # a failure repeated per connection: print 2, count the rest
    def __init__(self):
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        self.seen = collections.Counter()
    def emit(self, record):
        self.seen[record.getMessage()[:60]] += 1
        if self.seen[record.getMessage()[:60]] <= 2:
            sys.stderr.write(self.format(record) + "\\n")

def backend(target):
    if target.startswith("redis://"):
        from agent_assist.marquee.redis_backend import RedisBackend
        return RedisBackend(target)
    return MarqueeStore(target)

async def main():
    logging.getLogger().addHandler(log := FirstFew())
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = MarqueeServer(backend(sys.argv[1]), host="127.0.0.1", port=0)
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
    if log.seen:
        print(f"# server pid {os.getpid()} logged: {dict(log.seen)}", file=sys.stderr)

asyncio.run(main())
"""
HELLO = json.dumps({"type": "hello", "v": 1, "last_seq": 0})
ANNOUNCEMENT = '{"type":"announcement"'  # how the server's encode() starts this message
HEADER = "clients  connect_s  p50_ms  p99_ms  max_ms    delivered  KiB/conn  broadcasts/s  sup_bc/s"
REDIS_HEADER = HEADER.replace("  KiB/conn", "  KiB/conn A/B")
Server = asyncio.subprocess.Process
T = TypeVar("T")
CHILDREN: set[int] = set()  # live server (and redis-server) pids, for the deadline watchdog


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


async def start_server(target: str, lifetime: float, label: str = "server") -> tuple[Server, int]:
    """A marquee server on ``target`` (SQLite db or redis:// URL) in a child process, and its port."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", RUNNER, target, str(lifetime)),
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
        raise RuntimeError(f"the {label} process did not report its port") from None
    print(f"# {label} pid {proc.pid} on 127.0.0.1:{info['port']}, fd limit {info['nofile']}")
    return proc, int(info["port"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_redis() -> tuple[Server, str]:
    """A throwaway redis-server on a free loopback port, no persistence; returns it and its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
        *("--appendonly", "no", "--protected-mode", "yes"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    CHILDREN.add(proc.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.returncode is None:
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"PING\r\n")
                pong = await reader.readline()
                writer.close()
                if pong.startswith(b"+PONG"):
                    print(f"# redis-server pid {proc.pid} on 127.0.0.1:{port}")
                    return proc, f"redis://127.0.0.1:{port}/0"
        await asyncio.sleep(0.05)
    await stop_redis(proc)
    raise RuntimeError("redis-server did not start")


async def stop_redis(proc: Server) -> None:
    if proc.returncode is None:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    CHILDREN.discard(proc.pid)


async def redis_tokens(url: str) -> tuple[str, str]:
    """(agent token, supervisor token) stored in the Redis at ``url``."""
    from agent_assist.marquee.redis_backend import RedisBackend

    backend = RedisBackend(url)
    try:
        await backend.connect()
        agent = await backend.create_token(role="agent", name="bench-agent", site="s1", team="t1")
        sup = await backend.create_token(role="supervisor", name="bench-supervisor", site="s1")
    finally:
        await backend.close()
    return agent, sup


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


class LightReader(asyncio.Protocol):
    """``--light``: takes over a synced client's transport from websockets. Parses the server's
    unmasked frames by hand, timestamps announcements (as ``read_agent``), answers pings, so
    the bench spends a few microseconds per frame instead of websockets' full receive path."""

    PREFIX = ANNOUNCEMENT.encode()

    def __init__(self, ws: ClientConnection, times: list[float], tally: Tally) -> None:
        self.transport = ws.transport
        self.times, self.tally, self.buf = times, tally, b""
        self.transport.set_protocol(self)

    def data_received(self, data: bytes) -> None:
        now, buf, at = time.perf_counter(), self.buf + data if self.buf else data, 0
        while len(buf) - at >= 2:
            size, head = buf[at + 1] & 0x7F, 2
            if size >= 126:
                head = 4 if size == 126 else 10
                if len(buf) - at < head:
                    break
                size = int.from_bytes(buf[at + 2 : at + head], "big")
            if len(buf) - at < head + size:
                break
            opcode, payload = buf[at] & 0x0F, buf[at + head : at + head + size]
            at += head + size
            if opcode == 1 and payload.startswith(self.PREFIX):
                self.times.append(now)
                self.tally.got(len(self.times))
            elif opcode == 9:  # ping -> pong, masked with a zero key (payload <= 125 bytes)
                self.transport.write(bytes((0x8A, 0x80 | size)) + bytes(4) + payload)
        self.buf = buf[at:]

    def close(self) -> None:
        """Send a masked close frame (1000) and close the transport."""
        with contextlib.suppress(Exception):
            self.transport.write(b"\x88\x82" + bytes(4) + (1000).to_bytes(2, "big"))
            self.transport.close()


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


def median(values: list[float]) -> float:
    """The median of ``values`` (the lower middle one for an even count); nan if empty."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else math.nan


async def run_round(n: int, args: argparse.Namespace, tmp: Path) -> str:
    redis: Server | None = None
    nodes: list[tuple[str, Server]] = []
    conns: list[ClientConnection] = []
    light: list[LightReader] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        if args.redis:
            redis, target = await start_redis()
            agent_token, sup_token = await redis_tokens(target)
            labels = ["node A", "node B"]
        else:
            store = MarqueeStore(tmp / f"marquee-{n}.db")
            agent_token = store.create_token(role="agent", name="bench-agent", site="s1", team="t1")
            sup_token = store.create_token(role="supervisor", name="bench-supervisor", site="s1")
            store.db.close()
            target, labels = str(tmp / f"marquee-{n}.db"), ["server"]
        urls = []
        for label in labels:
            proc, port = await start_server(target, args.deadline, label)
            nodes.append((label, proc))
            urls.append(f"ws://127.0.0.1:{port}/")
        m, k, r, timeout = len(nodes), args.broadcasts, args.repeats, args.timeout
        pids = [proc.pid for _, proc in nodes] + ([redis.pid] if redis else [])
        names = [label for label, _ in nodes] + (["redis"] if redis else [])

        rss0, start = [rss_kib(proc.pid) for _, proc in nodes], time.perf_counter()
        jobs = [open_client(urls[i % m], agent_token, timeout) for i in range(n)]
        results = await bounded(jobs, args.batch)
        connect_s = time.perf_counter() - start
        placed = [(i % m, c) for i, c in enumerate(results) if isinstance(c, ClientConnection)]
        conns = [c for _, c in placed]
        node_of = [i for i, _ in placed]
        kib = [
            (rss_kib(proc.pid) - rss0[i]) / max(1, node_of.count(i))
            for i, (_, proc) in enumerate(nodes)
        ]
        if errors := Counter(repr(r)[:80] for r in results if isinstance(r, BaseException)):
            print(f"# N={n}: {n - len(conns)} connects failed: {dict(errors)}")
        if m > 1:
            per_node = ", ".join(
                f"{label} {node_of.count(i)} clients {kib[i]:.1f} KiB/conn "
                f"(RSS {rss0[i] / 1024:.0f} -> {rss_kib(proc.pid) / 1024:.0f} MiB)"
                for i, (label, proc) in enumerate(nodes)
            )
            print(f"# N={n}: {per_node}")
        # every supervisor connection is on the first node; each sends at most _RATE messages
        sups = [await open_client(urls[0], sup_token, timeout) for _ in range(-(-(r + k) // _RATE))]
        sent = 0

        async def send(text: str) -> float:
            nonlocal sent
            sup, sent = sups[sent // _RATE], sent + 1
            return await announce(sup, text, waiting, timeout)

        tally, waiting = Tally(), dict[str, asyncio.Future[float]]()
        agents: list[list[float]] = [[] for _ in conns]  # per client: announcement times
        if args.light:
            light = [LightReader(ws, a, tally) for ws, a in zip(conns, agents, strict=True)]
            conns = []  # closed through their LightReader
        else:
            tasks = [
                asyncio.create_task(read_agent(ws, a, tally))
                for ws, a in zip(conns, agents, strict=True)
            ]
        tasks += [asyncio.create_task(read_supervisor(ws, waiting)) for ws in sups]
        conns += sups
        gc.collect()  # and freeze: the bench's GC must not rescan N connections mid-measurement
        gc.freeze()

        samples: list[tuple[float, float, float, int]] = []  # per latency broadcast
        for j in range(r):
            if j:
                await asyncio.sleep(0.3)
            tally.expect(1 + j, len(agents))
            cpu0, t0 = [cpu_s(pid) for pid in pids], time.perf_counter()
            await send(f"bench {n} first" if j == 0 else f"bench {n} latency #{j}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    tally.done.wait(), max(0.0, timeout - time.perf_counter() + t0)
                )
            got = [(node_of[c], (a[j] - t0) * 1000) for c, a in enumerate(agents) if len(a) > j]
            lat = sorted(ms for _, ms in got if ms < timeout * 1000)
            samples.append((pct(lat, 50), pct(lat, 99), lat[-1] if lat else math.nan, len(lat)))
            if r > 1 or m > 1:
                per_node = "".join(
                    f"; {label} p50 {pct(ms, 50):.1f} p99 {pct(ms, 99):.1f}"
                    for i, (label, _) in enumerate(nodes)
                    for ms in [sorted(v for c, v in got if c == i)]
                    if m > 1
                )
                cpu = ", ".join(
                    f"{name} {cpu_s(pid) - c0:.2f} s"
                    for name, pid, c0 in zip(names, pids, cpu0, strict=True)
                )
                first = lat[0] if lat else math.nan
                print(
                    f"# N={n}: broadcast {j + 1}/{r}: min {first:.1f} p50 {samples[-1][0]:.1f} "
                    f"p99 {samples[-1][1]:.1f} max {samples[-1][2]:.1f} ms, "
                    f"{len(lat)}/{n} delivered{per_node}; CPU {cpu}"
                )
        p50, p99, worst = (median([s[q] for s in samples]) for q in range(3))
        delivered = min(s[3] for s in samples)

        rate = sup_rate = math.nan
        if k:
            tally.expect(r + k, len(agents))
            cpu0, own0, t1 = [cpu_s(pid) for pid in pids], time.process_time(), time.perf_counter()
            for i in range(k):
                echo = await send(f"bench {n} #{i}")
            sup_rate = k / (echo - t1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), timeout)
            done = [a[r + k - 1] for a in agents if len(a) >= r + k]
            wall = (max(done) if done else time.perf_counter()) - t1
            if len(done) == n:
                rate = k / wall
            else:
                print(f"# N={n}: only {len(done)}/{n} clients received all {k} broadcasts")
            cpu = ", ".join(
                f"{name} {cpu_s(pid) - c0:.2f} s"
                for name, pid, c0 in zip(names, pids, cpu0, strict=True)
            )
            print(
                f"# N={n}: broadcast phase {wall:.2f} s wall; CPU: {cpu}, "
                f"bench {time.process_time() - own0:.2f} s"
            )
        memory = "/".join(f"{x:.1f}" for x in kib)
        return (
            f"{n:>7}  {connect_s:>9.2f}  {p50:>6.1f}  {p99:>6.1f}  "
            f"{worst:>6.1f}  {f'{delivered}/{n}':>11}  "
            f"{memory:>{12 if m > 1 else 8}}  {rate:>12.1f}  {sup_rate:>8.1f}"
        )
    finally:
        gc.unfreeze()
        for reader in light:
            reader.close()
        await bounded([ws.close() for ws in conns], args.batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
        for label, proc in nodes:
            metrics = await stop_server(proc)
            keys = ("connections_opened", "broadcasts", "frames_sent", "skipped_slow_clients")
            print(
                f"# N={n}: {label} metrics "
                + ", ".join(f"{key}={metrics.get(key, 0)}" for key in keys)
            )
        if redis is not None:
            await stop_redis(redis)


async def run_all(args: argparse.Namespace, rows: list[str], tmp: Path) -> None:
    for n in args.clients:
        try:
            rows.append(await run_round(n, args, tmp))
        except Exception as exc:  # report it and skip the larger rounds
            print(f"# N={n} failed: {exc!r}")
            break


def abort(deadline: float, rows: list[str], tmp: str, header: str | None = None) -> None:
    """The deadline watchdog (a timer thread): kill the server, print what we have, exit."""
    print(f"# aborted: the run exceeded --deadline {deadline:g} s", flush=True)
    for pid in list(CHILDREN):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(tmp, ignore_errors=True)
    print(HEADER if header is None else header, *rows, sep="\n", flush=True)
    os._exit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1000,5000", help="comma-separated client counts")
    parser.add_argument("--broadcasts", type=int, default=20, help="announcements after the first")
    parser.add_argument("--batch", type=int, default=200, help="concurrent connects/closes")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-step timeout, seconds")
    parser.add_argument("--deadline", type=float, default=900.0, help="whole run, seconds")
    parser.add_argument("--repeats", type=int, default=1, help="latency broadcasts per N")
    parser.add_argument(
        "--redis", action="store_true", help="two nodes sharing a throwaway redis-server"
    )
    parser.add_argument(
        "--light", action="store_true", help="agents read frames by hand once synced"
    )
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    args.repeats = max(1, args.repeats)
    header = REDIS_HEADER if args.redis else HEADER
    nofile = raise_fd_limit()
    print(f"# bench fd limit {nofile}, {os.cpu_count()} CPUs, {args.broadcasts} broadcasts")
    if args.redis or args.repeats > 1 or args.light:
        mode = "two nodes + Redis" if args.redis else "one SQLite node"
        reader = "light frame reader" if args.light else "websockets reader"
        print(f"# {mode}, {args.repeats} latency broadcast(s), agents: {reader}")
    if max(args.clients) + 100 > nofile:
        print(f"# warning: {max(args.clients)} clients need more than the fd limit {nofile}")
    rows: list[str] = []
    tmp = tempfile.mkdtemp(prefix="marquee-bench-")
    watchdog = threading.Timer(args.deadline, abort, (args.deadline, rows, tmp, header))
    watchdog.daemon = True
    watchdog.start()
    try:
        asyncio.run(run_all(args, rows, Path(tmp)))
    finally:
        watchdog.cancel()
        shutil.rmtree(tmp, ignore_errors=True)
    print(header, *rows, sep="\n")
    return 0 if len(rows) == len(args.clients) else 1


if __name__ == "__main__":
    sys.exit(main())
