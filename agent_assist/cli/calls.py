"""``agent-assist script check`` and ``summary``, and the call session ``analyze`` and ``summary`` run.

The session's I/O is wired here: the knowledge cache answers its searches
(``--suggest``) and the cache's sentence model recognises script steps by
meaning (``--script``; ``--phrases-only`` leaves it out). Both share one
embedder, loaded on first use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_assist.errors import AgentAssistError, UsageError

if TYPE_CHECKING:
    from agent_assist.events import Event
    from agent_assist.session import Answer, CallSession, Request
    from kb_cache.embedder import Embedder

__all__ = ["add_call_commands", "call_session", "read_events", "script_options"]


def script_options(p: argparse.ArgumentParser) -> None:
    """--script, --script-name, --phrases-only: the call script a session follows."""
    p.add_argument(
        "--script",
        metavar="PACK.toml",
        help="follow this call-script pack (a file, or 'northwind' for the built-in example)",
    )
    p.add_argument(
        "--script-name",
        metavar="NAME",
        help="use this script of the pack from the start (the agent's choice); default: the "
        "pack's default, or the script of the knowledge article the call is about",
    )
    p.add_argument(
        "--phrases-only",
        action="store_true",
        help="recognise script steps by their phrasings only, not by similar meaning",
    )


def call_session(
    args: argparse.Namespace, *, summary: bool
) -> tuple[CallSession, Callable[[Request], Answer]]:
    """The session ``args`` ask for (--rules, --suggest/--db, --script...) and what answers its
    requests."""
    from agent_assist.risk.pack import load_pack
    from agent_assist.session import CallSession

    pack = load_pack(getattr(args, "rules", None))
    embedder: list[Embedder] = []  # made once, on first need, and shared

    def shared_embedder() -> Embedder:
        if not embedder:
            from kb_cache.cache import make_embedder

            made = make_embedder()
            assert made is not None
            embedder.append(made)
        return embedder[0]

    script = _script_engine(args, shared_embedder)
    perform: Callable[[Request], Answer] = _no_requests
    if getattr(args, "suggest", False):
        perform = _knowledge_search(args, shared_embedder())
    risk = None if getattr(args, "no_semantic", False) else _risk_embedder(shared_embedder)
    session = CallSession(
        pack=pack,
        suggest=args.suggest,
        script=script,
        summary=summary,
        embed=risk.embed_one if risk else None,
        embed_model=risk.model_id if risk else None,
    )
    return session, perform


def _risk_embedder(embedder: Callable[[], Embedder]) -> Embedder | None:
    """The shared embedder, loaded now, for the risk engine's semantic layer; or None, said once
    (the rules then work alone)."""
    try:
        loaded = embedder()
        loaded.embed(["warm up"])  # loads the model: a missing package is reported here
    except AgentAssistError as exc:
        print(f"agent-assist: judging by meaning is off ({exc}); rules only", file=sys.stderr)
        return None
    return loaded


def _script_engine(args: argparse.Namespace, embedder: Callable[[], Embedder]) -> Any:
    if not getattr(args, "script", None):
        if getattr(args, "script_name", None):
            raise UsageError("--script-name needs --script")
        return None
    from agent_assist.scripts import ScriptEngine, load_script_pack

    pack = load_script_pack(args.script)
    if args.script_name and args.script_name not in pack.scripts:
        raise UsageError(
            f"{args.script} has no script {args.script_name!r} ({', '.join(pack.scripts)})"
        )
    embed = None
    if not args.phrases_only:

        def embed(text: str) -> Any:
            return embedder().embed([text])[0]

    return ScriptEngine(pack, embed=embed, script=args.script_name)


def _knowledge_search(args: argparse.Namespace, embedder: Embedder) -> Callable[[Request], Answer]:
    """The local knowledge cache answering the session's searches, at once (a batch tool)."""
    from agent_assist.cli.kb import say
    from kb_cache.cache import open_db
    from kb_cache.search import KnowledgeBase

    db = open_db(args.db, seed_demo=True, embedder=embedder, notify=say)
    return KnowledgeBase(db, embedder=embedder).answer


def _no_requests(request: Request) -> Answer:
    raise AssertionError(f"a session without suggestions asked for {request!r}")


def read_events(path: str) -> list[Event]:
    """Every valid event of a JSON Lines file (- for stdin); bad lines are reported and skipped."""
    from agent_assist.errors import EventFormatError
    from agent_assist.events import decode_lines

    try:
        source = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    events: list[Event] = []
    with source:
        for item in decode_lines(source):
            if isinstance(item, EventFormatError):
                print(f"agent-assist: {path}: {item}; skipped", file=sys.stderr)
            else:
                events.append(item)
    if not events:
        raise AgentAssistError(f"{path}: no valid events")
    return events


# -- commands ---------------------------------------------------------------------------------


def add_call_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    from agent_assist.cli.audio import models_dir_option

    script = sub.add_parser("script", help="check a call-script pack", description="Call scripts.")
    ssub = script.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    check = ssub.add_parser(
        "check",
        help="validate a pack and check it against a model",
        description=(
            "Validate a call-script pack (errors by file and line) and list the words the speech "
            "model cannot recognise: a phrase using one can only be recognised by meaning, an "
            "exact form using one never. Without --model the installed model is used, if any."
        ),
    )
    check.add_argument("pack", metavar="PACK.toml", help="a pack file, or 'northwind'")
    check.add_argument("--model", metavar="NAME_OR_PATH", help="installed model name or folder")
    models_dir_option(check)
    check.set_defaults(run=_script_check)

    summary = sub.add_parser(
        "summary",
        help="the after-call summary of an event log",
        description=(
            "Print the wrap-up note of a call (--json: the summary event). A log that holds a "
            "summary event (e.g. from analyze --summary) is summarised by it; any other log is "
            "replayed through the engines first. --timeline also prints the call's flags, "
            "suggestions and script steps in order, and every field of the summary."
        ),
    )
    summary.add_argument("events", metavar="EVENTS.jsonl", help="events file, or - for stdin")
    form = summary.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the summary event (JSON)")
    form.add_argument("--timeline", action="store_true", help="the call, then the summary")
    summary.add_argument("--rules", metavar="FILE", help="site rule pack, for a replay")
    summary.add_argument("--suggest", action="store_true", help="suggest articles in a replay")
    summary.add_argument("--db", metavar="DB", help="knowledge cache for --suggest")
    script_options(summary)
    summary.set_defaults(run=_summary)


def _script_check(args: argparse.Namespace) -> int:
    from agent_assist.cli.audio import model_store
    from agent_assist.errors import ModelNotFoundError
    from agent_assist.scripts import load_script_pack, words_out_of_vocabulary

    pack = load_script_pack(args.pack)
    steps = sum(len(s.steps) for s in pack.scripts.values())
    print(
        f"{pack.name} ({pack.language}): valid; {len(pack.scripts)} scripts "
        f"({', '.join(pack.scripts)}; default {pack.default}), {len(pack.steps)} steps, "
        f"{steps} in scripts; from {pack.source}"
    )
    try:
        installed = model_store(args).find(args.model)
    except ModelNotFoundError:
        if args.model:
            raise
        print("no speech model installed: the vocabulary was not checked (use --model)")
        return 0
    from audio.recognizer import load_model

    missing = words_out_of_vocabulary(pack, load_model(installed.path).knows_word)
    total = len(pack.words())
    print(f"model {installed.name}: {total - len(missing)} of {total} pack words can be recognised")
    if missing:
        print(f"never recognised by {installed.name} (only meaning can find the steps using them):")
        print("  " + " ".join(missing))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from agent_assist.cli.timeline import render_summary, render_timeline
    from agent_assist.events import Script, Summary, encode
    from agent_assist.session import feed_and_answer

    events = read_events(args.events)
    logged = [e for e in events if isinstance(e, Summary)]
    if not logged:  # replay it: the engines make the flags, steps and summary
        session, perform = call_session(args, summary=True)
        made = [
            out for event in events for out in [event, *feed_and_answer(session, event, perform)]
        ]
        events = made
        logged = [e for e in events if isinstance(e, Summary)]
    if not logged:
        raise AgentAssistError(f"{args.events}: the call never ended (no 'call ended' event)")
    summary = logged[-1]
    if args.json:
        print(encode(summary))
    elif args.timeline:
        print(render_timeline(events))
        labels = {e.step: e.label for e in events if isinstance(e, Script) and e.label}
        print(render_summary(summary, labels))
    else:
        print(summary.note)
    return 0
