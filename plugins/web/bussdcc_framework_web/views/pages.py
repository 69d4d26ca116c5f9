"""The HTML pages: server-rendered with Jinja's autoescaping, then kept live by plain JS."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from ..context import current_interface
from . import data

blueprint = Blueprint(
    "bussdcc_web",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/_bussdcc/static",
)


@blueprint.app_context_processor
def _layout() -> dict[str, Any]:
    """What ``bussdcc_web/base.html`` needs, for every template of the app.

    So a plugin's page can ``{% extends "bussdcc_web/base.html" %}`` and get the layout, the
    navigation (with its own link marked active) and the token handling of ``common.js``.
    """
    try:
        interface = current_interface()
    except RuntimeError:
        return {}
    values: dict[str, Any] = {"plugin_pages": interface.plugin_pages}
    if request and request.path.startswith("/plugins/"):
        name = request.path.split("/")[2]
        values["active"] = f"plugin:{name}"
    values["overview"] = data.overview(interface)
    values["replay_status"] = interface.replay.status() if interface.replay is not None else None
    return values


def _page(template: str, active: str, **values: object) -> str:
    return render_template(f"bussdcc_web/{template}", active=active, **values)


@blueprint.get("/")
@blueprint.get("/dashboard")
def dashboard() -> str:
    return _page("dashboard.html", "dashboard")


@blueprint.get("/state")
def state() -> str:
    mirror = current_interface().watcher
    return _page("state.html", "state", state_unavailable=mirror.unavailable if mirror is not None else None)


@blueprint.get("/services")
def services() -> str:
    interface = current_interface()
    return _page(
        "services.html",
        "services",
        services=data.services(interface),
        processes=data.components(interface, "processes"),
        interfaces=data.components(interface, "interfaces"),
    )


@blueprint.get("/plugins")
def plugins() -> str:
    interface = current_interface()
    return _page(
        "plugins.html", "plugins", plugins=data.plugins(interface), route_errors=interface.route_errors
    )


@blueprint.get("/send")
def send() -> str:
    return _page("send.html", "send")


@blueprint.get("/plot")
def plot() -> str:
    return _page("plot.html", "plot")
