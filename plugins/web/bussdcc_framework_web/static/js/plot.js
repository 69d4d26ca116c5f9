/* Plot page: pick a message type and numeric fields, see them as lines over time (uPlot).
 *
 * The recent values come from /api/plot (the server keeps the last events of every type);
 * new ones arrive on the live connection, filtered on the server to the chosen type. In a
 * replay the chart follows seeks: on "bussdcc:replay-jump" it is fetched again.
 * The choice is kept in the address (?type=...&fields=a,b) so a plot can be shared. */
"use strict";
(function () {
  const { api, el, fmtTime, fmtDateTime, typeColor, debounce } = Bus;
  const POINTS = 2000;
  const typeSelect = document.getElementById("plot-type");
  const fieldsBox = document.getElementById("plot-fields");
  const fieldList = document.getElementById("plot-field-list");
  const chartBox = document.getElementById("plot-chart");
  const empty = document.getElementById("plot-empty");
  const info = document.getElementById("plot-info");
  let types = [], current = null, fields = [], xs = [], ys = [], plot = null, socket = null;
  let generation = 0;

  const params = new URLSearchParams(window.location.search);
  let wantedType = params.get("type") || "";
  let wantedFields = (params.get("fields") || "").split(",").filter(Boolean);

  function remember() {
    const url = new URL(window.location.href);
    if (current) url.searchParams.set("type", current.type); else url.searchParams.delete("type");
    if (fields.length) url.searchParams.set("fields", fields.join(",")); else url.searchParams.delete("fields");
    history.replaceState(null, "", url.pathname + url.search);
  }

  function valueAt(data, path) {
    let node = data;
    for (const key of path.split(".")) {
      if (!node || typeof node !== "object" || !(key in node)) return null;
      node = node[key];
    }
    return typeof node === "number" && Number.isFinite(node) ? node : null;
  }

  function draw() {
    if (plot) { plot.destroy(); plot = null; }
    empty.hidden = Boolean(current && fields.length);
    if (!current || !fields.length) return;
    const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#93a0b2" : "#5f6b7a", grid: { stroke: dark ? "#263140" : "#eef1f5", width: 1 }, ticks: { show: false } };
    plot = new uPlot({
      width: chartBox.clientWidth || 600,
      height: 320,
      scales: { x: { time: true } },
      axes: [Object.assign({ values: (u, splits) => splits.map((v) => fmtTime(v, { ms: false })) }, axis), Object.assign({}, axis)],
      series: [{ label: "time", value: (u, v) => (v == null ? "–" : fmtDateTime(v)) }].concat(fields.map((f) => ({
        label: f, stroke: typeColor(current.type + "." + f), width: 1.6, points: { show: xs.length < 60 },
        spanGaps: true,
      }))),
    }, [xs, ...ys], chartBox);
    info.textContent = xs.length + " point(s) of " + current.name;
  }

  function update() {
    if (!plot) { draw(); return; }
    plot.setData([xs, ...ys]);
    info.textContent = xs.length + " point(s) of " + current.name;
  }

  async function load() {
    const mine = ++generation;
    xs = []; ys = fields.map(() => []);
    if (!current || !fields.length) { draw(); return; }
    try {
      const answer = await api("/api/plot?type=" + encodeURIComponent(current.type) + "&fields=" + encodeURIComponent(fields.join(",")));
      if (mine !== generation) return;
      xs = answer.t;
      ys = fields.map((f) => answer.values[f] || answer.t.map(() => null));
    } catch (err) {
      if (mine !== generation) return;
      info.textContent = "Could not load " + current.name + ": " + err.message;
    }
    draw();
  }

  function renderFields() {
    fieldList.replaceChildren();
    fieldsBox.hidden = !current;
    if (!current) return;
    for (const f of current.fields) {
      const box = el("input", { type: "checkbox", value: f, id: "plot-f-" + f, dataset: { field: f } });
      box.checked = fields.includes(f);
      box.addEventListener("change", () => {
        fields = current.fields.filter((name) => document.getElementById("plot-f-" + name).checked);
        remember();
        load();
      });
      fieldList.appendChild(el("label", { class: "check", for: box.id }, box, f));
    }
  }

  function choose(typeName) {
    current = types.find((t) => t.type === typeName || t.name === typeName) || null;
    fields = current ? (wantedFields.length ? wantedFields.filter((f) => current.fields.includes(f)) : current.fields.slice(0, 1)) : [];
    wantedFields = [];
    if (current) typeSelect.value = current.type;
    renderFields();
    remember();
    if (socket && socket.connected) socket.emit("subscribe", { types: current ? current.type : "-*" }, () => {});
    load();
  }

  async function loadTypes() {
    try { types = (await api("/api/plot/types")).types; }
    catch (err) { typeSelect.replaceChildren(el("option", { value: "", text: "Could not load types: " + err.message })); return; }
    const keep = current ? current.type : wantedType;
    typeSelect.replaceChildren(el("option", { value: "", text: types.length ? "— choose a message type —" : "No numbers seen yet" }),
      ...types.map((t) => el("option", { value: t.type, text: t.name + "  (" + t.fields.length + " field" + (t.fields.length === 1 ? "" : "s") + ")" })));
    if (keep && types.some((t) => t.type === keep || t.name === keep)) {
      if (!current || current.type !== keep) choose(keep);
      else { typeSelect.value = keep; current = types.find((t) => t.type === keep); }
    }
    wantedType = "";
  }
  typeSelect.addEventListener("change", () => choose(typeSelect.value));

  socket = Bus.connect({
    snapshot() { load(); },
    batch(batch) {
      if (!current || !fields.length) return;
      let added = 0;
      for (const ev of batch.events || []) {
        if (ev.type !== current.type) continue;
        xs.push(ev.ts);
        fields.forEach((f, i) => ys[i].push(valueAt(ev.data, f)));
        added++;
      }
      if (!added) return;
      if (xs.length > POINTS) {
        const cut = xs.length - POINTS;
        xs = xs.slice(cut); ys = ys.map((y) => y.slice(cut));
      }
      update();
    },
  }, { types: wantedType || "-*" });

  document.addEventListener("bussdcc:replay-jump", () => { loadTypes().then(load); });
  new ResizeObserver(debounce(() => { if (plot) plot.setSize({ width: chartBox.clientWidth, height: 320 }); }, 100)).observe(chartBox);
  setInterval(() => { if (!current || !types.length) loadTypes(); }, 3000);
  loadTypes();
  window.BusPlot = { points: () => xs.length, fields: () => fields.slice(), type: () => (current ? current.type : null), data: () => [xs.slice(), ys.map((y) => y.slice())] };
})();
