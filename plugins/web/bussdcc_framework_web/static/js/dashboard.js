/* Dashboard: summary cards, events-per-second chart (uPlot), live event stream. */
"use strict";
(function () {
  const { el, fmtTime, fmtDuration, short, debounce } = Bus;
  const MAX_ROWS = 500;        // the list is bounded: older rows leave as new ones arrive
  const MAX_PAUSED = 500;      // while paused, at most this many new events wait
  const WINDOW = 300;          // chart: seconds of history
  const MAX_SERIES = 6;        // chart: busiest types get a line each, the rest are "other"
  const PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#9333ea", "#0891b2", "#64748b"];

  const tbody = document.querySelector("#events tbody");
  const empty = document.getElementById("events-empty");
  const info = document.getElementById("stream-info");
  const droppedBox = document.getElementById("dropped");
  const pauseBtn = document.getElementById("pause");
  let paused = false, pending = [], droppedTotal = 0, shown = 0, received = 0;

  // ---- summary cards -------------------------------------------------------------
  const uptimeEl = document.getElementById("uptime");
  let uptimeBase = parseFloat(uptimeEl.dataset.uptime || "0"), uptimeAt = Date.now();
  setInterval(() => { uptimeEl.textContent = fmtDuration(uptimeBase + (Date.now() - uptimeAt) / 1000); }, 1000);
  uptimeEl.textContent = fmtDuration(uptimeBase);

  const startedEl = document.getElementById("started");
  let bootSecond = 0;
  function showStarted(iso) {
    if (!iso) return;
    const d = new Date(iso);
    bootSecond = Math.floor(d.getTime() / 1000);
    startedEl.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }
  showStarted(startedEl.getAttribute("datetime"));

  function applyOverview(ov) {
    if (!ov) return;
    showStarted(ov.started);
    document.getElementById("ov-hostname").textContent = ov.hostname || "–";
    document.getElementById("ov-model").textContent = ov.model || "model unknown";
    document.getElementById("ov-os").textContent = [ov.os, ov.arch].filter(Boolean).join(" · ");
    document.getElementById("total").textContent = ov.events_total;
    uptimeBase = ov.uptime; uptimeAt = Date.now();
    const dl = document.getElementById("versions");
    dl.replaceChildren(...Object.entries(ov.versions || {}).map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  }

  // ---- the event list ------------------------------------------------------------
  function fieldsSummary(data) {
    const span = el("span", { class: "ev-fields" });
    if (!data || typeof data !== "object") return span;
    const keys = Object.keys(data);
    keys.slice(0, 6).forEach((k, i) => {
      if (i) span.appendChild(document.createTextNode("  "));
      span.appendChild(el("span", { class: "k", text: k + "=" }));
      span.appendChild(document.createTextNode(short(data[k], 80)));
    });
    if (keys.length > 6) span.appendChild(document.createTextNode("  … +" + (keys.length - 6)));
    return span;
  }

  function row(ev, fresh) {
    const module = ev.type.split(":")[0];
    const tr = el("tr", { class: fresh ? "ev new" : "ev", dataset: { seq: ev.seq, type: ev.name } },
      el("td", { class: "ev-time", title: ev.time, text: fmtTime(ev.ts) }),
      el("td", { class: "ev-level-cell" }, el("span", { class: "badge lv-" + ev.level, text: ev.level.toLowerCase() })),
      el("td", { class: "ev-type" }, ev.name, el("span", { class: "ev-module", text: module })),
      el("td", { class: "ev-fields-cell" }, fieldsSummary(ev.data)));
    tr.addEventListener("click", () => toggleDetail(tr, ev));
    return tr;
  }

  function toggleDetail(tr, ev) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("ev-detail")) { next.remove(); return; }
    const pre = el("pre", { text: JSON.stringify({ time: ev.time, type: ev.type, severity: ev.level, data: ev.data }, null, 2) });
    tr.after(el("tr", { class: "ev-detail" }, el("td", { colspan: 4 }, pre)));
  }

  function trim() {
    while (tbody.rows.length && shown > MAX_ROWS) {
      const last = tbody.lastElementChild;
      if (last.classList.contains("ev")) shown--;
      last.remove();
    }
  }

  function addEvents(events, fresh) {
    if (!events.length) return;
    const frag = document.createDocumentFragment();
    for (let i = events.length - 1; i >= Math.max(0, events.length - MAX_ROWS); i--) frag.appendChild(row(events[i], fresh));
    tbody.prepend(frag);
    shown += Math.min(events.length, MAX_ROWS);
    trim();
    updateInfo();
  }

  function reset(events) {
    tbody.replaceChildren();
    shown = 0;
    addEvents(events || []);
    updateInfo();
  }

  function updateInfo() {
    empty.hidden = shown > 0;
    let text = shown + " shown (newest first, at most " + MAX_ROWS + ")";
    if (paused) text = "paused · " + pending.length + (pending.length >= MAX_PAUSED ? "+" : "") + " new waiting";
    info.textContent = text;
  }

  function noteDropped(n) {
    if (!n) return;
    droppedTotal += n;
    droppedBox.hidden = false;
    droppedBox.textContent = droppedTotal + " events were skipped because this page could not keep up (the server keeps at most " + bufferSize + " waiting per viewer).";
  }

  pauseBtn.addEventListener("click", () => {
    paused = !paused;
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    pauseBtn.setAttribute("aria-pressed", String(paused));
    if (!paused) { addEvents(pending, true); pending = []; }
    updateInfo();
  });
  document.getElementById("clear").addEventListener("click", () => { pending = []; reset([]); droppedTotal = 0; droppedBox.hidden = true; });

  // ---- server-side filter --------------------------------------------------------
  const typesInput = document.getElementById("f-types");
  const sevSelect = document.getElementById("f-severity");
  const params = new URLSearchParams(window.location.search);
  typesInput.value = params.get("types") || "";
  sevSelect.value = params.get("severity") || "";
  const currentFilter = () => ({ types: typesInput.value, severity: sevSelect.value });
  const applyFilter = () => {
    socket.emit("subscribe", currentFilter(), (answer) => {
      if (!answer || !answer.ok) { info.textContent = (answer && answer.error) || "filter refused"; typesInput.setCustomValidity((answer && answer.error) || "invalid"); return; }
      typesInput.setCustomValidity("");
      pending = [];
      reset(answer.events);
    });
  };
  typesInput.addEventListener("input", debounce(applyFilter, 300));
  sevSelect.addEventListener("change", applyFilter);
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); applyFilter(); });

  // ---- chart ---------------------------------------------------------------------
  const chartBox = document.getElementById("chart");
  const counts = new Map();   // second -> {type: n}
  let plot = null, seriesNames = [], bufferSize = 2000;

  function busiest() {
    const totals = new Map();
    for (const c of counts.values()) for (const [k, v] of Object.entries(c)) totals.set(k, (totals.get(k) || 0) + v);
    return [...totals.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  }

  function chartData() {
    const now = Math.floor(Date.now() / 1000) - 1;
    const xs = [];
    // A young system gets a chart of its life so far, not four empty minutes.
    const from = Math.max(now - WINDOW + 1, Math.min(bootSecond - 2, now - 30));
    for (let s = from; s <= now; s++) xs.push(s);
    const names = seriesNames;
    const ys = names.map(() => []);
    for (const s of xs) {
      const c = counts.get(s) || {};
      let other = 0;
      for (const [k, v] of Object.entries(c)) if (!names.includes(k) || k === "other") other += v;
      names.forEach((n, i) => ys[i].push(n === "other" ? other : (c[n] || 0)));
    }
    return [xs, ...ys];
  }

  function buildChart() {
    const ranked = busiest();
    let names = ranked.slice(0, MAX_SERIES);
    if (ranked.length > MAX_SERIES) names.push("other");
    if (!names.length) names = ["events"];
    const same = names.length === seriesNames.length && names.every((n, i) => n === seriesNames[i]);
    if (same && plot) { plot.setData(chartData()); return; }
    seriesNames = names;
    if (plot) plot.destroy();
    const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#93a0b2" : "#5f6b7a", grid: { stroke: dark ? "#263140" : "#eef1f5", width: 1 }, ticks: { show: false } };
    plot = new uPlot({
      width: chartBox.clientWidth || 600,
      height: 220,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] } },
      axes: [Object.assign({}, axis), Object.assign({ size: 44 }, axis)],
      legend: { live: true },
      series: [{ label: "time" }].concat(names.map((n, i) => ({
        label: n, stroke: PALETTE[i % PALETTE.length], width: 1.6,
        fill: i === 0 ? (PALETTE[0] + "14") : undefined, points: { show: false },
        value: (u, v) => (v == null ? "–" : v + "/s"),
      }))),
    }, chartData(), chartBox);
  }

  function addCounts(second, c) { counts.set(second, c); for (const s of counts.keys()) if (s < second - WINDOW) counts.delete(s); }
  new ResizeObserver(debounce(() => { if (plot) plot.setSize({ width: chartBox.clientWidth, height: 220 }); }, 100)).observe(chartBox);

  // ---- live connection -----------------------------------------------------------
  const socket = Bus.connect({
    snapshot(snap) {
      bufferSize = snap.buffer;
      applyOverview(snap.overview);
      counts.clear();
      const r = snap.rates;
      r.counts.forEach((c, i) => addCounts(r.start + i, c));
      buildChart();
      pending = [];
      reset(snap.events);
    },
    batch(batch) {
      noteDropped(batch.dropped);
      if (batch.stats) {
        const st = batch.stats;
        addCounts(st.second, st.counts);
        document.getElementById("rate").textContent = Object.values(st.counts).reduce((a, b) => a + b, 0);
        document.getElementById("total").textContent = st.total;
        document.getElementById("clients").textContent = st.clients;
        uptimeBase = st.uptime; uptimeAt = Date.now();
        buildChart();
      }
      const events = batch.events || [];
      received += events.length;
      if (events.some((e) => e.name === "SystemIdentityEvent")) {
        Bus.api("/api/overview").then(applyOverview).catch(() => {});
      }
      if (!events.length) return;
      if (paused) {
        pending = pending.concat(events);
        if (pending.length > MAX_PAUSED) pending = pending.slice(pending.length - MAX_PAUSED);
        updateInfo();
      } else {
        addEvents(events, true);
      }
    },
  }, currentFilter());
  window.BusDashboard = { socket, received: () => received };
})();
