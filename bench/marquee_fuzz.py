"""Fuzz a live marquee server with hypothesis-generated frames (not part of the test run).

A real ``MarqueeServer`` (SQLite, flag feed on) runs in a child process with the rate limits
lifted, so the frames reach the decoder and the handlers instead of the rate limiter. Three
connections (an agent of site s1, a supervisor of s1, an admin) send frames drawn by
hypothesis: well-formed messages of every type with hostile values (unpaired surrogates,
bidi overrides, zero-width characters, control characters, huge and negative numbers,
NaN-ish floats, wrong types, unknown fields, deep nesting), raw JSON of any shape, arbitrary
text and binary frames, and oversized frames. After each example every connection's
answers are read.

Checked after every example: the server process is alive; no connection was closed with
1011 (internal error) or any code but 1008 (policy) / 1009 (too big); every frame the
server sent decodes with the protocol's own strict ``decode``. At the end: ``/healthz``
answers, an admin's announcement still reaches the agent, and the server's log has no
traceback. Prints counts of frames, answers by type, errors by code, and reconnects.

Run: ``nice -n 10 python bench/marquee_fuzz.py --frames 100000``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agent_assist.marquee.protocol import MAX_FRAME, ProtocolError, decode
from agent_assist.marquee.store import MarqueeStore

ROOT = Path(__file__).resolve().parents[1]
RUNNER = """
import asyncio, json, logging, sys
from agent_assist.marquee.guard import Limits
from agent_assist.marquee.server import MarqueeServer
from agent_assist.marquee.store import MarqueeStore
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
async def main():
    limits = Limits(messages=10**9, reads=10**9, strikes=10**9, connections_per_token=1000)
    server = MarqueeServer(MarqueeStore(sys.argv[1]), port=0, flag_feed=True, limits=limits)
    print(json.dumps({"port": await server.start()}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await server.close()
asyncio.run(main())
"""
TYPES = [
    "hello", "welcome", "announce", "announced", "edit", "retract", "ack", "receipts",
    "announcement", "retracted", "synced", "receipt_list", "error", "flag_summary",
    "flag_notice", "submit", "submitted", "review", "reviewed", "directory", "directory_list",
]  # fmt: skip
FIELDS = [
    "v", "last_seq", "client", "epoch", "text", "priority", "audience", "starts_at",
    "expires_at", "key", "id", "seq", "kind", "severity", "at", "ref", "title", "body", "tags",
    "triggers", "decision", "reason", "article_id", "department", "authority", "all", "sites",
    "teams", "agents", "more", "online", "name", "site", "team", "x",
]  # fmt: skip

hostile_chars = st.characters(
    categories=["Cs", "Cf", "Cc", "Zl", "Zp", "Co", "Lu", "Ll", "Nd", "Po", "So"]
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(hostile_chars, max_size=40),
    st.sampled_from(
        ["", " ", "a1", "<b>x</b>", "\u202e[URGENT]", "\ufeff", "x\ny", "\ud800", "ok"]
    ),
    st.integers(0, 700).map(lambda n: "x" * n),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 1e300, -0.0, 4_102_444_800, 1.7e9]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=10,
)
audiences = st.fixed_dictionaries(
    {},
    optional={
        "all": st.booleans() | values,
        "sites": st.lists(st.sampled_from(["s1", "s2", ""]) | texts, max_size=3),
        "teams": st.lists(st.sampled_from(["t1", "t2"]) | texts, max_size=3),
        "agents": st.lists(texts, max_size=3),
    },
)


KNOWN: dict[str, list[str]] = {"announcement": ["a1-000000"], "submission": ["s1"]}  # seen ids
words = st.text(st.characters(categories=["Lu", "Ll", "Nd", "Zs"]), min_size=1, max_size=60)
TEMPLATES = {  # valid values; messages() makes one field hostile half of the time
    "announce": lambda d: {
        "text": d(words), "priority": d(st.sampled_from(["info", "warning", "urgent"])),
        "audience": d(st.sampled_from([{"all": True}, {"sites": ["s1"]}, {"sites": ["s2"]},
                                       {"teams": ["t1"]}, {"agents": ["ana"]}])),
        "expires_at": d(st.none() | st.floats(60, 3600).map(lambda s: time.time() + s)),
        "key": d(st.none() | st.sampled_from([f"k{i}" for i in range(20)])),
    },
    "edit": lambda d: {"id": "@announcement", "text": d(words)},
    "retract": lambda d: {"id": "@announcement"},
    "ack": lambda d: {"id": "@announcement"},
    "receipts": lambda d: {"id": "@announcement"},
    "directory": lambda d: {},
    "flag_summary": lambda d: {"kind": d(st.sampled_from(["hot_mic", "rudeness"])),
                               "severity": d(st.sampled_from(["info", "critical"])), "at": 1.7e9},
    "submit": lambda d: {"ref": d(st.sampled_from(["1", "2"])), "title": d(words), "body": "Step 1.\nStep 2.",
                         "tags": d(st.lists(words, max_size=3))},
    "review": lambda d: {"id": "@submission", "decision": d(st.sampled_from(["approve", "reject"]))},
    "hello": lambda d: {"v": 1, "last_seq": d(st.integers(0, 100))},
}  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> str | bytes:
    """One frame: often a nearly valid message (one hostile field), sometimes anything."""
    shape = draw(st.integers(0, 99))
    if shape < 3:
        return draw(st.binary(max_size=64))
    if shape < 8:
        return draw(st.text(max_size=200))
    if shape < 10:
        depth = draw(st.integers(5, 5000))
        return "[" * depth + "]" * depth
    if shape < 11:
        return json.dumps(
            {"type": "announce", "text": "x" * draw(st.integers(MAX_FRAME - 100, MAX_FRAME + 100))}
        )
    if shape < 60:
        kind = draw(st.sampled_from(sorted(TEMPLATES)))
        data = {"type": kind, **{k: v for k, v in TEMPLATES[kind](draw).items() if v is not None}}
        if draw(st.booleans()):  # one field made hostile, or one unknown field added
            data[draw(st.sampled_from(FIELDS))] = draw(values)
    else:
        data = {"type": draw(st.sampled_from(TYPES) | texts)}
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=7, unique=True)):
            data[name] = draw(audiences) if name == "audience" else draw(values)
    return json.dumps(data, ensure_ascii=draw(st.booleans()) or _has_surrogate(data))


def with_ids(frame: str | bytes, pick: int) -> str | bytes:
    """Put an id the server knows (an announcement's, a submission's) where the frame asks."""
    if isinstance(frame, str):
        for what, ids in KNOWN.items():
            frame = frame.replace(f'"@{what}"', json.dumps(ids[pick % len(ids)]))
    return frame


def _has_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


class Peer:
    """One fuzzing connection, reconnected when the server closes it (as it may, 1008/1009)."""

    def __init__(self, url: str, token: str, stats: Counter[str]) -> None:
        self.url, self.token, self.stats = url, token, stats
        self.stack = contextlib.ExitStack()
        self.ws = self._open()

    def _open(self) -> ClientConnection:
        headers = {"Authorization": f"Bearer {self.token}"}
        # max_queue=None: an example sends up to 24 frames before it reads the answers; with
        # websockets' default of 16 queued frames the reading thread stops, does not see the
        # server close the connection (1008/1009), and the next send waits its close_timeout
        # (10 s) each time: a 100,000-frame run idled for most of an hour
        ws = self.stack.enter_context(
            connect(self.url, additional_headers=headers, max_size=2**20, ping_interval=None,
                    max_queue=None)
        )  # fmt: skip
        ws.send(json.dumps({"type": "hello", "v": 1}))
        return ws

    def send(self, frame: str | bytes) -> None:
        try:
            self.ws.send(frame)
        except ConnectionClosed:
            self._closed()

    def drain(self, seconds: float = 0.0) -> None:
        end = time.monotonic() + seconds
        try:
            while True:
                frame = self.ws.recv(timeout=max(0.0, end - time.monotonic()))
                try:
                    message = decode(frame)
                except ProtocolError as exc:
                    raise AssertionError(
                        f"the server sent a frame its own decoder refuses: {exc}: {frame[:200]!r}"
                    ) from None
                self.stats[f"answer {message.TYPE}"] += 1
                if message.TYPE == "announcement":
                    KNOWN["announcement"] = [*KNOWN["announcement"][-50:], message.id]  # type: ignore[attr-defined]
                if message.TYPE == "submitted":
                    KNOWN["submission"] = [*KNOWN["submission"][-50:], message.id]  # type: ignore[attr-defined]
                if message.TYPE == "error":
                    self.stats[f"error {message.code}"] += 1  # type: ignore[attr-defined]
        except TimeoutError:
            pass
        except ConnectionClosed:
            self._closed()

    def _closed(self) -> None:
        code = self.ws.protocol.close_rcvd.code if self.ws.protocol.close_rcvd else None
        assert code in (1008, 1009), f"closed with {code}"
        self.stats[f"closed {code}"] += 1
        self.ws = self._open()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="marquee-fuzz-"))
    store = MarqueeStore(tmp / "m.db")
    tokens = {
        "agent": store.create_token(role="agent", name="ana", site="s1", team="t1"),
        "supervisor": store.create_token(role="supervisor", name="maria", site="s1"),
        "admin": store.create_token(role="admin", name="it"),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp / "m.db")], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    port = json.loads(server.stdout.readline())["port"]
    url = f"ws://127.0.0.1:{port}/"
    stats: Counter[str] = Counter()
    peers = {role: Peer(url, tok, stats) for role, tok in tokens.items()}
    started = time.monotonic()
    examples = math.ceil(args.frames / 12)  # about 12 frames an example on average

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)  # fmt: skip
    @given(
        st.sampled_from(sorted(peers)),
        st.lists(messages(), min_size=1, max_size=24),
        st.integers(0, 99),
    )
    def example(role: str, frames: list[str | bytes], pick: int) -> None:
        for frame in frames:
            peers[role].send(with_ids(frame, pick))
            stats["frames"] += 1
            if stats["frames"] % 10_000 == 0:  # a long run shows it is moving
                print(f"# {stats['frames']} frames, {time.monotonic() - started:.0f} s", flush=True)
        for peer in peers.values():
            peer.drain()
        assert server.poll() is None, "the server process died"

    try:
        while stats["frames"] < args.frames:
            example()
        for peer in peers.values():
            peer.drain(1.0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.read().startswith(b"ok")
        peers["admin"].send(json.dumps({"type": "announce", "text": "canary after the fuzz"}))
        deadline, seen = time.monotonic() + 10, False
        while not seen and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                seen = "canary after the fuzz" in str(peers["agent"].ws.recv(timeout=1))
        assert seen, "the agent did not get the canary"
        with contextlib.ExitStack() as closing:
            for peer in peers.values():
                closing.callback(peer.stack.close)
    finally:
        assert server.stdin is not None
        server.stdin.write("stop\n")
        server.stdin.flush()
        _, log = server.communicate(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)  # the database of 100,000 hostile frames
    elapsed = time.monotonic() - started
    assert "Traceback" not in log, log[-3000:]
    print(f"frames sent: {stats['frames']} in {elapsed:.0f} s ({stats['frames'] / elapsed:.0f}/s)")
    for key, count in sorted(stats.items()):
        if key != "frames":
            print(f"  {key}: {count}")
    print(f"server log: {len(log.splitlines())} lines, no traceback; canary delivered; /healthz ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
