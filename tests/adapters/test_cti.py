"""The CTI bridge: its protocol (pure) and the real WebSocket server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agent_assist.cti.bridge import CtiBridge
from agent_assist.cti.protocol import handle_message
from agent_assist.events import Call, Event, Mute

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ('{"type":"call","state":"started","call_id":"A-17"}', Call(3.5, "started")),
        ('{"type":"call","state":"hold"}', Call(3.5, "hold")),
        ('{"type":"mute","muted":true}', Mute(3.5, True, "cti")),
        ('{"type":"mute","muted":false}', Mute(3.5, False, "cti")),
    ],
)
def test_messages_become_events_stamped_with_the_call_clock(message: str, event: Event) -> None:
    result = handle_message(message, t=3.5)
    assert result.events == (event,)
    assert json.loads(result.reply) == {"ok": True, "t": 3.5}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("{oops", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"type":"call","state":"paused"}', "call.state must be one of"),
        ('{"type":"mute","muted":"yes"}', "mute.muted must be true or false"),
        ('{"type":"dial"}', "type must be"),
        (b"\x00\x01", "not binary"),
    ],
)
def test_bad_messages_get_an_error_reply_and_no_event(message: str | bytes, error: str) -> None:
    result = handle_message(message, t=1.0)
    assert result.events == ()
    reply = json.loads(result.reply)
    assert reply["ok"] is False
    assert error in reply["error"]


class Received:
    def __init__(self) -> None:
        self.events: list[Event] = []


@pytest.fixture
def bridge() -> Iterator[tuple[CtiBridge, Received]]:
    received = Received()
    server = CtiBridge(on_event=received.events.append, now=lambda: 7.25, port=0, token="s3cret")
    server.start()
    yield server, received
    server.stop()


def test_a_softphone_pushes_call_and_mute_state(bridge: tuple[CtiBridge, Received]) -> None:
    server, received = bridge
    with connect(f"ws://127.0.0.1:{server.port}/?token=s3cret") as ws:
        for message in ({"type": "call", "state": "started"}, {"type": "mute", "muted": True}):
            ws.send(json.dumps(message))
            assert json.loads(ws.recv()) == {"ok": True, "t": 7.25}
        ws.send("not json")  # a bad message does not end the session
        assert json.loads(ws.recv())["ok"] is False
        ws.send(json.dumps({"type": "call", "state": "ended"}))
        assert json.loads(ws.recv())["ok"] is True
    assert received.events == [Call(7.25, "started"), Mute(7.25, True, "cti"), Call(7.25, "ended")]


def test_a_wrong_token_is_refused(bridge: tuple[CtiBridge, Received]) -> None:
    server, received = bridge
    with (
        pytest.raises(InvalidStatus) as info,
        connect(f"ws://127.0.0.1:{server.port}/?token=guess"),
    ):
        pass
    assert info.value.response.status_code == 401
    assert received.events == []


def test_the_documented_example_client_works(bridge: tuple[CtiBridge, Received]) -> None:
    server, received = bridge
    url = f"ws://127.0.0.1:{server.port}/?token=s3cret"
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/cti_client.py"), url, "mute", "on"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert received.events == [Mute(7.25, True, "cti")]


def test_a_busy_port_is_one_clear_error(bridge: tuple[CtiBridge, Received]) -> None:
    from agent_assist.errors import AgentAssistError

    server, _ = bridge
    with pytest.raises(AgentAssistError, match=r"cannot listen on 127\.0\.0\.1"):
        CtiBridge(on_event=lambda e: None, now=lambda: 0.0, port=server.port).start()


def test_transcribe_merges_cti_events_into_the_stream(phrase_wav: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_assist", "transcribe", str(phrase_wav), "--realtime", "--cti-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    banner = proc.stderr.readline()
    assert "CTI bridge listening on ws://127.0.0.1:" in banner
    url = banner.strip().rsplit(" ", 1)[-1]
    with connect(url) as ws:
        ws.send(json.dumps({"type": "mute", "muted": True}))
        assert json.loads(ws.recv())["ok"]
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0
    assert any('"type":"mute"' in line and '"source":"cti"' in line for line in out.splitlines())
