"""Every example runs: as a real subprocess, with a clean environment and a time bound.

The examples are what newcomers copy first, so each test checks what the example claims to
show, from its output, not only that it exited 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
BIN = Path(sys.executable).parent
ARTIFACTS = REPO / "test-artifacts"


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment minus every ``BUSSDCC_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_example(*args: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(args), cwd=REPO, env=clean_env(**extra), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


class LiveProcess:
    """A long-running example: its output is collected on threads so the test can wait on it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: IO[str] | None, sink: list[str]) -> None:
        assert stream is not None
        for line in stream:
            with self._cond:
                sink.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern: str, *, stream: str = "stdout", timeout: float = 60) -> re.Match[str]:
        """The first line of ``stream`` matching ``pattern``; fails with the output so far."""
        lines = self.stdout if stream == "stdout" else self.stderr
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        exited_scans = 0
        with self._cond:
            while True:
                for line in lines:
                    if m := regex.search(line):
                        return m
                remaining = deadline - time.monotonic()
                if self.proc.poll() is not None:
                    exited_scans += 1  # let the reader threads drain, then give up
                if remaining <= 0 or exited_scans > 3:
                    raise AssertionError(
                        f"no line matching {pattern!r} on {stream} within {timeout}s "
                        f"(exit {self.proc.poll()}):\n"
                        + "\n".join(self.stdout[-30:])
                        + "\n--- stderr ---\n"
                        + "\n".join(self.stderr[-30:])
                    )
                self._cond.wait(min(remaining, 0.5))

    def interrupt(self, timeout: float = 20) -> int:
        """Ctrl-C (SIGINT to the process group, as a terminal does) and wait for the exit.

        Then for the readers to reach the end of its output: on a busy machine the last lines
        (``FrameworkShuttingDown`` ...) can still be in the pipe when the process is gone.
        """
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        self.output_after_exit()
        return code

    def output_after_exit(self) -> str:
        """Everything the exited process wrote on stderr (its pipes drained)."""
        for pump in self._pumps:
            pump.join(10)
        with self._cond:
            return "\n".join(self.stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def records(self) -> list[dict[str, Any]]:
        """Every stdout line that is a JSON record (``time``, ``type``, ``data``)."""
        found = []
        with self._cond:
            lines = list(self.stdout)
        for line in lines:
            if line.startswith("{"):
                record = json.loads(line)
                assert set(record) >= {"time", "type", "data"}, line
                found.append(record)
        return found


@pytest.fixture
def live() -> Iterator[Callable[..., LiveProcess]]:
    started: list[LiveProcess] = []

    def start(*args: str, **extra: str) -> LiveProcess:
        process = LiveProcess(list(args), clean_env(**extra))
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def http(url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="GET" if body is None else "POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


# -- the original README's minimal application ---------------------------------------------


def test_minimal_runs_until_ctrl_c_printing_json_records(
    live: Callable[..., LiveProcess], hang_report: Callable[[subprocess.Popen[str]], str]
) -> None:
    app = live(sys.executable, str(EXAMPLES / "minimal.py"), PYTHONFAULTHANDLER="1")
    app.wait_for(r'"type":"bussdcc_framework\.message\.system:SystemIdentityEvent"')
    try:
        code = app.interrupt()
    except subprocess.TimeoutExpired:
        signals = hang_report(app.proc)
        pytest.fail(f"still running 20 s after Ctrl-C ({signals}):\n{app.output_after_exit()}")
    assert code == 0, "\n".join(app.stderr)
    types = [r["type"] for r in app.records()]
    booted = "bussdcc_framework.message.framework:FrameworkBooted"
    stopping = "bussdcc_framework.message.framework:FrameworkShuttingDown"
    assert types.count(booted) == 1 and types.count(stopping) == 1
    assert types.index(booted) < types.index(stopping)
    identity = next(r for r in app.records() if r["type"].endswith(":SystemIdentityEvent"))
    assert identity["data"]["hostname"]


def test_minimal_is_the_original_readme_verbatim() -> None:
    assert (EXAMPLES / "minimal.py").read_text() == (
        "from bussdcc_framework.runtime import Runtime\n"
        "from bussdcc_framework.io.console import ConsoleSink\n"
        "from bussdcc_framework.service import SystemIdentityService\n"
        "\n"
        "runtime = Runtime()\n"
        "\n"
        "runtime.add_sink(ConsoleSink())\n"
        "runtime.add_service(SystemIdentityService())\n"
        "\n"
        "runtime.boot()\n"
        "runtime.run()\n"
    )


# -- one example per plugin ----------------------------------------------------------------


def test_recording_writes_segments_with_the_records(tmp_path: Path) -> None:
    out = run_example(sys.executable, "examples/recording.py", str(tmp_path)).stdout
    segments = list(tmp_path.glob("*/*.jsonl"))
    assert len(segments) == 1
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", segments[0].parent.name)
    mine = [json.loads(line) for line in segments[0].read_text().splitlines() if ":SoilMoisture" in line]
    assert [r["data"]["percent"] for r in mine] == [31.5, 32.5, 33.5]
    assert out.count("SoilMoisture") == 3


def test_replay_window_replays_only_the_window() -> None:
    out = run_example(sys.executable, "examples/replay_window.py").stdout
    assert out.splitlines() == ["12:02 22.0 °C", "12:03 23.0 °C", "12:04 24.0 °C"]


def test_console_filters_print_only_what_passes() -> None:
    lines = run_example(sys.executable, "examples/console_filters.py").stdout.splitlines()
    assert len(lines) == 2, lines
    human = next(line for line in lines if not line.startswith("{"))
    assert "WARNING" in human and "FrostWarning" in human and "temperature_c=-1.5" in human
    record = json.loads(next(line for line in lines if line.startswith("{")))
    assert record["type"] == "__main__:Watering"
    assert record["data"] == {"bed": "lettuce", "litres": 2.0}


def test_web_routes_emit_into_the_runtime() -> None:
    out = run_example(sys.executable, "examples/web_routes.py", "--once").stdout.splitlines()
    assert out[0] == "Hello World"
    assert "ding dong at the front door" in out
    assert out[-1] == "{'rang': 'front', 'total': 1}"


def test_select_plugins_script() -> None:
    out = run_example("bash", "examples/select-plugins.sh").stdout
    assert re.search(r"BUSSDCC_PLUGINS=jsonl,console: console jsonl$", out, re.M)
    assert re.search(r"BUSSDCC_PLUGINS= \(empty\): +\(none\)$", out, re.M)
    disabled = re.search(r"BUSSDCC_DISABLE_PLUGINS=web: +(.*)$", out, re.M)
    assert disabled and "web" not in disabled.group(1).split() and "jsonl" in disabled.group(1)
    assert 'BUSSDCC_PLUGINS names "jsnol", which is not installed' in out


# -- the greenhouse: live with recording and web UI, then replayed -------------------------


GREENHOUSE_ENV = {"BUSSDCC_CONSOLE_FORMAT": "json", "BUSSDCC_WEB_PORT": "0"}


def start_greenhouse(
    live: Callable[..., LiveProcess], record: Path, *options: str
) -> tuple[LiveProcess, str]:
    app = live(
        str(BIN / "bussdcc"),
        "run",
        "examples/greenhouse/app.py",
        "--record",
        str(record),
        *options,
        **GREENHOUSE_ENV,
    )
    url = app.wait_for(r"serving on (http://\S+?)/?(\s|$)", stream="stderr").group(1)
    return app, url


@pytest.mark.slow
def test_greenhouse_live_then_replayed(live: Callable[..., LiveProcess], tmp_path: Path) -> None:
    record = tmp_path / "events"
    app, url = start_greenhouse(live, record)
    app.wait_for(r'"type":"greenhouse\.messages:ClimateReading"')

    status, page = http(f"{url}/plugins/greenhouse/")
    assert status == 200 and "<title>Greenhouse ·" in page
    status, _ = http(f"{url}/plugins/greenhouse/pump", {"on": True})
    assert status == 200
    app.wait_for(r'"type":"greenhouse\.messages:PumpSwitched","data":\{"on":true,"reason":"web"')
    _, types = http(f"{url}/api/types")
    assert "greenhouse.messages:SwitchPump" in types  # sendable from the "send a message" page
    app.wait_for(r'"pump_on":true')
    _, state = http(f"{url}/plugins/greenhouse/state.json")
    assert json.loads(state)["pump"] == {"on": True, "reason": "web"}
    assert app.interrupt() == 0, "\n".join(app.stderr[-20:])

    live_records = [r for r in app.records() if r["type"].startswith("greenhouse.")]
    recorded = [
        json.loads(line) for f in sorted(record.rglob("*.jsonl")) for line in f.read_text().splitlines()
    ]
    recorded_app = [r for r in recorded if r["type"].startswith("greenhouse.")]
    assert [(r["type"], r["data"]) for r in recorded_app] == [(r["type"], r["data"]) for r in live_records]

    # The replay shows the same run: the same greenhouse records, no new simulated readings.
    replay = run_example(
        str(BIN / "bussdcc"),
        "replay",
        str(record),
        "--app",
        "examples/greenhouse/app.py",
        "--speed",
        "0",
        **GREENHOUSE_ENV,
    )
    replayed = [json.loads(line) for line in replay.stdout.splitlines() if line.startswith("{")]
    replayed_app = [r for r in replayed if r["type"].startswith("greenhouse.")]
    assert [(r["type"], r["data"], r["time"]) for r in replayed_app] == [
        (r["type"], r["data"], r["time"]) for r in recorded_app
    ]


@pytest.mark.slow
def test_demo_script_runs_the_greenhouse(live: Callable[..., LiveProcess], tmp_path: Path) -> None:
    demo = live("bash", str(EXAMPLES / "demo"), "--record", str(tmp_path / "events"), **GREENHOUSE_ENV)
    demo.wait_for(
        r"greenhouse page: http://127\.0\.0\.1:\d+/plugins/greenhouse/", stream="stderr", timeout=180
    )
    url = demo.wait_for(r"serving on (http://\S+?)/?(\s|$)", stream="stderr").group(1)
    demo.wait_for(r'"type":"greenhouse\.messages:ClimateReading"')
    assert http(f"{url}/plugins/greenhouse/")[0] == 200
    # an up-to-date .venv is not installed again, and says nothing about it
    assert not [line for line in demo.stderr if "installing" in line], demo.stderr
    assert demo.interrupt() == 0
    assert list((tmp_path / "events").rglob("*.jsonl"))
    # after Ctrl-C: the exact command that replays this recording
    demo.wait_for(r"demo: recorded into .*; replay it ten times faster", stream="stderr")
    hint = demo.wait_for(r"^    (\./examples/demo replay .*)$", stream="stderr").group(1)
    assert hint == f"./examples/demo replay {tmp_path / 'events'}"

    # ... and that command works: the demo's replay mode, with the web UI held up afterwards
    replay = live("bash", str(EXAMPLES / "demo"), *hint.split()[1:], **GREENHOUSE_ENV)
    replay.wait_for(r"demo: running: \.venv/bin/bussdcc replay ", stream="stderr")
    replay_url = replay.wait_for(r"serving on (http://\S+?)/?(\s|$)", stream="stderr").group(1)
    replay.wait_for(r"replay complete; holding", stream="stderr")
    assert replay.records(), "the replayed events are printed"
    assert http(f"{replay_url}/plugins/greenhouse/")[0] == 200
    assert replay.interrupt() == 0


def test_demo_replay_without_a_recording_says_what_to_do(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(EXAMPLES / "demo"), "replay", str(tmp_path / "none")],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "nothing recorded in" in done.stderr and "run ./examples/demo first" in done.stderr


@pytest.mark.slow
def test_the_first_demo_says_it_is_installing(live: Callable[..., LiveProcess], tmp_path: Path) -> None:
    """A fresh checkout (no .venv): the demo says what it installs and how long it takes."""
    import shutil

    if shutil.which("uv", path=clean_env()["PATH"]) is None:
        pytest.fail("uv must be on PATH (tests/run puts its private copy there)")
    checkout = tmp_path / "checkout"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in tracked)):
        source = REPO / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    demo = LiveProcess(["bash", "examples/demo"], clean_env(**GREENHOUSE_ENV), cwd=checkout)
    try:
        demo.wait_for(
            r"demo: installing dependencies into \.venv/ \(about a minute the first time\)", stream="stderr"
        )
        demo.wait_for(r"demo: dependencies ready \(\d+ s\)", stream="stderr", timeout=600)
        demo.wait_for(r"then replay it: +\./examples/demo replay$", stream="stderr")
        demo.wait_for(r'"type":"greenhouse\.messages:ClimateReading"')
        assert demo.interrupt() == 0
    finally:
        demo.kill()


@pytest.mark.slow
@pytest.mark.browser
def test_greenhouse_page_works_with_a_token_in_chromium(
    live: Callable[..., LiveProcess], tmp_path: Path, browser: Any
) -> None:
    """The greenhouse page extends the web UI's layout and calls its routes with the token."""
    from playwright.sync_api import expect

    token = "greenhouse-browser-token"
    app, url = start_greenhouse(live, tmp_path / "events", "--token", token)
    app.wait_for(r'"type":"greenhouse\.messages:ClimateReading"')
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{url}/?token={token}")
        # linked from the navigation; the click carries the token to the next page
        page.click("nav a[data-plugin-page='greenhouse']")
        page.wait_for_url("**/plugins/greenhouse/")
        expect(page.locator("#temperature")).not_to_have_text("–")
        expect(page.locator("nav a[data-plugin-page='greenhouse']")).to_have_class("active")
        page.click("#pump-on")
        expect(page.locator("#pump")).to_have_text("on")
        expect(page.locator("#pump-reason")).to_have_text("web")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "greenhouse.png"))
        assert not errors, errors
        assert not failed, failed
    finally:
        page.close()
    app.wait_for(r'"type":"greenhouse\.messages:PumpSwitched","data":\{"on":true,"reason":"web"')


FAKE_SYSTEM_PYTHON = """#!/usr/bin/env bash
# A Debian-like system python3: pip refuses to install outside a venv, and uv is not installed.
if [ "$1 $2" = "-m uv" ]; then echo "No module named uv" >&2; exit 1; fi
if [ "$1 $2 $3" = "-m pip install" ]; then
  echo "error: externally-managed-environment" >&2; exit 1
fi
exec {python} "$@"
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", ["tests/run", "examples/demo"])
def test_uv_bootstrap_works_on_an_externally_managed_python(script: str, tmp_path: Path) -> None:
    """Without uv on PATH, the scripts install it into a private venv, not with a bare pip."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    fake = bin_dir / "python3"
    fake.write_text(FAKE_SYSTEM_PYTHON.format(python=real))
    fake.chmod(0o755)
    work = tmp_path / "checkout"
    work.mkdir()
    function = re.search(r"^find_uv\(\) \{\n.*?^\}\n", (REPO / script).read_text(), re.M | re.S)
    assert function, f"{script} defines find_uv"
    probe = function.group(0) + 'find_uv probe\n"${UV[@]}" --version\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    assert shutil.which("uv", path=env["PATH"]) is None, "uv must not be on PATH for this test"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", probe],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("uv "), done.stdout
    assert (work / ".venv-tools" / "bin" / "uv").exists()
    assert (work / ".venv-tools" / ".gitignore").read_text().strip() == "*"
