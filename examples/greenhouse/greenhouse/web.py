"""The greenhouse page, served by the web plugin under ``/plugins/greenhouse/``.

Everything shown comes from ``ctx.state["greenhouse"]`` (kept by ``AlertMonitor``), so the page
works the same live and in replay. The pump buttons use ``emit`` from
``bussdcc_framework.interface.web``, the original framework's way to turn a request into a
message. Values are put into the page with ``textContent`` and Jinja's autoescaping: never as
HTML.
"""

from __future__ import annotations

from typing import Any

from bussdcc.context import ContextProtocol

from .messages import SwitchPump

URL_PREFIX = "/plugins/greenhouse"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Greenhouse</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f7f2; color: #1d2b1f; }
  header { background: #2f6b3a; color: white; padding: .8rem 1.2rem; display: flex; gap: 1rem;
           align-items: baseline; flex-wrap: wrap; }
  header a { color: #d8f0dc; }
  main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
  .card { background: white; border-radius: .6rem; padding: 1rem; box-shadow: 0 1px 3px #0002; }
  .value { font-size: 2.4rem; font-weight: 600; }
  .alerts li { color: #9a3412; }
  button { font-size: 1rem; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid #2f6b3a;
           background: white; cursor: pointer; }
  button.on { background: #2f6b3a; color: white; }
  #status { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<header><h1>Greenhouse</h1><a href="/">dashboard</a><span id="status">{{ mode }}</span></header>
<main>
  <section class="card"><h2>Temperature</h2><div class="value"><span id="temperature">–</span> °C</div></section>
  <section class="card"><h2>Humidity</h2><div class="value"><span id="humidity">–</span> %</div></section>
  <section class="card"><h2>Pump</h2><div class="value" id="pump">–</div>
    <p id="pump-reason"></p>
    <button id="pump-on" data-on="true">Switch on</button>
    <button id="pump-off" data-on="false">Switch off</button></section>
  <section class="card alerts"><h2>Alerts</h2><ul id="alerts"><li>none</li></ul>
    <p><span id="readings">0</span> readings</p></section>
</main>
<script>
const prefix = {{ prefix|tojson }};
function headers() {
  const h = {"Content-Type": "application/json"};
  const token = sessionStorage.getItem("bussdcc-token");
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}
function text(id, value) { document.getElementById(id).textContent = value; }
async function refresh() {
  try {
    const response = await fetch(prefix + "/state.json", {headers: headers()});
    const state = await response.json();
    const climate = state.climate || {};
    text("temperature", climate.temperature_c ?? "–");
    text("humidity", climate.humidity_pct ?? "–");
    const pump = state.pump || {on: climate.pump_on, reason: ""};
    text("pump", pump.on ? "on" : "off");
    text("pump-reason", pump.reason || "");
    document.getElementById("pump-on").classList.toggle("on", !!pump.on);
    text("readings", state.readings || 0);
    const list = document.getElementById("alerts");
    list.replaceChildren();
    const alerts = Object.values(state.alerts || {});
    for (const alert of (alerts.length ? alerts : ["none"])) {
      const item = document.createElement("li");
      item.textContent = alert;
      list.appendChild(item);
    }
  } catch (err) {
    text("status", "disconnected");
  }
}
for (const button of document.querySelectorAll("button[data-on]")) {
  button.addEventListener("click", async () => {
    await fetch(prefix + "/pump", {method: "POST", headers: headers(),
      body: JSON.stringify({on: button.dataset.on === "true"})});
    refresh();
  });
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""


def add_routes(app: Any, ctx: ContextProtocol) -> None:
    """Register the greenhouse blueprint on the web interface's Flask app."""
    from bussdcc_framework.interface.web import emit
    from flask import Blueprint, jsonify, render_template_string, request

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
