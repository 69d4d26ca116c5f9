"""The device's on-disk outbox: every event waits here until the broker acknowledged it.

paho keeps unacknowledged QoS 1 messages only in memory (its README's "Known limitations"), so a
device that restarts while its link or the broker is down would lose them. The outbox is a
stdlib sqlite3 database in WAL mode (``synchronous=NORMAL``: a committed batch survives the
process being killed; fsync-per-commit would cost 100x for power-loss safety nobody else gives
by default either). Rows are deleted only on PUBACK. The outbox is bounded by size and by age:
the oldest rows go first, and every drop is counted so the bridge can report it.

Only the bridge's own thread touches the connection; ``count`` and ``bytes`` are plain ints
other threads may read.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

DB_NAME = "outbox.sqlite3"
LOCK_NAME = "outbox.lock"
SESSION_NAME = "session"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    historical INTEGER NOT NULL,
    topic TEXT NOT NULL,
    record BLOB NOT NULL
);
"""


class OutboxError(RuntimeError):
    """The outbox cannot be opened (another process holds it, no permission, not a database)."""


class Pending(NamedTuple):
    """One event of the outbox as the bridge publishes it."""

    id: int
    boot: str
    seq: int
    historical: bool
    topic: str
    record: bytes


class NewEvent(NamedTuple):
    """One event on its way into the outbox (``seq`` is given by the outbox)."""

    created: float
    historical: bool
    topic: str
    record: bytes


class Outbox:
    """An ordered, bounded, persistent queue of encoded events (see the module doc)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 0,
        max_age: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutboxError(f"cannot open the outbox in {self.directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            raise OutboxError(
                f"the outbox {self.directory} is in use by another process; give each bridge its "
                "own directory (BUSSDCC_MQTT_OUTBOX)"
            ) from None
        try:
            self._db = sqlite3.connect(
                self.directory / DB_NAME, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            count, size = self._db.execute(
                "SELECT count(*), coalesce(sum(length(record)), 0) FROM events"
            ).fetchone()
        except sqlite3.Error as exc:
            self._release()
            raise OutboxError(f"cannot open the outbox {self.directory / DB_NAME}: {exc}") from None
        self.count: int = count
        self.bytes: int = size
        self.dropped: dict[str, int] = {"size": 0, "age": 0}

    def _release(self) -> None:
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            os.close(self._lock_fd)

    # -- writing -------------------------------------------------------------------------

    def add(self, boot: str, first_seq: int, events: Sequence[NewEvent]) -> int:
        """Append ``events`` (seq ``first_seq``, ``first_seq + 1``, ...) in one transaction.

        Returns how many of the oldest rows were dropped to stay within ``max_bytes``.
        """
        if not events:
            return 0
        rows = [
            (boot, first_seq + i, e.created, int(e.historical), e.topic, e.record)
            for i, e in enumerate(events)
        ]
        added = sum(len(e.record) for e in events)
        with self._transaction():
            self._db.executemany(
                "INSERT INTO events(boot, seq, created, historical, topic, record) VALUES (?,?,?,?,?,?)",
                rows,
            )
            self.count += len(rows)
            self.bytes += added
            return self._trim_to_size() if self.max_bytes else 0

    def _trim_to_size(self) -> int:
        if self.bytes <= self.max_bytes:
            return 0
        excess = self.bytes - self.max_bytes
        freed, dropped, last = 0, 0, None
        for row_id, size in self._db.execute("SELECT id, length(record) FROM events ORDER BY id"):
            freed += size
            dropped += 1
            last = row_id
            if freed >= excess:
                break
        if last is not None:
            self._db.execute("DELETE FROM events WHERE id <= ?", (last,))
        self.count -= dropped
        self.bytes -= freed
        self.dropped["size"] += dropped
        return dropped

    def expire(self) -> int:
        """Drop rows older than ``max_age``; returns how many."""
        if not self.max_age or not self.count:
            return 0
        cutoff = self._clock() - self.max_age
        with self._transaction():
            count, size = self._db.execute(
                "SELECT count(*), coalesce(sum(length(record)), 0) FROM events WHERE created < ?", (cutoff,)
            ).fetchone()
            if count:
                self._db.execute("DELETE FROM events WHERE created < ?", (cutoff,))
                self.count -= count
                self.bytes -= size
                self.dropped["age"] += count
        return int(count)

    def remove(self, rows: Sequence[tuple[int, int]]) -> None:
        """Delete acknowledged rows, given as (id, record size).

        Ids no longer present (dropped meanwhile by the size or age bound) are ignored; then the
        size is recounted, which is rare, instead of asked per row, which is the hot path.
        """
        if not rows:
            return
        deleted = 0
        with self._transaction():
            for chunk in _chunks(list(rows), 500):
                marks = ",".join("?" * len(chunk))
                cursor = self._db.execute(f"DELETE FROM events WHERE id IN ({marks})", [r[0] for r in chunk])
                deleted += cursor.rowcount
            if deleted == len(rows):
                self.count -= deleted
                self.bytes -= sum(r[1] for r in rows)
            else:
                self.count, self.bytes = self._db.execute(
                    "SELECT count(*), coalesce(sum(length(record)), 0) FROM events"
                ).fetchone()

    # -- reading -------------------------------------------------------------------------

    def fetch(self, after_id: int, limit: int) -> list[Pending]:
        """Up to ``limit`` rows with an id above ``after_id``, oldest first."""
        cursor = self._db.execute(
            "SELECT id, boot, seq, historical, topic, record FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [Pending(r[0], r[1], r[2], bool(r[3]), r[4], bytes(r[5])) for r in cursor]

    def oldest_created(self) -> float | None:
        """When the oldest waiting event was emitted (POSIX time), None when empty."""
        row = self._db.execute("SELECT created FROM events ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint the WAL into the database and release the directory."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self._db.close()
        self._release()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _chunks(items: list[tuple[int, int]], size: int) -> Iterable[list[tuple[int, int]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SessionCounter:
    """A counter persisted in ``<dir>/session``: one more at every connection attempt.

    Sparkplug's ``bdSeq``: the birth and the will of one connection carry the same number, a
    later connection a higher one, even across restarts, so a will that arrives late (MQTT
    orders only per topic) can be recognised as older than the birth it would override.
    """

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / SESSION_NAME
        self.value = self._read()

    def _read(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def next(self) -> int:
        """Increment, write durably (temp file, fsync, rename), return the new value."""
        self.value = max(self.value, self._read()) + 1
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, f"{self.value}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        return self.value
