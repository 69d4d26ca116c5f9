"""``bussdcc run`` and recordings, with real subprocesses (issue 11 §3).

It says in one line where it records; a run that fails to boot (a busy port, a bad setting)
leaves no segment behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

BUSSDCC = str(Path(sys.executable).with_name("bussdcc"))

APP = textwrap.dedent(
    """
    import threading

    def setup(runtime):
        threading.Timer(0.3, runtime.shutdown, args=("done",)).start()
    """
)


def run(tmp_path: Path, *args: str, plugins: str = "jsonl", **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "app.py").write_text(APP)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    return subprocess.run(
        [BUSSDCC, "run", "app.py", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "BUSSDCC_PLUGINS": plugins, **env},
        check=False,
    )


def test_run_says_where_it_records_and_how_to_change_it(tmp_path: Path) -> None:
    out = run(tmp_path, "--record", "rec")
    assert out.returncode == 0, out.stderr
    (line,) = [x for x in out.stderr.splitlines() if "recording" in x]
    assert "./rec" in line and "--record" in line and "BUSSDCC_JSONL_ENABLED=false" in line
    assert list((tmp_path / "rec").rglob("*.jsonl"))


def test_run_names_the_default_directory(tmp_path: Path) -> None:
    out = run(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "recording events to ./events " in out.stderr
    types = [
        json.loads(line)["type"].rsplit(":", 1)[1]
        for path in (tmp_path / "events").rglob("*.jsonl")
        for line in path.open()
    ]
    assert "ApplicationStarted" in types  # the run says which app it ran


def test_run_without_recording_says_nothing_about_it(tmp_path: Path) -> None:
    out = run(tmp_path, BUSSDCC_JSONL_ENABLED="false")
    assert out.returncode == 0, out.stderr
    assert "recording" not in out.stderr and not (tmp_path / "events").exists()


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_busy_port_leaves_no_segment(tmp_path: Path, busy_port: int) -> None:
    out = run(tmp_path, "--record", "rec", "--port", str(busy_port), plugins="jsonl,web")
    assert out.returncode != 0 and "already in use" in out.stderr
    assert not (tmp_path / "rec").exists(), sorted((tmp_path / "rec").rglob("*"))


def test_an_address_this_machine_lacks_leaves_no_segment(tmp_path: Path) -> None:
    """A setting that parses but fails at boot (203.0.113.0/24 is reserved for documentation)."""
    out = run(tmp_path, "--record", "rec", "--host", "203.0.113.7", "--port", "0", plugins="jsonl,web")
    assert out.returncode != 0 and "203.0.113.7" in out.stderr
    assert not (tmp_path / "rec").exists()


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--set", "jsonl.interval=-5"), {}),
        (("--set", "jsonl.flush=sometimes"), {}),
        ((), {"BUSSDCC_WEB_PORT": "abc"}),
    ],
    ids=["interval", "flush", "web-port"],
)
def test_a_bad_setting_leaves_no_segment(tmp_path: Path, args: tuple[str, ...], env: dict[str, str]) -> None:
    out = run(tmp_path, "--record", "rec", *args, plugins="jsonl,web", **env)
    assert out.returncode == 2, out.stderr
    assert "error" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "rec").exists()


def test_a_failed_boot_keeps_an_earlier_recording(tmp_path: Path, busy_port: int) -> None:
    assert run(tmp_path, "--record", "rec").returncode == 0
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "rec").rglob("*"))
    out = run(tmp_path, "--record", "rec", "--port", str(busy_port), plugins="jsonl,web")
    assert out.returncode != 0
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "rec").rglob("*")) == before
