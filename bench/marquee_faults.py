"""Fault injection against real processes: the figures of issue 13, re-measured.

Sections (``--only NAME[,NAME]``; all by default), each printing what it injected and what
survived. Everything runs on 127.0.0.1 with throwaway files and redis-servers.

* ``sqlite``: ``agent-assist server`` (SQLite) is killed with SIGKILL ``--kills`` times at
  random moments while a supervisor keeps sending keyed announcements (each retried with
  its key until the server says "announced", as ``marquee send`` does) and three agents
  listen through the reconnecting client. Lost = acknowledged but never delivered to an
  agent; duplicated = delivered twice.
* ``redis-none`` / ``redis-rdb`` / ``redis-aof``: two server nodes share a redis-server that
  is killed (SIGKILL) and restarted ``--redis-kills`` times: without persistence, with Redis'
  default RDB snapshots, and with ``appendonly yes``. Tokens lost with the data are restored
  from a copy (what IT would do). Agents stay connected to the nodes. Besides lost and
  duplicated: erased = acknowledged, then gone with Redis' data before any node delivered it.
* ``import``: ``kb import`` of 20,000 articles over 5,000 killed ``--import-kills`` times
  mid-import (a run that ends before its kill moment is not counted; at most 3x the runs).
* ``capacity``: a server at ``ulimit -n 1024`` with 1,500 idle websockets and 200 half-open
  TCP connections; then new listeners; the log size.
* ``inputs``: the bad inputs of the issue, each checked to be refused in one clear line.

Run: ``nice -n 10 python bench/marquee_faults.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import connect

from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import Announcement, Message
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import RedisServer

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int, seconds: float = 20) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1),
        ):
            return True
        time.sleep(0.05)
    return False


def server(port: int, *where: str, limit: int | None = None) -> subprocess.Popen[str]:
    def ulimit() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.Popen(
        [PY, "-m", "agent_assist", "server", "--port", str(port), *where],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=ulimit,
    )  # fmt: skip
    assert healthy(port), "the server did not start"
    return proc


class Listener:
    """An agent on the reconnecting client: every announcement id it is given, in order."""

    def __init__(self, url: str, token: str) -> None:
        self.ids: list[str] = []
        self.trail: list[str] = []  # what arrived, for a report when something is amiss
        self.client = MarqueeClient(url, token, on_message=self._got, backoff=(0.2, 1.0))
        self.client.start()

    def _got(self, message: Message) -> None:
        self.trail.append(f"{time.monotonic():.3f} {message.TYPE} {getattr(message, 'id', '')} "
                          f"seq={getattr(message, 'seq', '')} epoch={getattr(message, 'epoch', '')}"
                          f" client.epoch={self.client.epoch}")  # fmt: skip
        if isinstance(message, Announcement) and not message.edited_at:
            self.ids.append(message.id)


class Sender(threading.Thread):
    """A supervisor sending keyed announcements, each retried until it is acknowledged."""

    def __init__(self, urls: list[str], token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.urls, self.token, self.stop = urls, token, stop
        self.acked: dict[str, str] = {}  # key -> id
        self.failed = 0  # keys given up on (after 30 s of retries)
        self.attempts = 0

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            key = f"k{number}"
            end = time.monotonic() + 30
            while time.monotonic() < end:
                self.attempts += 1
                answer = self._try(key, self.urls[self.attempts % len(self.urls)])
                if answer is not None:
                    self.acked[key] = answer
                    break
                time.sleep(0.2)
            else:
                self.failed += 1
            time.sleep(random.uniform(0.02, 0.15))

    def _try(self, key: str, url: str) -> str | None:
        try:
            with connect(url, additional_headers={"Authorization": f"Bearer {self.token}"},
                         open_timeout=3, close_timeout=1) as ws:  # fmt: skip
                ws.send(json.dumps({"type": "hello", "v": 1}))
                ws.send(json.dumps({"type": "announce", "text": f"fault {key}", "key": key}))
                end = time.monotonic() + 5
                while time.monotonic() < end:
                    message = json.loads(ws.recv(timeout=max(0.01, end - time.monotonic())))
                    if message["type"] == "announced" and message["key"] == key:
                        return str(message["id"])
                    if message["type"] == "error" and message["code"] not in (
                        "unavailable",
                        "rate_limited",
                    ):
                        raise RuntimeError(f"refused: {message}")
        except (OSError, TimeoutError, WebSocketException):
            pass
        return None


def tally(
    label: str,
    sender: Sender,
    listeners: list[Listener],
    faults: int,
    erased: set[str] | None = None,
) -> None:
    acked = set(sender.acked.values())
    lost = dups = 0
    for number, listener in enumerate(listeners):
        got = Counter(listener.ids)
        if not listener.client._thread.is_alive():  # its misses are the client's, not the server's
            print(f"  agent {number}: its client's thread has ended (traceback above): it stopped "
                  f"receiving after {len(listener.ids)} announcements")  # fmt: skip
        missing = acked - set(got) - (erased or set())
        lost += len(missing)
        dups += sum(c - 1 for c in got.values() if c > 1)
        if missing or any(c > 1 for c in got.values()):
            others = [sum(i in other.ids for other in listeners) for i in sorted(missing)]
            twice = [i for i, c in got.items() if c > 1]
            print(
                f"  agent {number}: missing {sorted(missing)[:8]} (held by {others[:8]} agents), "
                f"twice {twice[:8]}; received {len(listener.ids)}"
            )
            if os.environ.get("FAULTS_LOGS"):
                trail = Path(os.environ["FAULTS_LOGS"]) / f"{label.split()[0]}-agent{number}.trail"
                trail.write_text("\n".join(listener.trail))
    erased_text = ""
    if erased is not None:
        reach = Counter(sum(i in set(x.ids) for x in listeners) for i in erased)
        erased_text = (
            f"; {len(erased)} erased by a Redis restart (not on disk), which had reached "
            f"every agent: {reach[len(listeners)]}, some: "
            f"{sum(c for k, c in reach.items() if 0 < k < len(listeners))}, none: {reach[0]}"
        )
        for i in sorted(erased):  # acknowledged, erased, and delivered to some agents only
            held = [n for n, x in enumerate(listeners) if i in x.ids]
            if 0 < len(held) < len(listeners):
                print(f"  erased {i} reached agents {held} only")
                if os.environ.get("FAULTS_LOGS"):
                    for n, x in enumerate(listeners):
                        trail = (
                            Path(os.environ["FAULTS_LOGS"]) / f"{label.split()[0]}-agent{n}.trail"
                        )
                        trail.write_text("\n".join(x.trail))
    print(
        f"{label}: {faults} kill -9s; {len(acked)} announcements acknowledged ({sender.attempts} "
        f"attempts, {sender.failed} given up); to {len(listeners)} agents: {lost} lost, "
        f"{dups} duplicated (lost: acknowledged, still stored, never delivered){erased_text}",
        flush=True,
    )


def section_sqlite(args: argparse.Namespace, tmp: Path) -> None:
    db, port = tmp / "sqlite.db", free_port()
    store = MarqueeStore(db)
    sup = store.create_token(role="admin", name="it")
    agents = [store.create_token(role="agent", name=f"a{i}") for i in range(3)]
    proc = server(port, "--db", str(db))
    url = f"ws://127.0.0.1:{port}/"
    listeners = [Listener(url, t) for t in agents]
    stop = threading.Event()
    sender = Sender([url], sup, stop)
    sender.start()
    for _ in range(args.kills):
        time.sleep(random.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc = server(port, "--db", str(db))
    stop.set()
    sender.join(60)
    time.sleep(5)  # the agents catch up
    tally("sqlite server", sender, listeners, args.kills)
    for listener in listeners:
        listener.client.stop()
    proc.terminate()
    proc.wait(10)


def stored(redis: RedisServer, key: str, field: str) -> bool:
    """Whether hash ``key`` holds ``field``; waits out a Redis still loading its data."""
    for _ in range(100):
        reply = redis.command("HEXISTS", key, field)
        if reply.startswith(b":"):
            return reply.startswith(b":1")
        time.sleep(0.1)  # -LOADING (an AOF being read back) or another error: ask again
    raise RuntimeError(f"Redis did not answer HEXISTS: {reply!r}")


def section_redis(args: argparse.Namespace, tmp: Path, mode: str) -> None:
    options = {
        "redis-none": ("--save", "", "--appendonly", "no"),
        "redis-rdb": ("--save", "3600 1 300 100 60 10000", "--appendonly", "no"),  # Redis defaults
        "redis-aof": ("--appendonly", "yes", "--save", ""),
    }[mode]
    folder = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=tmp))
    redis = RedisServer(*options, folder=folder)
    from agent_assist.marquee.tokens import new_token

    records: dict[str, str] = {}
    tokens = []
    for role, name in [("admin", "it"), *[("agent", f"a{i}") for i in range(3)]]:
        token, who = new_token(role=role, name=name)  # type: ignore[arg-type]
        tokens.append(token)
        records[hashlib.sha256(token.encode()).hexdigest()] = json.dumps(
            {"role": who.role, "name": who.name, "site": "", "team": "", "created_at": time.time()}
        )

    def restore_tokens() -> None:  # what IT does after Redis lost its data
        for digest, record in records.items():
            redis.command("HSET", "marquee:tokens", digest, record)

    restore_tokens()
    ports = [free_port(), free_port()]
    nodes = [server(p, "--redis", redis.url) for p in ports]
    urls = [f"ws://127.0.0.1:{p}/" for p in ports]
    listeners = [Listener(urls[i % 2], t) for i, t in enumerate(tokens[1:])]
    stop = threading.Event()
    sender = Sender(urls, tokens[0], stop)
    sender.start()
    before: set[str] = set()
    erased: set[str] = set()
    for _ in range(args.redis_kills):
        time.sleep(random.uniform(0.3, 1.5))
        acked_now = set(sender.acked.values())
        redis.kill()
        redis.start()
        restore_tokens()
        time.sleep(0.5)
        # acknowledged since the last restart and not in Redis now: erased with its data
        # (one HEXISTS each: RedisServer.command reads one recv() of 4 KiB, so an HKEYS of a
        # few hundred ids came back cut short and the rest were counted as erased)
        erased |= {i for i in acked_now - before if not stored(redis, "marquee:ann", i)}
        before = acked_now
    stop.set()
    sender.join(60)
    time.sleep(5)
    tally(f"{mode} (2 nodes)", sender, listeners, args.redis_kills, erased)
    for listener in listeners:
        listener.client.stop()
    for node in nodes:
        node.terminate()
        log = node.communicate(timeout=10)[1]
        print(f"  node log: {len(log.splitlines())} lines, tracebacks: {log.count('Traceback')}")
        if os.environ.get("FAULTS_LOGS"):
            Path(os.environ["FAULTS_LOGS"]).joinpath(f"{mode}-{node.pid}.log").write_text(log)
    redis.kill()


def section_import(args: argparse.Namespace, tmp: Path) -> None:
    def records(n: int, label: str) -> str:
        return "\n".join(
            json.dumps(
                {"id": f"art-{i:05d}", "title": f"Article {i} {label}", "body": f"{label}. " * 20}
            )
            for i in range(n)
        )

    (tmp / "old.jsonl").write_text(records(5000, "old"))
    (tmp / "new.jsonl").write_text(records(20000, "new"))
    base = tmp / "base.db"
    subprocess.run([PY, "-m", "agent_assist", "kb", "import", str(tmp / "old.jsonl"), "--db", str(base),
                    "--no-embed"], cwd=ROOT, env=ENV, check=True, capture_output=True)  # fmt: skip
    outcome: Counter[str] = Counter()
    killed = mid_write = 0
    timing = tmp / "timing.db"  # one whole run: the kills land anywhere in 0.3 .. 1.3 x its time
    shutil.copy(base, timing)
    started = time.monotonic()
    subprocess.run([PY, "-m", "agent_assist", "kb", "import", str(tmp / "new.jsonl"), "--db", str(timing),
                    "--no-embed"], cwd=ROOT, env=ENV, check=True, capture_output=True)  # fmt: skip
    whole = time.monotonic() - started
    run = 0
    while killed < args.import_kills and run < 3 * args.import_kills:  # a kill after the end
        run += 1  # injects nothing: go on until --import-kills kills landed mid-import
        db = tmp / f"import-{run}.db"
        shutil.copy(base, db)
        proc = subprocess.Popen([PY, "-m", "agent_assist", "kb", "import", str(tmp / "new.jsonl"), "--db",
                                 str(db), "--no-embed"], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(random.uniform(0.3, 1.3) * whole)
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait(30) == -signal.SIGKILL
        # a journal (or WAL) left with content: the kill landed inside the write transaction
        mid_write += any(
            (f := db.with_name(db.name + tail)).exists() and f.stat().st_size > 0
            for tail in ("-journal", "-wal")
        )
        check = subprocess.run(
            [PY, "-c", "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); "
             "print(d.execute('select count(*), sum(title like \"% new\") from articles').fetchone(), "
             "d.execute('select count(*) from articles_fts').fetchone()[0])", str(db)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        outcome[
            {"(5000, 0) 5000": "old", "(20000, 20000) 20000": "new"}.get(check, f"mixed {check}")
        ] += 1
    print(
        f"kb import of 20,000 articles over 5,000 ({whole:.1f} s uninterrupted): "
        f"{run} runs, {killed} killed before they ended ({mid_write} inside the write "
        f"transaction: a journal left behind): {dict(outcome)}",
        flush=True,
    )


def section_capacity(args: argparse.Namespace, tmp: Path) -> None:
    import asyncio

    from websockets.asyncio.client import connect as aconnect

    db, port = tmp / "cap.db", free_port()
    store = MarqueeStore(db)
    store.db.execute("BEGIN")
    tokens = [store.create_token(role="agent", name=f"a{i}") for i in range(1600)]
    store.db.execute("COMMIT")
    proc = server(port, "--db", str(db), limit=1024)

    async def one(token: str) -> Any:
        ws = await aconnect(f"ws://127.0.0.1:{port}/", additional_headers={"Authorization": f"Bearer {token}"},
                            open_timeout=20, ping_interval=None)  # fmt: skip
        await ws.send(json.dumps({"type": "hello", "v": 1}))
        while json.loads(await ws.recv())["type"] != "synced":
            pass
        return ws

    def kind(result: Any) -> str:
        if isinstance(result, InvalidStatus):
            return f"HTTP {result.response.status_code}"
        return "served" if not isinstance(result, BaseException) else type(result).__name__

    async def scenario() -> None:
        half_open = []
        for _ in range(200):  # TCP connections that never send a request
            s = socket.create_connection(("127.0.0.1", port))
            half_open.append(s)
        gate = asyncio.Semaphore(200)

        async def gated(token: str) -> Any:
            async with gate:
                return await one(token)

        results = await asyncio.gather(*(gated(t) for t in tokens[:1500]), return_exceptions=True)
        print(
            f"capacity at ulimit -n 1024: 1500 idle clients + 200 half-open: {dict(Counter(map(kind, results)))}"
        )
        await asyncio.sleep(12)  # the half-open ones time out (websockets' open_timeout, 10 s)
        for s in half_open:
            s.close()
        held = [r for r in results if not isinstance(r, BaseException)]
        late = await asyncio.gather(*(one(t) for t in tokens[1500:1510]), return_exceptions=True)
        print(
            f"  then 10 new listeners: {dict(Counter(map(kind, late)))} (while {len(held)} stay connected)"
        )
        for ws in held + [r for r in late if not isinstance(r, BaseException)]:
            await ws.close()

    asyncio.run(scenario())
    proc.terminate()
    log = proc.communicate(timeout=20)[1]
    print(
        f"  server log: {len(log.splitlines())} lines, {len(log.encode())} bytes, tracebacks: {log.count('Traceback')}"
    )
    for line in log.splitlines()[:12]:  # what it said (a few lines), not just how much
        print(f"    | {line[:160]}")


def section_inputs(args: argparse.Namespace, tmp: Path) -> None:
    db, port = tmp / "inputs.db", free_port()
    store = MarqueeStore(db)
    admin = store.create_token(role="admin", name="it")
    agent = store.create_token(role="agent", name="ana")
    proc = server(port, "--db", str(db))
    url = f"ws://127.0.0.1:{port}/"
    frames = [
        '{"type":"submit","ref":"1","title":"t","body":"\\ud800"}',
        '{"type":"announce","text":"\\ud800"}',
        '{"type":"hello","v":1,"last_seq":' + str(10**30) + "}",
        '{"type":"announce","text":"\\u202e[URGENT] fake"}',
        '{"type":"announce","text":"one\\n[URGENT] two"}',
        '{"type":"announce","text":"tab\\tx"}',
        '{"type":"announce","text":"zero\\u200bwidth"}',
        '{"type":"announce","text":"\\ufeffbom"}',
        '{"type":"announce","text":"x","audience":{"sites":[""]}}',
        '{"type":"announce","text":"x","expires_at":1000}',
        '{"type":"announce","text":"x","starts_at":1e308}',
        '{"type":"flag_summary","kind":"hot_mic","severity":"critical","at":1e300}',
        "[" * 200_000,
    ]
    refused = 0
    for frame in frames:
        with connect(
            url, additional_headers={"Authorization": f"Bearer {admin}"}, max_size=2**24
        ) as ws:
            ws.send(json.dumps({"type": "hello", "v": 1}))
            with contextlib.suppress(ConnectionClosed):
                ws.send(frame)
            try:
                while (message := json.loads(ws.recv(timeout=5)))["type"] != "error":
                    pass
                refused += message["code"] in ("bad_message", "too_big")
            except ConnectionClosed as exc:
                refused += exc.rcvd is not None and exc.rcvd.code in (1008, 1009)
    with connect(url, additional_headers={"Authorization": f"Bearer {agent}"}) as ws:
        ws.send(json.dumps({"type": "hello", "v": 99}))
        refused += json.loads(ws.recv(timeout=5))["code"] == "unsupported_version"
    status, _ = get(port, "/kb/review", admin)
    print(
        f"protocol: {refused}/{len(frames) + 1} bad frames refused cleanly; /kb/review afterwards: HTTP {status}"
    )
    proc.terminate()
    log = proc.communicate(timeout=20)[1]
    print(f"  server log: tracebacks: {log.count('Traceback')}")
    if "Traceback" in log:
        print(log[log.index("Traceback") - 300 :][:3000])
    line = tmp / "big.jsonl"
    with open(line, "w") as f:  # in chunks: a child forked from a big process reports its RSS
        f.write('{"type":"call","t":0,"state":"started"}\n{"type":"utterance","text":"')
        for _ in range(50):
            f.write("x" * (1 << 20))
        f.write('"}\n')
    measure = (
        "import resource, sys; from agent_assist.cli import main; code = main(['analyze', sys.argv[1]]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
    )
    start = time.monotonic()
    done = subprocess.run(
        [PY, "-c", measure, str(line)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    *said, rss = done.stderr.strip().splitlines()
    print(
        f"analyze with one 50 MB line: exit {done.returncode} in {time.monotonic() - start:.1f} s, "
        f"max RSS {int(rss) / 1024:.0f} MB; stderr: {' '.join(said)[:120]}"
    )


def get(port: int, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="inputs,import,sqlite,redis-none,redis-rdb,redis-aof,capacity"
    )
    parser.add_argument("--kills", type=int, default=36)
    parser.add_argument("--redis-kills", type=int, default=53)
    parser.add_argument("--import-kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    random.seed(args.seed)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    load = os.getloadavg()
    print(f"# load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on {os.cpu_count()} CPUs", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="marquee-faults-"))
    try:
        for name in args.only.split(","):
            started = time.monotonic()
            if name == "sqlite":
                section_sqlite(args, tmp)
            elif name.startswith("redis-"):
                section_redis(args, tmp, name)
            elif name == "import":
                section_import(args, tmp)
            elif name == "capacity":
                section_capacity(args, tmp)
            elif name == "inputs":
                section_inputs(args, tmp)
            print(f"# {name}: {time.monotonic() - started:.0f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
