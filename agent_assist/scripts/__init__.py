"""Call scripts, live and sans-I/O: which steps the agent has said, which are due, which missed.

``ScriptEngine(pack, embed=...).feed(event) -> list[Script]``; time comes only
from the events. Packs are TOML (``packs/northwind.toml`` is the built-in
example); :mod:`~agent_assist.scripts.match` says how steps are recognised.
"""

from agent_assist.scripts.engine import ScriptEngine
from agent_assist.scripts.match import Embed, Recogniser
from agent_assist.scripts.pack import (
    BUILTIN_PACKS,
    CallScript,
    ScriptPack,
    Step,
    load_script_pack,
    words_out_of_vocabulary,
)

__all__ = [
    "BUILTIN_PACKS",
    "CallScript",
    "Embed",
    "Recogniser",
    "ScriptEngine",
    "ScriptPack",
    "Step",
    "load_script_pack",
    "words_out_of_vocabulary",
]
