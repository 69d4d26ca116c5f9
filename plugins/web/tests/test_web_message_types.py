"""Types an application declares with ``runtime.add_message_types`` are offered and emittable."""

from __future__ import annotations

from types import SimpleNamespace

from bussdcc_framework_web import WebInterface

from bussdcc_framework.runtime import Runtime
from bussdcc_framework.testing import MemorySink


def test_types_declared_on_the_runtime_are_offered_first_and_emittable(types: SimpleNamespace) -> None:
    runtime = Runtime()
    sink = MemorySink()
    runtime.add_sink(sink)
    # Not in alphabetical order: the form must show the application's order, first.
    runtime.add_message_types(types.SetPoint, types.Ping)
    web = WebInterface(port=0)  # boot starts the real server: on a free port
    runtime.add_interface(web)
    client = web.create_app(runtime.ctx).test_client()
    runtime.boot()
    try:
        listed = [t["type"] for t in client.get("/api/types").get_json()["types"]]
        module = types.Ping.__module__
        assert listed[:2] == [f"{module}:SetPoint", f"{module}:Ping"]
        response = client.post("/api/emit", json={"type": f"{module}:Ping", "data": {"count": 4}})
        assert response.status_code == 202, response.get_json()
        assert sink.wait_for(types.Ping).count == 4
        # Declared later (setup runs after the interface exists): offered too.
        runtime.add_message_types(types.Alarm)
        assert web.message_types == (types.SetPoint, types.Ping, types.Alarm)
    finally:
        runtime.shutdown()
