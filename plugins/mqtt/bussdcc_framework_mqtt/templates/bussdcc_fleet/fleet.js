// The fleet page (bussdcc_framework_mqtt.web): values from the network are set as text, never HTML.
"use strict";
const prefix = {{ prefix|tojson }};
let selected = null;   // {site, node}
let typesKey = "";
function text(el, value) { el.textContent = value == null ? "–" : String(value); }
function ago(t) {
  if (!t) return "–";
  const s = Math.max(0, Date.now() / 1000 - t);
  return s < 1 ? "now" : s < 90 ? Math.round(s) + " s ago" : Math.round(s / 60) + " min ago";
}
async function refreshFleet() {
  let body;
  try { body = await bussdcc.api(prefix + "/nodes.json"); } catch (err) { return; }
  const tbody = document.querySelector("#fleet tbody");
  tbody.replaceChildren();
  const online = body.nodes.filter(n => n.online).length;
  text(document.getElementById("fleet-summary"), `${online} of ${body.nodes.length} online`);
  if (!body.nodes.length) {
    const row = bussdcc.el("tr", {class: "empty"});
    row.appendChild(bussdcc.el("td", {text: "no node has reported yet", colspan: "8"}));
    tbody.appendChild(row);
  }
  for (const n of body.nodes) {
    const row = bussdcc.el("tr", {class: "node"});
    row.dataset.site = n.site; row.dataset.node = n.node;
    row.dataset.state = n.online ? "online" : "offline";
    const cells = [n.site, n.node, n.online ? "online" : "offline", ago(n.last_seen), n.rate, n.events,
                   (n.versions || {}).framework, n.backlog];
    for (const value of cells) { const td = bussdcc.el("td"); text(td, value); row.appendChild(td); }
    row.addEventListener("click", () => { selected = {site: n.site, node: n.node}; typesKey = ""; refreshNode(); });
    tbody.appendChild(row);
  }
}
function fieldInput(field) {
  const wrap = bussdcc.el("label");
  wrap.appendChild(document.createTextNode(field.name + (field.required ? " *" : "") + " "));
  let input;
  if (field.kind === "boolean") {
    input = bussdcc.el("input", {type: "checkbox"});
    input.checked = field.default === true;
  } else if (field.kind === "choice") {
    input = bussdcc.el("select");
    for (const c of field.choices) { const o = bussdcc.el("option", {text: String(c)}); o.value = JSON.stringify(c); input.appendChild(o); }
  } else {
    input = bussdcc.el("input", {type: field.kind === "integer" || field.kind === "number" ? "number" : "text"});
    if (field.kind === "number") input.step = "any";
    if (field.default != null) input.value = field.kind === "json" ? JSON.stringify(field.default) : String(field.default);
  }
  input.dataset.field = field.name; input.dataset.kind = field.kind;
  wrap.appendChild(input);
  return wrap;
}
function renderForm(types) {
  const select = document.getElementById("send-type");
  const key = JSON.stringify(types.map(t => t.type));
  if (key === typesKey) return;
  typesKey = key;
  select.replaceChildren();
  for (const t of types) { const o = bussdcc.el("option", {text: t.name}); o.value = t.type; select.appendChild(o); }
  document.getElementById("send-button").disabled = !types.length;
  const draw = () => {
    const spec = types.find(t => t.type === select.value);
    const box = document.getElementById("send-fields");
    box.replaceChildren();
    for (const f of (spec ? spec.fields : [])) box.appendChild(fieldInput(f));
  };
  select.onchange = draw;
  draw();
}
function formData() {
  const data = {};
  for (const input of document.querySelectorAll("#send-fields [data-field]")) {
    const kind = input.dataset.kind, name = input.dataset.field;
    if (kind === "boolean") data[name] = input.checked;
    else if (kind === "choice") data[name] = JSON.parse(input.value);
    else if (input.value === "") continue;
    else if (kind === "integer") data[name] = parseInt(input.value, 10);
    else if (kind === "number") data[name] = parseFloat(input.value);
    else if (kind === "json") data[name] = JSON.parse(input.value);
    else data[name] = input.value;
  }
  return data;
}
async function refreshNode() {
  if (!selected) return;
  let d;
  try { d = await bussdcc.api(`${prefix}/node/${selected.site}/${selected.node}.json`); } catch (err) { return; }
  document.getElementById("node-card").hidden = false;
  text(document.getElementById("node-title"), `${d.site}/${d.node} (${d.online ? "online" : "offline"})`);
  const v = d.versions || {};
  text(document.getElementById("node-versions"), `framework ${v.framework || "?"}, kernel ${v.kernel || "?"}`);
  renderForm((d.birth && d.birth.types) || []);
  const tbody = document.querySelector("#node-events tbody");
  tbody.replaceChildren();
  for (const e of d.recent.slice().reverse()) {
    const row = bussdcc.el("tr", {class: "ev", title: String(e.type)});
    const shortType = String(e.type).split(":").pop();
    for (const value of [String(e.time).slice(11, 23), shortType, e.data]) {
      const td = bussdcc.el("td"); text(td, value); row.appendChild(td);
    }
    tbody.appendChild(row);
  }
  const list = document.getElementById("results");
  list.replaceChildren();
  for (const r of d.results.slice().reverse()) {
    const line = r.status === "sent" ? `${r.type}: sent, waiting for the answer`
      : r.ok ? `${(r.type || "").split(":").pop()} ${String(r.id).slice(0, 8)}: done`
      : `${String(r.type || "").split(":").pop()} ${String(r.id).slice(0, 8)}: refused (${r.error}): ${r.detail}`;
    const li = bussdcc.el("li", {text: line});
    li.dataset.status = r.status; li.dataset.id = r.id;
    list.appendChild(li);
  }
  if (!d.results.length) list.appendChild(bussdcc.el("li", {text: "none yet"}));
}
document.getElementById("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("send-error");
  error.textContent = "";
  let data;
  try { data = formData(); } catch (err) { error.textContent = "a JSON field is not valid JSON"; return; }
  try {
    await bussdcc.api(prefix + "/send", {method: "POST", json: {site: selected.site, node: selected.node,
                                          type: document.getElementById("send-type").value, data}});
  } catch (err) { error.textContent = "sending failed: " + err.message; }
  refreshNode();
});
bussdcc.connect({}, {types: ["-*"]});
refreshFleet();
setInterval(() => { refreshFleet(); refreshNode(); }, 1000);
