"""The real ``bussdcc`` command in subprocesses: replay, events info, events cat."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bussdcc_framework_replay import JsonlSource
from replay_helpers import CODEC, ORIGINAL, ORIGINAL_LOG, bussdcc, cli_env, readings, registry, write_log

from bussdcc_framework.codec import type_name

#: The damage in the original fixture (one line each); its unknown type is not damage.
REASONS = (
    "bad_json",
    "missing_key",
    "bad_type_name",
    "invalid_data",
    "bad_time",
    "torn_line",
)


def recorded_types(root: Path) -> list[str]:
    return [
        json.loads(line)["type"]
        for path in sorted(root.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_replay_of_an_original_log_with_import_and_record(tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = bussdcc("replay", str(ORIGINAL), "--speed", "0", "--import", "greenhouse", "--record", str(out))

    assert result.returncode == 0, result.stderr
    summary = result.stderr
    assert "replayed 7 events from 1 file(s)" in summary
    assert "time span 2026-03-09T12:00:00.140552+00:00 .. 2026-03-09T12:00:04.500000+00:00" in summary
    assert "not re-emitted: 10 recorded lifecycle event(s)" in summary
    assert "skipped 6 damaged line(s):" in summary
    for reason in REASONS:
        assert f"  {reason}: 1 (e.g. " in summary
    assert "12-00-00.jsonl:24: incomplete last line" in summary
    assert "unknown types (1 record(s) not decoded): greenhouse.legacy:ValveOpened (1)" in summary
    assert "unknown_type" not in summary
    types = recorded_types(out)
    short = [t.rpartition(":")[2] for t in types]
    assert short.count("RuntimeBooting") == 1 and short.count("FrameworkBooted") == 1
    assert [t for t in types if t.startswith("greenhouse.")] == ["greenhouse.messages:SoilMoisture"] * 3 + [
        "greenhouse.messages:WateringStarted",
        "greenhouse.messages:SoilMoisture",
        "greenhouse.messages:PumpFault",
    ]
    assert short.count("SystemIdentityEvent") == 1


def test_unknown_application_types_are_skipped_with_a_hint(tmp_path: Path) -> None:
    result = bussdcc("replay", str(ORIGINAL), "--speed", "0")

    assert result.returncode == 0, result.stderr
    assert "replayed 1 events" in result.stderr  # only the identity is a known type
    assert "unknown types (8 record(s) not decoded): greenhouse.messages:SoilMoisture (5)" in result.stderr
    # greenhouse.messages defines those classes (checked without importing it);
    # greenhouse.legacy does not exist: not suggested.
    assert result.stderr.count("--import") == 1
    assert "or allow their modules: --import greenhouse.messages\n" in result.stderr


def test_app_registers_types_and_runs_its_processes(tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = bussdcc("replay", str(ORIGINAL), "--speed", "0", "--app", "greenhouse.app", "--record", str(out))

    assert result.returncode == 0, result.stderr
    assert "replayed 7 events" in result.stderr
    assert "bussdcc.message.process:ProcessStarted" in recorded_types(out)


def test_strict_stops_with_one_line_naming_file_and_line() -> None:
    result = bussdcc("replay", str(ORIGINAL), "--speed", "0", "--import", "greenhouse", "--strict")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bussdcc: error: --strict: ")
    assert "12-00-00.jsonl:10: bad_json:" in last


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    missing = bussdcc("replay", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"bussdcc: error: no such file or directory: {tmp_path / 'nope'}"

    bad_time = bussdcc("replay", str(ORIGINAL), "--start", "yesterday")
    assert bad_time.returncode == 2
    assert "'yesterday' is not a time" in bad_time.stderr

    bad_speed = bussdcc("replay", str(ORIGINAL), "--speed", "-2")
    assert bad_speed.returncode == 2 and "must be >= 0" in bad_speed.stderr

    bad_app = bussdcc("replay", str(ORIGINAL), "--app", "no_such_app_module")
    assert bad_app.returncode == 2
    assert bad_app.stderr.strip().splitlines()[-1].startswith("bussdcc: error: cannot import")


def test_replay_does_not_record_into_the_log_it_reads(tmp_path: Path) -> None:
    events = tmp_path / "events"
    shutil.copytree(ORIGINAL, events)
    before = sorted(p.relative_to(events) for p in events.rglob("*"))

    # jsonl.enabled defaults to true and jsonl.dir to ./events: a plain replay must not record.
    result = bussdcc("replay", "events", "--speed", "0", cwd=tmp_path, BUSSDCC_JSONL_ENABLED="true")

    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(events) for p in events.rglob("*")) == before


def test_console_plugin_sees_replayed_events(tmp_path: Path) -> None:
    result = bussdcc(
        "replay",
        str(ORIGINAL),
        "--speed",
        "0",
        "--import",
        "greenhouse",
        BUSSDCC_CONSOLE_ENABLED="true",
        BUSSDCC_CONSOLE_FORMAT="json",
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert "greenhouse.messages:PumpFault" in printed
    assert printed.count("bussdcc.message.runtime:RuntimeBooting") == 1


IDENTITY = "bussdcc_framework.message.system:SystemIdentityEvent"
LIFECYCLE_PREFIXES = ("bussdcc.message.", "bussdcc_framework.message.framework:")


def application_records(root: Path) -> list[tuple[str, object]]:
    """(type, data) of every recorded record that is not a kernel or framework lifecycle one."""
    records = []
    for path in sorted(root.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            name, data = record["type"], record["data"]
            if not name.startswith(LIFECYCLE_PREFIXES):
                records.append((name, data))
    return records


def test_replay_with_the_identity_plugin_shows_only_the_recorded_identity(tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = bussdcc(
        "replay",
        str(ORIGINAL),
        "--speed",
        "0",
        "--import",
        "greenhouse",
        "--record",
        str(out),
        BUSSDCC_PLUGINS="replay,identity,jsonl,console",
        BUSSDCC_CONSOLE_ENABLED="true",
        BUSSDCC_CONSOLE_FORMAT="json",
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    identities = [r["data"] for r in printed if r["type"] == IDENTITY]
    assert len(identities) == 1  # the identity service would add the replaying machine's
    assert identities[0]["hostname"] == "greenhouse-pi"
    # The re-recording holds exactly the input's (decodable) application records, in order.
    expected = [
        (type_name(type(evt.payload)), CODEC.to_builtins(evt.payload))
        for evt in JsonlSource(ORIGINAL, registry=registry())
        if not type_name(type(evt.payload)).startswith(LIFECYCLE_PREFIXES)
    ]
    assert [name for name, _ in expected].count(IDENTITY) == 1 and len(expected) == 7
    assert application_records(out) == expected


def test_an_app_with_its_own_plugin_runtime_replays_without_the_plugins_services(
    tmp_path: Path,
) -> None:
    # `runtime = Runtime.from_plugins()` in the app: the identity service the plugins gave it
    # must stay behind (the replay composes plugins without services); the app's process moves.
    app = tmp_path / "ownapp.py"
    app.write_text(
        "from bussdcc import Process\n"
        "from bussdcc_framework.runtime import Runtime\n"
        "class Counter(Process):\n"
        "    name = 'counter'\n"
        "    def handle_event(self, ctx, evt):\n"
        "        if type(evt.payload).__name__ == 'SoilMoisture':\n"
        "            ctx.state.update('seen', lambda n: (n or 0) + 1)\n"
        "    def stop(self, ctx):\n"
        "        print('counter saw', ctx.state.get('seen'), flush=True)\n"
        "runtime = Runtime.from_plugins()\n"
        "runtime.add_process(Counter())\n"
    )
    result = bussdcc(
        "replay",
        str(ORIGINAL),
        "--speed",
        "0",
        "--import",
        "greenhouse",
        "--app",
        str(app),
        BUSSDCC_PLUGINS="replay,identity,console",
        BUSSDCC_CONSOLE_ENABLED="true",
        BUSSDCC_CONSOLE_FORMAT="json",
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    identities = [r["data"] for r in printed if r["type"] == IDENTITY]
    assert [i["hostname"] for i in identities] == ["greenhouse-pi"]  # only the recorded one
    assert "counter saw" in result.stdout and "counter saw None" not in result.stdout
    assert "Traceback" not in result.stderr


def test_events_info_text_and_json() -> None:
    text = bussdcc("events", "info", str(ORIGINAL), "--import", "greenhouse")
    assert text.returncode == 0, text.stderr
    assert "records:    18 (1 of unknown types; 6 damaged line(s) skipped)" in text.stdout
    assert "greenhouse.legacy:ValveOpened  (unknown type)" in text.stdout
    assert "start:      2026-03-09T12:00:00.101204+00:00" in text.stdout
    assert "severity:   INFO 16, ERROR 1" in text.stdout
    assert "greenhouse.messages:SoilMoisture" in text.stdout

    as_json = bussdcc("events", "info", str(ORIGINAL), "--import", "greenhouse", "--json")
    info = json.loads(as_json.stdout)
    assert info["records"] == 18 and info["damaged"] == 6 and info["unknown"] == 1
    assert info["skipped"] == dict.fromkeys(REASONS, 1)
    assert {
        "type": "greenhouse.messages:SoilMoisture",
        "severity": "INFO",
        "count": 4,
        "known": True,
    } in info["types"]
    assert {"type": "greenhouse.legacy:ValveOpened", "severity": None, "count": 1, "known": False} in info[
        "types"
    ]
    assert info["duration_seconds"] == 4.900486
    assert info["files"][0]["records"] == 17


def test_events_cat_filters_by_type_and_time(tmp_path: Path) -> None:
    result = bussdcc(
        "events",
        "cat",
        str(ORIGINAL),
        "--import",
        "greenhouse",
        "--types",
        "SoilMoisture",
        "--start",
        "2026-03-09T12:00:01.5",
        "--end",
        "+4.1s",
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    # Raw: the records as they are, "wet" included (its data is not decoded).
    assert [(r["time"], r["data"]["percent"]) for r in lines] == [
        ("2026-03-09T12:00:02.000611+00:00", 41.0),
        ("2026-03-09T12:00:03.7+00:00", "wet"),
        ("2026-03-09T12:00:04.000280+00:00", 37.75),
    ]
    assert result.stdout.splitlines()[1] == ORIGINAL_LOG.read_text().splitlines()[14]
    # The unknown type and the malformed type name are not SoilMoisture: filtered, not damage.
    # Raw: the data of SoilMoisture records is not decoded, so "wet" is no damage either.
    assert "skipped 4 damaged line(s)" in result.stderr
    assert "unknown" not in result.stderr and "bad_type_name" not in result.stderr

    validated = bussdcc("events", "cat", str(ORIGINAL), "--validate", "--import", "greenhouse", "-t", "Soil*")
    assert validated.returncode == 0, validated.stderr
    assert [json.loads(line)["data"]["percent"] for line in validated.stdout.splitlines()] == [
        41.5,
        38.25,
        41.0,
        37.75,
    ]
    assert "invalid_data: 1" in validated.stderr

    limited = bussdcc("events", "cat", str(ORIGINAL), "-n", "2")
    assert len(limited.stdout.splitlines()) == 2


def test_types_filter_before_decoding_so_strict_ignores_excluded_records(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text(
        '{"time":"2026-03-09T12:00:00+00:00","type":"bussdcc.message.runtime:RuntimeBooted",'
        '"data":{"version":"1"}}\n'
        '{"time":"2026-03-09T12:00:01+00:00","type":"elsewhere.app:Unrelated","data":{"x":1}}\n'
        '{"time":"2026-03-09T12:00:02+00:00","type":"greenhouse.messages:SoilMoisture",'
        '"data":{"sensor":"b","percent":"wet"}}\n'
    )

    result = bussdcc("events", "cat", str(log), "--types", "RuntimeBooted", "--strict")

    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == [
        "bussdcc.message.runtime:RuntimeBooted"
    ]
    assert "damaged" not in result.stderr

    # Outside the time window: not decoded either.
    windowed = bussdcc("events", "cat", str(log), "--end", "2026-03-09T12:00:00.5", "--strict")
    assert windowed.returncode == 0, windowed.stderr
    assert len(windowed.stdout.splitlines()) == 1

    # Raw: a record of an unknown type is printed; --validate decodes it and strict stops on it.
    raw = bussdcc("events", "cat", str(log), "--types", "Unrelated", "--strict")
    assert raw.returncode == 0, raw.stderr
    assert [json.loads(line)["type"] for line in raw.stdout.splitlines()] == ["elsewhere.app:Unrelated"]
    kept = bussdcc("events", "cat", str(log), "--types", "Unrelated", "--strict", "--validate")
    assert kept.returncode == 1
    assert "a.jsonl:2: unknown_type:" in kept.stderr


def test_events_cat_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    log = write_log(tmp_path / "big.jsonl", readings(range(50000)))
    cat = subprocess.Popen(
        [sys.executable, "-m", "bussdcc_framework", "events", "cat", str(log), "--import", "greenhouse"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert cat.stdout is not None and cat.stderr is not None
    assert b"SoilMoisture" in cat.stdout.readline()
    cat.stdout.close()
    err = cat.stderr.read().decode()
    assert cat.wait(timeout=30) == 0
    assert "Traceback" not in err


def test_interrupt_stops_the_replay_and_still_prints_the_summary(tmp_path: Path) -> None:
    log = write_log(tmp_path / "slow.jsonl", readings(range(120)))  # two minutes at speed 1
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--speed",
            "1",
            "--import",
            "greenhouse",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(BUSSDCC_CONSOLE_ENABLED="true"),  # events on stdout: the replay is under way
    )
    assert proc.stdout is not None
    while "SoilMoisture" not in (line := proc.stdout.readline()):
        assert line, "the replay ended before its first reading"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert "stopped after" in err and "Traceback" not in err


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings(range(2000)))
    piped = bussdcc("replay", str(log), "--speed", "0", "--import", "greenhouse")
    assert "replaying" not in piped.stderr

    main, child = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--speed",
            "1500",
            "--import",
            "greenhouse",
        ],
        stdin=child,
        stdout=child,
        stderr=child,
        env=cli_env(),
        close_fds=True,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(main)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "replaying" in text and "%" in text
    assert "replayed 2,000 events" in text


def test_events_commands_take_app_and_import_finds_modules_next_to_it(tmp_path: Path) -> None:
    app_dir = tmp_path / "project"
    app_dir.mkdir()
    (app_dir / "plant_messages.py").write_text(
        "from dataclasses import dataclass\n"
        "from bussdcc.message import Message\n"
        "@dataclass(frozen=True)\n"
        "class Leaf(Message):\n"
        "    green: bool\n"
    )
    (app_dir / "plant_app.py").write_text("def setup(runtime):\n    pass\n")
    log = tmp_path / "a.jsonl"
    log.write_text(
        '{"time":"2026-03-09T12:00:00+00:00","type":"plant_messages:Leaf","data":{"green":true}}\n'
    )

    unknown = bussdcc("events", "info", str(log), cwd=tmp_path)
    assert unknown.returncode == 0 and "plant_messages:Leaf  (unknown type)" in unknown.stdout

    # --app puts the app's folder on sys.path, so --import finds plant_messages next to it.
    known = bussdcc(
        "events", "info", str(log), "--app", str(app_dir / "plant_app.py"), "--import", "plant_messages"
    )
    assert known.returncode == 0, known.stderr
    assert "records:    1\n" in known.stdout and "unknown" not in known.stdout
    validated = bussdcc(
        "events",
        "cat",
        "--validate",
        str(log),
        "--app",
        str(app_dir / "plant_app.py"),
        "--import",
        "plant_messages",
    )
    assert validated.returncode == 0 and json.loads(validated.stdout)["data"] == {"green": True}

    missing = bussdcc("events", "info", str(log), "--app", str(app_dir / "nope.py"))
    assert missing.returncode == 2 and missing.stderr.startswith("bussdcc: error: application file")
    (app_dir / "broken_app.py").write_text("def setup(runtime:\n")
    broken = bussdcc("events", "cat", str(log), "--app", str(app_dir / "broken_app.py"))
    assert broken.returncode == 2 and "broken_app.py:1: SyntaxError" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_a_filter_that_matches_nothing_says_so_and_exits_1() -> None:
    for command in ("info", "cat"):
        nothing = bussdcc("events", command, str(ORIGINAL), "--types", "NoSuchType")
        assert nothing.returncode == 1, (command, nothing.stderr)
        assert "bussdcc: no record matches --types NoSuchType (20 record(s) read)" in nothing.stderr

        late = bussdcc("events", command, str(ORIGINAL), "--start", "2030-01-01")
        assert late.returncode == 1 and "no record matches --start" in late.stderr

        some = bussdcc("events", command, str(ORIGINAL), "--types", "SoilMoisture")
        assert some.returncode == 0, (command, some.stderr)

    # Without a filter an empty recording is not an error.
    assert bussdcc("events", "cat", str(ORIGINAL), "-n", "0").returncode == 0


def start_replay(log: Path, app: Path, cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    """``bussdcc replay LOG --app APP`` running, its output on pipes."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--import",
            "greenhouse",
            "--app",
            str(app),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=cwd,
        **popen,
    )


def test_a_second_interrupt_ends_a_replay_at_once(tmp_path: Path) -> None:
    """``bussdcc replay`` follows the core's Ctrl-C policy, like ``bussdcc run``."""
    log = write_log(tmp_path / "slow.jsonl", readings(range(120)))
    app = tmp_path / "stuck.py"
    # A process that makes the graceful stop hang, so only a second Ctrl-C ends the replay.
    app.write_text(
        "import time\n"
        "from bussdcc.process import Process\n\n"
        "class Stuck(Process):\n"
        "    name = 'stuck'\n\n"
        "    def start(self, ctx):\n"
        "        print('started', flush=True)\n\n"
        "    def stop(self, ctx):\n"
        "        print('stopping', flush=True)\n"
        "        time.sleep(60)\n\n"
        "def setup(runtime):\n"
        "    runtime.add_process(Stuck())\n"
    )
    proc = start_replay(log, app, tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"  # the replay runs: its runtime has booted
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)  # the same Ctrl-C delivered twice: still one
    assert proc.stdout.readline() == "stopping\n"  # the graceful stop has begun, and hangs
    time.sleep(0.6)  # longer than the duplicate window
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "bussdcc: second interrupt, exiting now"
    assert "Traceback" not in err


def signal_dispositions(pid: int) -> tuple[int, int]:
    """The (ignored, caught) signal masks of a process, from ``/proc``."""
    fields = dict(line.split(":\t") for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["SigIgn"], 16), int(fields["SigCgt"], 16)


def test_a_replay_started_with_ctrl_c_ignored_leaves_it_ignored(tmp_path: Path) -> None:
    """A script's background job starts with SIGINT ignored: SIGTERM stops the replay, not Ctrl-C."""
    log = write_log(tmp_path / "slow.jsonl", readings(range(120)))
    app = tmp_path / "started.py"
    app.write_text(
        "from bussdcc.process import Process\n\n"
        "class Started(Process):\n"
        "    name = 'started'\n\n"
        "    def start(self, ctx):\n"
        "        print('started', flush=True)\n\n"
        "def setup(runtime):\n"
        "    runtime.add_process(Started())\n"
    )
    proc = start_replay(log, app, tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        ignored, caught = signal_dispositions(proc.pid)
        assert ignored & (1 << (signal.SIGINT - 1)), "SIGINT taken over"
        assert caught & (1 << (signal.SIGTERM - 1)), "SIGTERM not handled"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err  # stopped by a signal, cleanly (docs/replay.md)
        assert "stopped after" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Terminal:
    """``bussdcc replay`` on a real pseudo-terminal: keys in, the redrawn line out."""

    ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")

    def __init__(self, *args: str) -> None:
        self.main, child = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bussdcc_framework", "replay", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env=cli_env(),
            close_fds=True,
        )
        os.close(child)
        self.seen = b""

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.main], [], [], timeout)
        if ready:
            try:
                self.seen += os.read(self.main, 65536)
            except OSError:
                pass

    def lines(self) -> list[str]:
        text = self.ANSI.sub(b"", self.seen).decode(errors="replace")
        return [part.strip() for part in re.split(r"[\r\n]", text) if part.strip()]

    def last_status(self) -> str:
        status = [line for line in self.lines() if re.match(r"(replaying|paused|seeking|finished)\s", line)]
        return status[-1] if status else ""

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            line = self.last_status()
            if predicate(line):
                return line
            if self.proc.poll() is not None:
                self.read()
                break
        raise AssertionError(f"no line with {what}; last: {self.last_status()!r}\n{self.lines()[-10:]}")

    def press(self, keys: bytes) -> None:
        os.write(self.main, keys)

    def close(self) -> str:
        try:
            self.proc.wait(timeout=30)
        finally:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.main], [], [], 0.2)
                if not ready:
                    break
                try:
                    chunk = os.read(self.main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk
            os.close(self.main)
        return "\n".join(self.lines())


def event_number(line: str) -> int:
    match = re.search(r"event ([\d,]+)", line)
    assert match, line
    return int(match.group(1).replace(",", ""))


def test_keys_on_a_terminal_pause_step_change_speed_and_quit(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([i * 0.5 for i in range(400)]))
    term = Terminal(str(log), "--speed", "1", "--import", "greenhouse")
    try:
        term.wait_for(lambda line: line.startswith("replaying") and event_number(line) >= 2, "events")
        term.press(b" ")
        paused = term.wait_for(lambda line: line.startswith("paused"), "paused")
        at_pause = event_number(paused)
        time.sleep(1.5)  # at 1x, three more readings would have come
        term.read()
        assert event_number(term.last_status()) == at_pause
        term.press(b"s")
        term.wait_for(lambda line: event_number(line) == at_pause + 1, "one more event")
        term.press(b"\x1b[C")  # the right arrow
        term.wait_for(lambda line: event_number(line) == at_pause + 2, "another one")
        time.sleep(0.5)
        term.read()
        assert event_number(term.last_status()) == at_pause + 2 and term.last_status().startswith("paused")
        term.press(b"+")
        term.wait_for(lambda line: "speed 2x" in line, "speed 2x")
        term.press(b"--")
        term.wait_for(lambda line: "speed 0.5x" in line, "speed 0.5x")
        term.press(b" ")
        term.wait_for(
            lambda line: line.startswith("replaying") and event_number(line) > at_pause + 2, "playing"
        )
        term.press(b"q")
        output = term.close()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert term.proc.returncode == 0, output
    assert "keys: space pause/resume" in output
    assert "stopped after" in output and "Traceback" not in output


def test_without_a_terminal_nothing_reads_stdin(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", readings([i * 0.01 for i in range(50)]))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--speed",
            "1",
            "--import",
            "greenhouse",
        ],
        input="q q q\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "replayed 50 events" in proc.stderr  # the q in the pipe did not stop it
    assert "keys:" not in proc.stderr
