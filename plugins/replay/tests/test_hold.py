"""``hold=True`` / ``bussdcc replay --hold``: the runtime stays up after the last event."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bussdcc_framework_replay import JsonlSource, ReplayRuntime
from replay_helpers import cli_env, readings, write_log


def test_hold_keeps_the_runtime_booted_until_stop_replay(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", readings(range(5)))
    runtime = ReplayRuntime(speed=0)
    held = threading.Event()
    held_at: list[float] = []

    def on_hold() -> None:
        held_at.append(time.perf_counter())
        held.set()

    runtime.on_hold = on_hold
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(runtime.replay(JsonlSource(log), hold=True)))
    started = time.perf_counter()
    worker.start()
    assert held.wait(10), "the replay never reached its last event"
    assert runtime.booted and worker.is_alive()  # still serving after the last event
    time.sleep(0.5)  # held: this time is not replay time
    runtime.stop_replay()
    worker.join(10)
    assert not worker.is_alive() and not runtime.booted
    stats = result[0]
    assert stats.replayed == 5 and stats.held and not stats.cancelled  # type: ignore[attr-defined]
    # The replay's wall time ends where the hold begins: not a bound on the machine's speed,
    # an inequality between two clocks read in order (counting the hold would add >= 0.5 s).
    assert stats.wall_seconds <= held_at[0] - started  # type: ignore[attr-defined]


def test_cli_hold_waits_for_ctrl_c_and_exits_zero(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", readings(range(3)))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--speed",
            "0",
            "--hold",
            "--import",
            "greenhouse",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "holding" in line:
            break
    else:
        proc.kill()
        raise AssertionError("no 'holding' line: " + "".join(seen))
    assert proc.poll() is None  # still up after the last event
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
