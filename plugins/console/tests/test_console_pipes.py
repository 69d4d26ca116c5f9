"""The console under real pipes and terminals, in real subprocesses.

* many threads emitting into a pipe read by the parent: every line is one whole event;
* a pipe nobody reads: emitters are not slowed beyond the buffer bound, drops are counted and
  reported once, and the process still exits;
* a reader that goes away (``| head -1``): the runtime carries on, one line on stderr;
* a pseudo-terminal: ``auto`` picks the coloured human format.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

CHILD = r"""
import json, sys, threading, time
from dataclasses import dataclass
from bussdcc.message import Message
from bussdcc_framework.runtime import Runtime
from bussdcc_framework_console import ConsoleSink

@dataclass(slots=True, frozen=True)
class Hammer(Message):
    thread: int
    seq: int
    pad: str

threads, per_thread, pad = int(sys.argv[1]), int(sys.argv[2]), "p" * int(sys.argv[3])
sink = ConsoleSink(sys.argv[4], buffer=int(sys.argv[5]), flush_timeout=float(sys.argv[6]))
rt = Runtime()
rt.add_sink(sink)
rt.boot()
worst = [0.0] * threads

def emit(tid):
    for i in range(per_thread):
        t0 = time.perf_counter()
        rt.ctx.emit(Hammer(thread=tid, seq=i, pad=pad))
        worst[tid] = max(worst[tid], time.perf_counter() - t0)

start = time.perf_counter()
workers = [threading.Thread(target=emit, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
elapsed = time.perf_counter() - start
t0 = time.perf_counter()
rt.shutdown("done")
stop_time = time.perf_counter() - t0
if len(sys.argv) > 7:
    with open(sys.argv[7], "w") as f:
        json.dump({"elapsed": elapsed, "worst_emit": max(worst), "stop_time": stop_time,
                   "dropped": sink.dropped, "written": sink.written}, f)
"""


@pytest.fixture
def child(tmp_path: Path) -> Path:
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    return path


def test_many_threads_real_pipe_every_line_is_one_whole_event(child: Path) -> None:
    threads, per_thread = 16, 2000
    proc = subprocess.run(
        [sys.executable, str(child), str(threads), str(per_thread), "300", "json", "1000000", "10"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    seqs: dict[int, list[int]] = {}
    lines = proc.stdout.splitlines()
    for line in lines:
        record = json.loads(line)  # a torn or interleaved line would not parse
        if record["type"].endswith(":Hammer"):
            seqs.setdefault(record["data"]["thread"], []).append(record["data"]["seq"])
    assert sorted(seqs) == list(range(threads))
    for tid, got in seqs.items():
        assert got == list(range(per_thread)), f"thread {tid} lost or reordered events"
    assert json.loads(lines[-1])["type"] == "bussdcc.message.runtime:RuntimeShutdown"
    assert proc.stderr == b""


def test_unread_pipe_does_not_slow_emitters_beyond_the_bound(child: Path, tmp_path: Path) -> None:
    result, errors = tmp_path / "result.json", tmp_path / "stderr.txt"
    with open(errors, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(child), "4", "50000", "200", "json", "1000", "0.5", str(result)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
        try:
            code = proc.wait(timeout=60)  # stdout is never read
        finally:
            proc.kill()
            assert proc.stdout is not None
            proc.stdout.close()
    assert code == 0, errors.read_text()
    stats = json.loads(result.read_text())
    emitted = 4 * 50000
    assert stats["dropped"] > emitted // 2  # the pipe holds ~64 KiB: most had to go
    assert stats["written"] < 2000
    # Nobody ever reads the pipe: an emitter that waited on it would still be waiting, so 200,000
    # emits returning at all is the proof that none did (no time bound needed, none is robust
    # on a busy machine). Likewise shutdown: waiting for the pipe would never end; flush_timeout
    # (0.5 s) ends it, far inside this wide bound.
    assert stats["stop_time"] < 20, stats
    report = [line for line in errors.read_text().splitlines() if "console dropped" in line]
    assert len(report) == 1, errors.read_text()
    assert "output blocked at shutdown" in report[0]


def test_slow_reader_sees_a_drop_notice_where_events_were_lost(child: Path, tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    proc = subprocess.Popen(
        [sys.executable, str(child), "2", "20000", "200", "json", "100", "5", str(result)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    time.sleep(1.0)  # let the pipe fill and the buffer overflow, then read everything
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.splitlines()]
    notices = [r for r in records if r["type"].endswith(":ConsoleDropped")]
    assert notices and all(n["data"]["buffer"] == 100 for n in notices)
    stats = json.loads(result.read_text())
    assert sum(n["data"]["count"] for n in notices) == stats["dropped"] > 0
    assert len(records) - len(notices) == stats["written"]
    hammer = sum(1 for r in records if r["type"].endswith(":Hammer"))
    assert 0 < hammer < 40000
    assert err.decode().count("console dropped") == 1


def test_reader_going_away_does_not_stop_the_runtime(child: Path, tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    proc = subprocess.Popen(
        [sys.executable, str(child), "2", "100000", "10", "json", "1000", "1", str(result)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["type"]  # RuntimeBooting, or a drop notice if the buffer filled
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err.count("output closed") == 1, err
    assert "Traceback" not in err
    stats = json.loads(result.read_text())
    assert stats["dropped"] + stats["written"] >= 200000


def _read_pty(fd: int, proc: subprocess.Popen[bytes]) -> bytes:
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


@pytest.mark.parametrize("no_color", [False, True])
def test_auto_on_a_terminal_is_the_human_format(child: Path, no_color: bool) -> None:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    proc = subprocess.Popen(
        [sys.executable, str(child), "1", "3", "5", "auto", "1000", "2"],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    try:
        out = _read_pty(master, proc).decode()
    finally:
        os.close(master)
    assert proc.wait(timeout=30) == 0
    plain = click.unstyle(out)
    assert '{"time"' not in plain
    assert "INFO     FrameworkBooted version=" in plain
    assert "INFO     Hammer thread=0 seq=2 pad=ppppp" in plain
    assert ("\x1b[" in out) is (not no_color)
