"""The call-script engine for one call: events in, ``script`` events out (sans-I/O).

``feed(event)`` returns the ``script`` events the event causes, stamped with
its ``t``; time advances only through the events.

* **done**: a step was heard in one of the agent's final utterances
  (:mod:`agent_assist.scripts.match`); ``evidence`` is what they said, scrubbed
  of personal data. Steps of the whole pack are listened for, so a step said
  before its script was chosen still counts once it is.
* **due**: its moment came and it is still open: ``opening`` at the pack's
  ``opening_s`` into the call, ``before_hold`` when the call goes on hold,
  ``before_transfer`` when the agent starts a transfer, ``closing`` when the
  customer or the agent says goodbye. Each step falls due at most once a call.
* **missed**: a required step not done when the call ends.

Which script: the agent's choice (:meth:`ScriptEngine.choose`) wins; otherwise
the first knowledge article the call is about that names one (the top
suggestion, or an article the agent opened or used, which may change it again);
otherwise the pack's default. Switching reports the new script's steps already
done, and those whose moment has passed, at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent_assist.events import (
    Adherence,
    Article,
    Call,
    ErrorEvent,
    Event,
    Script,
    StepState,
    Suggestion,
    Utterance,
)
from agent_assist.privacy import scrub
from agent_assist.scripts.match import Embed, Recogniser, heard_words
from agent_assist.scripts.pack import CallScript, Due, ScriptPack

__all__ = ["ScriptEngine"]

Chooser = Literal["default", "article", "agent"]
_EVIDENCE_CHARS = 200


@dataclass
class _Call:
    """What one call has told the engine so far."""

    start: float | None = None
    ended: bool = False
    script: str = ""
    chosen_by: Chooser = "default"
    done: dict[str, tuple[float, str]] = field(default_factory=dict)  # any pack step: (t, words)
    reported: dict[str, StepState] = field(default_factory=dict)  # steps of the current script
    moments: dict[Due, str] = field(default_factory=dict)  # moments passed: why
    article_scripts: dict[str, str] = field(default_factory=dict)  # article id -> script it names


class ScriptEngine:
    """Script steps for one agent's calls. ``script`` fixes the script (the agent's or the
    site's choice); ``embed`` (keyword-only) adds recognition by meaning."""

    def __init__(
        self, pack: ScriptPack, *, embed: Embed | None = None, script: str | None = None
    ) -> None:
        if script is not None and script not in pack.scripts:
            raise ValueError(f"the pack has no script {script!r} ({', '.join(pack.scripts)})")
        self.pack = pack
        self._fixed = script
        self._recogniser = Recogniser(pack, embed=embed)
        self._embed_reported = False
        self._call = self._new_call()

    def _new_call(self) -> _Call:
        return _Call(
            script=self._fixed or self.pack.default,
            chosen_by="agent" if self._fixed else "default",
        )

    def prepare(self) -> None:
        """Load the sentence model and embed the examples now, before the call's first words
        (a few seconds that would otherwise delay the first flag)."""
        self._recogniser.prepare()

    @property
    def script(self) -> CallScript:
        """The script that applies now."""
        return self.pack.scripts[self._call.script]

    @property
    def states(self) -> dict[str, StepState]:
        """The current script's steps that are done, due or missed (open ones are absent)."""
        return dict(self._call.reported)

    def choose(self, name: str, t: float) -> list[Script | ErrorEvent]:
        """The agent picked script ``name`` at call time ``t``: it applies for the rest of the
        call. Returns the new script's steps already done or already due."""
        if name not in self.pack.scripts:
            raise ValueError(f"the pack has no script {name!r}")
        return self._switch(name, "agent", t)

    def adherence(self) -> Adherence:
        """Required steps done of those required, and (once the call ended) those missed."""
        call, script = self._call, self.script
        required = [s for s in script.steps if self.pack.steps[s].required]
        done = [s for s in required if s in call.done]
        missed = tuple(s for s in required if s not in call.done) if call.ended else ()
        return Adherence(script=script.name, done=len(done), required=len(required), missed=missed)

    def feed(self, event: Event) -> list[Script | ErrorEvent]:
        """Return the ``script`` events ``event`` causes (possibly none)."""
        if isinstance(event, Call) and event.state == "started":
            self._call = self._new_call()
        call = self._call
        if call.ended:
            return []
        if call.start is None:
            call.start = event.t
        out: list[Script | ErrorEvent] = []
        if "opening" not in call.moments and event.t - call.start >= self.pack.opening_s:
            out += self._moment("opening", f"{self.pack.opening_s:g} s into the call", event.t)
        if isinstance(event, Call) and event.state in ("hold", "ended"):
            if event.state == "hold":
                out += self._moment("before_hold", "the call was put on hold", event.t)
            else:
                out += self._end(event.t)
        elif isinstance(event, Utterance) and event.final:
            out += self._utterance(event)
        elif isinstance(event, Suggestion):
            out += self._suggested(event)
        elif isinstance(event, Article) and event.action in ("opened", "used"):
            chosen = call.article_scripts.get(event.id) or self.pack.script_for_article(event.id)
            if chosen is not None and call.chosen_by != "agent":
                out += self._switch(chosen, "article", event.t)
        return out

    # -- what happened ---------------------------------------------------------------------

    def _utterance(self, utterance: Utterance) -> list[Script | ErrorEvent]:
        call = self._call
        out: list[Script | ErrorEvent] = []
        words = heard_words(utterance)
        if utterance.channel == "agent":
            open_steps = [s for s in self.pack.steps if s not in call.done]
            for heard in self._recogniser.recognise(words, utterance.text, open_steps):
                evidence = scrub(utterance.text)[:_EVIDENCE_CHARS]
                call.done[heard.step] = (utterance.t, evidence)
                if heard.step in self.script.steps:
                    out.append(self._report(heard.step, "done", evidence, utterance.t))
            if self._recogniser.embed_error and not self._embed_reported:
                self._embed_reported = True
                message = self._recogniser.embed_error
                out.append(ErrorEvent(t=utterance.t, code="script_similarity", message=message))
            if self.pack.transfer.find(words):
                out += self._moment("before_transfer", "you started a transfer", utterance.t)
        goodbye = self.pack.goodbye.find(words)
        if goodbye:
            said = " ".join(words[goodbye[0].start : goodbye[0].end])
            who = "you" if utterance.channel == "agent" else "the customer"
            out += self._moment("closing", f'{who} said "{said}"', utterance.t)
        return out

    def _suggested(self, suggestion: Suggestion) -> list[Script | ErrorEvent]:
        call = self._call
        for ref in suggestion.articles:
            if ref.script is not None and ref.script in self.pack.scripts:
                call.article_scripts[ref.id] = ref.script
        if call.chosen_by != "default" or not suggestion.articles:
            return []
        top = suggestion.articles[0]
        chosen = call.article_scripts.get(top.id) or self.pack.script_for_article(top.id)
        return self._switch(chosen, "article", suggestion.t) if chosen else []

    def _end(self, t: float) -> list[Script | ErrorEvent]:
        out: list[Script | ErrorEvent] = []
        for step_id in self.script.steps:
            if self.pack.steps[step_id].required and step_id not in self._call.done:
                out.append(self._report(step_id, "missed", "not said before the call ended", t))
        self._call.ended = True
        return out

    # -- states ---------------------------------------------------------------------------

    def _moment(self, moment: Due, why: str, t: float) -> list[Script | ErrorEvent]:
        self._call.moments.setdefault(moment, why)
        return [self._report(s, "due", why, t) for s in self._open(moment)]

    def _open(self, moment: Due) -> list[str]:
        """The current script's steps of ``moment`` not yet done nor reported due."""
        call = self._call
        return [
            s
            for s in self.script.steps
            if self.pack.steps[s].due == moment and s not in call.done and s not in call.reported
        ]

    def _switch(self, name: str, by: Chooser, t: float) -> list[Script | ErrorEvent]:
        call = self._call
        call.chosen_by = by
        if name == call.script:
            return []
        call.script = name
        call.reported = {s: state for s, state in call.reported.items() if s in self.script.steps}
        out: list[Script | ErrorEvent] = []
        for step_id in self.script.steps:
            if step_id in call.done and step_id not in call.reported:
                out.append(self._report(step_id, "done", call.done[step_id][1], t))
        for moment, why in call.moments.items():
            out += [self._report(s, "due", why, t) for s in self._open(moment)]
        return out

    def _report(self, step_id: str, state: StepState, evidence: str, t: float) -> Script:
        self._call.reported[step_id] = state
        label = self.pack.steps[step_id].label
        return Script(
            t=t, step=step_id, state=state, evidence=evidence, script=self.script.name, label=label
        )
