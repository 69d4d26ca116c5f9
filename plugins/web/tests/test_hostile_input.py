"""The web server under hostile input: each attack that once worked, replayed against a real server.

Every test here reproduces an attack from issue 10 against a server on 127.0.0.1 (in this
process, or ``bussdcc run`` / a server script in a subprocess when what the user sees on the
terminal or the process's memory is the point) and fails without its fix. The module only
grows: an attack found later is added here, so no change can bring one back.
docs/hostile-input.md ("Web server") lists what the server guarantees and its limits.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import socketio
import websocket
from bussdcc.message import Message
from bussdcc.message.process import ProcessError
from bussdcc_framework_web import WebInterface
from bussdcc_framework_web.weblog import redact
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink

TOKEN = "hostile-test-token-1234"


@dataclass(slots=True, frozen=True)
class Blob(Message):
    """A message with a free-form field: anything JSON can hold."""

    value: Any = None
    note: str = ""


@dataclass(slots=True, frozen=True)
class Reading(Message):
    """A typed message: fields with types to violate."""

    sensor: str
    celsius: float
    count: int = 0


# -- helpers ------------------------------------------------------------------------------


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        url + "api/emit", data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, text


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def snapshot_of(url: str, **connect: Any) -> dict[str, Any]:
    """Connect a Socket.IO client, return its snapshot, disconnect."""
    received: list[dict[str, Any]] = []
    done = threading.Event()
    sio = socketio.Client(reconnection=False)

    @sio.on("snapshot")
    def on_snapshot(snap: dict[str, Any]) -> bool:
        received.append(snap)
        done.set()
        return True

    sio.connect(url, transports=["websocket"], wait_timeout=10, **connect)
    try:
        assert done.wait(10), "no snapshot arrived"
        return received[0]
    finally:
        threading.Thread(target=sio.disconnect, daemon=True).start()


def deep(levels: int, leaf: str = "0") -> bytes:
    return b"[" * levels + leaf.encode() + b"]" * levels


def no_process_errors(sink: MemorySink) -> None:
    errors = sink.of_type(ProcessError)
    assert not errors, errors


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed (or reset) the connection; reads whatever it answered."""
    sock.settimeout(0.05)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.fixture
def hostile(start_live: Any) -> Any:
    """A live server that accepts ``Blob`` and ``Reading``."""
    return start_live(message_types=[Blob, Reading], ticker=False)


# -- invalid Unicode ------------------------------------------------------------------------


def test_a_lone_surrogate_is_refused_and_one_from_the_app_is_shown_safely(hostile: Any) -> None:
    # Through the API: refused with 400, never stored (it used to be accepted with 202 and then
    # break the snapshot of every page opened afterwards).
    status, answer = post(hostile.url, b'{"type": "Blob", "data": {"note": "\\udcff"}}')
    assert status == 400 and answer["error"] == "bad_json" and "surrogate" in answer["detail"]
    # From the application itself (state and an event): shown, visibly escaped.
    hostile.runtime.state.set("device.name", "caf\udcff")
    hostile.runtime.state.set("device.keys", {"\udcfe": 1})
    hostile.emit(Blob(value=["\udcff"], note="x\ud800y"))
    snap = snapshot_of(hostile.url)
    assert snap["state"]["device.name"] == "caf\\udcff"
    assert snap["state"]["device.keys.\\udcfe"] == 1
    blob = next(e for e in snap["events"] if e["name"] == "Blob")
    assert blob["data"] == {"value": ["\\udcff"], "note": "x\\ud800y"}
    assert get_json(hostile.url + "api/state?flat=1")["state"]["device.name"] == "caf\\udcff"
    events = get_json(hostile.url + "api/events?type=Blob")["events"]
    assert events[-1]["data"]["note"] == "x\\ud800y"
    assert urllib.request.urlopen(hostile.url + "state", timeout=30).status == 200
    no_process_errors(hostile.sink)


def test_bytes_that_are_not_utf8_are_refused(hostile: Any) -> None:
    status, answer = post(hostile.url, b'{"type": "Blob", "data": {"note": "\xff\xfe"}}')
    assert status == 400 and answer["error"] == "bad_json"


# -- depth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [65, 600, 995, 50_000])
def test_json_nested_too_deep_is_refused_with_400(hostile: Any, levels: int) -> None:
    body = b'{"type": "Blob", "data": {"value": ' + deep(levels) + b"}}"
    status, answer = post(hostile.url, body)
    assert status == 400, answer  # 995 levels used to be a 500 with a Flask traceback
    assert answer["error"] == "too_deep" and "64 levels" in answer["detail"]


def test_json_within_the_depth_limit_is_accepted(hostile: Any) -> None:
    status, answer = post(hostile.url, b'{"type": "Blob", "data": {"value": ' + deep(60) + b"}}")
    assert status == 202, answer


def test_deep_values_from_the_app_are_cut_not_a_process_error(hostile: Any, wait_until: Any) -> None:
    value: Any = "bottom"
    for _ in range(900):  # 500-989 levels used to break the interface's value cutting
        value = [value]
    tree: Any = {"leaf": 1}
    for i in range(300):
        tree = {f"k{i}": tree}
    hostile.runtime.state.set("deep.list", value)
    hostile.runtime.state.set("deep.tree", tree)
    hostile.emit(Blob(value=value, note="deep"))
    events = wait_until(lambda: get_json(hostile.url + "api/events?type=Blob")["events"])
    shown = json.dumps(events[-1]["data"])
    assert "nested deeper than 32 levels" in shown or "encode_error" in shown
    snap = snapshot_of(hostile.url)
    assert "nested deeper than 32 levels" in json.dumps(snap["state"]["deep.list"])
    assert any(path.startswith("deep.tree.") for path in snap["state"])
    assert get_json(hostile.url + "api/state")["state"]["deep"]
    no_process_errors(hostile.sink)


# -- size ------------------------------------------------------------------------------------


def test_large_and_odd_state_values_are_cut_in_the_snapshot_and_the_api(hostile: Any) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    hostile.runtime.state.set("big.text", "x" * 2_000_000)
    hostile.runtime.state.set("big.list", list(range(100_000)))
    hostile.runtime.state.set("odd.keys", {(1, 2): "tuple key", 3: "int key"})
    hostile.runtime.state.set("odd.object", Hostile())
    hostile.runtime.state.set("odd.bytes", b"\x00\x01")
    snap = snapshot_of(hostile.url)
    state = snap["state"]
    assert len(state["big.text"]) < 2100 and state["big.text"].endswith("more characters)")
    assert len(state["big.list"]) == 201 and state["big.list"][-1] == "… (99800 more items)"
    assert state["odd.keys.(1, 2)"] == "tuple key" and state["odd.keys.3"] == "int key"
    assert "Hostile" in state["odd.object"]  # a bounded stand-in, not the failing repr
    assert isinstance(state["odd.bytes"], str)
    flat = get_json(hostile.url + "api/state?flat=1")["state"]
    assert flat["big.text"] == state["big.text"]
    assert get_json(hostile.url + "api/state?path=big.list")["value"] == state["big.list"]


def test_a_large_event_is_cut_to_a_bounded_size(hostile: Any) -> None:
    hostile.emit(Blob(value={str(i): "y" * 1500 for i in range(1000)}, note="wide"))
    record = get_json(hostile.url + "api/events?type=Blob")["events"][-1]
    assert len(json.dumps(record)) < 80 * 1024
    assert any("larger than the shown limit" in str(v) for v in record["data"]["value"].values())


# -- slow clients: slowloris, slow bodies, and the connection bound ---------------------------


def test_half_sent_requests_are_cut_off(start_live: Any, wait_until: Any) -> None:
    live = start_live(ticker=False, request_timeout=1.0)
    slow = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", live.web.port), timeout=5)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    try:
        # A slowloris keeps sending one header byte now and then: each one must still be cut
        # off after request_timeout, not kept forever.
        def all_cut() -> bool:
            for sock in slow:
                try:
                    sock.sendall(b"X")
                except OSError:
                    pass
            return all(closed_by_server(sock) for sock in slow)

        wait_until(all_cut, timeout=20, interval=0.3)
        wait_until(lambda: live.web._server.server.open_connections == 0, timeout=10)
        assert get_json(live.url + "api/health")["status"] == "ok"  # and the server still serves
    finally:
        for sock in slow:
            sock.close()


def test_a_body_that_never_arrives_gets_408(start_live: Any) -> None:
    live = start_live(message_types=[Blob], ticker=False, request_timeout=1.0)
    sock = socket.create_connection(("127.0.0.1", live.web.port), timeout=30)
    try:
        sock.sendall(
            b"POST /api/emit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"type": '
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"request_timeout" in answer
    finally:
        sock.close()


def test_connections_are_bounded_and_the_limit_is_logged(
    start_live: Any, wait_until: Any, caplog: pytest.LogCaptureFixture
) -> None:
    live = start_live(ticker=False, max_connections=4, request_timeout=60)
    idle = [socket.create_connection(("127.0.0.1", live.web.port), timeout=5) for _ in range(4)]
    try:
        wait_until(lambda: live.web._server.server.open_connections == 4)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(live.url + "api/health", timeout=10)
        assert refused.value.code == 503
        lines = [r.getMessage() for r in caplog.records if r.name == "bussdcc_framework_web.server"]
        assert any("the limit (web.max_connections=4)" in line for line in lines), lines
        for sock in idle:
            sock.close()
        # Once they are gone, the server serves again.
        wait_until(lambda: live.web._server.server.open_connections == 0)
        assert get_json(live.url + "api/health")["status"] == "ok"
    finally:
        for sock in idle:
            sock.close()


# -- clients that never read ------------------------------------------------------------------


def _silent_client(port: int) -> websocket.WebSocket:
    """Socket.IO over a WebSocket that connects and then never reads: a frozen browser tab."""
    ws = websocket.WebSocket()
    ws.sock_opt.sockopt = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
    ws.connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", timeout=30)
    assert ws.recv().startswith("0")  # Engine.IO open
    ws.send("40")  # Socket.IO connect; the snapshot follows, never read
    return ws


SERVER_SCRIPT = textwrap.dedent(
    """
    import sys
    from bussdcc_framework.runtime import Runtime
    from bussdcc_framework_web import WebInterface

    runtime = Runtime()
    web = WebInterface(port=0, stall_timeout=3600)
    runtime.add_process(web)
    runtime.boot()
    runtime.ctx.state.set("blob.value", "x" * int(sys.argv[1]))
    print(web.port, flush=True)
    sys.stdin.read()
    runtime.shutdown()
    """
)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_clients_that_never_read_do_not_pin_memory(tmp_path: Path, wait_until: Any) -> None:
    """30 frozen clients and a 10 MB string in state: about +1 GB of server memory before."""
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(10_000_000)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    clients: list[websocket.WebSocket] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/"
        warm = _silent_client(port)  # first connection's one-time costs (imports, threads)
        wait_until(lambda: get_json(url + "api/overview")["clients"] == 1, timeout=30)
        warm.close()
        wait_until(lambda: get_json(url + "api/overview")["clients"] == 0, timeout=30)
        before = _rss_mb(proc.pid)
        clients = [_silent_client(port) for _ in range(30)]
        wait_until(lambda: get_json(url + "api/overview")["clients"] == 30, timeout=60)
        time.sleep(1)  # let every snapshot be written as far as the clients let it
        grown = _rss_mb(proc.pid) - before
        assert grown < 64, f"server memory grew by {grown:.0f} MB for 30 clients that never read"
    finally:
        for ws in clients:
            ws.sock.close()
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def test_a_client_that_never_acknowledges_is_disconnected_even_when_idle(
    start_live: Any, wait_until: Any
) -> None:
    # No events at all: its queue never fills, but its snapshot stays unacknowledged.
    live = start_live(ticker=False, stall_timeout=1.0)
    live.runtime.state.set("blob.value", "x" * 100_000)
    silent = [_silent_client(live.web.port) for _ in range(3)]
    try:
        hub = live.web.hub
        wait_until(lambda: len(hub.channels()) == 3)
        wait_until(lambda: not hub.channels(), timeout=15)
        manager = live.web.socketio.server.manager
        wait_until(lambda: not any(manager.get_participants("/", None)), timeout=15)
    finally:
        for ws in silent:
            ws.sock.close()


# -- what reaches the terminal: access log, malformed packets, escapes ------------------------


@dataclass
class RunningCLI:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str]


@pytest.fixture
def bussdcc_run(tmp_path: Path) -> Iterator[Any]:
    """Start ``bussdcc run`` with the web plugin on a free port; yields a starter."""
    procs: list[subprocess.Popen[str]] = []

    def start(**variables: str) -> RunningCLI:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
        env.update(BUSSDCC_PLUGINS="web", BUSSDCC_WEB_PORT="0", PYTHONUNBUFFERED="1", **variables)
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bussdcc_framework.cli import main; main()", "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        procs.append(proc)
        assert proc.stderr is not None
        lines: list[str] = []
        while not any("serving on" in line for line in lines):
            line = proc.stderr.readline()
            assert line, f"bussdcc run ended early: {lines}"
            lines.append(line.rstrip("\n"))
        url = next(line for line in lines if "serving on" in line).split("serving on ", 1)[1]
        return RunningCLI(proc, url.partition("?")[0], lines)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


def stop(cli: RunningCLI) -> str:
    """Ctrl-C the run; everything it printed on stderr."""
    cli.proc.send_signal(signal.SIGINT)
    _, err = cli.proc.communicate(timeout=30)
    assert cli.proc.returncode == 0, err
    return "\n".join(cli.lines) + "\n" + err


def raw_request(url: str, line: bytes) -> bytes:
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(line + b"\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_access_log_under_bussdcc_run_redacts_the_token_in_every_spelling(bussdcc_run: Any) -> None:
    cli = bussdcc_run(BUSSDCC_WEB_ACCESS_LOG="true", BUSSDCC_WEB_TOKEN=TOKEN)
    spellings = [
        f"?token={TOKEN}",
        f"?tok%65n={TOKEN}",  # Werkzeug decodes the name: this one authenticates
        f"?TOKEN={TOKEN}",
        f"?a=1&%74oken={TOKEN}&b=2",
        f"?token={TOKEN.replace('-', '%2D')}",
        f"?x={TOKEN}",  # the token under another name is still the token
    ]
    statuses = [raw_request(cli.url, f"GET /{q} HTTP/1.1".encode())[:12] for q in spellings]
    assert statuses[1] == b"HTTP/1.1 200", statuses  # %65 spelling authenticates, as before
    raw_request(cli.url, f"GET /{TOKEN}/x HTTP/1.1".encode())  # in the path, by mistake
    raw_request(cli.url, b"GET /\x1b[2J\x1b[31mred HTTP/1.1")  # escapes in the request line
    output = stop(cli)
    access = [line for line in output.splitlines() if '"GET ' in line]
    assert len(access) >= len(spellings) + 2, output  # it logs at all (it printed nothing before)
    assert all(line.startswith("bussdcc web: 127.0.0.1 ") for line in access), access
    assert TOKEN not in output and TOKEN.replace("-", "%2D") not in output
    assert any("tok%65n=***" in line for line in access), access
    assert "\x1b" not in output and "\\x1b[2J\\x1b[31mred" in output


def test_malformed_socketio_packets_are_one_line_each_not_a_traceback(bussdcc_run: Any) -> None:
    cli = bussdcc_run(BUSSDCC_WEB_TOKEN=TOKEN)
    ws_url = cli.url.replace("http://", "ws://") + "socket.io/?EIO=4&transport=websocket"
    payloads = ["42[bad", '40{"token": "\\udcff"}', "4x", "451-[]", "42", "40" + "[" * 5000, "\x1b[2J"]
    for payload in payloads:
        ws = websocket.create_connection(ws_url, timeout=30)
        try:
            ws.recv()
            ws.send(payload)
            time.sleep(0.1)
        finally:
            ws.sock.close()
    assert get_json(cli.url + "api/health")["status"] == "ok"
    output = stop(cli)
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "Socket.IO" in line or "handler error" in line]
    assert lines, output
    assert all(line.startswith("bussdcc web: ") for line in lines), lines
    assert "\x1b" not in output


def test_token_redaction_spellings() -> None:
    token = "Sekr3t-token"
    assert redact(f"/?token={token}", token) == "/?token=***"
    assert redact(f"/?tok%65n={token}&x=1", token) == "/?tok%65n=***&x=1"
    assert redact("/?t%256Fken=abc", None) == "/?t%256Fken=***"  # decoded twice
    assert redact(f"/?TOKEN+=abc&b={token[:3]}%{ord(token[3]):02X}{token[4:]}", token) == "/?TOKEN+=***&b=***"
    assert redact(f"/{token}/page?q=1", token) == "***?q=1"
    assert redact("/plain?q=1", token) == "/plain?q=1"


# -- fuzzing /api/emit ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[tuple[Runtime, WebInterface, MemorySink]]:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    web = WebInterface(port=0, message_types=[Blob, Reading])
    runtime.add_process(web)
    runtime.boot()
    yield runtime, web, sink
    runtime.shutdown()


#: Lone surrogates, control characters, an escape, a BOM, a right-to-left override.
ODD_CHARACTERS = ["\udcff", "\ud800", "\x00", "\x1b", "\ufeff", "\u202e", "\n"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=()) | st.sampled_from(ODD_CHARACTERS), max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
type_names = st.sampled_from(
    ["Blob", "Reading", "hostile:Blob", "bussdcc.message:RuntimeBooted", "ProcessError", "", "x" * 300]
) | st.text(max_size=40)
field_names = st.sampled_from(["value", "note", "sensor", "celsius", "count"]) | st.text(max_size=10)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"type": type_names, "data": st.dictionaries(field_names, json_values, max_size=5)}
    ).map(lambda body: json.dumps(body).encode()),  # json.dumps escapes lone surrogates: "\\udcff"
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=3000).map(lambda n: b'{"type": "Blob", "data": {"value": ' + deep(n)),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


def test_fuzzed_emit_bodies_never_give_a_500_nor_break_live_push(
    fuzz_server: tuple[Runtime, WebInterface, MemorySink],
) -> None:
    runtime, web, sink = fuzz_server
    batches: list[dict[str, Any]] = []
    live = socketio.Client(reconnection=False)

    @live.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        batches.append(batch)
        return True

    live.connect(web.url, transports=["websocket"], wait_timeout=10)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(body=bodies)
    def emit_one(body: bytes) -> None:
        status, answer = post(web.url, body)
        assert status in (202, 400), (status, answer, body[:200])
        assert isinstance(answer, dict)
        if status == 400:
            assert set(answer) >= {"error", "detail"}

    try:
        emit_one()
        no_process_errors(sink)
        # Live push still works, for the page that watched the fuzzing and for a new one.
        runtime.ctx.emit(Blob(value=["\udcff", {"k": [[[[1]]]]}], note="after fuzzing"))

        def arrived() -> bool:
            return any(e["data"].get("note") == "after fuzzing" for b in batches for e in b["events"])

        deadline = time.monotonic() + 30
        while not arrived():
            assert time.monotonic() < deadline, "live push stopped during the fuzzing"
            time.sleep(0.05)
        assert live.connected
        snap = snapshot_of(web.url)
        assert any(e["data"].get("note") == "after fuzzing" for e in snap["events"] if e["name"] == "Blob")
    finally:
        threading.Thread(target=live.disconnect, daemon=True).start()


def test_an_address_with_escape_sequences_is_shown_escaped(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.update(BUSSDCC_PLUGINS="web", BUSSDCC_WEB_PORT="0", BUSSDCC_WEB_HOST="bad\x1b[2Jhost")
    result = subprocess.run(
        [sys.executable, "-c", "from bussdcc_framework.cli import main; main()", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "\x1b" not in result.stderr and "bad\\x1b[2Jhost" in result.stderr


# -- NaN and infinities ------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise AssertionError(f"invalid JSON: the bare constant {name} (JSON has no NaN or Infinity)")


class _StrictJSON:
    """What a browser's ``JSON.parse`` accepts: no ``NaN``/``Infinity`` tokens."""

    parsed = 0

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        _StrictJSON.parsed += 1
        return json.loads(text, parse_constant=_no_constant)


class _StrictPacket(socketio.packet.Packet):  # type: ignore[misc]
    json = _StrictJSON


def strict_get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read(), parse_constant=_no_constant)


def test_nan_and_infinity_are_sent_as_valid_json(hostile: Any, wait_until: Any) -> None:
    """JSON has no NaN: pages, the API and the live push send null, never a bare ``NaN``."""
    # Through the API: a bare NaN/Infinity or an out-of-range number is not JSON: refused.
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        status, answer = post(
            hostile.url, b'{"type": "Reading", "data": {"sensor": "a", "celsius": ' + literal + b"}}"
        )
        assert status == 400 and answer["error"] == "bad_json", (literal, answer)
    # From the application: state values and events holding them.
    received: list[dict[str, Any]] = []
    sio = socketio.Client(reconnection=False, serializer=_StrictPacket)

    @sio.on("snapshot")
    def on_snapshot(snap: dict[str, Any]) -> bool:
        received.append(snap)
        return True

    @sio.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        received.append(batch)
        return True

    sio.connect(hostile.url, transports=["websocket"], wait_timeout=10)
    try:
        wait_until(lambda: received)
        hostile.runtime.state.set("probe.nan", math.nan)
        hostile.runtime.state.set("probe.values", {"inf": math.inf, "list": [1.0, -math.inf]})
        hostile.emit(Reading(sensor="nan-probe", celsius=math.nan))
        hostile.emit(Blob(value=[math.inf, {"x": -math.inf}], note="inf-probe"))

        def pushed() -> bool:
            text = json.dumps(received)  # parsed strictly already: no NaN token arrived
            return "nan-probe" in text and "inf-probe" in text and "probe.values" in text

        wait_until(pushed)
    finally:
        threading.Thread(target=sio.disconnect, daemon=True).start()
    assert _StrictJSON.parsed >= 2  # the packets went through the strict parser
    events = strict_get(hostile.url + "api/events?type=Reading")["events"]
    assert events[-1]["data"] == {"sensor": "nan-probe", "celsius": None, "count": 0}
    state = strict_get(hostile.url + "api/state?flat=1")["state"]
    assert state["probe.nan"] is None and state["probe.values.inf"] is None
    assert strict_get(hostile.url + "api/state?path=probe.values.list")["value"] == [1.0, None]
    assert strict_get(hostile.url + "api/stats")["total"] >= 2
    assert strict_get(hostile.url + "api/overview")
    snap = snapshot_of(hostile.url)
    assert snap["state"]["probe.nan"] is None
    no_process_errors(hostile.sink)
