"""The fleet page, contributed to the web interface through ``register_routes``.

Served under ``/plugins/fleet/`` (the web plugin links it in its navigation as "Fleet") when
this runtime collects (``mqtt.mode=collector`` or ``both``): every node with its presence, last
seen, events per second, versions and backlog; a click on a node shows its live events and a
send-command form built from the types in its birth message, with the answers. Everything comes
from the collector's ``FleetState``; values from the network are put into the page as text
(``textContent``), never as HTML. Flask is imported only here, when the web plugin asks.
"""

from __future__ import annotations

from typing import Any

from bussdcc.context import ContextProtocol

from .fleet import FleetState

URL_PREFIX = "/plugins/fleet"


def find_fleet(ctx: ContextProtocol) -> Any:
    """The collector service of the runtime behind ``ctx`` (None when it does not collect)."""
    services = getattr(getattr(ctx, "runtime", None), "services", None)
    if services is None:
        return None
    for service in services.list():
        if getattr(service, "name", None) == "mqtt-collector":
            return service
    return None


def add_routes(app: Any, ctx: ContextProtocol, fleet: FleetState, service: Any) -> None:
    """Register the fleet blueprint on the web interface's Flask app."""
    from flask import Blueprint, jsonify, render_template, request

    bp = Blueprint(
        "bussdcc_fleet",
        __name__,
        url_prefix=URL_PREFIX,
        template_folder="templates",
    )

    @bp.get("/")
    def page() -> str:
        return render_template("bussdcc_fleet/fleet.html", prefix=URL_PREFIX)

    @bp.get("/nodes.json")
    def nodes() -> Any:
        return jsonify({"nodes": fleet.nodes()})

    @bp.get("/node/<site>/<node>.json")
    def node(site: str, node: str) -> Any:
        detail = fleet.detail(site, node)
        if detail is None:
            return jsonify({"error": "not_found", "detail": f"no node {site}/{node}"}), 404
        return jsonify(detail)

    @bp.post("/send")
    def send() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": "bad_json", "detail": "send {site, node, type, data}"}), 400
        site, node_id, type_name, data = (
            body.get("site"),
            body.get("node"),
            body.get("type"),
            body.get("data", {}),
        )
        if not all(isinstance(v, str) and v for v in (site, node_id, type_name)) or not isinstance(
            data, dict
        ):
            return jsonify(
                {"error": "bad_request", "detail": "site, node, type are strings; data an object"}
            ), 400
        collector = getattr(service, "collector", None)
        if collector is None:
            return jsonify({"error": "not_running", "detail": "the collector is not running"}), 503
        try:
            command_id = collector.send_command(site, node_id, type_name, data)
        except ConnectionError as exc:
            return jsonify({"error": "not_connected", "detail": str(exc)}), 503
        except ValueError as exc:
            return jsonify({"error": "bad_request", "detail": str(exc)}), 400
        return jsonify({"id": command_id, "status": "sent"}), 202

    app.register_blueprint(bp)
