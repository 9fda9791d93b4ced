"""Example CTI adapter: tell Agent Assist that a call started, went on hold, or was muted.

A softphone plugin or CTI connector does the same from its own events: open a
WebSocket to the bridge on 127.0.0.1 and send one JSON object per change.

    python cti_client.py ws://127.0.0.1:8766/ call started
    python cti_client.py ws://127.0.0.1:8766/ mute on
    python cti_client.py "ws://127.0.0.1:8766/?token=SECRET" call ended
"""

from __future__ import annotations

import json
import sys

from websockets.sync.client import connect


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("call", "mute"):
        print(__doc__, file=sys.stderr)
        return 2
    url, kind, value = argv
    if kind == "call":
        message = {"type": "call", "state": value}  # started | ended | hold | resumed
    else:
        message = {"type": "mute", "muted": value == "on"}
    with connect(url) as websocket:
        websocket.send(json.dumps(message))
        reply = json.loads(websocket.recv())
    print(json.dumps(reply))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
