"""The web interface in a replay: what it shows after a seek, and the replay's status pushed.

The web plugin does not import the replay plugin: it finds a controller through
``bussdcc_framework.replay_control.replay_controller(ctx)`` and listens to it.

* A seek plays many events through at full speed. While it does (``seek_start`` ..
  ``seek_end``) the interface only counts them and keeps the last ``history`` of them; at the
  end they become the recent events a page shows, so a page looking after a seek sees what a
  page that watched from the start sees. ``reset`` (the replay starts again from its first
  event) forgets the events, the counts, the recorded identity and the plots.
* Pages follow the replay through the push hub's stats (flow-controlled like every batch):
  four times a second while it moves, at once after a command, ``{"replay": status, "rates":
  the per-second counts on the recording's clock}``. A page that sees ``epoch`` change fetches
  what it shows again.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.replay_control import ReplayControllerProtocol, ReplayNotice

if TYPE_CHECKING:
    from .interface import WebInterface

#: How often the status is pushed while the replay moves (seconds).
PUSH_INTERVAL = 0.25


class ReplayView:
    """The web interface's side of one replay (see the module docstring)."""

    def __init__(self, interface: WebInterface, controller: ReplayControllerProtocol) -> None:
        self.interface = interface
        self.controller = controller
        #: True while a seek plays events through: they are held back, not pushed.
        self.quiet = False
        self._held: deque[Event[Message]] = deque(maxlen=max(1, interface.config.history))
        self._held_count = 0
        self._position: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove = controller.add_listener(self._notice)

    # -- the clock of the pages ----------------------------------------------------------

    def now(self) -> float | None:
        """The replay time in epoch seconds (None before the first event)."""
        position = self._position
        if position is None:
            position = self.controller.status().get("position_ts")
        return position

    # -- events ----------------------------------------------------------------------------

    def hold(self, evt: Event[Message]) -> None:
        """An event a seek plays through (on the replay thread): counted, kept for later."""
        self._held.append(evt)
        self._held_count += 1
        self.interface.rates.add(type(evt.payload).__qualname__, evt.time.timestamp())

    def _notice(self, notice: ReplayNotice) -> None:
        interface = self.interface
        if notice == "reset":
            interface.history.clear()
            interface.rates.clear()
            interface.plots.clear()
            interface.identity = None
        elif notice == "seek_start":
            self.quiet = True
            self._held.clear()
            self._held_count = 0
        elif notice == "seek_end":
            self.quiet = False
            self._release()
        self._wake.set()

    def _release(self) -> None:
        """The events a seek held back become the recent history (not pushed one by one)."""
        interface = self.interface
        records = interface.records
        kept = list(self._held)
        self._held.clear()
        interface.history.count(self._held_count - len(kept))
        self._held_count = 0
        if records is None:
            return
        for evt in kept:
            interface.history.append(records.make(evt))

    # -- the status push -------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bussdcc-web-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._remove()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def status(self) -> dict[str, Any]:
        """The controller's status (what ``GET /api/replay`` answers)."""
        status = self.controller.status()
        self._position = status.get("position_ts")
        return status

    def stats(self) -> dict[str, Any]:
        """The stats pages get in a replay: the status and the counts on the recorded clock."""
        interface = self.interface
        status = self.status()
        now = status.get("position_ts")
        rates = interface.rates.series(now) if now is not None else None
        second = int(now) - 1 if now is not None else 0
        hub = interface.hub
        return {
            "second": second,
            "counts": interface.rates.second(second) if now is not None else {},
            "total": interface.history.total,
            "uptime": interface.uptime(),
            "clients": len(hub.channels()) if hub is not None else 0,
            "rates": rates,
            "replay": status,
        }

    def _run(self) -> None:
        last: dict[str, Any] | None = None
        while not self._stop.is_set():
            self._wake.wait(PUSH_INTERVAL)
            self._wake.clear()
            if self._stop.is_set():
                return
            hub = self.interface.hub
            if hub is None:
                continue
            try:
                stats = self.stats()
            except Exception:  # a bug here must not end the replay's page updates for good
                continue
            if stats["replay"] == last:
                continue
            last = stats["replay"]
            if hub.channels():
                hub.publish_stats(stats)
