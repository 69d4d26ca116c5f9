"""``bussdcc identity`` and ``bussdcc run`` with SIGHUP, as real subprocesses."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import pytest

BUSSDCC = [
    sys.executable,
    "-c",
    "import sys; from bussdcc_framework.cli import main; sys.exit(main(sys.argv[1:]))",
]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    return {**base, "BUSSDCC_PLUGINS": "identity,console", **extra}


def run_cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUSSDCC, *args], capture_output=True, text=True, timeout=60, check=False, env=env(**extra)
    )


def test_identity_json_prints_what_the_service_would_emit(tmp_path: Path, roots: ModuleType) -> None:
    proc = run_cli("identity", "--json", BUSSDCC_IDENTITY_ROOT=str(roots.pi(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["hostname"] == "greenhouse-pi"
    assert data["model"] == "Raspberry Pi 4 Model B Rev 1.5"
    assert data["serial"] == roots.PI_SERIAL
    assert data["versions"]["bussdcc-framework-identity"]
    assert data["versions"]["bussdcc-framework-console"]
    assert data["hidden"] == []


def test_identity_text_with_hide_option(tmp_path: Path, roots: ModuleType) -> None:
    proc = run_cli("identity", "--root", str(roots.pc(tmp_path)), "--hide", "machine_id")
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert rows["model"] == "Dell Inc. XPS 13 9310"
    assert rows["serial"] == rows["machine_id"] == "(hidden)"
    assert roots.MACHINE_ID not in proc.stdout
    assert rows["os"] == "Ubuntu 24.04.1 LTS"


def test_identity_container_shows_dashes(tmp_path: Path, roots: ModuleType) -> None:
    proc = run_cli("identity", "--root", str(roots.container(tmp_path / "c")))
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert rows["model"] == rows["serial"] == rows["kernel"] == "-"


def test_identity_bad_hide_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("identity", BUSSDCC_IDENTITY_HIDE="serial,bogus")
    assert proc.returncode == 2
    assert "'bogus' is not a field" in proc.stderr
    assert "Traceback" not in proc.stderr


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Every line of ``stream``, read on a thread (select() misses lines already buffered)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_identity(lines: queue.Queue[str], deadline: float) -> dict[str, Any]:
    while (left := deadline - time.monotonic()) > 0:
        try:
            record = json.loads(lines.get(timeout=left))
        except queue.Empty:
            break
        if record["type"].endswith(":SystemIdentityEvent"):
            data: dict[str, Any] = record["data"]
            return data
    pytest.fail("no SystemIdentityEvent on stdout in time")


def test_bussdcc_run_re_emits_on_sighup(tmp_path: Path, roots: ModuleType) -> None:
    root = roots.pi(tmp_path)
    proc = subprocess.Popen(
        [*BUSSDCC, "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(
            BUSSDCC_IDENTITY_ROOT=str(root), BUSSDCC_IDENTITY_HIDE="serial", BUSSDCC_CONSOLE_FORMAT="json"
        ),
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines = _lines(proc.stdout)
    try:
        deadline = time.monotonic() + 30
        first = _next_identity(lines, deadline)
        assert first["hostname"] == "greenhouse-pi"
        assert first["serial"] is None and first["hidden"] == ["serial"]
        roots.write(root, "proc/sys/kernel/hostname", "renamed-pi\n")
        proc.send_signal(signal.SIGHUP)
        second = _next_identity(lines, deadline)
        assert second["hostname"] == "renamed-pi"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        proc.kill()
    rest: list[str] = []
    while True:  # the pump ends at EOF; what it read after the second identity
        try:
            rest.append(lines.get(timeout=2))
        except queue.Empty:
            break
    assert any(json.loads(line)["type"].endswith(":RuntimeShutdown") for line in rest)
    assert all(roots.PI_SERIAL not in line for line in rest)  # hidden: never printed
