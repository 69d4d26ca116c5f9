"""The web interface in a replay: /api/replay drives it, actions on the outside world answer 409,
the recorded identity and clock are shown, and the plot follows seeks. A real server on
127.0.0.1; ``bussdcc replay`` itself in a subprocess for the end-to-end case."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from replay_helpers import at, cli_env
from web_replay_helpers import (
    FAULT_AT,
    RECORDED_HOST,
    RECORDED_VERSIONS,
    SECONDS,
    WebReplay,
    greenhouse_log,
    readings_before,
    wait_until,
)

pytest.importorskip("bussdcc_framework_web")


def soil_events(replay: WebReplay) -> list[dict[str, object]]:
    events = replay.get("/api/events?limit=1000&type=SoilMoisture")["events"]
    return list(events)


def test_status_step_and_seek_through_the_api(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        status = replay.get("/api/replay")
        assert status["replaying"] is True and status["paused"] is True
        assert status["events"] == 0 and status["start"] == at(0).isoformat()
        assert status["speed"] == 1.0 and status["run"] is None

        # step shows exactly one more event
        status = replay.post("/api/replay/step")
        assert status["events"] == 1  # the recorded identity
        assert soil_events(replay) == []
        for n in (1, 2):
            status = replay.post("/api/replay/step", {"count": 1})
            assert status["events"] == 1 + n and len(soil_events(replay)) == n
        status = replay.post("/api/replay/step", {"until": "PumpFault"})
        assert status["position"] == at(FAULT_AT).isoformat()
        assert replay.get("/api/state?path=greenhouse.fault")["value"] == 3

        # seek forward and back: the state is the state at that time
        for seconds in (90.2, 10.1, 10.1, 119.9, 0):
            status = replay.post("/api/replay/seek", {"to": at(seconds).isoformat()})
            assert status["position"] == at(seconds).isoformat() and status["seeking"] is False
            readings = replay.get("/api/state").get("state", {}).get("greenhouse", {}).get("readings")
            assert (readings or 0) == readings_before(at(seconds)), seconds
            history = soil_events(replay)
            assert len(history) == min(readings_before(at(seconds)), 1000)
            if history:
                assert history[-1]["time"] < at(seconds).isoformat()
        # epoch seconds work too, and a time before the start stands at the start
        status = replay.post("/api/replay/seek", {"to": at(30).timestamp()})
        assert status["position"] == at(30).isoformat()

        # speed
        assert replay.post("/api/replay/speed", {"speed": 10})["speed"] == 10
        assert replay.post("/api/replay/speed", {"speed": "max"})["max"] is True
        for bad in (500, 0.01, "fast", None, True):
            code, answer = replay.call("/api/replay/speed", {"speed": bad}, method="POST")
            assert code == 400 and answer["error"] == "bad_speed", bad
        code, answer = replay.call("/api/replay/step", {"count": 0}, method="POST")
        assert code == 400
        for bad_time in ("yesterday", "2026-03-09T12:00:00", None, 1e20, True):
            code, answer = replay.call("/api/replay/seek", {"to": bad_time}, method="POST")
            assert code == 400 and answer["error"] == "bad_time", bad_time
        code, answer = replay.call("/api/replay/rewind", {}, method="POST")
        assert code == 404
        assert replay.post("/api/replay/loop", {"loop": True})["loop"] is True

        # resume plays on from there at max speed, and loops
        replay.post("/api/replay/resume")
        wait_until(lambda: replay.get("/api/replay")["epoch"] >= 8, what="a loop back to the start")


def test_actions_on_the_outside_world_answer_409_during_a_replay(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        code, answer = replay.call(
            "/api/emit", {"type": "greenhouse.messages:SoilMoisture", "data": {"sensor": "x", "percent": 1}}
        )
        assert code == 409 and answer["error"] == "replaying"
        assert "replays a recording" in answer["detail"]
        code, answer = replay.call("/api/services/anything/start", {}, method="POST")
        assert code == 409 and answer["error"] == "replaying"
        # nothing was emitted
        assert all(e["data"].get("sensor") != "x" for e in soil_events(replay))


def test_replay_api_follows_the_rest_of_the_apis_rules(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log, token="s3cret-token-for-tests") as replay:
        replay.token = None
        code, answer = replay.call("/api/replay")
        assert code == 401
        code, answer = replay.call("/api/replay/pause", {}, method="POST")
        assert code == 401
        replay.token = "s3cret-token-for-tests"
        assert replay.get("/api/replay")["replaying"] is True
        # a foreign page may not drive it
        code, answer = replay.call(
            "/api/replay/resume", {}, method="POST", headers={"Origin": "http://evil.example"}
        )
        assert code == 403 and answer["error"] == "origin_not_allowed"
        # and a plain form post (no JSON) is refused
        code, answer = replay.call(
            "/api/replay/resume",
            method="POST",
            raw=b"x=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert code == 415
        assert replay.get("/api/replay")["paused"] is True


def test_a_live_runtime_has_no_replay() -> None:
    from bussdcc_framework_web import WebInterface

    from bussdcc_framework.runtime import Runtime

    runtime = Runtime()
    web = WebInterface(port=0, host="127.0.0.1")
    runtime.add_interface(web)
    runtime.boot()
    try:
        base = web.url.rstrip("/")
        with urllib.request.urlopen(base + "/api/replay", timeout=10) as response:
            assert json.loads(response.read()) == {"replaying": False}
        request = urllib.request.Request(
            base + "/api/replay/pause",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("expected 409")
        except urllib.error.HTTPError as exc:
            assert exc.code == 409 and json.loads(exc.read())["error"] == "not_replaying"
    finally:
        runtime.shutdown()


def test_the_recorded_machine_and_clock_are_shown(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        replay.post("/api/replay/seek", {"to": at(45).isoformat()})
        overview = replay.get("/api/overview")
        assert overview["replaying"] is True and overview["recorded"] is True
        assert overview["hostname"] == RECORDED_HOST and overview["model"] == "Raspberry Pi 4"
        assert overview["versions"] == RECORDED_VERSIONS  # not this machine's
        # uptime and the chart follow the recording's clock
        assert overview["uptime"] == pytest.approx(45, abs=0.01)
        stats = replay.get("/api/stats")
        assert stats["rates"]["end"] == int(at(45).timestamp()) - 1
        counted = sum(c.get("SoilMoisture", 0) for c in stats["rates"]["counts"])
        assert counted == readings_before(at(45))  # the complete seconds up to 44
        # after a seek back the counts are those of that time, not both passes added up
        replay.post("/api/replay/seek", {"to": at(20).isoformat()})
        stats = replay.get("/api/stats")
        assert sum(c.get("SoilMoisture", 0) for c in stats["rates"]["counts"]) == readings_before(at(20))


def test_the_timeline_marks_the_pump_fault(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        timeline = wait_until(
            lambda: (t := replay.get("/api/replay/timeline"))["complete"] and t, what="the survey"
        )
        assert timeline["end"] == at(SECONDS).isoformat()
        assert [(m["name"], m["severity"], m["time"]) for m in timeline["marks"]] == [
            ("PumpFault", "error", at(FAULT_AT).isoformat())
        ]
        assert replay.get("/api/replay")["end"] == at(SECONDS).isoformat()


def test_the_plot_api_follows_seeks(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        replay.post("/api/replay/seek", {"to": at(30).isoformat()})
        types = {t["name"]: t for t in replay.get("/api/plot/types")["types"]}
        assert types["SoilMoisture"]["fields"] == ["percent"]
        assert "WateringStarted" in types  # seconds
        plot = replay.get("/api/plot?type=SoilMoisture&fields=percent")
        assert len(plot["t"]) == readings_before(at(30)) and plot["t"][-1] < at(30).timestamp()
        assert plot["values"]["percent"][0] == 30.0
        replay.post("/api/replay/seek", {"to": at(10).isoformat()})
        plot = replay.get("/api/plot?type=greenhouse.messages:SoilMoisture&fields=percent,nothing")
        assert len(plot["t"]) == readings_before(at(10))
        assert set(plot["values"]["nothing"]) == {None}
        code, answer = replay.call("/api/plot?type=Nope&fields=x")
        assert code == 404
        code, answer = replay.call("/api/plot?type=SoilMoisture")
        assert code == 400 and answer["error"] == "missing_fields"


SERVING = re.compile(r"bussdcc web: serving on (http://\S+?)/(?:\?token=(\S+))?$")


def test_bussdcc_replay_serves_the_controls_end_to_end(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bussdcc_framework",
            "replay",
            str(log),
            "--paused",
            "--hold",
            "--run",
            "latest",
            "--app",
            "greenhouse.app",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=cli_env(BUSSDCC_PLUGINS="replay,web", BUSSDCC_WEB_PORT="0", BUSSDCC_WEB_HOST="127.0.0.1"),
    )
    timer = threading.Timer(90, proc.kill)
    timer.start()
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        base = None
        for line in proc.stderr:
            lines.append(line)
            match = SERVING.search(line.strip())
            if match:
                base = match.group(1)
                break
        assert base is not None, "".join(lines)

        def call(path: str, body: object = None) -> tuple[int, dict[str, object]]:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
            if data:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        code, status = call("/api/replay")
        assert code == 200 and status["paused"] is True and status["events"] == 0
        assert status["run"]["number"] == 1 and status["run"]["start"] == at(0).isoformat()
        code, status = call("/api/replay/step", {"count": 3})
        assert status["events"] == 3
        code, status = call("/api/replay/seek", {"to": at(FAULT_AT + 0.1).isoformat()})
        assert code == 200
        code, state = call("/api/state?path=greenhouse.fault")
        assert state["value"] == 3
        code, answer = call("/api/emit", {"type": "SoilMoisture", "data": {"sensor": "x", "percent": 1}})
        assert code == 409 and answer["error"] == "replaying"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            timer.cancel()
    assert proc.returncode in (0, 130), "".join(lines) + err
    assert "Traceback" not in err


HOSTILE_BODIES: list[object] = [
    [],
    "pause",
    None,
    7,
    {"to": "x" * 100_000},
    {"to": {"nested": [1] * 1000}},
    {"to": float("1e308")},
    {"to": -1e12},
    {"to": "9999-12-31T23:59:59.999999+14:00"},
    {"speed": 1e308},
    {"speed": -0.0001},
    {"speed": [1]},
    {"count": 10**30},
    {"count": -5},
    {"count": "3"},
    {"until": ""},
    {"until": "*" * 5000},
    {"until": ["A"]},
    {"loop": "yes"},
]


def test_hostile_bodies_get_a_4xx_and_the_replay_still_works(tmp_path: Path) -> None:
    log = greenhouse_log(tmp_path)
    with WebReplay(log) as replay:
        for action in ("pause", "resume", "step", "seek", "speed", "loop"):
            for body in HOSTILE_BODIES:
                raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
                code, answer = replay.call(
                    f"/api/replay/{action}",
                    method="POST",
                    raw=raw,
                    headers={"Content-Type": "application/json"},
                )
                assert code < 500, (action, body, code, answer)
                if code >= 400:
                    assert set(answer) >= {"error", "detail"} and "\n" not in answer["detail"]
        code, _ = replay.call(
            "/api/replay/seek", method="POST", raw=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert code == 400
        # still driven normally afterwards
        replay.post("/api/replay/pause")
        status = replay.post("/api/replay/seek", {"to": at(12).isoformat()})
        assert status["position"] == at(12).isoformat()
        assert replay.get("/api/state?path=greenhouse.readings")["value"] == readings_before(at(12))
