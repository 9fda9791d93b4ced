"""The desktop app (composition root): ``run_app`` and the pieces it wires together."""

from agent_assist.app.demo import DEMO_CALL
from agent_assist.app.dialogs import install_model
from agent_assist.app.knowledge import KnowledgeSync, KnowledgeWorker, exchange_knowledge
from agent_assist.app.main import AppOptions, connect_mute_toggle, run_app
from agent_assist.app.ops import Op, OpWorker
from agent_assist.app.workers import CallWorker, listener_source, replay

__all__ = [
    "DEMO_CALL",
    "AppOptions",
    "CallWorker",
    "KnowledgeSync",
    "KnowledgeWorker",
    "Op",
    "OpWorker",
    "connect_mute_toggle",
    "exchange_knowledge",
    "install_model",
    "listener_source",
    "replay",
    "run_app",
]
