"""A real server on 127.0.0.1:0 and real clients: python-socketio, raw WebSocket, HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import socketio
import websocket
from bussdcc_framework_web import WebInterface
from bussdcc_framework_web.server import WebBindError

from bussdcc_framework.message.web import (
    WebInterfaceFailed,
    WebInterfaceStarted,
    WebInterfaceStopped,
)

TOKEN = "live-test-token-1234"


def client_for(url: str, **connect: Any) -> tuple[socketio.Client, list[dict[str, Any]]]:
    batches: list[dict[str, Any]] = []
    sio = socketio.Client(reconnection=False)

    @sio.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        batches.append(batch)
        return True

    connect.setdefault("transports", ["websocket"])
    connect.setdefault("wait_timeout", 5)
    sio.connect(url, **connect)
    return sio, batches


def close(sio: socketio.Client) -> None:
    """Disconnect without waiting: the websocket-client close handshake alone takes 3 s."""
    threading.Thread(target=sio.disconnect, daemon=True).start()


def test_started_carries_the_real_port(live: Any) -> None:
    started = live.sink.of_type(WebInterfaceStarted)
    assert len(started) == 1
    assert started[0].port == live.web.port != 0
    with urllib.request.urlopen(live.url + "api/health", timeout=5) as response:
        assert json.load(response)["status"] == "ok"


def ready_channels(live: Any, count: int) -> Any:
    """A condition: ``count`` clients are connected and past their snapshot (batches flow)."""
    return lambda: len([c for c in live.web.hub.channels() if c.ready]) >= count


def test_events_reach_a_socketio_client(live: Any, types: Any, wait_until: Any) -> None:
    # How fast is a benchmark's business (bench/), not a unit test's on a busy machine.
    sio, batches = client_for(live.url)
    try:
        assert sio.transport() == "websocket"  # a real WebSocket, not long-polling
        wait_until(ready_channels(live, 1), timeout=30)
        live.emit(types.Alarm(text="now"))

        def arrived() -> bool:
            return any(
                e["name"] == "Alarm" and e["data"]["text"] == "now" for b in batches for e in b["events"]
            )

        wait_until(arrived, timeout=30, interval=0.005)
    finally:
        close(sio)


def test_browser_style_client_upgrades_to_websocket(live: Any, wait_until: Any) -> None:
    sio, _ = client_for(live.url, transports=["polling", "websocket"])
    try:
        wait_until(lambda: sio.transport() == "websocket", timeout=5)
    finally:
        close(sio)


def test_client_side_filter_is_applied_on_the_server(live: Any, types: Any, wait_until: Any) -> None:
    sio, batches = client_for(live.url, auth={"types": "Alarm"})
    try:
        live.emit(types.Ping(count=99))
        live.emit(types.Alarm(text="only me"))
        wait_until(lambda: any(e["name"] == "Alarm" for b in batches for e in b["events"]))
        assert {e["name"] for b in batches for e in b["events"]} == {"Alarm"}
    finally:
        close(sio)


def test_state_snapshot_then_changes(live: Any, wait_until: Any) -> None:
    live.runtime.state.set("zones.kitchen.target", 20)
    snapshots: list[dict[str, Any]] = []
    sio = socketio.Client(reconnection=False)
    changes: list[dict[str, Any]] = []
    sio.on("snapshot", lambda snap: snapshots.append(snap))

    @sio.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        if "state" in batch:
            changes.append(batch["state"])
        return True

    sio.connect(live.url, transports=["websocket"], wait_timeout=5)
    try:
        wait_until(lambda: snapshots)
        assert snapshots[0]["state"]["zones.kitchen.target"] == 20
        live.runtime.state.set("zones.kitchen.target", 23)
        wait_until(lambda: any(c["changes"].get("zones.kitchen.target") == 23 for c in changes), timeout=3)
    finally:
        close(sio)


def test_wrong_or_missing_token_is_refused_with_its_reason(start_live: Any) -> None:
    live = start_live(token=TOKEN)
    for auth, reason in [
        ({"token": "not-the-token"}, "access token is wrong"),
        ({}, "access token required"),
    ]:
        sio = socketio.Client(reconnection=False)
        errors: list[Any] = []
        sio.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(live.url, auth=auth, transports=["websocket"], wait_timeout=5)
        assert errors and errors[0]["message"] == reason
    sio, _ = client_for(live.url, auth={"token": TOKEN})
    assert sio.connected
    close(sio)
    request = urllib.request.Request(live.url + "api/state")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_foreign_origin_is_rejected(start_live: Any) -> None:
    live = start_live(origins=["http://panel.example:8080"])
    url = live.url.replace("http://", "ws://") + "socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, origin="http://evil.example", timeout=5)
    assert refused.value.status_code == 400
    for origin in ("http://panel.example:8080", live.url.rstrip("/")):
        ws = websocket.create_connection(url, origin=origin, timeout=5)
        assert ws.recv().startswith("0")
        ws.close()


def _raw_socketio(url: str) -> websocket.WebSocket:
    """Open Socket.IO over a raw WebSocket and then never read again: a stalled browser tab."""
    ws = websocket.WebSocket()
    ws.sock_opt.sockopt = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
    ws.connect(url.replace("http://", "ws://") + "socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv().startswith("0")  # Engine.IO open
    ws.send("40")  # Socket.IO connect, default namespace
    while not ws.recv().startswith("40"):  # the snapshot may come first
        pass
    return ws


def test_a_stalled_client_stays_bounded_and_is_disconnected(
    start_live: Any, types: Any, wait_until: Any
) -> None:
    # No stall timeout while the 20,000 events go out (on a busy machine that takes longer than
    # any short timeout); the stall is then triggered explicitly, by lowering the timeout.
    live = start_live(client_buffer=200, stall_timeout=3600, ticker=False)
    ws = _raw_socketio(live.url)
    try:
        hub = live.web.hub
        channel = wait_until(lambda: [c for c in hub.channels() if c.ready], timeout=30)[0]
        peak = 0
        for i in range(20000):
            live.emit(types.Ping(count=i))
            if i % 500 == 0:
                peak = max(peak, channel.backlog())
        peak = max(peak, channel.backlog())
        assert peak <= 200  # server memory for this client is bounded
        config = live.web.config
        assert channel.inflight <= config.window  # the snapshot and batches, unacknowledged
        assert channel.delivered <= config.window * config.batch_size
        assert channel.dropped_total > 0
        # Every event is accounted for once: sent in a batch, still queued, or dropped.
        assert channel.delivered + channel.backlog() + channel.dropped_total == 20000
        assert hub.get(channel.sid) is channel  # still connected: the stall is not timed yet
        hub.stall_timeout = 0.2  # now it is: it never acknowledges, disconnected once stalled
        wait_until(lambda: hub.get(channel.sid) is None, timeout=30)
        sio_server = live.web.socketio.server
        wait_until(lambda: not sio_server.manager.is_connected(channel.sid, "/"), timeout=30)
    finally:
        ws.close()


def test_a_slow_client_is_told_how_many_events_it_missed(
    start_live: Any, types: Any, wait_until: Any
) -> None:
    live = start_live(client_buffer=50, stall_timeout=30, ticker=False)
    batches: list[dict[str, Any]] = []
    sio = socketio.Client(reconnection=False)

    @sio.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        batches.append(batch)
        time.sleep(0.05)  # a slow page
        return True

    sio.connect(live.url, transports=["websocket"], wait_timeout=5)
    try:
        time.sleep(0.2)
        total = 3000
        for i in range(total):
            live.emit(types.Ping(count=i))
        live.emit(types.Alarm(text="last"))

        def done() -> bool:
            return any(e["name"] == "Alarm" for b in batches for e in b["events"])

        wait_until(done, timeout=10)
        received = sum(1 for b in batches for e in b["events"] if e["name"] == "Ping")
        dropped = sum(b["dropped"] for b in batches)
        assert dropped > 0
        assert received + dropped == total
        assert sio.connected  # slow but alive: not disconnected
    finally:
        close(sio)


def test_busy_port_is_a_clear_error_and_a_failure_message(start_live: Any, live: Any) -> None:
    from bussdcc_framework.runtime import Runtime
    from bussdcc_framework.testing import MemorySink

    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    runtime.add_process(WebInterface(port=live.web.port))
    with pytest.raises(WebBindError) as error:
        runtime.boot()
    message = str(error.value)
    assert f"127.0.0.1:{live.web.port}" in message and "in use" in message
    failed = sink.of_type(WebInterfaceFailed)
    assert failed and failed[0].port == live.web.port and "in use" in failed[0].error
    assert not sink.of_type(WebInterfaceStarted)


def test_bussdcc_run_exits_non_zero_on_a_busy_port(tmp_path: Any) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        env = dict(os.environ, BUSSDCC_PLUGINS="web")
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from bussdcc_framework.cli import main; main()",
                "run",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr and "in use" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("bussdcc: error:")


def test_shutdown_with_connected_clients_is_quick(start_live: Any, types: Any) -> None:
    live = start_live()
    clients = [client_for(live.url)[0] for _ in range(3)]
    stalled = _raw_socketio(live.url)
    polling, _ = client_for(live.url, transports=["polling"])
    for i in range(2000):
        live.emit(types.Ping(count=i))
    started = time.monotonic()
    live.runtime.shutdown()
    elapsed = time.monotonic() - started
    # A wide bound: waiting for the stalled client (forever) or for each client's close
    # handshake in turn (3 s each) is what this catches, not a busy machine's slowness.
    assert elapsed < 10.0, elapsed
    assert live.sink.of_type(WebInterfaceStopped)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", live.web.port), timeout=1).close()
    for c in [*clients, polling]:
        close(c)
    stalled.close()


def test_concurrent_emitters_and_clients(start_live: Any, types: Any, wait_until: Any) -> None:
    live = start_live(ticker=False)
    clients = [client_for(live.url) for _ in range(3)]
    wait_until(ready_channels(live, 3), timeout=30)  # past their snapshots: every event is batched
    sent = {k * 1000 + i for k in range(4) for i in range(500)}

    def burst(base: int) -> None:
        for i in range(500):
            live.emit(types.Ping(count=base + i))

    threads = [threading.Thread(target=burst, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for _, batches in clients:

            def received(b: list[dict[str, Any]] = batches) -> list[int]:
                return [e["data"]["count"] for x in list(b) for e in x["events"] if e["name"] == "Ping"]

            def dropped(b: list[dict[str, Any]] = batches) -> int:
                return sum(x["dropped"] for x in list(b))

            # Delivered and dropped are counted apart, and together they are every event.
            wait_until(lambda r=received, d=dropped: len(r()) + d() >= 2000, timeout=60)
            got = received()
            assert len(got) == len(set(got)), "an event was delivered twice"
            assert set(got) <= sent
            assert len(got) + dropped() == 2000
            # The server numbers events in the order each emitter emitted them (the test client
            # runs each batch handler on a thread of its own, so arrival order is not kept here).
            numbered = sorted(
                (e["seq"], e["data"]["count"])
                for x in list(batches)
                for e in x["events"]
                if e["name"] == "Ping"
            )
            for k in range(4):
                mine = [n for _, n in numbered if k * 1000 <= n < k * 1000 + 500]
                assert mine == sorted(mine)
    finally:
        for sio, _ in clients:
            close(sio)


def test_bussdcc_run_prints_a_generated_token_once_and_warns(tmp_path: Any) -> None:
    """A real ``bussdcc run --host 0.0.0.0``: the URL with the generated token, printed once,
    the non-loopback warning, and ``--origins`` honoured; Ctrl-C ends it cleanly."""
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.update(BUSSDCC_PLUGINS="web", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bussdcc_framework.cli import main; main()",
            "run",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--origins",
            "http://panel.example:8080",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        while not any("reachable from other machines" in line for line in lines):
            line = proc.stderr.readline()
            assert line, f"bussdcc run ended early: {lines}"
            lines.append(line.rstrip("\n"))
        serving = next(line for line in lines if "serving on" in line)
        url, _, token = serving.split("serving on ", 1)[1].partition("?token=")
        assert url.startswith("http://127.0.0.1:") and len(token) >= 24
        assert any("an access token was generated" in line and "printed only once" in line for line in lines)
        warning = next(line for line in lines if "reachable from other machines" in line)
        assert warning.startswith("bussdcc web: warning: listening on 0.0.0.0:")

        def post(origin: str) -> int:
            request = urllib.request.Request(
                url + "api/emit",
                data=b'{"type": "nope:Nope"}',
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Origin": origin,
                    "Authorization": f"Bearer {token}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert post("http://panel.example:8080") == 400  # allowed origin: on to validation
        assert post("http://evil.example") == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    everything = "\n".join(lines) + err + out
    assert everything.count(token) == 1  # printed once, never again (not at shutdown either)
