"""Marquee server features on one real node: agent flag feed, scheduling, TLS pinning, knowledge."""

from __future__ import annotations

import contextlib
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.cli import main
from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import Announcement, Message, Retracted
from agent_assist.marquee.store import MarqueeStore
from agent_assist.marquee.tls import client_context, fingerprint
from tests.support.marquee import Node, next_of, open_session, quiet

KB = Path(__file__).parents[1] / "data" / "kb"


@pytest.fixture
def feed_node(tmp_path: Path) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), flag_feed=True).start()
    yield running
    running.stop()


def tok(store: MarqueeStore, role: str, name: str, site: str = "") -> str:
    return store.create_token(role=role, name=name, site=site)  # type: ignore[arg-type]


# -- the opt-in agent flag feed ------------------------------------------------------------


def summary(kind: str = "hot_mic", **extra: object) -> str:
    return json.dumps(
        {"type": "flag_summary", "kind": kind, "severity": "critical", "at": 1.5e9, **extra}
    )


def test_flag_summaries_are_refused_unless_the_site_opts_in(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    ana, _ = open_session(stack, node.url, tok(store, "agent", "ana", "manila"))
    ana.send(summary())
    assert next_of(ana, "error")["code"] == "flag_feed_off"


def test_supervisors_of_the_agents_site_see_flag_summaries_live(
    feed_node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    maria, _ = open_session(stack, feed_node.url, tok(store, "supervisor", "maria", "manila"))
    lee, _ = open_session(stack, feed_node.url, tok(store, "supervisor", "lee", "cebu"))
    ana, _ = open_session(stack, feed_node.url, tok(store, "agent", "ana", "manila"))
    ana.send(summary())
    notice = next_of(maria, "flag_notice")
    assert (notice["agent"], notice["kind"], notice["severity"]) == ("ana", "hot_mic", "critical")
    assert [m for m in quiet(lee) if m["type"] == "flag_notice"] == []


def test_a_flag_summary_cannot_carry_the_words_that_raised_it(
    feed_node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    maria, _ = open_session(stack, feed_node.url, tok(store, "supervisor", "maria", "manila"))
    ana, _ = open_session(stack, feed_node.url, tok(store, "agent", "ana", "manila"))
    ana.send(summary(evidence="I hate this job"))
    assert next_of(ana, "error")["code"] == "bad_message"
    assert [m for m in quiet(maria) if m["type"] == "flag_notice"] == []


# -- scheduled announcements --------------------------------------------------------------------


def test_a_scheduled_announcement_is_shown_when_it_starts_and_a_retraction_cancels_one(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    received: list[tuple[float, Message]] = []
    client = MarqueeClient(
        node.url, tok(store, "agent", "ana"), on_message=lambda m: received.append((time.time(), m))
    )
    client.start()
    assert client.wait_connected(5)
    sup, _ = open_session(stack, node.url, tok(store, "admin", "maria"))
    starts = time.time() + 1.0
    sup.send(json.dumps({"type": "announce", "text": "Shift change", "starts_at": starts}))
    sup.send(json.dumps({"type": "announce", "text": "Never mind", "starts_at": starts}))
    next_of(sup, "announcement")
    cancelled = next_of(sup, "announcement")["id"]
    sup.send(json.dumps({"type": "retract", "id": cancelled}))
    deadline = time.monotonic() + 60
    while not any(isinstance(m, Announcement) for _, m in received):
        assert time.monotonic() < deadline, "the scheduled announcement never came"
        time.sleep(0.05)
    time.sleep(0.5)  # the retracted one, scheduled for the same time, would have come with it
    client.stop()
    shown = [(at, m) for at, m in received if isinstance(m, Announcement)]
    assert [m.text for _, m in shown] == ["Shift change"]
    assert shown[0][0] >= starts  # held back until it started, by this machine's clock
    assert any(isinstance(m, Retracted) and m.id == cancelled for _, m in received)


# -- TLS and certificate pinning ------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=marquee.test", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return cert, key, fingerprint(der)


@pytest.fixture
def tls_node(tmp_path: Path, certificate: tuple[Path, Path, str]) -> Iterator[Node]:
    cert, key, _ = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), ssl_context=context).start()
    yield running
    running.stop()


def wss(node: Node) -> str:
    return f"wss://127.0.0.1:{node.port}/"


def test_a_client_pinning_the_servers_certificate_connects(
    tls_node: Node, store: MarqueeStore, certificate: tuple[Path, Path, str]
) -> None:
    client = MarqueeClient(
        wss(tls_node), tok(store, "agent", "ana"), on_message=lambda m: None,
        ssl_context=client_context(pin_sha256=certificate[2]),
    )  # fmt: skip
    client.start()
    try:
        assert client.wait_connected(5)
    finally:
        client.stop()


def test_a_wrong_pin_fails_before_the_token_is_sent(
    tls_node: Node, store: MarqueeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["marquee", "list", "--server", wss(tls_node), "--token", tok(store, "agent", "ana"),
                 "--pin", "ab" * 32])  # fmt: skip
    assert code == 1
    assert "does not match the pinned one" in capsys.readouterr().err
    assert tls_node.server is not None
    assert tls_node.server.metrics["connections_opened"] == 0
    assert tls_node.server.metrics["auth_failures"] == 0  # no HTTP request ever reached it


def test_without_a_pin_or_ca_a_self_signed_server_is_refused(
    tls_node: Node, store: MarqueeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["marquee", "list", "--server", wss(tls_node), "--token", tok(store, "agent", "ana")]
    )
    assert code == 1
    assert "certificate verify failed" in capsys.readouterr().err


def test_the_ca_file_alone_is_enough_for_the_sites_own_certificate(
    tls_node: Node,
    store: MarqueeStore,
    certificate: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["marquee", "list", "--server", wss(tls_node), "--token", tok(store, "agent", "ana"),
                 "--ca", str(certificate[0])])  # fmt: skip
    assert code == 0
    assert "no active announcements" in capsys.readouterr().out


# -- knowledge: publish, sync, bubble-up review -------------------------------------------------


def test_knowledge_over_http_needs_a_token_and_a_valid_version(
    node: Node, store: MarqueeStore
) -> None:
    agent = tok(store, "agent", "ana")
    assert node.get("/kb/changes?since=0", "nope")[0] == 401
    assert node.get("/kb/changes?since=x", agent)[0] == 400
    assert node.get("/kb/changes?since=7", agent)[0] == 409  # a cache ahead of the server
    assert node.get("/kb/review", agent)[0] == 403


def test_agents_cannot_review_submissions(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    ana, _ = open_session(stack, node.url, tok(store, "agent", "ana"))
    ana.send(json.dumps({"type": "review", "id": "s1", "decision": "approve"}))
    assert next_of(ana, "error")["code"] == "forbidden"


def test_published_articles_sync_and_an_approved_resolution_follows(
    node: Node, store: MarqueeStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server_db, cache = str(tmp_path / "marquee.db"), str(tmp_path / "cache.db")
    agent = ["--server", node.url, "--token", tok(store, "agent", "ana", "manila"), "--db", cache]
    sup = ["--server", node.url, "--token", tok(store, "admin", "maria")]
    assert main(["kb", "publish", str(KB / "articles.jsonl"), "--server-db", server_db]) == 0
    assert main(["kb", "sync", "--no-embed", *agent]) == 0
    assert "0 -> 1" in capsys.readouterr().err
    assert main(["kb", "submit", "--db", cache, "--title", "Card stuck in the ATM",
                 "--steps", "Block the card and order a new one; call 555-010-4477 if urgent.",
                 "--trigger", "the machine kept my card"]) == 0  # fmt: skip
    assert main(["kb", "push", *agent]) == 0
    assert main(["kb", "review", "list", "--json", *sup]) == 0
    pending = json.loads(capsys.readouterr().out)
    assert [(p["title"], p["author"]) for p in pending] == [("Card stuck in the ATM", "ana")]
    assert "555-010-4477" not in pending[0]["body"]  # scrubbed before it left the desktop
    assert main(["kb", "review", "approve", pending[0]["id"], "--department", "Cards", *sup]) == 0
    assert "published as card-stuck-in-the-atm" in capsys.readouterr().out
    assert main(["kb", "sync", "--no-embed", *agent]) == 0
    assert "1 -> 2: 1 new" in capsys.readouterr().err
    assert main(["kb", "sync", "--no-embed", *agent]) == 0
    assert "up to date (version 2)" in capsys.readouterr().err
    assert main(["kb", "search", "kept my card", "--json", "--keyword-only", "--db", cache]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits["results"][0]["id"] == "card-stuck-in-the-atm"


def test_a_rejected_submission_leaves_the_queue_with_no_article(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    ana, _ = open_session(stack, node.url, tok(store, "agent", "ana"))
    sup, _ = open_session(stack, node.url, tok(store, "admin", "maria"))
    ana.send(
        json.dumps(
            {"type": "submit", "ref": "r1", "title": "Tell them to call back", "body": "Hang up."}
        )
    )
    queued = next_of(ana, "submitted")["id"]
    sup.send(
        json.dumps(
            {"type": "review", "id": queued, "decision": "reject", "reason": "not a resolution"}
        )
    )
    assert next_of(sup, "reviewed").get("article_id") is None
    assert store.knowledge.queue() == []
    assert store.knowledge.changes(0)["articles"] == []
    sup.send(json.dumps({"type": "review", "id": queued, "decision": "approve"}))
    assert next_of(sup, "error")["code"] == "not_found"  # decided once only


def test_push_without_a_server_keeps_the_resolutions_queued(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.marquee import free_port

    cache = str(tmp_path / "cache.db")
    assert (
        main(["kb", "submit", "--db", cache, "--title", "Reset PIN", "--steps", "Use the app."])
        == 0
    )
    code = main(
        ["kb", "push", "--db", cache, "--server", f"ws://127.0.0.1:{free_port()}/", "--token", "t"]
    )
    assert code == 1
    assert "stay queued" in capsys.readouterr().err
    from kb_cache.outbox import pending
    from kb_cache.store import open_cache

    assert [p.payload["title"] for p in pending(open_cache(cache))] == ["Reset PIN"]


def test_tokens_never_start_with_a_dash(store: MarqueeStore) -> None:
    # a token like "-x..." would be read as an option by `--token -x...`
    assert not any(tok(store, "agent", f"a{i}").startswith("-") for i in range(300))


def test_the_apps_knowledge_exchange_sends_resolutions_and_syncs(
    node: Node, store: MarqueeStore, tmp_path: Path
) -> None:
    """What the desktop app's knowledge worker does on its timer, against a real server."""
    from agent_assist.app import KnowledgeSync, exchange_knowledge
    from kb_cache.outbox import pending, submit_resolution
    from kb_cache.search import KnowledgeBase
    from kb_cache.store import open_cache

    agent = tok(store, "agent", "ana", "manila")
    client = MarqueeClient(node.url, agent, on_message=lambda m: None)
    client.start()
    try:
        assert client.wait_connected(5)
        kb = KnowledgeBase(open_cache(tmp_path / "cache.db"), embedder=None)
        submit_resolution(kb.db, title="Reset a PIN", steps="Use the app: Cards, then Reset PIN.")
        server = KnowledgeSync(url=node.url, token=agent, client=client)
        assert exchange_knowledge(kb, server) == (1, -1)  # sent; nothing published yet
        assert [s["title"] for s in store.knowledge.queue()] == ["Reset a PIN"]
        assert pending(kb.db) == []
        store.knowledge.publish([{"id": "pin-reset", "title": "PIN reset", "body": "Use the app."}])
        assert exchange_knowledge(kb, server) == (0, 1)
        assert [h.id for h in kb.search("pin reset", limit=1)] == ["pin-reset"]
    finally:
        client.stop()


def test_a_phrasing_learned_on_one_desktop_reaches_another_after_approval(
    node: Node, store: MarqueeStore, tmp_path: Path
) -> None:
    """Used it on a suggestion -> review queue -> approval -> every cache's next sync."""
    from agent_assist.app import KnowledgeSync, exchange_knowledge
    from agent_assist.marquee.protocol import Review
    from kb_cache.phrasings import gains, learn
    from kb_cache.search import KnowledgeBase
    from kb_cache.store import open_cache

    store.knowledge.publish(
        [{"id": "KB0010001", "title": "Card has not arrived", "body": "Check the dispatch date."}]
    )
    desks = []
    for name in ("ana", "ben"):
        agent = tok(store, "agent", name, "manila")
        client = MarqueeClient(node.url, agent, on_message=lambda m: None)
        client.start()
        assert client.wait_connected(5)
        kb = KnowledgeBase(open_cache(tmp_path / f"{name}.db"), embedder=None)
        desks.append((client, kb, KnowledgeSync(url=node.url, token=agent, client=client)))
    try:
        for _, kb, server in desks:
            assert exchange_knowledge(kb, server) == (0, 1)
        (_, ana, ana_server), (_, ben, ben_server) = desks
        words = "hello yes it's about my card it's been two weeks and still no sign of it"
        assert learn(ana.db, "KB0010001", words, embedder=None) == words
        assert exchange_knowledge(ana, ana_server) == (1, -1)
        (queued,) = store.knowledge.queue()
        assert (queued["article_id"], queued["triggers"]) == ("KB0010001", [words])
        store.knowledge.review(Review(id=queued["id"], decision="approve"), reviewer="maria")
        assert exchange_knowledge(ben, ben_server) == (0, 2)
        assert ben.db.execute("SELECT article_id, text, state FROM phrasings").fetchall() == [
            ("KB0010001", words, "approved")
        ]
        assert exchange_knowledge(ana, ana_server) == (0, 2)
        assert [(g["article_id"], g["candidates"], g["approved"]) for g in gains(ana.db)] == [
            ("KB0010001", 0, 1)
        ]
    finally:
        for client, _, _ in desks:
            client.stop()


def test_the_apps_knowledge_exchange_keeps_resolutions_when_offline(tmp_path: Path) -> None:
    from agent_assist.app import KnowledgeSync, exchange_knowledge
    from agent_assist.errors import MarqueeError
    from kb_cache.outbox import pending, submit_resolution
    from kb_cache.search import KnowledgeBase
    from kb_cache.store import open_cache
    from tests.support.marquee import free_port

    url = f"ws://127.0.0.1:{free_port()}/"
    client = MarqueeClient(url, "t", on_message=lambda m: None)  # never started: not connected
    kb = KnowledgeBase(open_cache(tmp_path / "cache.db"), embedder=None)
    submit_resolution(kb.db, title="Reset a PIN", steps="Use the app.")
    with pytest.raises(MarqueeError, match="cannot reach"):
        exchange_knowledge(kb, KnowledgeSync(url=url, token="t", client=client))
    assert [p.payload["title"] for p in pending(kb.db)] == ["Reset a PIN"]


def test_approving_a_title_like_an_existing_article_adds_rather_than_replaces(
    store: MarqueeStore,
) -> None:
    from agent_assist.marquee.protocol import Review, Submit

    store.knowledge.publish(
        [{"id": "card-stuck", "title": "Card stuck", "body": "The curated steps."}]
    )
    queued = store.knowledge.submit(
        Submit(ref="1", title="Card stuck", body="My way."), author="ana", site=""
    )
    routed = store.knowledge.review(Review(id=queued, decision="approve"), reviewer="maria")
    assert routed is not None
    assert routed.message.article_id == "card-stuck-2"  # type: ignore[union-attr]
    bodies = {a["id"]: a["body"] for a in store.knowledge.changes(0)["articles"]}
    assert bodies == {"card-stuck": "The curated steps.", "card-stuck-2": "My way."}


def test_a_push_that_is_rate_limited_keeps_the_resolution_queued(
    node: Node, store: MarqueeStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = str(tmp_path / "cache.db")
    agent = tok(store, "agent", "ana")
    for i in range(25):  # more than the server accepts in 10 s from one connection
        assert (
            main(["kb", "submit", "--db", cache, "--title", f"Fix {i}", "--steps", "Steps."]) == 0
        )
    assert main(["kb", "push", "--db", cache, "--server", node.url, "--token", agent]) == 1
    from kb_cache.outbox import pending
    from kb_cache.store import open_cache

    db = open_cache(cache)
    left = pending(db)
    assert left  # still queued for the next push, not rejected
    assert db.execute("SELECT count(*) FROM outbox WHERE state = 'rejected'").fetchone()[0] == 0


def test_a_console_may_ask_for_the_receipts_of_many_announcements_at_once(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    from agent_assist.marquee.protocol import Announce

    ids = [
        store.announce(Announce(text=f"note {i}"), author="lee")[0].message.id for i in range(40)
    ]  # type: ignore[union-attr]
    sup, _ = open_session(stack, node.url, tok(store, "admin", "maria"))
    for announcement_id in ids:
        sup.send(json.dumps({"type": "receipts", "id": announcement_id}))
    got = [next_of(sup, "receipt_list")["id"] for _ in ids]
    assert got == ids
    assert [m for m in quiet(sup) if m["type"] == "error"] == []
