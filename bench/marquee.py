"""Marquee fan-out benchmark: connect time, delivery latency, broadcast rate, memory per client.

For each N in ``--clients``, a fresh server in a child process (127.0.0.1, port 0) and N idle
clients held by ``--workers`` client processes (bench/marquee_clients.py), so the clients'
CPU is spread and not charged to the server. Each client has its own agent token (the server
allows one token 10 connections, as shipped), site s1. The server raises its open-file limit.

* connect_s: N clients, ``--batch`` handshakes at a time per worker, each ``hello`` .. ``synced``
  (with ``--baseline`` both servers' clients connect at the same time: their keepalive pings
  then come at the same moments, so neither server's measurement alone catches its burst).
* KiB/conn: (server VmRSS with N clients synced - VmRSS before the first connect) / N.
* p50/p99/max_ms, delivered: ``--repeats`` urgent announcements from a supervisor (its own
  connection in this process), each once every client has the one before (and 0.3 s later;
  with ``--baseline`` the two servers' broadcasts alternate: ours, plain, ours, ...);
  per client, ``time.perf_counter()`` (CLOCK_MONOTONIC, one clock for every process) just before
  the supervisor's send to when that client's process read the frame. The row has the median
  of the rounds' p50/p99/max. Includes the reading processes' turn to read each socket: an
  upper bound on the server's latency. ``--light`` readers cost ~7 us a frame instead of ~24.
* broadcasts/s: ``--broadcasts`` K more, each sent once the supervisor got the previous one
  back; K / (first send -> last client has all K). sup_bc/s: K / (first send -> K-th echo).
  Server (and Redis) CPU over the broadcast phases is printed.

``--baseline``: in the same run, with the same client processes and the same N, a plain
websockets broadcast server (bench/marquee_plain.py: ``broadcast()`` to every connection,
compression off, no tokens or state) runs beside ours, each with its own N clients; their
latency broadcasts alternate, so a shift in the machine's load (it is shared) hits both alike,
and the ratios ours / plain of p99 and KiB/conn are printed. ``--redis``: our server is two nodes sharing a throwaway redis-server
(no persistence); client i connects to node i % 2, the supervisor to node A.

Run: ``nice -n 10 python bench/marquee.py --clients 1000,10000,19800 --baseline --light
--repeats 5``. Only 127.0.0.1; every wait has a timeout; a watchdog ends the whole run after
``--deadline`` s. The open-file hard limit caps N: a node needs one descriptor per client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent_assist.marquee.guard import Limits
from agent_assist.marquee.store import MarqueeStore

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RUNNER = """
import asyncio, collections, contextlib, json, logging, os, sys
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
    server = MarqueeServer(backend(sys.argv[1]), host="127.0.0.1", port=0)
    port = await server.start()
    print(json.dumps({"port": port, "nofile": server.capacity}), flush=True)
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    with contextlib.suppress(TimeoutError):  # "stop", EOF or the lifetime
        await asyncio.wait_for(stdin.readline(), float(sys.argv[2]))
    await server.close()
    import gc
    gc_runs = {f"gc{i}": g["collections"] for i, g in enumerate(gc.get_stats())}
    print(json.dumps({**server.metrics, **gc_runs}), flush=True)
    if log.seen:
        print(f"# server pid {os.getpid()} logged: {dict(log.seen)}", file=sys.stderr)

asyncio.run(main())
"""
HEADER = "server  clients  connect_s  p50_ms  p99_ms  max_ms    delivered  KiB/conn  broadcasts/s  sup_bc/s"
Proc = asyncio.subprocess.Process
CHILDREN: set[int] = set()  # live child pids, for the deadline watchdog


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


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)] if values else math.nan


def median(values: list[float]) -> float:
    ordered = sorted(v for v in values if not math.isnan(v))
    return ordered[(len(ordered) - 1) // 2] if ordered else math.nan


async def spawn(*argv: str, label: str, stdout: bool = True) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE if stdout else asyncio.subprocess.DEVNULL,
        limit=1 << 28,
    )
    CHILDREN.add(proc.pid)
    return proc


async def stop(proc: Proc, *, say: bytes = b"stop\n") -> dict[str, Any]:
    """Ask a child to end; returns the JSON it prints last (a server's metrics), if any."""
    answer: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        proc.stdin.write(say)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        line = await asyncio.wait_for(proc.stdout.readline(), 30)  # type: ignore[union-attr]
        answer = json.loads(line) if line else {}
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 15)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    CHILDREN.discard(proc.pid)
    return answer


async def start_server(kind: str, target: str, lifetime: float, label: str) -> tuple[Proc, int]:
    if kind == "plain":
        proc = await spawn(
            sys.executable, str(HERE / "marquee_plain.py"), str(lifetime), label=label
        )
    else:
        proc = await spawn(sys.executable, "-c", RUNNER, target, str(lifetime), label=label)
    assert proc.stdout is not None
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    except (TimeoutError, ValueError):
        await stop(proc)
        raise RuntimeError(f"the {label} process did not report its port") from None
    print(
        f"# {label}: pid {proc.pid} on 127.0.0.1:{info['port']}, capacity/fd limit {info['nofile']}"
    )
    return proc, int(info["port"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_redis() -> tuple[Proc, str]:
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
    for _ in range(200):
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"PING\r\n")
            pong = await reader.readline()
            writer.close()
            if pong.startswith(b"+PONG"):
                return proc, f"redis://127.0.0.1:{port}/0"
        await asyncio.sleep(0.05)
    raise RuntimeError("redis-server did not start")


async def make_tokens(target: str, n: int, sups: int) -> tuple[list[str], list[str]]:
    """N agent tokens (site s1) and ``sups`` supervisor tokens for s1, in SQLite or Redis."""
    roles = [("agent", f"bench-agent-{i}", "s1", "t1") for i in range(n)]
    roles += [("supervisor", f"bench-supervisor-{i}", "s1", "") for i in range(sups)]
    if target.startswith("redis://"):
        from agent_assist.marquee.redis_backend import RedisBackend

        backend = RedisBackend(target)
        await backend.connect()
        try:
            made = [
                await backend.create_token(role=r, name=nm, site=s, team=t) for r, nm, s, t in roles
            ]
        finally:
            await backend.close()
    else:
        store = MarqueeStore(target)
        store.db.execute("BEGIN")
        made = [store.create_token(role=r, name=nm, site=s, team=t) for r, nm, s, t in roles]  # type: ignore[arg-type]
        store.db.execute("COMMIT")
        store.db.close()
    return made[:n], made[n:]


class Worker:
    """One client process (bench/marquee_clients.py), driven by JSON lines."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc

    async def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"client process {self.proc.pid} ended")
        return json.loads(line)  # type: ignore[no-any-return]


async def ask_all(
    workers: Sequence[Worker], commands: Sequence[dict[str, Any]], timeout: float
) -> list[dict[str, Any]]:
    return list(
        await asyncio.gather(*(w.ask(c, timeout) for w, c in zip(workers, commands, strict=True)))
    )


@dataclass
class Row:
    kind: str
    n: int
    connect_s: float = math.nan
    p50: float = math.nan
    p99: float = math.nan
    worst: float = math.nan
    delivered: int = 0
    kib: list[float] = field(default_factory=list)
    rate: float = math.nan
    sup_rate: float = math.nan

    def __str__(self) -> str:
        memory = "/".join(f"{x:.1f}" for x in self.kib)
        return (
            f"{self.kind:<6}  {self.n:>7}  {self.connect_s:>9.2f}  {self.p50:>6.1f}  {self.p99:>6.1f}  "
            f"{self.worst:>6.1f}  {f'{self.delivered}/{self.n}':>11}  {memory:>8}  "
            f"{self.rate:>12.1f}  {self.sup_rate:>8.1f}"
        )


async def supervisor(url: str, token: str, timeout: float) -> ClientConnection:
    ws = await connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, compression=None,
        ping_interval=None, proxy=None, open_timeout=timeout,
    )  # fmt: skip
    await ws.send(json.dumps({"type": "hello", "v": 1}))
    while not str(await ws.recv()).startswith('{"type":"synced"'):
        pass
    return ws


async def echo_of(ws: ClientConnection, text: str, timeout: float) -> float:
    """Send an urgent announcement; returns when (perf_counter) the sender got it back."""
    await ws.send(json.dumps({"type": "announce", "text": text, "priority": "urgent"}))
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.recv()
            now = time.perf_counter()
            message = json.loads(frame)
            if message["type"] == "error":
                raise RuntimeError(f"server error: {message}")
            if message["type"] == "announcement" and message["text"] == text:
                return now


@dataclass
class Setup:
    """One server under test in a round: its processes, URLs, tokens and supervisors."""

    kind: str
    labels: list[str]
    nodes: list[Proc] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    redis: Proc | None = None
    sups: list[ClientConnection] = field(default_factory=list)
    sent: int = 0
    starts: list[float] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.nodes] + ([self.redis.pid] if self.redis else [])


async def set_up(
    kind: str, n: int, args: argparse.Namespace, tmp: Path
) -> tuple[Setup, list[str], list[str]]:
    """Start the server(s) of ``kind``; returns the setup, agent tokens and supervisor tokens."""
    sup_count = -(-(args.repeats + args.broadcasts) // Limits().messages)  # rate limits: per token
    if kind == "plain":
        setup, target = Setup(kind, ["plain"]), ""
        agents, sups = [f"t{i}" for i in range(n)], [f"s{i}" for i in range(sup_count)]
    elif args.redis:
        setup = Setup(kind, ["node A", "node B"])
        setup.redis, target = await start_redis()
        agents, sups = await make_tokens(target, n, sup_count)
    else:
        setup, target = Setup(kind, ["ours"]), str(tmp / f"marquee-{n}.db")
        agents, sups = await make_tokens(target, n, sup_count)
    for label in setup.labels:
        proc, port = await start_server(kind, target, args.deadline, label)
        setup.nodes.append(proc)
        setup.urls.append(f"ws://127.0.0.1:{port}/")
    return setup, agents, sups


async def connect_all(
    setups: list[Setup],
    rows: dict[str, Row],
    agents: dict[str, list[str]],
    args: argparse.Namespace,
    workers: list[Worker],
) -> dict[str, int]:
    """Connect every setup's clients at the same time (so their keepalive pings, every 20 s
    from the handshake, come at the same moments too); fills connect_s and KiB/conn."""
    w = len(workers)
    rss0 = {s.kind: [rss_kib(p.pid) for p in s.nodes] for s in setups}
    commands = [
        {"cmd": "connect", "batch": args.batch, "timeout": args.timeout, "light": args.light,
         "jobs": [{"group": s.kind, "url": s.urls[j % len(s.urls)], "tokens": agents[s.kind][j::w]}
                  for s in setups]}
        for j in range(w)
    ]  # fmt: skip
    n = max(len(a) for a in agents.values())
    answers = [a["groups"] for a in await ask_all(workers, commands, args.timeout * 4 + n / 50)]
    connected = {}
    for setup in setups:
        row, m, got = rows[setup.kind], len(setup.nodes), [a[setup.kind] for a in answers]
        row.connect_s = max(g["seconds"] for g in got)
        errors: Counter[str] = Counter()
        for g in got:
            errors.update(g["errors"])
        counts = [g["connected"] for g in got]
        if errors:
            print(f"# {setup.kind} N={n}: {n - sum(counts)} connects failed: {dict(errors)}")
        per_node = [sum(c for j, c in enumerate(counts) if j % m == i) for i in range(m)]
        row.kib = [
            (rss_kib(p.pid) - rss0[setup.kind][i]) / max(1, per_node[i])
            for i, p in enumerate(setup.nodes)
        ]
        connected[setup.kind] = sum(counts)
    return connected


async def run_round(
    n: int, kinds: list[str], args: argparse.Namespace, workers: list[Worker], tmp: Path
) -> list[Row]:
    """All ``kinds`` of server at once, N clients each; their latency broadcasts alternate
    (ours #1, plain #1, ours #2, ...), so a change in the machine's load hits both alike."""
    k, r, timeout, w = args.broadcasts, args.repeats, args.timeout, len(workers)
    setups: list[Setup] = []
    rows = {kind: Row(kind, n) for kind in kinds}
    try:
        agents, sup_tokens = {}, {}
        for kind in kinds:
            setup, agents[kind], sup_tokens[kind] = await set_up(kind, n, args, tmp)
            setups.append(setup)
        connected = await connect_all(setups, rows, agents, args, workers)
        for setup in setups:
            setup.sups = [
                await supervisor(setup.urls[0], t, timeout) for t in sup_tokens[setup.kind]
            ]

        async def send(setup: Setup, text: str) -> float:
            ws = setup.sups[setup.sent // Limits().messages]
            setup.sent += 1
            return await echo_of(ws, text, timeout)

        async def wait(setup: Setup, count: int) -> int:
            command = {"cmd": "wait", "group": setup.kind, "count": count, "timeout": timeout}
            return sum(a["complete"] for a in await ask_all(workers, [command] * w, timeout + 10))

        cpu0 = {s.kind: [cpu_s(pid) for pid in s.pids] for s in setups}
        for j in range(r):
            for setup in setups:
                await asyncio.sleep(0.3)
                setup.starts.append(time.perf_counter())
                await send(setup, f"bench {n} latency #{j}")
                await wait(setup, j + 1)
        cpu = {
            s.kind: [cpu_s(pid) - c0 for pid, c0 in zip(s.pids, cpu0[s.kind], strict=True)]
            for s in setups
        }
        t1: dict[str, float] = {}
        for setup in setups if k else []:
            row = rows[setup.kind]
            t1[setup.kind] = time.perf_counter()
            for i in range(k):
                echo = await send(setup, f"bench {n} #{i}")
            row.sup_rate = k / (echo - t1[setup.kind])
            if await wait(setup, r + k) < connected[setup.kind]:
                print(f"# {setup.kind} N={n}: not every client got all {k} broadcasts")
        times = {s.kind: [] for s in setups}
        for answer in await ask_all(workers, [{"cmd": "times"}] * w, 120):
            for kind, lists in answer["times"].items():
                times[kind] += lists
        for setup in setups:
            row, got = rows[setup.kind], times[setup.kind]
            rounds = []
            for j in range(r):
                lat = sorted((t[j] - setup.starts[j]) * 1000 for t in got if len(t) > j)
                rounds.append((pct(lat, 50), pct(lat, 99), lat[-1] if lat else math.nan, len(lat)))
                print(
                    f"# {setup.kind} N={n}: broadcast {j + 1}/{r}: p50 {rounds[-1][0]:.1f} "
                    f"p99 {rounds[-1][1]:.1f} max {rounds[-1][2]:.1f} ms, {len(lat)}/{n} delivered"
                )
            row.p50, row.p99, row.worst = (median([x[q] for x in rounds]) for q in range(3))
            row.delivered = min(x[3] for x in rounds)
            finished = [t[r + k - 1] for t in got if len(t) >= r + k]
            if k and len(finished) == n:
                row.rate = k / (max(finished) - t1[setup.kind])
            used = ", ".join(
                f"{label} {c:.2f} s"
                for label, c in zip([*setup.labels, "redis"], cpu[setup.kind], strict=False)
            )
            print(f"# {setup.kind} N={n}: CPU over the {r} latency broadcasts: {used}")
        return [rows[kind] for kind in kinds]
    finally:
        await ask_all(workers, [{"cmd": "close"}] * w, 120)
        for setup in setups:
            for ws in setup.sups:
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    await asyncio.wait_for(ws.close(), 5)
            for label, proc in zip(setup.labels, setup.nodes, strict=True):
                metrics = await stop(proc)
                keys = (
                    "gc2",
                    "connections_opened",
                    "broadcasts",
                    "frames_sent",
                    "skipped_slow_clients",
                    "refused_full",
                )
                print(
                    f"# {setup.kind} N={n}: {label} metrics "
                    + ", ".join(f"{x}={metrics.get(x, 0)}" for x in keys)
                )
            if setup.redis is not None:
                setup.redis.terminate()
                await setup.redis.wait()
                CHILDREN.discard(setup.redis.pid)


async def run_all(args: argparse.Namespace, rows: list[str], tmp: Path) -> None:
    workers = [
        Worker(await spawn(sys.executable, str(HERE / "marquee_clients.py"), label="clients"))
        for _ in range(args.workers)
    ]
    try:
        kinds = ["ours", "plain"] if args.baseline else ["ours"]
        for n in args.clients:
            try:
                got = await run_round(n, kinds, args, workers, tmp)
            except Exception as exc:  # report it and go on with the next N
                print(f"# N={n} failed: {exc!r}")
                continue
            rows.extend(str(row) for row in got)
            if len(got) == 2:
                ours, plain = got
                rows.append(
                    f"ratio   {n:>7}  p99 ours/plain {ours.p99 / plain.p99:.2f}  "
                    f"KiB/conn ours/plain {ours.kib[0] / plain.kib[0]:.2f}"
                )
            print("\n".join([HEADER, *rows]), flush=True)
    finally:
        for worker in workers:
            await stop(worker.proc, say=b'{"cmd": "quit"}\n')


def abort(deadline: float, rows: list[str], tmp: str) -> None:
    """The deadline watchdog (a timer thread): kill the children, print what we have, exit."""
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
    parser.add_argument("--repeats", type=int, default=3, help="latency broadcasts per N")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--batch", type=int, default=100, help="concurrent connects per process")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-step timeout, seconds")
    parser.add_argument("--deadline", type=float, default=1800.0, help="whole run, seconds")
    parser.add_argument("--baseline", action="store_true", help="also a plain websockets server")
    parser.add_argument("--redis", action="store_true", help="ours: two nodes sharing Redis")
    parser.add_argument("--light", action="store_true", help="clients read frames by hand")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    args.repeats = max(1, args.repeats)
    nofile = raise_fd_limit()
    load = os.getloadavg()
    print(
        f"# {os.cpu_count()} CPUs, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, fd limit "
        f"{nofile}, {args.workers} client processes ({'light' if args.light else 'websockets'} "
        f"readers), {args.repeats} latency broadcasts + {args.broadcasts}, niceness {os.nice(0)}"
    )
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
