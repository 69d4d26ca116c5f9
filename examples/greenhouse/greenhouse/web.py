"""The greenhouse page, served by the web plugin under ``/plugins/greenhouse/``.

Everything shown comes from ``ctx.state["greenhouse"]`` (kept by ``AlertMonitor``, the alert
history included) and from the web plugin's ``/api/plot`` (the temperature and humidity
history), so the page works the same live and in a replay, where it follows seeks. The page
extends the web plugin's ``bussdcc_web/base.html`` (layout, navigation, access token, the replay
bar) and calls its routes with ``bussdcc.api``, which adds the token. The pump buttons use
``emit`` from ``bussdcc_framework.interface.web``, the original framework's way to turn a
request into a message; they carry ``data-acts`` (they act on the outside world), so they are
disabled while a recording is replayed, and the route answers 409 then
(``bussdcc_framework.runtime.is_replaying``). Values are put into the page with ``textContent``
and Jinja's autoescaping: never as HTML.
"""

from __future__ import annotations

from typing import Any

from bussdcc.context import ContextProtocol

from .messages import SwitchPump

URL_PREFIX = "/plugins/greenhouse"
#: The readings' history, as the web plugin's Plot page and ``/api/plot`` take it.
PLOT_QUERY = "type=greenhouse.messages:ClimateReading&fields=temperature_c,humidity_pct"

PAGE = """{% extends "bussdcc_web/base.html" %}
{% block title %}Greenhouse{% endblock %}
{% block head %}
<link rel="stylesheet" href="{{ url_for('bussdcc_web.static', filename='vendor/uPlot.min.css') }}">
{% endblock %}
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
      <button type="button" class="btn primary" id="pump-on" data-on="true" data-acts>Switch on</button>
      <button type="button" class="btn" id="pump-off" data-on="false" data-acts>Switch off</button>
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
<section class="card">
  <div class="card-head"><h2>Temperature and humidity</h2>
    <a class="muted small" data-nav href="/plot?{{ plot_query }}">open in Plot</a></div>
  <div id="climate-chart" class="chart" role="img" aria-label="Temperature and humidity over time"></div>
</section>
<section class="card">
  <div class="card-head"><h2>Alert history</h2><span class="muted small">newest first</span></div>
  <ol id="alert-log" class="alert-log"><li>no alert yet</li></ol>
</section>
{% endblock %}
{% block scripts %}
<script src="{{ url_for('bussdcc_web.static', filename='vendor/uPlot.iife.min.js') }}"></script>
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
  const log = document.getElementById("alert-log");
  const entries = (state.alert_log || []).slice().reverse();
  log.replaceChildren(...(entries.length ? entries.map((a) => bussdcc.el("li",
    {class: "alert-" + a.kind, dataset: {kind: a.kind, metric: a.metric}},
    bussdcc.el("time", {datetime: a.time, text: bussdcc.fmtDateTime(a.time)}),
    " " + a.kind + ": " + a.text)) : [bussdcc.el("li", {text: "no alert yet"})]));
}

// The history of the readings, from the web plugin's plot API (its recent events by type).
const chartBox = document.getElementById("climate-chart");
let chart = null;
async function drawHistory() {
  let series;
  try {
    series = await bussdcc.api("/api/plot?" + {{ plot_query|tojson }});
  } catch (err) {
    series = {t: [], values: {temperature_c: [], humidity_pct: []}};  // no reading yet
  }
  const data = [series.t, series.values.temperature_c, series.values.humidity_pct];
  if (chart) { chart.setData(data); return; }
  chart = new uPlot({
    width: chartBox.clientWidth || 600, height: 240,
    scales: {x: {time: true}, pct: {auto: true}},
    axes: [{values: (u, splits) => splits.map((v) => bussdcc.fmtTime(v, {ms: false}))},
           {label: "°C"}, {scale: "pct", side: 1, label: "%", grid: {show: false}}],
    series: [{}, {label: "temperature °C", stroke: bussdcc.typeColor("temperature")},
             {label: "humidity %", stroke: bussdcc.typeColor("humidity"), scale: "pct"}],
  }, data, chartBox);
  window.greenhouseChart = chart;
}
drawHistory();
setInterval(drawHistory, 2000);
document.addEventListener("bussdcc:replay-jump", () => { refresh(); drawHistory(); });
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
    from bussdcc_framework.runtime import is_replaying

    bp = Blueprint("greenhouse", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    def page() -> str:
        mode = "replay" if is_replaying(ctx) else "live"
        return render_template_string(PAGE, prefix=URL_PREFIX, mode=mode, plot_query=PLOT_QUERY)

    @bp.get("/state.json")
    def state() -> Any:
        return jsonify(dict(ctx.state.get("greenhouse", {})))

    @bp.post("/pump")
    def pump() -> Any:
        if is_replaying(ctx):
            # The recording already holds what the pump did; switching it now would mix a live
            # command into recorded history.
            return jsonify({"error": "replaying", "detail": "a replay switches no pump"}), 409
        body = request.get_json(silent=True) or {}
        on = body.get("on")
        if not isinstance(on, bool):
            return jsonify({"error": 'expected {"on": true|false}'}), 400
        emit(SwitchPump(on=on, reason="web"))
        return jsonify({"sent": "SwitchPump", "on": on})

    app.register_blueprint(bp)
