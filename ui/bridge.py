"""The one way into the GUI thread: worker threads emit, widgets receive (queued)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

__all__ = ["Bridge"]


class Bridge(QObject):
    """Signals any thread may emit; connected slots run on the thread owning the receiver."""

    call_event = Signal(object)  # agent_assist.events.* from the call pipeline and the session
    message = Signal(object)  # marquee protocol messages
    connection = Signal(str)  # marquee client state
    results = Signal(str, object)  # knowledge search: query, list[ArticleRef]
    article = Signal(object)  # a full article: (title, body, department, authority)
    knowledge_status = Signal(str)  # sync and bubble-up news for the status bar
    update_status = Signal(str)  # the background update check's news for the status bar
    level = Signal(float)  # the settings dialog's microphone test, dBFS
    progress = Signal(object, object)  # a model install: bytes done, total (0: unknown), > 2 GiB ok
    installed = Signal(str)  # a model install finished: its name
    failed = Signal(str)  # a model install failed: why
