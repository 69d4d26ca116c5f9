"""Hostile input for the readers (``events info``, ``events cat``, ``replay``): nothing aborts them.

The standing suite of issue 10: each test writes the attack to real files, runs the real
``bussdcc`` command in a subprocess (with a timeout: a hang fails) and checks that the bad part
is skipped, counted by reason and reported, that the command exits 0 and, where memory is the
attack, that the subprocess's peak RSS stays bounded. Big inputs are generated streaming.
This module only grows: a fixed attack keeps its test. docs/hostile-input.md ("Readers") says
what is guaranteed and the limits.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bussdcc_framework_replay import JsonlSource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_helpers import CODEC, cli_env, readings, registry, write_log

GOOD = (
    b'{"time":"2026-03-09T12:00:00+00:00","type":"bussdcc_framework.message.framework:FrameworkBootFailed",'
    b'"data":{"version":"1","error":"e"}}\n'
)
FAILED = "bussdcc_framework.message.framework:FrameworkBootFailed"


def record(time: str, data: str = '{"version":"1","error":"e"}', type_: str = FAILED) -> bytes:
    """One record line of a known (non-lifecycle) type."""
    return f'{{"time":"{time}","type":"{type_}","data":{data}}}\n'.encode()


class Run:
    """A finished ``bussdcc`` subprocess: exit status, output and peak RSS (KiB)."""

    def __init__(self, returncode: int, stdout: str, stderr: str, maxrss_kib: int) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.maxrss_kib = maxrss_kib


def run(
    *args: str,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
    cwd: Path | None = None,
    **env: str,
) -> Run:
    """Run ``bussdcc ARGS`` and measure its peak RSS with ``wait4`` (the kernel's own figure)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bussdcc_framework", *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=cli_env(**env),
            cwd=cwd,
            preexec_fn=preexec,
        )
        deadline = time.monotonic() + timeout
        while True:  # wait4: this child's own peak RSS (RUSAGE_CHILDREN would be the max of all)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:  # a hang fails
                proc.kill()
                proc.wait()
                err.seek(0)
                pytest.fail(f"bussdcc {' '.join(args)} hung for {timeout}s: {err.read().decode()[-2000:]}")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss)


def baseline_rss() -> int:
    """Peak RSS of ``events info`` on a tiny log: what a run costs before any attack."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "a.jsonl"
        log.write_bytes(GOOD)
        return run("events", "info", str(log)).maxrss_kib


def info_json(*paths: Path, **env: str) -> dict[str, object]:
    result = run("events", "info", "--json", *map(str, paths), **env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


# -- bytes and structure inside a line -------------------------------------------------------


def test_invalid_utf8_inside_a_string_is_skipped_as_bad_utf8(tmp_path: Path) -> None:
    log = tmp_path / "utf8.jsonl"
    bad = (
        b'{"time":"2026-03-09T12:00:01+00:00","type":"'
        + FAILED.encode()
        + b'","data":{"version":"a\xff\xfeb"}}\n'
    )
    log.write_bytes(GOOD + bad + GOOD)

    info = info_json(log)
    assert info["records"] == 2 and info["skipped"] == {"bad_utf8": 1}

    replayed = run("replay", str(log), "--speed", "0")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 2 events" in replayed.stderr and "bad_utf8: 1 (e.g. " in replayed.stderr

    # events cat is raw but still prints only valid JSON text: the line is not printed.
    cat = run("events", "cat", str(log))
    assert cat.returncode == 0 and len(cat.stdout.splitlines()) == 2
    assert "bad_utf8: 1" in cat.stderr


def test_json_nested_1000_deep_is_skipped_even_under_an_ignored_key(tmp_path: Path) -> None:
    deep = "[" * 1000 + "]" * 1000
    log = tmp_path / "deep.jsonl"
    log.write_bytes(
        GOOD
        + record("2026-03-09T12:00:01+00:00").replace(b'"data":', f'"ignored":{deep},"data":'.encode())
        + record("2026-03-09T12:00:02+00:00", f'{{"version":"1","error":"e","extra":{deep}}}')
        + GOOD
    )

    info = info_json(log)
    assert info["records"] == 2 and info["skipped"] == {"too_deep": 2}
    replayed = run("replay", str(log), "--speed", "0")
    assert replayed.returncode == 0 and "too_deep: 2" in replayed.stderr
    cat = run("events", "cat", str(log))
    assert cat.returncode == 0 and len(cat.stdout.splitlines()) == 2


def test_a_time_outside_utc_is_bad_time_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(GOOD + record("0001-01-01T00:00:00+05:00") + record("9999-12-31T23:59:59-05:00") + GOOD)

    info = info_json(log)
    assert info["records"] == 2 and info["skipped"] == {"bad_time": 2}
    replayed = run("replay", str(log), "--speed", "1")
    assert replayed.returncode == 0 and "bad_time: 2" in replayed.stderr


def test_terminal_escapes_from_a_file_are_shown_not_interpreted(tmp_path: Path) -> None:
    log = tmp_path / "esc.jsonl"
    log.write_bytes(
        GOOD + record("2026-03-09T12:00:01+00:00", type_="evil\\u001b[2J.mod:X\\u001b]0;pwned\\u0007")
    )

    for args in (("events", "info"), ("replay", "--speed", "0"), ("events", "cat", "--validate")):
        result = run(*args, str(log))
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stderr + result.stdout and "\x07" not in result.stderr + result.stdout
        assert "\\x1b[2J" in result.stderr + result.stdout


# -- lines too long to hold --------------------------------------------------------------------


def _long_line_log(path: Path, megabytes: int) -> None:
    """GOOD, a line of ``megabytes`` MiB with no newline until its end, GOOD: written streaming."""
    block = b"a" * (1 << 20)
    with path.open("wb") as f:
        f.write(GOOD)
        f.write(b'{"time":"2026-03-09T12:00:01+00:00","type":"x.y:Z","data":"')
        for _ in range(megabytes):
            f.write(block)
        f.write(b'"}\n')
        f.write(GOOD)


@pytest.mark.slow
def test_a_200_mb_line_is_read_past_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "long.jsonl"
    _long_line_log(log, 200)
    base = baseline_rss()

    result = run("events", "info", "--json", str(log))

    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["records"] == 2 and info["skipped"] == {"too_long": 1}
    assert "a line of 200.0 MiB is longer than replay.max_line (8.0 MiB)" in info["examples"]["too_long"][0]
    # Holding the line would cost 200 MiB at least (440 MB before the fix).
    assert result.maxrss_kib - base < 64 * 1024, (base, result.maxrss_kib)

    replayed = run("replay", str(log), "--speed", "0")
    assert replayed.returncode == 0 and "replayed 2 events" in replayed.stderr
    assert replayed.maxrss_kib - base < 64 * 1024


def test_max_line_is_a_setting_and_a_line_within_it_is_read(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(
        GOOD + record("2026-03-09T12:00:01+00:00", '{"version":"' + "v" * 3000 + '","error":"e"}')
    )

    tight = info_json(log, BUSSDCC_REPLAY_MAX_LINE="2k")
    assert tight["records"] == 1 and tight["skipped"] == {"too_long": 1}
    assert info_json(log)["records"] == 2

    bad = run("events", "info", str(log), BUSSDCC_REPLAY_MAX_LINE="lots")
    assert bad.returncode == 2
    assert bad.stderr.startswith("bussdcc: error: BUSSDCC_REPLAY_MAX_LINE=lots is not valid")
    small = run("events", "info", str(log), BUSSDCC_REPLAY_MAX_LINE="100")
    assert small.returncode == 2
    assert small.stderr.splitlines() == [
        "bussdcc: error: BUSSDCC_REPLAY_MAX_LINE=100 is not valid: expected a size in bytes of at "
        "least 1k, e.g. 500, 64k, 10MB"
    ]


def test_events_commands_take_settings_with_set_over_the_environment(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(
        GOOD + record("2026-03-09T12:00:01+00:00", '{"version":"' + "v" * 3000 + '","error":"e"}')
    )
    tight = run(
        "events", "--set", "replay.max_line=2k", "info", "--json", str(log), BUSSDCC_REPLAY_MAX_LINE="8M"
    )
    assert tight.returncode == 0, tight.stderr
    assert json.loads(tight.stdout)["skipped"] == {"too_long": 1}
    shown = run("events", "-s", "replay.max_line=2k", "cat", str(log))
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 1
    indexed = run("events", "-s", "replay.max_line=2k", "index", str(log))
    assert indexed.returncode == 0, indexed.stderr
    same = run("events", "-s", "replay.max_line=2k", "info", "--json", str(log))
    assert same.returncode == 0, same.stderr
    answered = json.loads(same.stdout)  # the index, built under the --set limit, answers it
    assert answered["from_index"] and answered["records"] == 1
    assert answered["skipped"] == {"too_long": 1}
    # A looser reader does not trust the index's too_long count: it reads the long line.
    assert info_json(log)["records"] == 2

    typo = run("events", "--set", "replay.max_lin=2k", "info", str(log))
    assert typo.returncode == 2
    assert typo.stderr.startswith("bussdcc: error: --set replay.max_lin=2k: unknown setting")
    assert "did you mean replay.max_line?" in typo.stderr
    malformed = run("events", "--set", "max_line", "info", str(log))
    assert malformed.returncode == 2
    assert malformed.stderr.splitlines() == [
        "bussdcc: error: --set max_line is not valid: expected PLUGIN.SETTING=VALUE, e.g. jsonl.dir=./events"
    ]
    wrong = run("events", "--set", "replay.max_line=lots", "info", str(log))
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("bussdcc: error: --set replay.max_line=lots is not valid")


def _gzip_bomb(path: Path, gib: int) -> None:
    """GOOD, then one line of ``gib`` GiB of "a" (gzip members of 64 MiB each), then GOOD.

    Concatenated gzip members decompress as one stream, so a small file expands to one huge
    line; each member is compressed once and written many times (fast to generate).
    """
    member = gzip.compress(b"a" * (64 << 20), 9)
    with path.open("wb") as f:
        f.write(gzip.compress(GOOD + b'{"time":"2026-03-09T12:00:01+00:00","type":"x.y:Z","data":"'))
        for _ in range(gib * 16):
            f.write(member)
        f.write(gzip.compress(b'"}\n' + GOOD))


@pytest.mark.slow
def test_a_gzip_bomb_is_streamed_past_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    _gzip_bomb(bomb, 1)  # 1 MiB on disk, one line of 1 GiB (a 4 GiB one takes ~30 s to inflate)
    assert bomb.stat().st_size < 2 << 20
    base = baseline_rss()

    result = run("events", "info", "--json", str(bomb), timeout=300)

    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["records"] == 2 and info["skipped"] == {"too_long": 1}
    assert "a line of 1,024.0 MiB" in info["examples"]["too_long"][0]
    assert result.maxrss_kib - base < 64 * 1024, (base, result.maxrss_kib)


def test_millions_of_blank_lines_in_a_tiny_gz_are_counted_and_skipped(tmp_path: Path) -> None:
    log = tmp_path / "blank.jsonl.gz"
    with gzip.open(log, "wb", compresslevel=9) as f:
        f.write(GOOD)
        for _ in range(10):
            f.write(b"\n" * 1_000_000)
        f.write(b"  \r\n\t\n" + GOOD)
    assert log.stat().st_size < 64 * 1024

    info = info_json(log)
    assert info["records"] == 2 and info["blank_lines"] == 10_000_002 and info["damaged"] == 0
    # Line numbers stay right after a run of blank lines.
    bad = tmp_path / "after.jsonl"
    bad.write_bytes(GOOD + b"\n" * 100_000 + b"garbage\n")
    assert info_json(bad)["examples"] == {
        "bad_json": [f"{bad}:100002: not valid JSON: JSON is malformed: invalid character (byte 0)"]
    }


# -- things that are not log files -------------------------------------------------------------


def test_a_symlink_loop_a_fifo_and_dev_zero_named_jsonl_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(GOOD)
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    os.mkfifo(tmp_path / "fifo.jsonl")
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "nowhere.jsonl")

    info = info_json(tmp_path)
    assert info["records"] == 1
    assert info["skipped"] == {"not_a_file": 2, "unreadable": 2}
    replayed = run("replay", str(tmp_path), "--speed", "0", timeout=60)
    assert replayed.returncode == 0 and "replayed 1 events" in replayed.stderr
    assert "a FIFO, not a regular file" in replayed.stderr or "a character device" in replayed.stderr
    cat = run("events", "cat", str(tmp_path), timeout=60)
    assert cat.returncode == 0 and len(cat.stdout.splitlines()) == 1

    # Named explicitly, a FIFO is still never opened.
    fifo = run("events", "info", "--json", str(tmp_path / "fifo.jsonl"), timeout=60)
    assert fifo.returncode == 0 and json.loads(fifo.stdout)["skipped"] == {"not_a_file": 1}


# -- time ----------------------------------------------------------------------------------------


def test_year_one_then_a_normal_time_at_speed_1_jumps_the_gap(tmp_path: Path) -> None:
    log = tmp_path / "y1.jsonl"
    log.write_bytes(record("0001-01-01T00:00:00+00:00") + record("2026-03-09T12:00:00+00:00"))

    result = run("replay", str(log), "--speed", "1", "--set", "replay.max_wait=1s", timeout=60)

    assert result.returncode == 0, result.stderr
    assert "replayed 2 events" in result.stderr
    assert "jumped over 1 gap(s) in recorded time longer than replay.max_wait (the longest: 2,025 years" in (
        result.stderr
    )


def test_times_centuries_ahead_do_not_stall_a_replay_and_pacing_resumes(tmp_path: Path) -> None:
    log = tmp_path / "ahead.jsonl"
    log.write_bytes(
        record("2026-03-09T12:00:00+00:00")
        + record("2600-01-01T00:00:00+00:00")
        + record("2026-03-09T12:00:00.100000+00:00")
        + record("2026-03-09T12:00:00.200000+00:00")
    )

    result = run("replay", str(log), "--speed", "1", "--set", "replay.max_wait=2s", timeout=60)

    assert result.returncode == 0, result.stderr
    assert "replayed 4 events" in result.stderr
    assert "jumped over 1 gap(s)" in result.stderr and "574 years" in result.stderr
    assert "recorded time went back 1 time(s)" in result.stderr


def test_max_wait_bounds_the_wait_in_the_runtime(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bussdcc_framework_replay import ReplayRuntime

    log = tmp_path / "a.jsonl"
    log.write_bytes(record("2026-03-09T12:00:00+00:00") + record("2026-03-09T13:00:00+00:00"))
    runtime = ReplayRuntime(speed=1.0, max_wait=0.05)

    stats = runtime.replay(JsonlSource(log, registry=registry()))

    assert stats.replayed == 2 and stats.jumps == 1 and stats.largest_jump == 3600.0
    assert stats.jump_to == datetime(2026, 3, 9, 13, tzinfo=UTC)
    with pytest.raises(ValueError, match="max_wait"):
        ReplayRuntime(max_wait=0)


# -- more files than descriptors -----------------------------------------------------------------


def _overlapping(root: Path, files: int) -> None:
    root.mkdir()
    for i in range(files):
        (root / f"f{i:04d}.jsonl").write_bytes(
            b"".join(record(f"2026-03-09T12:00:{s:02d}.{i:06d}+00:00") for s in range(3))
        )


def _limit(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@pytest.mark.slow
def test_more_overlapping_files_than_descriptors_are_merged_without_holding_them(tmp_path: Path) -> None:
    _overlapping(tmp_path / "many", 3000)

    result = run("events", "cat", str(tmp_path / "many"), preexec=_limit(256, 256))

    assert result.returncode == 0, result.stderr
    times = [json.loads(line)["time"] for line in result.stdout.splitlines()]
    assert len(times) == 9000 and times == sorted(times)
    assert "unreadable" not in result.stderr
    assert "the others are read without holding them open" in result.stderr


@pytest.mark.slow
def test_the_open_file_limit_is_raised_and_said_so(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the hard open-file limit ({hard}) is too low to raise the soft one")
    _overlapping(tmp_path / "many", 3000)

    result = run("events", "info", "--json", str(tmp_path / "many"), preexec=_limit(256, 4096))

    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["records"] == 9000 and info["damaged"] == 0
    assert info["notes"] == [
        "raised the open-file limit (RLIMIT_NOFILE) from 256 to 4,096 to merge overlapping files"
    ]


def test_detached_gzip_files_read_like_held_ones(tmp_path: Path) -> None:
    for i in range(6):
        write_log(tmp_path / f"{i}.jsonl.gz", readings([i + 0.1 * k for k in range(200)], sensor=f"s{i}"))
    members = tmp_path / "members.jsonl.gz"
    members.write_bytes(
        gzip.compress(CODEC.encode_record(readings([1.05])[0]) + b"\n")
        + gzip.compress(CODEC.encode_record(readings([1.06])[0]) + b"\n")
    )

    held = list(JsonlSource(tmp_path, registry=registry()))
    detached_source = JsonlSource(tmp_path, registry=registry(), max_open=1)
    detached = list(detached_source)

    assert len(held) == 1202 and detached == held
    assert detached_source.stats.notes and "without holding them open" in detached_source.stats.notes[0]


# -- --import and the hint ------------------------------------------------------------------------


def test_a_failing_import_is_tried_once_and_reported_once(tmp_path: Path) -> None:
    (tmp_path / "brokenmod.py").write_text(
        "import pathlib\n"
        "with pathlib.Path(__file__).with_name('imports.txt').open('a') as f:\n"
        "    f.write('imported\\n')\n"
        "raise ImportError('brokenmod is broken')\n"
    )
    log = tmp_path / "a.jsonl"
    log.write_bytes(
        GOOD
        + b"".join(
            record(f"2026-03-09T12:00:01.{i:06d}+00:00", type_=f"brokenmod:M{i % 7}") for i in range(500)
        )
    )

    result = run(
        "replay", str(log), "--speed", "0", "--import", "brokenmod", cwd=tmp_path, PYTHONPATH=str(tmp_path)
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "imports.txt").read_text() == "imported\n"
    assert result.stderr.count("--import brokenmod failed: ImportError: brokenmod is broken") == 1
    assert "unknown types (500 record(s) not decoded)" in result.stderr


def test_the_hint_suggests_only_modules_that_define_message_classes(tmp_path: Path) -> None:
    pkg = tmp_path / "sideeffect"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("open(__file__ + '.imported', 'w').close()\n")
    (pkg / "messages.py").write_text(
        "from dataclasses import dataclass\n"
        "from bussdcc.message import Message\n"
        "@dataclass(frozen=True)\n"
        "class Reading(Message):\n"
        "    value: float\n"
    )
    log = tmp_path / "a.jsonl"
    log.write_bytes(
        GOOD
        + record("2026-03-09T12:00:01+00:00", '{"value":1.0}', type_="sideeffect.messages:Reading")
        + record("2026-03-09T12:00:02+00:00", '{"cmd":"rm -rf /"}', type_="os:system")
        + record("2026-03-09T12:00:03+00:00", '{"args":["sh"]}', type_="subprocess:Popen")
        + record("2026-03-09T12:00:04+00:00", "{}", type_="sideeffect.messages:NotThere")
        + record("2026-03-09T12:00:05+00:00", "{}", type_="json:JSONDecoder")
    )

    result = run("replay", str(log), "--speed", "0", PYTHONPATH=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "or allow their modules: --import sideeffect.messages\n" in result.stderr
    assert result.stderr.count("--import") == 1
    assert not (pkg / "__init__.py.imported").exists()  # judged without importing anything


# -- fuzzing the record reader --------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_times = st.sampled_from(
    [
        "2026-03-09T12:00:00+00:00",
        "2026-03-09T12:00:00.5+00:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2026-03-09T12:00:00",
        "yesterday",
        "2026-02-30T00:00:00Z",
    ]
)
_types = st.sampled_from(
    [
        FAILED,
        "bussdcc.message.runtime:RuntimeBooting",
        "bussdcc_framework.message.sink:SinkHandlerError",
        "greenhouse.messages:SoilMoisture",
        "os:system",
        "a:b:c",
        "",
    ]
)


@st.composite
def _record_lines(draw: st.DrawFn) -> bytes:
    """A line that is a record, almost a record, or not JSON at all (never containing a newline)."""
    kind = draw(st.sampled_from(["record", "json", "bytes", "deep", "blank"]))
    if kind == "record":
        body = {"time": draw(_times), "type": draw(_types), "data": draw(_json)}
        if draw(st.booleans()):
            body[draw(st.text(max_size=5))] = draw(_json)
        line = json.dumps(body).encode()
        if draw(st.booleans()):  # cut or corrupt it somewhere
            at = draw(st.integers(0, len(line)))
            line = line[:at] + draw(st.binary(max_size=4)) + line[at:]
    elif kind == "json":
        line = json.dumps(draw(_json)).encode()
    elif kind == "deep":
        depth = draw(st.integers(100, 3000))
        line = (
            b'{"time":"2026-03-09T12:00:00+00:00","type":"x:Y","data":' + b"[" * depth + b"]" * depth + b"}"
        )
    elif kind == "blank":
        line = draw(st.sampled_from([b"", b" ", b"\t", b"\r"]))
    else:
        line = draw(st.binary(max_size=200))
    return line.replace(b"\n", b" ")


def _account(source: JsonlSource, lines: int) -> None:
    stats = source.stats
    accounted = stats.records + stats.damaged + stats.unknown + stats.blank_lines
    assert accounted == lines, stats.as_dict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_record_lines(), max_size=25), newline_at_end=st.booleans(), gz=st.booleans())
def test_fuzz_no_line_raises_out_of_the_reader_and_every_line_is_counted(
    lines: list[bytes], newline_at_end: bool, gz: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        body = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
        path = Path(tmp) / ("f.jsonl.gz" if gz else "f.jsonl")
        path.write_bytes(gzip.compress(body) if gz else body)
        count = len(body.split(b"\n")) - (1 if body.endswith(b"\n") else 0) if body else 0

        if body.startswith(b"\x1f\x8b") and not gz:
            count = 1  # gzip magic: read as gzip (whatever the name), one bad_gzip for the file
        events = JsonlSource(path, registry=registry())
        decoded = list(events)
        _account(events, count)
        assert len(decoded) == events.stats.yielded == events.stats.records

        raw = JsonlSource(path, registry=registry())
        printed = list(raw.records())
        _account(raw, count)
        for rec in printed:
            json.loads(rec.line)  # a raw record is always valid JSON text

        windowed = JsonlSource(path, registry=registry(), types=["!os:*"], start=None)
        list(windowed)
        stats = windowed.stats
        assert (
            stats.yielded + stats.filtered_type + stats.damaged + stats.unknown + stats.blank_lines <= count
        )


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_arbitrary_bytes_never_raise(data: bytes, gz: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("f.jsonl.gz" if gz else "f.jsonl")
        path.write_bytes(data)  # a .gz name on bytes that are not gzip: bad_gzip, counted
        source = JsonlSource(path, registry=registry(), max_line=64)
        list(source)
        list(source.records())
        if not gz and not data.startswith(b"\x1f\x8b"):
            count = len(data.split(b"\n")) - (1 if data.endswith(b"\n") else 0) if data else 0
            _account(source, count)


# -- hostile indexes ------------------------------------------------------------------------------


@st.composite
def _hostile_index(draw: st.DrawFn, good: bytes) -> bytes:
    """Bytes for an index file: garbage, a cut or corrupted real index, or JSON of the wrong shape."""
    kind = draw(st.sampled_from(["bytes", "cut", "flip", "json", "huge_numbers"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return good[: draw(st.integers(0, len(good)))]
    if kind == "flip":
        at = draw(st.integers(0, len(good) - 1))
        return good[:at] + bytes([good[at] ^ draw(st.integers(1, 255))]) + good[at + 1 :]
    if kind == "huge_numbers":
        return good.replace(b'"records":', b'"records":1' + b"0" * draw(st.integers(1, 400)) + b"+")
    data = json.loads(good)
    key = draw(st.sampled_from(sorted(data)))
    data[key] = draw(_json)
    return json.dumps(data).encode()


def test_fuzz_a_hostile_index_never_changes_what_is_read(tmp_path: Path) -> None:
    """Garbage, cut and bit-flipped index files: seeks, files left unread and whole passes
    read exactly what the data holds."""
    from bussdcc_framework.recordings import index_path, scan_file, write_index

    root = tmp_path / "rec"
    logs = [
        write_log(root / "a.jsonl", readings(range(100))),
        write_log(root / "b.jsonl", readings(range(100, 200))),
    ]
    for log in logs:
        write_index(log, scan_file(log, every=10))
    good = [index_path(log).read_bytes() for log in logs]
    windows: list[dict[str, object]] = [
        {},
        {"start": readings([120])[0].time},  # a seek in b
        {"start": readings([150])[0].time},  # a left unread (ends before)
        {"end": readings([50])[0].time},  # b left unread (starts after)
        {"start": readings([40])[0].time, "end": readings([160])[0].time},
    ]
    expected = [list(JsonlSource(root, registry=registry(), use_index=False, **w)) for w in windows]  # type: ignore[arg-type]
    # With sound indexes each window takes its shortcut (so the fuzzing below exercises them).
    shortcuts = []
    for window in windows:
        source = JsonlSource(root, registry=registry(), **window)  # type: ignore[arg-type]
        list(source)
        shortcuts.append((source.stats.index_seeks, source.stats.index_skipped_files))
    assert shortcuts == [(0, 0), (1, 1), (1, 1), (0, 1), (1, 0)]

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from([0, 1]).flatmap(lambda i: st.tuples(st.just(i), _hostile_index(good[i]))))
    def check(which_and_content: tuple[int, bytes]) -> None:
        which, content = which_and_content
        index_path(logs[which]).write_bytes(content)
        index_path(logs[1 - which]).write_bytes(good[1 - which])
        for window, want in zip(windows, expected, strict=True):
            assert list(JsonlSource(root, registry=registry(), **window)) == want, window  # type: ignore[arg-type]

    check()
