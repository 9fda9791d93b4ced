"""How the agent speaks: loudness against their own baseline, pace, and monologues.

Only loudness (``level`` events) and word timings are used: nothing here guesses
at emotions.

* ``raised_voice``: agent speech ``raised_voice_db`` above the median of the
  agent's own speech over the last two minutes, sustained ``raised_voice_s``;
  the baseline is trusted after ``raised_voice_baseline_s`` of speech.
* ``fast_speech``: words per minute of speaking time (first word start to last
  word end of each final utterance) over the last ``fast_speech_window_s``.
* ``monologue``: the agent speaking for ``monologue_s`` while the customer said
  less than ``monologue_customer_s`` in total; ``monologue_pause_s`` of agent
  silence ends the stretch.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from agent_assist.events import Event, Level, Utterance
from agent_assist.risk.pack import Thresholds
from agent_assist.risk.phrases import normalize

__all__ = ["VoiceRules"]

_BASELINE_SPAN = 120.0  # s of agent speech the loudness baseline looks back over
_MAX_WINDOW = 0.25  # s: a level event never stands for more audio than this
_GAP_TOLERANCE = 0.2  # s of quieter audio allowed inside a loud stretch


@dataclass
class VoiceRules:
    """Loudness, pace and monologue rules for one call, with the pack's ``thresholds``."""

    thresholds: Thresholds
    _speech_levels: deque[tuple[float, float]] = field(default_factory=deque)
    _last_level: dict[str, float] = field(default_factory=dict)
    _loud_for: float = 0.0
    _quiet_in_loud: float = 0.0
    _loud_fired: bool = False
    _finals: deque[tuple[float, float, int]] = field(default_factory=deque)
    _run_start: float | None = None
    _last_agent_speech: float | None = None
    _customer_in_run: float = 0.0
    _monologue_fired: bool = False

    def feed(self, event: Event) -> list[tuple[str, str]]:
        """The (kind, evidence) pairs ``event`` raises: raised_voice, fast_speech, monologue."""
        if isinstance(event, Level):
            duration = self._duration(event)
            if event.channel == "agent":
                return self._agent_level(event, duration) + self._monologue(event, duration)
            return self._monologue(event, duration)
        if isinstance(event, Utterance) and event.final:
            if event.channel == "customer":
                self._customer_spoke(event.end - event.start)
                return []
            return self._pace(event)
        return []

    def _duration(self, event: Level) -> float:
        previous = self._last_level.get(event.channel)
        self._last_level[event.channel] = event.t
        return 0.1 if previous is None else min(_MAX_WINDOW, max(0.0, event.t - previous))

    # -- raised voice -----------------------------------------------------------

    def _agent_level(self, event: Level, duration: float) -> list[tuple[str, str]]:
        th = self.thresholds
        levels = self._speech_levels
        while levels and levels[0][0] < event.t - _BASELINE_SPAN:
            levels.popleft()
        baseline = None
        if len(levels) * 0.1 >= th.raised_voice_baseline_s:
            baseline = statistics.median(db for _, db in levels)
        if event.speech:
            levels.append((event.t, event.dbfs))
        if baseline is None:
            return []
        if event.speech and event.dbfs >= baseline + th.raised_voice_db:
            self._loud_for += duration
            self._quiet_in_loud = 0.0
        else:
            self._quiet_in_loud += duration
            if self._quiet_in_loud > _GAP_TOLERANCE:
                self._loud_for, self._loud_fired = 0.0, False
        if self._loud_for >= th.raised_voice_s - 1e-9 and not self._loud_fired:
            self._loud_fired = True
            return [
                ("raised_voice", f"{event.dbfs:.0f} dBFS against your usual {baseline:.0f} dBFS")
            ]
        return []

    # -- pace ----------------------------------------------------------------------

    def _pace(self, event: Utterance) -> list[tuple[str, str]]:
        th = self.thresholds
        if event.words:
            count = len(event.words)
            start, end = event.words[0].start, event.words[-1].end
        else:
            count, start, end = len(normalize(event.text)), event.start, event.end
        self._finals.append((start, end, count))
        while self._finals and self._finals[0][1] < event.t - th.fast_speech_window_s:
            self._finals.popleft()
        words = sum(n for _, _, n in self._finals)
        speaking = sum(max(0.0, e - s) for s, e, _ in self._finals)
        if words < th.fast_speech_min_words or speaking <= 0:
            return []
        wpm = words / speaking * 60.0
        if wpm > th.fast_speech_wpm:
            return [("fast_speech", f"{wpm:.0f} words per minute")]
        return []

    # -- monologue ---------------------------------------------------------------

    def _customer_spoke(self, seconds: float) -> None:
        self._customer_in_run += seconds
        if self._customer_in_run >= self.thresholds.monologue_customer_s:
            self._run_start = None

    def _monologue(self, event: Level, duration: float) -> list[tuple[str, str]]:
        if not event.speech:
            return []
        if event.channel == "customer":
            self._customer_spoke(duration)
            return []
        th = self.thresholds
        last = self._last_agent_speech
        self._last_agent_speech = event.t
        if self._run_start is None or (last is not None and event.t - last > th.monologue_pause_s):
            self._run_start, self._customer_in_run, self._monologue_fired = event.t, 0.0, False
            return []
        talked = event.t - self._run_start
        if talked >= th.monologue_s and not self._monologue_fired:
            self._monologue_fired = True
            return [("monologue", f"speaking for {talked:.0f} s without the customer")]
        return []
