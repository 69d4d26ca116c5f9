"""Web routes with ``emit``: your own page and endpoint on the web interface.

    python examples/web_routes.py          # serve on http://127.0.0.1:5000/ until Ctrl-C
    python examples/web_routes.py --once   # start on a free port, call the endpoint, stop

A ``WebInterface`` subclass overrides ``register_routes(app, ctx)`` (the original framework's
API); inside a route, ``emit(message)`` delivers a message into the runtime synchronously.
Plugins add routes the same way through the ``register_routes(app, ctx)`` hook. See
docs/web.md.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass

from bussdcc import Message, Process
from bussdcc.context import ContextProtocol
from bussdcc.event import Event

from bussdcc_framework.interface.web import WebInterface, emit
from bussdcc_framework.runtime import Runtime, run_with_signals


@dataclass(slots=True, frozen=True)
class DoorbellRang(Message):
    door: str


class MyWeb(WebInterface):
    def register_routes(self, app, ctx):  # type: ignore[no-untyped-def]
        @app.route("/hello")
        def hello():  # type: ignore[no-untyped-def]
            return "Hello World"

        @app.post("/ring/<door>")
        def ring(door: str):  # type: ignore[no-untyped-def]
            emit(DoorbellRang(door=door))
            return {"rang": door, "total": ctx.state.get("doorbell.rings", 0)}


class Doorbell(Process):
    """Counts rings in the runtime state; the route above reads the count back."""

    name = "doorbell"

    def handle_event(self, ctx: ContextProtocol, evt: Event[Message]) -> None:
        if isinstance(evt.payload, DoorbellRang):
            ctx.state.update("doorbell.rings", lambda n: (n or 0) + 1)
            print(f"ding dong at the {evt.payload.door} door", flush=True)


def main() -> None:
    once = "--once" in sys.argv
    web = MyWeb(host="127.0.0.1", port=0 if once else 5000)
    runtime = Runtime()
    runtime.add_process(Doorbell())
    runtime.add_interface(web)
    if not once:
        run_with_signals(runtime)
        return
    runtime.boot()
    try:
        base = f"http://127.0.0.1:{web.port}"  # the real port, once WebInterfaceStarted
        assert isinstance(web.port, int) and web.port > 0
        print(urllib.request.urlopen(f"{base}/hello", timeout=5).read().decode())
        request = urllib.request.Request(
            f"{base}/ring/front",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        print(json.loads(urllib.request.urlopen(request, timeout=5).read()))
    finally:
        runtime.shutdown("example finished")


if __name__ == "__main__":
    main()
