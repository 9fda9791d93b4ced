"""The agent's Mute: the operating system's microphone mute, confirmed by reading it back.

Every way the agent mutes (the Mute button, Ctrl+M, the hot-mic banner's
**Mute me now**, the tray menu) asks :class:`MuteControl`. It owns the
microphone's mute switch (:mod:`audio.mute`) on a thread of its own (a
subprocess or a COM call per change: never on the GUI thread; COM objects stay
on the thread that made them), sets it, reads it back, and only then reports
the state: as an ``os`` mute event to the call (ARCHITECTURE.md §9), which is
what turns the strip MUTED. A refusal is one sentence for the window.

Where the system has no mute Agent Assist can set (no sound server, a device
outside it, another OS), the control says so (``on_mode``) and a request
becomes an ``app`` mute: the window labels it "Mark me as muted" and the
coaching knows, but nothing is muted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_assist.app.ops import Op, OpWorker, RunOnMain, run_here
from agent_assist.events import Event, Mute

if TYPE_CHECKING:
    from agent_assist.app.workers import CallWorker
    from agent_assist.config import Settings
    from audio.mute import MicMute
    from ui.agent_window import AgentWindow

__all__ = ["MuteControl", "connect_mute_toggle", "microphone_mute"]


class MuteControl:
    """Mutes the microphone ``open_mic`` opens (on the control's thread); see the module docstring.

    Args:
        open_mic: makes the MicMute, on the worker; raises AgentAssistError when there is none.
            None: no OS mute here (a replayed call, tests); ``without`` says why.
        on_mode: ``on_mode(os_mute, words)`` once it is known whether the OS mute works:
            ``words`` names the microphone, or says why there is no OS mute.
        on_state: ``on_state(muted, source)``: a confirmed state ("os"), or the agent's mark
            ("app"); the app turns it into a ``mute`` event.
        on_failure: why a change did not happen (the line stays as it was).
        run_on_main: how callbacks reach the GUI thread.
        restore_on_stop: put the microphone back as it was when this control changed it
            (the demo does not leave an agent's microphone muted).
    """

    def __init__(
        self,
        *,
        open_mic: Callable[[], MicMute] | None,
        on_mode: Callable[[bool, str], None],
        on_state: Callable[[bool, str], None],
        on_failure: Callable[[str], None],
        run_on_main: RunOnMain = run_here,
        restore_on_stop: bool = False,
        without: str = "no microphone mute on this computer",
    ) -> None:
        self._on_mode, self._on_state, self._on_failure = on_mode, on_state, on_failure
        self._main = run_on_main
        self._restore = restore_on_stop
        self.os_mute = False  # known on the GUI thread once on_mode has run
        self._first: bool | None = None  # the microphone's state before we changed it
        self._worker: OpWorker[MicMute] | None = None
        if open_mic is None:
            run_on_main(lambda: self._mode(False, without))
            return
        self._worker = OpWorker(
            name="microphone-mute",
            open_resource=open_mic,
            what="the microphone's mute",
            on_error=lambda why: self._mode(False, why),
            run_on_main=run_on_main,
        )
        self._worker.when_ready(self._check)
        self._worker.start()

    def _check(self) -> None:
        """On the worker, once the switch is open (or failed to open): read it."""
        assert self._worker is not None

        def read(mic: MicMute) -> tuple[str, bool]:
            return mic.target, mic.is_muted()

        def ready(result: tuple[str, bool]) -> None:
            target, muted = result
            self._first = muted
            self._mode(True, target)
            self._on_state(muted, "os")  # the strip starts from what the system says

        self._worker.submit(Op(read).success(ready).failure(lambda why: None))

    def _mode(self, os_mute: bool, words: str) -> None:
        self.os_mute = os_mute
        self._on_mode(os_mute, words)

    def request(self, muted: bool) -> None:
        """Mute (True) or unmute; returns at once. Call on the GUI thread."""
        if not self.os_mute or self._worker is None:
            self._on_state(muted, "app")  # only marked: the window says so
            return

        def change(mic: MicMute) -> bool:
            return mic.set_muted(muted)

        def confirmed(now: bool) -> None:
            if now != muted:
                self._on_failure(
                    f"The system did not {'mute' if muted else 'unmute'} the microphone: it is "
                    f"still {'muted' if now else 'on'}."
                )
            self._on_state(now, "os")  # what the system says, whatever was asked

        self._worker.submit(Op(change).success(confirmed).failure(self._on_failure))

    def stop(self) -> None:
        """Restore the microphone if asked to (the demo), then end the thread."""
        worker = self._worker
        if worker is None:
            return
        first = self._first
        if self._restore and first is not None:
            worker.call(lambda mic: _put_back(mic, first))
        worker.call(lambda mic: mic.close() if mic is not None else None)
        worker.stop()


def _put_back(mic: MicMute | None, muted: bool) -> None:
    from agent_assist.errors import AgentAssistError

    try:
        if mic is not None and mic.is_muted() != muted:
            mic.set_muted(muted)
    except AgentAssistError:
        pass  # nothing more can be done at exit: the agent's sound settings show the state


def microphone_mute(settings: Settings) -> Callable[[], MicMute]:
    """Opens the OS mute of the microphone the settings name (on the control's thread)."""

    def open_mic() -> MicMute:
        from audio.mute import system_mute

        return system_mute(settings.get_str("audio.input") or "default")

    return open_mic


def connect_mute_toggle(
    window: AgentWindow,
    worker: CallWorker | Callable[[], CallWorker | None] | None,
    *,
    open_mic: Callable[[], MicMute] | None = None,
    emit: Callable[[Event], None] | None = None,
    run_on_main: RunOnMain = run_here,
    restore_on_stop: bool = False,
    without: str = "no microphone mute on this computer",
) -> MuteControl:
    """Every mute control of ``window`` (button, Ctrl+M, banner, tray) asks one MuteControl.

    Its answers become ``mute`` events: into the call (``worker``, or the worker a callable
    returns now; it shows them and
    feeds the risk engine) while there is one, else straight to ``emit`` (the window),
    so the strip never waits for a call that has ended. Returns the control: stop it last.
    """

    def state(muted: bool, source: str) -> None:
        def make(t: float) -> Event:
            return Mute(t=t, muted=muted, source=source)  # type: ignore[arg-type]

        call = worker() if callable(worker) else worker
        if call is not None and (call.ident is None or call.is_alive()):
            call.inject(make)  # not started yet: it waits in the inbox
        elif emit is not None:
            emit(make(0.0))

    def mode(os_mute: bool, words: str) -> None:
        window.set_mute_mode(os_mute=os_mute, target=words)  # the microphone, or why not

    control = MuteControl(
        open_mic=open_mic,
        on_mode=mode,
        on_state=state,
        on_failure=window.mute_failed,
        run_on_main=run_on_main,
        restore_on_stop=restore_on_stop,
        without=without,
    )
    window.mute_requested.connect(lambda muted: control.request(muted))  # holds the control
    return control
