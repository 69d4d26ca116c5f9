"""A process that watches readings, keeps the greenhouse's state, and raises alerts.

Processes see every event synchronously on the emitting thread, so this is where derived
state belongs: ``ctx.state["greenhouse.*"]`` is updated from events only, which is what makes it
come out the same when a recording is replayed. In replay the monitor runs with
``act=False``: it still rebuilds the state, but emits nothing, because the alerts and pump
commands it would emit are already in the recording.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message
from bussdcc.process import Process

from .messages import AlertCleared, AlertRaised, ClimateReading, Metric, PumpSwitched, SwitchPump

#: Alerts kept in ``greenhouse.alert_log``.
LOG_SIZE = 50


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Alert limits; an alert clears only ``hysteresis`` inside its limit, so it does not flap."""

    max_temperature_c: float = 30.0
    min_humidity_pct: float = 40.0
    humidity_target_pct: float = 65.0
    hysteresis: float = 1.0


class AlertMonitor(Process):
    """Raises and clears alerts, switches the pump for low humidity, and keeps ``ctx.state``."""

    name = "greenhouse-alerts"

    def __init__(self, thresholds: Thresholds | None = None, act: bool = True) -> None:
        self.thresholds = thresholds or Thresholds()
        self.act = act
        self._lock = threading.Lock()
        self._active: set[Metric] = set()

    def start(self, ctx: ContextProtocol) -> None:
        # Everything derived starts here, not in __init__: a replay that seeks back restarts
        # the process and must find it as new.
        self._active = set()
        ctx.state.set("greenhouse.alerts", {})
        ctx.state.set("greenhouse.alert_log", [])
        ctx.state.set("greenhouse.readings", 0)

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        msg = evt.payload
        if isinstance(msg, ClimateReading):
            self._on_reading(ctx, evt, msg)
        elif isinstance(msg, AlertRaised):
            ctx.state.update("greenhouse.alerts", lambda a: {**(a or {}), msg.metric.value: msg.message})
            self._log(ctx, evt, msg.metric, "raised", msg.message)
        elif isinstance(msg, AlertCleared):
            ctx.state.update(
                "greenhouse.alerts",
                lambda a: {k: v for k, v in (a or {}).items() if k != msg.metric.value},
            )
            self._log(ctx, evt, msg.metric, "cleared", f"{msg.metric.value} back to {msg.value}")
        elif isinstance(msg, PumpSwitched):
            ctx.state.set("greenhouse.pump", {"on": msg.on, "reason": msg.reason})

    def _log(self, ctx: ContextProtocol, evt: Event[Message], metric: Metric, kind: str, text: str) -> None:
        """The alert history: the last ``LOG_SIZE`` alerts raised and cleared, newest last."""
        entry = {"time": evt.time.isoformat(), "metric": metric.value, "kind": kind, "text": text}
        ctx.state.update("greenhouse.alert_log", lambda log: [*(log or [])[-(LOG_SIZE - 1) :], entry])

    def _on_reading(self, ctx: ContextProtocol, evt: Event[Message], msg: ClimateReading) -> None:
        ctx.state.set(
            "greenhouse.climate",
            {
                "temperature_c": msg.temperature_c,
                "humidity_pct": msg.humidity_pct,
                "pump_on": msg.pump_on,
                "time": evt.time.isoformat(),
            },
        )
        ctx.state.update("greenhouse.readings", lambda n: (n or 0) + 1)
        if not self.act:
            return
        t = self.thresholds
        self._check(
            ctx,
            Metric.TEMPERATURE,
            msg.temperature_c,
            high=msg.temperature_c > t.max_temperature_c,
            back=msg.temperature_c <= t.max_temperature_c - t.hysteresis,
            limit=t.max_temperature_c,
            text="too hot",
        )
        self._check(
            ctx,
            Metric.HUMIDITY,
            msg.humidity_pct,
            high=msg.humidity_pct < t.min_humidity_pct,
            back=msg.humidity_pct >= t.min_humidity_pct + t.hysteresis,
            limit=t.min_humidity_pct,
            text="too dry",
        )
        if msg.pump_on and msg.humidity_pct >= t.humidity_target_pct:
            ctx.emit(SwitchPump(on=False, reason="humidity restored"))

    def _check(
        self,
        ctx: ContextProtocol,
        metric: Metric,
        value: float,
        *,
        high: bool,
        back: bool,
        limit: float,
        text: str,
    ) -> None:
        with self._lock:
            raise_it = high and metric not in self._active
            clear_it = back and metric in self._active
            if raise_it:
                self._active.add(metric)
            if clear_it:
                self._active.discard(metric)
        if raise_it:
            ctx.emit(
                AlertRaised(
                    metric=metric,
                    value=value,
                    limit=limit,
                    message=f"{metric.value} {value} is {text} (limit {limit})",
                )
            )
            if metric is Metric.HUMIDITY:
                ctx.emit(SwitchPump(on=True, reason="humidity low"))
        if clear_it:
            ctx.emit(AlertCleared(metric=metric, value=value))
