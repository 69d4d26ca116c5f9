"""``bussdcc run`` as a user sees it: on a real pseudo-terminal, and through a pipe.

The console's ``auto`` format (the plugin's default) prints the coloured human format when
stdout is a terminal and JSON records when it is piped or redirected; ``NO_COLOR`` turns the
colour off, not the format. Each test runs the real CLI in a subprocess, with only the console
and identity plugins, and stops it with SIGINT once the identity event has been printed.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

BUSSDCC = str(Path(sys.executable).parent / "bussdcc")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_") and k != "NO_COLOR"}
    env.update(BUSSDCC_PLUGINS="console,identity", TERM="xterm-256color", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_on_terminal(*args: str, until: str = "SystemIdentityEvent", **extra: str) -> str:
    """Run ``bussdcc run`` with stdout and stderr on a pty; SIGINT once ``until`` appeared."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [BUSSDCC, "run", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(**extra),
        start_new_session=True,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    interrupted = False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not interrupted and until.encode() in out:
                # let the rest of the line arrive, then stop like Ctrl-C
                time.sleep(0.3)
                proc.send_signal(signal.SIGINT)
                interrupted = True
            if proc.poll() is not None and not ready:
                break
            assert time.monotonic() < deadline, out.decode(errors="replace")
        assert proc.wait(30) == 0, out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


def line_with(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines() if needle in line]
    assert lines, text
    return lines[0]


def test_a_terminal_gets_the_coloured_human_format() -> None:
    out = run_on_terminal()
    assert "\x1b[" in out  # coloured
    plain = ANSI.sub("", out)
    assert '{"time"' not in plain  # no JSON record on a terminal
    booted = line_with(plain, "FrameworkBooted")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO +FrameworkBooted version=", booted)
    identity = line_with(plain, "SystemIdentityEvent")
    # one short line: the summary fields only, no dict of versions wrapping the terminal
    assert "versions=" not in identity and "machine_id=" not in identity, identity
    assert "hostname=" in identity and "python=" in identity, identity
    assert len(identity) < 160, identity


def test_no_color_keeps_the_human_format_without_colour() -> None:
    out = run_on_terminal(NO_COLOR="1")
    assert "\x1b[" not in out
    assert re.search(r"INFO +SystemIdentityEvent hostname=", out), out


def test_the_json_format_can_still_be_asked_for_on_a_terminal() -> None:
    out = run_on_terminal("--set", "console.format=json")
    record = json.loads(line_with(out, "SystemIdentityEvent"))
    assert "versions" in record["data"]  # JSON keeps every field


def test_a_pipe_gets_one_json_record_per_line() -> None:
    proc = subprocess.Popen(
        [BUSSDCC, "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for raw in proc.stdout:
            lines.append(raw.decode())
            if b"SystemIdentityEvent" in raw:
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    lines += rest.decode().splitlines(keepends=True)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in lines]  # every line is a record: nothing else
    assert all(set(r) == {"time", "type", "data"} for r in records)
    identity = next(r for r in records if r["type"].endswith(":SystemIdentityEvent"))
    assert identity["data"]["versions"]["bussdcc"]  # every field, as recordings have them
    assert b"\x1b[" not in err
