"""Live push: bounded per-client queues drained in batches, with acknowledgements as flow control.

Socket.IO's own per-client queue is unbounded, so nothing is handed to it unless the client
keeps up: every packet (the snapshot and each batch) asks for an acknowledgement, and at most
``window`` packets are unacknowledged per client. A batch holds at most ``batch_size`` events
and about ``batch_bytes`` of data (events, then state changes; what does not fit waits for the
next batch). Events for a client that does not acknowledge wait in that client's queue, which
holds at most ``capacity`` events: when full the oldest are dropped and the next batch says how
many. A client whose queue stays full for ``stall_timeout`` seconds, or which leaves a packet
unacknowledged that long, is disconnected.

Server memory per client is therefore bounded by ``window`` packets (the snapshot, at most
about 1 MB, and batches of about ``batch_bytes``; ``cut.py`` bounds each event and state value)
plus ``capacity`` queued events shared with the other clients, and only for ``stall_timeout``
seconds when the client stops reading. One thread (``bussdcc-web-push``) does all sending;
emitting threads only append to deques.
"""

from __future__ import annotations

import itertools
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

#: A batch stops growing once its events and state changes reach about this many bytes.
BATCH_BYTES = 256 * 1024


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
        #: Packets sent and not yet acknowledged: (packet id, bytes, monotonic time sent).
        self.unacked: deque[tuple[int, int, float]] = deque()
        self._packet_ids = itertools.count(1)
        self.over_since: float | None = None
        self.stats: dict[str, Any] | None = None
        self.state_changes: dict[str, msgspec.Raw] = {}
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

    @property
    def inflight(self) -> int:
        """Packets sent and not yet acknowledged."""
        return len(self.unacked)

    @property
    def inflight_bytes(self) -> int:
        with self.lock:
            return sum(size for _, size, _ in self.unacked)

    def sent(self, size: int) -> int:
        """Count a packet of ``size`` bytes as in flight; returns its id for ``acked``."""
        with self.lock:
            packet = next(self._packet_ids)
            self.unacked.append((packet, size, time.monotonic()))
            return packet

    def offer_state(self, changes: dict[str, msgspec.Raw], removed: list[str]) -> None:
        with self.lock:
            for path in removed:
                self.state_changes.pop(path, None)
                self.state_removed.add(path)
            for path, value in changes.items():
                self.state_removed.discard(path)
                self.state_changes[path] = value

    def acked(self, packet: int | None = None) -> None:
        """Packet ``packet`` arrived: release it and every packet sent before it.

        Packets arrive in order, so an acknowledgement also covers earlier packets whose own
        acknowledgement never comes (a page that does not acknowledge the snapshot).
        ``None`` releases the oldest.
        """
        with self.lock:
            if packet is None:
                if self.unacked:
                    self.unacked.popleft()
                return
            while self.unacked and self.unacked[0][0] <= packet:
                self.unacked.popleft()

    def backlog(self) -> int:
        with self.lock:
            return len(self.queue)

    def take_batch(
        self, batch_size: int, window: int, batch_bytes: int = BATCH_BYTES
    ) -> tuple[dict[str, Any], int] | None:
        """The next batch to send and its packet id, or ``None`` (nothing, or no window left)."""
        with self.lock:
            if self.closed or not self.ready or len(self.unacked) >= window:
                return None
            if (
                not self.queue
                and not self.dropped
                and self.stats is None
                and not (self.state_changes or self.state_removed)
            ):
                return None
            events: list[msgspec.Raw] = []
            size = 0
            queue = self.queue
            while queue and len(events) < batch_size and size < batch_bytes:
                encoded = queue.popleft()[1]
                events.append(encoded)
                size += len(encoded) + 1
            batch: dict[str, Any] = {"events": events, "dropped": self.dropped}
            self.dropped = 0
            if self.stats is not None:
                batch["stats"] = self.stats
                self.stats = None
                size += 200
            if (self.state_changes or self.state_removed) and size < batch_bytes:
                changes: dict[str, msgspec.Raw] = {}
                for path in list(self.state_changes):
                    if size >= batch_bytes:
                        break
                    value = self.state_changes.pop(path)
                    changes[path] = value
                    size += len(path) + len(value) + 4
                removed: list[str] = []
                for path in sorted(self.state_removed):
                    if size >= batch_bytes:
                        break
                    removed.append(path)
                    size += len(path) + 3
                self.state_removed.difference_update(removed)
                batch["state"] = {"changes": changes, "removed": removed}
            if len(self.queue) < self.capacity // 2:
                self.over_since = None
            self.delivered += len(events)
            packet = next(self._packet_ids)
            self.unacked.append((packet, size, time.monotonic()))
            return batch, packet

    def stall_reason(self, now: float, timeout: float) -> str | None:
        """Why this client should be dropped now, or ``None``."""
        with self.lock:
            if self.over_since is not None and now - self.over_since > timeout:
                return f"client fell behind: its queue stayed full ({self.capacity} events) for {timeout:g}s"
            if self.unacked and now - self.unacked[0][2] > timeout:
                return f"client stopped reading: a packet stayed unacknowledged for {timeout:g}s"
        return None

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sid": self.sid,
                "filter": self.filter.describe(),
                "backlog": len(self.queue),
                "inflight": len(self.unacked),
                "inflight_bytes": sum(size for _, size, _ in self.unacked),
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
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self._send = send
        self._disconnect = disconnect
        self.capacity = capacity
        self.batch_size = batch_size
        self.window = window
        self.stall_timeout = stall_timeout
        self.batch_bytes = batch_bytes
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

    def publish_state(self, changes: dict[str, msgspec.Raw], removed: list[str]) -> None:
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
            reason = channel.stall_reason(now, self.stall_timeout) if self.stall_timeout > 0 else None
            if reason is not None:
                self.remove(channel.sid)
                self._disconnect(channel.sid, reason)
                continue
            while True:
                taken = channel.take_batch(self.batch_size, self.window, self.batch_bytes)
                if taken is None:
                    break
                batch, packet = taken
                try:
                    self._send(channel.sid, batch, self.acker(channel, packet))
                except Exception:
                    channel.acked(packet)  # the client is gone; its disconnect handler removes it
                    break
                sent += 1
        return sent

    def acker(self, channel: ClientChannel, packet: int) -> Callable[..., None]:
        """The acknowledgement callback of ``packet``: releases it and wakes the sender."""

        def ack(*_: Any) -> None:
            channel.acked(packet)
            self._wake.set()

        return ack
