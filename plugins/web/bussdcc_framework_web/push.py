"""Live push: bounded per-client queues drained in batches, with acknowledgements as flow control.

Socket.IO's own per-client queue is unbounded, so nothing is handed to it unless the client
keeps up: each batch asks for an acknowledgement and at most ``window`` batches are in flight
per client. Events for a client that does not acknowledge wait in that client's queue, which
holds at most ``capacity`` events: when full the oldest are dropped and the next batch says
how many. A client whose queue stays full for ``stall_timeout`` seconds is disconnected.

Server memory per client is therefore bounded by ``capacity + window * batch_size`` events,
whatever the client does. One thread (``bussdcc-web-push``) does all sending; emitting threads
only append to deques.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from .filters import EventFilter
from .records import EventRecord

SendBatch = Callable[[str, dict[str, Any], Callable[..., None]], None]
Disconnect = Callable[[str, str], None]


class ClientChannel:
    """One live client: its filter, its bounded queue and its flow-control counters."""

    def __init__(self, sid: str, flt: EventFilter, capacity: int, after_seq: int) -> None:
        self.sid = sid
        self.filter = flt
        self.queue: deque[tuple[int, msgspec.Raw]] = deque(maxlen=capacity)
        self.capacity = capacity
        self.after_seq = after_seq
        self.dropped = 0
        self.dropped_total = 0
        self.delivered = 0
        self.inflight = 0
        self.over_since: float | None = None
        self.stats: dict[str, Any] | None = None
        self.state_changes: dict[str, Any] = {}
        self.state_removed: set[str] = set()
        self.closed = False
        self.ready = False
        self.lock = threading.Lock()

    def activate(self, after_seq: int) -> None:
        """Start sending, after the snapshot holding everything up to ``after_seq`` went out."""
        with self.lock:
            self.after_seq = after_seq
            kept = [item for item in self.queue if item[0] > after_seq]
            self.queue.clear()
            self.queue.extend(kept)
            self.ready = True

    def offer(self, record: EventRecord, encoded: msgspec.Raw) -> None:
        if record["seq"] <= self.after_seq or not self.filter.matches(record):
            return
        with self.lock:
            if len(self.queue) == self.capacity:
                self.dropped += 1
                self.dropped_total += 1
                if self.over_since is None:
                    self.over_since = time.monotonic()
            self.queue.append((record["seq"], encoded))

    def offer_state(self, changes: dict[str, Any], removed: list[str]) -> None:
        with self.lock:
            for path in removed:
                self.state_changes.pop(path, None)
                self.state_removed.add(path)
            for path, value in changes.items():
                self.state_removed.discard(path)
                self.state_changes[path] = value

    def acked(self, *_: Any) -> None:
        with self.lock:
            self.inflight = max(0, self.inflight - 1)

    def backlog(self) -> int:
        with self.lock:
            return len(self.queue)

    def take_batch(self, batch_size: int, window: int) -> dict[str, Any] | None:
        """The next batch to send, or ``None`` when there is nothing or no window left."""
        with self.lock:
            if self.closed or not self.ready or self.inflight >= window:
                return None
            if (
                not self.queue
                and not self.dropped
                and self.stats is None
                and not (self.state_changes or self.state_removed)
            ):
                return None
            count = min(batch_size, len(self.queue))
            events = [self.queue.popleft()[1] for _ in range(count)]
            batch: dict[str, Any] = {"events": events, "dropped": self.dropped}
            self.dropped = 0
            if self.stats is not None:
                batch["stats"] = self.stats
                self.stats = None
            if self.state_changes or self.state_removed:
                batch["state"] = {"changes": self.state_changes, "removed": sorted(self.state_removed)}
                self.state_changes = {}
                self.state_removed = set()
            if len(self.queue) < self.capacity // 2:
                self.over_since = None
            self.inflight += 1
            self.delivered += count
            return batch

    def stalled_for(self, now: float) -> float:
        with self.lock:
            return 0.0 if self.over_since is None else now - self.over_since

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sid": self.sid,
                "filter": self.filter.describe(),
                "backlog": len(self.queue),
                "inflight": self.inflight,
                "dropped": self.dropped_total,
                "delivered": self.delivered,
            }


class PushHub:
    """All live clients, and the thread that sends their batches."""

    def __init__(
        self,
        send: SendBatch,
        disconnect: Disconnect,
        *,
        capacity: int,
        batch_size: int,
        window: int,
        stall_timeout: float,
    ) -> None:
        self._send = send
        self._disconnect = disconnect
        self.capacity = capacity
        self.batch_size = batch_size
        self.window = window
        self.stall_timeout = stall_timeout
        self._channels: dict[str, ClientChannel] = {}
        self._channel_list: tuple[ClientChannel, ...] = ()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- clients -------------------------------------------------------------------------

    def add(self, sid: str, flt: EventFilter, after_seq: int) -> ClientChannel:
        channel = ClientChannel(sid, flt, self.capacity, after_seq)
        with self._lock:
            self._channels[sid] = channel
            self._channel_list = tuple(self._channels.values())
        return channel

    def remove(self, sid: str) -> None:
        with self._lock:
            channel = self._channels.pop(sid, None)
            self._channel_list = tuple(self._channels.values())
        if channel is not None:
            with channel.lock:
                channel.closed = True
                channel.queue.clear()

    def get(self, sid: str) -> ClientChannel | None:
        return self._channels.get(sid)

    def channels(self) -> tuple[ClientChannel, ...]:
        return self._channel_list

    # -- publishing (any thread) ---------------------------------------------------------

    def publish(self, record: EventRecord, encoded: msgspec.Raw | None = None) -> None:
        """Queue ``record`` for every client whose filter wants it (``encoded``: its JSON)."""
        channels = self._channel_list
        if not channels:
            return
        if encoded is None:
            encoded = msgspec.Raw(msgspec.json.encode(record))
        for channel in channels:
            channel.offer(record, encoded)
        self._wake.set()

    def publish_stats(self, stats: dict[str, Any]) -> None:
        for channel in self._channel_list:
            with channel.lock:
                channel.stats = stats
        self._wake.set()

    def publish_state(self, changes: dict[str, Any], removed: list[str]) -> None:
        for channel in self._channel_list:
            channel.offer_state(changes, removed)
        self._wake.set()

    def kick(self) -> None:
        """Wake the sender (after an acknowledgement freed window)."""
        self._wake.set()

    # -- the sender thread ---------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bussdcc-web-push", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.25)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.flush()

    def flush(self) -> int:
        """Send what every client can take now; returns the number of batches sent."""
        sent = 0
        now = time.monotonic()
        for channel in self._channel_list:
            if self.stall_timeout > 0 and channel.stalled_for(now) > self.stall_timeout:
                self.remove(channel.sid)
                self._disconnect(
                    channel.sid,
                    f"client fell behind: its queue stayed full ({self.capacity} events) "
                    f"for {self.stall_timeout:g}s",
                )
                continue
            while True:
                batch = channel.take_batch(self.batch_size, self.window)
                if batch is None:
                    break
                try:
                    self._send(channel.sid, batch, self._acker(channel))
                except Exception:
                    channel.acked()  # the client is gone; its disconnect handler removes it
                    break
                sent += 1
        return sent

    def _acker(self, channel: ClientChannel) -> Callable[..., None]:
        def ack(*_: Any) -> None:
            channel.acked()
            self._wake.set()

        return ack
