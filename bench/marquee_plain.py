"""The anchor for ``bench/marquee.py --baseline``: a plain websockets broadcast server.

What any team would write first with the same library: ``websockets.asyncio.server.serve``
with compression off, a set of connections, and ``websockets.broadcast()`` of every
announcement to all of them. It speaks just enough of the marquee protocol for the bench's
clients: ``hello`` is answered with ``welcome`` and ``synced``; an ``announce`` is broadcast as
an ``announcement`` frame of the same shape and size as the real server's. No tokens, no
state, no scope, no limits: the cost of the real server's work is what the ratio shows.

Usage (by the bench): ``python bench/marquee_plain.py LIFETIME_S``; prints
``{"port": N, "nofile": N}``, serves until "stop" on stdin, then prints ``{"frames_sent": N}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

CLIENTS: set[ServerConnection] = set()
SENT = {"frames_sent": 0, "seq": 0}


def announcement(text: str) -> str:
    SENT["seq"] += 1
    seq = SENT["seq"]
    return json.dumps(
        {
            "type": "announcement",
            "id": f"a{seq}-{seq:06x}",
            "seq": seq,
            "text": text,
            "priority": "urgent",
            "audience": {"all": True, "sites": [], "teams": [], "agents": []},
            "author": "bench-supervisor",
            "created_at": time.time(),
        },
        separators=(",", ":"),
    )


async def handler(ws: ServerConnection) -> None:
    try:
        await ws.recv()  # hello
        await ws.send('{"type":"welcome","v":1,"role":"agent","name":"bench","seq":0}')
        await ws.send('{"type":"synced","seq":0}')
        CLIENTS.add(ws)
        async for frame in ws:
            message = json.loads(frame)
            if message.get("type") == "announce":
                broadcast(CLIENTS, announcement(message["text"]))
                SENT["frames_sent"] += len(CLIENTS)
    except ConnectionClosed:
        pass
    finally:
        CLIENTS.discard(ws)


async def main() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        print(json.dumps({"port": port, "nofile": nofile}), flush=True)
        stdin = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stdin.readline(), float(sys.argv[1]))
    import gc

    gc_runs = {f"gc{i}": g["collections"] for i, g in enumerate(gc.get_stats())}
    print(json.dumps({"frames_sent": SENT["frames_sent"], **gc_runs}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
