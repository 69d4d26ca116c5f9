"""Shared helpers for the replay plugin's tests: the greenhouse app, writing logs, the CLI.

A plain module (``conftest.py`` puts this folder on ``sys.path``): with
``--import-mode=importlib`` test modules cannot import ``conftest``.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, TypeRegistry, default_registry

FIXTURES = Path(__file__).parent / "fixtures"
APPS = FIXTURES / "apps"
ORIGINAL = FIXTURES / "original"
ORIGINAL_LOG = ORIGINAL / "2026-03-09" / "12-00-00.jsonl"
T0 = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)

if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))

from greenhouse.messages import PumpFault, SoilMoisture, WateringStarted, Zone  # noqa: E402

__all__ = ["PumpFault", "SoilMoisture", "WateringStarted", "Zone"]


def registry() -> TypeRegistry:
    """The default registry without plugin discovery (greenhouse is imported above)."""
    return default_registry(plugins=False)


CODEC = Codec(registry())


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def event(seconds: float, payload: Message) -> Event[Message]:
    """An event at ``T0 + seconds``."""
    return Event(time=at(seconds), payload=payload)


def readings(times: Iterable[float], sensor: str = "bed-1") -> list[Event[Message]]:
    """One ``SoilMoisture`` per time, the percent equal to the time (easy to check order)."""
    return [event(t, SoilMoisture(sensor=sensor, percent=float(t))) for t in times]


def write_log(path: Path, events: Sequence[Event[Message]], *, tail: bytes = b"") -> Path:
    """Write events as records (gzip when the name ends in .gz), then raw ``tail`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(CODEC.encode_record(e) + b"\n" for e in events) + tail
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(body))
    else:
        path.write_bytes(body)
    return path


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a ``bussdcc`` subprocess: the greenhouse app importable, known plugins."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(APPS), env.get("PYTHONPATH")]))
    env["BUSSDCC_PLUGINS"] = "replay,jsonl,console"
    env["BUSSDCC_CONSOLE_ENABLED"] = "false"
    env.pop("BUSSDCC_JSONL_ENABLED", None)
    env.update(extra)
    return env


def bussdcc(
    *args: str, cwd: Path | None = None, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``bussdcc`` command (``python -m bussdcc_framework``) and capture it."""
    return subprocess.run(
        [sys.executable, "-m", "bussdcc_framework", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=cwd,
        env=cli_env(**env),
    )
