"""Tokens from the command line against a real server: create, list and revoke (SQLite and
Redis), a revoked token disconnected within seconds, and tokens read from a file or the
environment instead of the command line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, RedisServer, open_session, quiet


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_token_list_and_revoke_and_a_revoked_token_is_disconnected(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack, tmp_path: Path
) -> None:
    db = str(tmp_path / "marquee.db")
    made = cli(
        "token",
        "create",
        "--role",
        "supervisor",
        "--name",
        "maria",
        "--site",
        "manila",
        "--site",
        "cebu",
        "--db",
        db,
    )
    assert made.returncode == 0, made.stderr
    tok = made.stdout.strip()
    listing = [
        json.loads(line) for line in cli("token", "list", "--json", "--db", db).stdout.splitlines()
    ]
    (maria,) = [t for t in listing if t["name"] == "maria"]
    assert (maria["role"], maria["site"], maria["revoked_at"]) == (
        "supervisor",
        "manila,cebu",
        None,
    )
    assert tok not in json.dumps(listing)  # only ids, never tokens
    ws, backlog = open_session(stack, node.url, tok)
    assert backlog[0]["site"] == "manila,cebu"
    revoked = cli("token", "revoke", maria["id"], "--db", db)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(ConnectionClosed) as closed:
        quiet(ws, 15)  # the server closes it within seconds
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "this token was revoked")
    with pytest.raises(InvalidStatus):
        open_session(stack, node.url, tok)
    again = cli("token", "revoke", "maria", "--db", db)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        "agent-assist: no live token has the id or name 'maria' (see: token list)",
    )
    bad = cli("token", "create", "--role", "supervisor", "--name", "x", "--db", db)
    assert bad.returncode == 2
    assert "needs --site" in bad.stderr


def test_token_list_and_revoke_in_redis() -> None:
    redis = RedisServer()
    try:
        made = cli(
            "token",
            "create",
            "--role",
            "agent",
            "--name",
            "ana",
            "--site",
            "manila",
            "--redis",
            redis.url,
        )
        assert made.returncode == 0, made.stderr
        listing = cli("token", "list", "--redis", redis.url).stdout
        assert "agent" in listing
        assert "ana" in listing
        assert "revoked" not in listing
        assert cli("token", "revoke", "ana", "--redis", redis.url).returncode == 0
        assert "revoked" in cli("token", "list", "--redis", redis.url).stdout
    finally:
        redis.stop()


def test_commands_read_the_token_from_a_file_or_the_environment(
    node: Node, store: MarqueeStore, tmp_path: Path
) -> None:
    tok = store.create_token(role="admin", name="it")
    secret = tmp_path / "token"
    secret.write_text(tok + "\n")
    secret.chmod(0o600)
    by_file = cli(
        "marquee", "send", "From a file", "--server", node.url, "--token-file", str(secret)
    )
    assert by_file.returncode == 0, by_file.stderr
    by_env = cli("marquee", "list", "--server", node.url, env={"AGENT_ASSIST_TOKEN": tok})
    assert "From a file" in by_env.stdout
    secret.chmod(0o644)
    warned = cli("marquee", "list", "--server", node.url, "--token-file", str(secret))
    assert "readable by other users" in warned.stderr
    missing = cli("marquee", "list", "--server", node.url, "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "cannot read the token file" in missing.stderr
