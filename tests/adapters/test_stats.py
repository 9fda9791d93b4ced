"""Team stats (lane: adapters): a real server, SQLite and Redis, receiving the call stats two
agents' apps send at two sites; scope; the CSV export; and no word of a call stored."""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent_assist.app.demo import DEMO_CALL
from agent_assist.app.wrapup import AfterCall, call_stats
from agent_assist.events import Call, Event, Mute, Summary, Utterance, decode_lines
from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import (
    CallStats,
    FlagCount,
    ProtocolError,
    Role,
    decode,
    encode,
)
from agent_assist.marquee.redis_backend import RedisBackend
from agent_assist.marquee.stats import StatsQuery, aggregate, to_csv, visible
from agent_assist.marquee.store import Identity, MarqueeStore
from agent_assist.scripts import ScriptEngine, load_script_pack
from agent_assist.session import CallSession
from tests.support.marquee import Node, RedisServer, next_of, open_session

TODAY = datetime.date.today().isoformat()
# words said in the two calls: none of them may reach the server's storage
CALL_WORDS = [
    b"ordered", b"arrived", b"travelling", b"idiot", b"stupid", b"refund", b"department",
    b"noon", b"debit", b"twice", b"recap", b"card-arrival", b"Card has not", b"dollars",
]  # fmt: skip


def summary_of(events: list[Event], *, script: bool) -> Summary:
    engine = ScriptEngine(load_script_pack("northwind")) if script else None
    session = CallSession(script=engine, summary=True)
    out = [o for e in events for o in session.feed(e)]
    (summary,) = [e for e in out if isinstance(e, Summary)]
    return summary


def demo_summary() -> Summary:
    with open(DEMO_CALL, encoding="utf-8") as handle:
        events = [e for e in decode_lines(handle) if not isinstance(e, Exception)]
    return summary_of(events, script=True)


def hold_and_mute_summary() -> Summary:
    def say(channel: Any, start: float, end: float, text: str) -> Utterance:
        return Utterance(t=end, channel=channel, final=True, text=text, start=start, end=end)

    return summary_of(
        [
            Call(t=0.0, state="started"),
            say("customer", 1.0, 5.0, "my direct debit was taken twice this month"),
            Call(t=10.0, state="hold"),
            Call(t=40.0, state="resumed"),
            Mute(t=45.0, muted=True, source="os"),
            Mute(t=52.0, muted=False, source="os"),
            say("agent", 53.0, 56.0, "i will call you back tomorrow before noon"),
            Call(t=70.0, state="ended"),
        ],
        script=False,
    )


@dataclass
class Floor:
    """A server with agents ana (manila, cards) and ben (cebu, loans), their supervisors and IT."""

    node: Node
    tokens: dict[str, str]
    dump: Callable[[], bytes]  # everything the server stored

    def stats(self, who: str, **query: str) -> tuple[int, Any]:
        params = {"from": TODAY, "to": TODAY, "by": "agent", **query}
        path = "/stats?" + "&".join(f"{k}={v}" for k, v in params.items())
        status, body = self.node.get(path, self.tokens[who])
        return status, json.loads(body) if status == 200 else body.decode()

    def wait_for_calls(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            rows = self.stats("root")[1]["rows"]
            if sum(r["calls"] for r in rows) >= count:
                return list(rows)
            time.sleep(0.1)
        raise AssertionError(f"the server never had {count} calls")


PEOPLE: dict[str, tuple[Role, str, str]] = {
    "ana": ("agent", "manila", "cards"),
    "ben": ("agent", "cebu", "loans"),
    "maria": ("supervisor", "manila", ""),
    "lead": ("supervisor", "manila", "cards"),
    "carl": ("supervisor", "cebu", ""),
    "root": ("admin", "", ""),
}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def floor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Floor]:
    if request.param == "sqlite":
        db = tmp_path / "marquee.db"
        store = MarqueeStore(db)
        tokens = {
            n: store.create_token(role=r, name=n, site=s, team=t) for n, (r, s, t) in PEOPLE.items()
        }
        node = Node(lambda: MarqueeStore(db)).start()

        def dump() -> bytes:
            store.db.execute("PRAGMA wal_checkpoint(FULL)")
            return b"".join(p.read_bytes() for p in tmp_path.glob("marquee.db*"))

        yield Floor(node, tokens, dump)
    else:
        import redis

        server: RedisServer = request.getfixturevalue("redis_server")
        server.command("FLUSHALL")
        node = Node(lambda: RedisBackend(server.url)).start()
        backend = node.backend
        assert isinstance(backend, RedisBackend)
        tokens = {
            n: str(node.call(backend.create_token(role=r, name=n, site=s, team=t)))
            for n, (r, s, t) in PEOPLE.items()
        }
        sync = redis.Redis.from_url(server.url)

        def dump() -> bytes:
            out: list[Any] = []
            for key in sync.scan_iter():
                kind = sync.type(key)
                if kind == b"hash":
                    fields: Any = sync.hgetall(key)
                    out += [k + v for k, v in fields.items()]
                elif kind == b"string":
                    out.append(sync.get(key) or b"")
                elif kind == b"zset":
                    members: Any = sync.zrange(key, 0, -1)
                    out += members
                out.append(key)
            return b"\n".join(out)

        yield Floor(node, tokens, dump)
        sync.close()
    node.stop()


@pytest.fixture
def shared(floor: Floor) -> Iterator[tuple[Floor, Summary, Summary]]:
    """Each agent's app shares one call's stats, the way the app does at the end of a call."""
    ana, ben = demo_summary(), hold_and_mute_summary()
    clients = []
    for name, summary in (("ana", ana), ("ben", ben)):
        client = MarqueeClient(floor.node.url, floor.tokens[name], on_message=lambda m: None)
        client.start()
        clients.append(client)
        shared: list[CallStats] = []
        AfterCall(client=client, on_shared=shared.append, today=lambda: TODAY)(summary)
    floor.wait_for_calls(2)
    yield floor, ana, ben
    for client in clients:
        client.stop()


# -- what the server aggregates -------------------------------------------------------------


def test_the_server_aggregates_each_agents_call(shared: tuple[Floor, Summary, Summary]) -> None:
    floor, ana, _ = shared
    status, answer = floor.stats("root")
    assert status == 200
    rows = {r["agent"]: r for r in answer["rows"]}
    assert set(rows) == {"ana", "ben"}
    assert (rows["ana"]["site"], rows["ana"]["team"], rows["ana"]["day"]) == (
        "manila",
        "cards",
        TODAY,
    )
    assert rows["ana"]["calls"] == 1
    assert rows["ana"]["aht_s"] == ana.duration == 116.0
    assert (rows["ana"]["script_done"], rows["ana"]["script_required"]) == (4, 5)
    assert rows["ana"]["adherence"] == 0.8
    assert rows["ana"]["flags"] == {f.kind: f.count for f in ana.flags}
    assert rows["ana"]["mute_s"] == 6.6
    assert (rows["ben"]["hold_s"], rows["ben"]["mute_s"], rows["ben"]["aht_s"]) == (30.0, 7.0, 70.0)
    assert rows["ben"]["adherence"] is None  # no script on that call


def test_per_site_and_per_team(shared: tuple[Floor, Summary, Summary]) -> None:
    floor, _, _ = shared
    sites = floor.stats("root", by="site")[1]["rows"]
    assert [(r["site"], r["calls"]) for r in sites] == [("cebu", 1), ("manila", 1)]
    assert "agent" not in sites[0]
    teams = floor.stats("root", by="team")[1]["rows"]
    assert [(r["site"], r["team"]) for r in teams] == [("cebu", "loans"), ("manila", "cards")]


@pytest.mark.parametrize(
    ("who", "agents"),
    [("root", {"ana", "ben"}), ("maria", {"ana"}), ("lead", {"ana"}), ("carl", {"ben"})],
)
def test_each_supervisor_sees_their_scope_only(
    shared: tuple[Floor, Summary, Summary], who: str, agents: set[str]
) -> None:
    floor, _, _ = shared
    status, answer = floor.stats(who)
    assert status == 200
    assert {r["agent"] for r in answer["rows"]} == agents


def test_agents_read_no_team_stats(shared: tuple[Floor, Summary, Summary]) -> None:
    floor, _, _ = shared
    status, text = floor.stats("ana")
    assert status == 403
    assert "only supervisors and admins" in text


def test_nothing_said_on_a_call_is_stored(shared: tuple[Floor, Summary, Summary]) -> None:
    floor, ana, ben = shared
    stored = floor.dump()
    assert b"manila" in stored  # the search does find what is there
    assert any(word.decode() in ana.note + ben.note for word in CALL_WORDS)  # the calls had them
    found = [word for word in CALL_WORDS if word in stored]
    assert found == []


def test_a_resent_call_is_counted_once(shared: tuple[Floor, Summary, Summary]) -> None:
    floor, ana, _ = shared
    stats = call_stats(ana, call="same-call", day=TODAY)
    with contextlib.ExitStack() as stack:
        ws, _ = open_session(stack, floor.node.url, floor.tokens["ana"])
        ws.send(encode(stats))
        ws.send(encode(stats))
        time.sleep(0.3)
    rows = floor.wait_for_calls(3)
    assert sum(r["calls"] for r in rows) == 3


def test_only_agents_send_call_stats(floor: Floor) -> None:
    with contextlib.ExitStack() as stack:
        ws, _ = open_session(stack, floor.node.url, floor.tokens["maria"])
        ws.send(encode(CallStats(call="c1", day=TODAY, duration=10.0)))
        assert next_of(ws, "error")["code"] == "forbidden"


def test_time_to_acknowledge_an_urgent_announcement(floor: Floor) -> None:
    with contextlib.ExitStack() as stack:
        boss, _ = open_session(stack, floor.node.url, floor.tokens["maria"])
        agent, _ = open_session(stack, floor.node.url, floor.tokens["ana"])
        boss.send(
            json.dumps({"type": "announce", "text": "Outage: use script B", "priority": "urgent"})
        )
        news = next_of(agent, "announcement")
        time.sleep(0.5)
        agent.send(json.dumps({"type": "ack", "id": news["id"]}))
        next_of(boss, "receipt_list")
    rows = floor.stats("maria")[1]["rows"]
    assert [(r["agent"], r["calls"], r["urgent_acks"]) for r in rows] == [("ana", 0, 1)]
    assert 0.4 <= rows[0]["ack_avg_s"] <= 10.0


def test_a_bad_query_is_a_clear_400(floor: Floor) -> None:
    assert floor.stats("root", by="planet") == (400, "by must be agent, team or site\n")
    status, text = floor.stats("root", **{"from": "2024-02-30"})
    assert (status, text) == (400, "from and to must be dates (YYYY-MM-DD)\n")


# -- the export ---------------------------------------------------------------------------------


def test_the_csv_export_for_the_client_companys_review(
    shared: tuple[Floor, Summary, Summary], tmp_path: Path
) -> None:
    floor, _, _ = shared
    out = tmp_path / "week.csv"
    done = subprocess.run(
        [sys.executable, "-m", "agent_assist", "stats", "export", "--server", floor.node.url,
         "--token", floor.tokens["maria"], "--from", TODAY, "--to", TODAY, "--by", "agent",
         "--format", "csv", "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"agent-assist: 1 rows written to {out}\n"
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["day"], r["site"], r["team"], r["agent"]) for r in rows] == [
        (TODAY, "manila", "cards", "ana")
    ]
    assert (rows[0]["calls"], rows[0]["aht_s"], rows[0]["adherence"]) == ("1", "116.0", "0.8")
    assert rows[0]["flag_hot_mic"] == "1"
    assert rows[0]["flag_mute_mismatch"] == "0"


def test_the_export_says_clearly_when_the_token_may_not_read(floor: Floor) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent_assist", "stats", "export", "--server", floor.node.url,
         "--token", floor.tokens["ben"], "--format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "agent-assist: the server answered HTTP 403: only supervisors and admins read team stats\n"
    )


# -- the message and the arithmetic -------------------------------------------------------------


def test_call_stats_carry_numbers_only() -> None:
    good = encode(CallStats(call="c1", day=TODAY, duration=60.0, flags=(FlagCount("hot_mic", 1),)))
    assert isinstance(decode(good), CallStats)
    data = json.loads(good)
    for bad, why in [
        ({**data, "note": "customer was rude"}, "unknown field 'note'"),
        ({**data, "flags": [{"kind": "idiot", "count": 1}]}, "'idiot' is not a flag kind"),
        ({**data, "day": "tuesday"}, "day must be a date"),
        ({**data, "script_done": 3, "script_required": 2}, "cannot exceed script_required"),
        ({**data, "duration": -1}, "duration must not be negative"),
        ({**data, "duration": 86_401}, "duration must be 0 to 86400 seconds"),
        ({**data, "call": "a call"}, "call is not a valid id"),
        (
            {**data, "flags": [{"kind": "rudeness", "count": 1, "evidence": "calm down"}]},
            "unknown field",
        ),
    ]:
        with pytest.raises(ProtocolError, match=why):
            decode(json.dumps(bad))


def test_scope_in_one_place() -> None:
    def who(role: str, site: str = "", team: str = "") -> Identity:
        return Identity(role, "x", site, team)  # type: ignore[arg-type]

    assert visible(who("admin"), site="manila", team="cards")
    assert visible(who("supervisor", "manila"), site="manila", team="cards")
    assert not visible(who("supervisor", "manila"), site="cebu", team="cards")
    assert not visible(who("supervisor", "manila", "loans"), site="manila", team="cards")
    assert not visible(who("agent", "manila", "cards"), site="manila", team="cards")


def test_aggregation_weighs_every_call_and_csv_is_safe_for_spreadsheets() -> None:
    def call(agent: str, duration: float, done: int) -> dict[str, Any]:
        return {"agent": agent, "site": "s", "team": "t", "day": TODAY, "duration": duration,
                "talk_agent": 1.0, "talk_customer": 1.0, "hold": 0.0, "mute": 0.0, "dead_air": 0.0,
                "script_done": done, "script_required": 4, "articles_suggested": 2,
                "articles_opened": 1, "articles_used": 1, "flags": {"rudeness": 1}}  # fmt: skip

    query = StatsQuery(TODAY, TODAY, "team")
    admin = Identity("admin", "root")
    (row,) = aggregate([call("a", 100, 4), call("b", 200, 2)], [], query=query, viewer=admin)
    assert (row["calls"], row["aht_s"], row["handle_s"], row["adherence"]) == (
        2,
        150.0,
        300.0,
        0.75,
    )
    assert row["flags"] == {"rudeness": 2}
    assert row["ack_avg_s"] is None
    (named,) = aggregate(
        [{**call("=1+2", 10, 1)}], [], query=StatsQuery(TODAY, TODAY, "agent"), viewer=admin
    )
    assert to_csv([named], by="agent").splitlines()[1].split(",")[3] == "'=1+2"
