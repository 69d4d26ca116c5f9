"""The greenhouse page, served by the web plugin under ``/plugins/greenhouse/``.

Everything shown comes from ``ctx.state["greenhouse"]`` (kept by ``AlertMonitor``), so the page
works the same live and in replay. The page extends the web plugin's
``bussdcc_web/base.html`` (layout, navigation, access token) and calls its routes with
``bussdcc.api``, which adds the token. The pump buttons use ``emit`` from
``bussdcc_framework.interface.web``, the original framework's way to turn a request into a
message. Values are put into the page with ``textContent`` and Jinja's autoescaping: never as
HTML.
"""

from __future__ import annotations

from typing import Any

from bussdcc.context import ContextProtocol

from .messages import SwitchPump

URL_PREFIX = "/plugins/greenhouse"

PAGE = """{% extends "bussdcc_web/base.html" %}
{% block title %}Greenhouse{% endblock %}
{% block content %}
<div class="cards">
  <section class="card stat"><h2>Temperature</h2>
    <div class="stat-main"><span id="temperature">–</span> <span class="unit">°C</span></div></section>
  <section class="card stat"><h2>Humidity</h2>
    <div class="stat-main"><span id="humidity">–</span> <span class="unit">%</span></div></section>
  <section class="card stat"><h2>Pump</h2>
    <div class="stat-main" id="pump">–</div>
    <div class="stat-sub" id="pump-reason"></div>
    <div class="form-actions" style="margin-top: 10px">
      <button type="button" class="btn primary" id="pump-on" data-on="true">Switch on</button>
      <button type="button" class="btn" id="pump-off" data-on="false">Switch off</button>
    </div>
    <div class="field-error" id="pump-error"></div></section>
  <section class="card stat"><h2>Readings</h2>
    <div class="stat-main" id="readings">0</div>
    <div class="stat-sub">{{ mode }} run</div></section>
</div>
<section class="card">
  <div class="card-head"><h2>Alerts</h2></div>
  <ul id="alerts"><li>none</li></ul>
</section>
{% endblock %}
{% block scripts %}
<script>
"use strict";
// bussdcc.api (from the web plugin's common.js) adds the access token and parses the JSON.
const prefix = {{ prefix|tojson }};
function text(id, value) { document.getElementById(id).textContent = value; }
async function refresh() {
  let state;
  try {
    state = await bussdcc.api(prefix + "/state.json");
  } catch (err) {
    text("pump-error", "cannot read the greenhouse state: " + err.message);
    return;
  }
  const climate = state.climate || {};
  text("temperature", climate.temperature_c ?? "–");
  text("humidity", climate.humidity_pct ?? "–");
  const pump = state.pump || {on: climate.pump_on, reason: ""};
  text("pump", pump.on ? "on" : "off");
  text("pump-reason", pump.reason || "");
  text("readings", state.readings || 0);
  const list = document.getElementById("alerts");
  list.replaceChildren();
  const alerts = Object.values(state.alerts || {});
  for (const alert of (alerts.length ? alerts : ["none"])) {
    list.appendChild(bussdcc.el("li", {text: String(alert)}));
  }
}
for (const button of document.querySelectorAll("button[data-on]")) {
  button.addEventListener("click", async () => {
    text("pump-error", "");
    try {
      await bussdcc.api(prefix + "/pump", {method: "POST",
                                           json: {on: button.dataset.on === "true"}});
    } catch (err) {
      text("pump-error", "switching the pump failed: " + err.message);
    }
    refresh();
  });
}
bussdcc.connect({}, {types: ["-*"]});  // the live indicator in the top bar
refresh();
setInterval(refresh, 1000);
</script>
{% endblock %}
"""


def add_routes(app: Any, ctx: ContextProtocol) -> None:
    """Register the greenhouse blueprint on the web interface's Flask app."""
    from flask import Blueprint, jsonify, render_template_string, request

    from bussdcc_framework.interface.web import emit

    bp = Blueprint("greenhouse", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    def page() -> str:
        mode = "replay" if ctx.state.get("greenhouse.replay") else "live"
        return render_template_string(PAGE, prefix=URL_PREFIX, mode=mode)

    @bp.get("/state.json")
    def state() -> Any:
        return jsonify(dict(ctx.state.get("greenhouse", {})))

    @bp.post("/pump")
    def pump() -> Any:
        body = request.get_json(silent=True) or {}
        on = body.get("on")
        if not isinstance(on, bool):
            return jsonify({"error": 'expected {"on": true|false}'}), 400
        emit(SwitchPump(on=on, reason="web"))
        return jsonify({"sent": "SwitchPump", "on": on})

    app.register_blueprint(bp)
