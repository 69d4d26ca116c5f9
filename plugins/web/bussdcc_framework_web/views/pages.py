"""The HTML pages: server-rendered with Jinja's autoescaping, then kept live by plain JS."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..context import current_interface
from . import data

blueprint = Blueprint(
    "bussdcc_web", __name__, template_folder="../templates",
    static_folder="../static", static_url_path="/_bussdcc/static",
)


def _page(template: str, active: str, **values: object) -> str:
    interface = current_interface()
    return render_template(f"bussdcc_web/{template}", active=active,
                           overview=data.overview(interface), config=interface.config,
                           **values)


@blueprint.get("/")
@blueprint.get("/dashboard")
def dashboard() -> str:
    return _page("dashboard.html", "dashboard")


@blueprint.get("/state")
def state() -> str:
    return _page("state.html", "state")


@blueprint.get("/services")
def services() -> str:
    return _page("services.html", "services", services=data.services(current_interface()))


@blueprint.get("/plugins")
def plugins() -> str:
    interface = current_interface()
    return _page("plugins.html", "plugins", plugins=data.plugins(interface),
                 route_errors=interface.route_errors)


@blueprint.get("/send")
def send() -> str:
    return _page("send.html", "send")
