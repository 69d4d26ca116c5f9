/* Dashboard: summary cards, events-per-second chart (uPlot), live event stream, event detail. */
"use strict";
(function () {
  const { el, fmtTime, fmtDateTime, fmtDuration, short, debounce, typeColor } = Bus;
  const MAX_ROWS = 500;        // the list is bounded: older rows leave as new ones arrive
  const MAX_PAUSED = 500;      // while paused, at most this many new events wait
  const WINDOW = 300;          // chart: seconds of history
  const MAX_SERIES = 6;        // chart: busiest types get a line each, the rest are "other"
  const CHART_HEIGHT = 220;
  const AXIS_FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  const CUT = /… \(\d+ more (characters|items)\)$/;  // the server's mark on a cut value

  const tbody = document.querySelector("#events tbody");
  const scroller = document.getElementById("events-scroll");
  const empty = document.getElementById("events-empty");
  const info = document.getElementById("stream-info");
  const droppedBox = document.getElementById("dropped");
  const pauseBtn = document.getElementById("pause");
  let paused = false, pending = [], droppedTotal = 0, shown = 0, received = 0, live = false;
  // In a replay: the recorded time now (epoch seconds). The chart and the uptime follow the
  // recording's clock, not this browser's.
  // replay.js may have its first status before this script runs (a slow script download lets
  // its fetch answer first): start from it, and redraw once the first status arrives, since a
  // paused replay sends no more until something changes.
  const known = window.BusReplay && window.BusReplay.status();
  let replayNow = known ? known.position_ts : null;
  document.addEventListener("bussdcc:replay-status", (e) => {
    const first = replayNow === null;
    replayNow = e.detail.position_ts;
    if (first && replayNow !== null) buildChart();
  });

  // ---- summary cards -------------------------------------------------------------
  // The uptime ticks only while the connection is live: offline, it is stale like the rest.
  const uptimeEl = document.getElementById("uptime");
  let uptimeBase = parseFloat(uptimeEl.dataset.uptime || "0"), uptimeAt = Date.now();
  setInterval(() => { if (live && replayNow === null && !Bus.replaying()) uptimeEl.textContent = fmtDuration(uptimeBase + (Date.now() - uptimeAt) / 1000); }, 1000);
  uptimeEl.textContent = fmtDuration(uptimeBase);
  document.addEventListener("bussdcc:connection", (e) => {
    const was = live;
    live = e.detail.state === "live";
    if (was && !live) uptimeBase += (Date.now() - uptimeAt) / 1000;  // freeze where it stands
    uptimeAt = Date.now();
  });

  const startedEl = document.getElementById("started");
  let bootSecond = 0;
  function showStarted(iso) {
    if (!iso) return;
    const d = new Date(iso);
    bootSecond = Math.floor(d.getTime() / 1000);
    startedEl.setAttribute("datetime", iso);
    startedEl.textContent = fmtDateTime(d, { ms: false });
    startedEl.title = iso;
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
    uptimeEl.textContent = fmtDuration(uptimeBase);
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

  function typeDot(name) {
    const dot = el("span", { class: "type-dot", "aria-hidden": "true" });
    dot.style.background = typeColor(name);
    return dot;
  }

  const bySeq = new Map();  // seq -> event, for the rows on the page (the detail panel reads it)

  function row(ev, fresh) {
    const module = ev.type.split(":")[0];
    bySeq.set(ev.seq, ev);
    const tr = el("tr", { class: fresh ? "ev new" : "ev", tabindex: "0", dataset: { seq: ev.seq, type: ev.name } },
      el("td", { class: "ev-time", title: fmtDateTime(ev.ts) + " (" + ev.time + ")", text: fmtTime(ev.ts) }),
      el("td", { class: "ev-level-cell" }, el("span", { class: "badge lv-" + ev.level, text: ev.level.toLowerCase() })),
      el("td", { class: "ev-type" }, typeDot(ev.name), ev.name, el("span", { class: "ev-module", text: module })),
      el("td", { class: "ev-fields-cell" }, fieldsSummary(ev.data)));
    if (detailSeq === ev.seq) tr.classList.add("selected");
    return tr;
  }
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr.ev");
    if (tr) openDetail(Number(tr.dataset.seq));
  });
  tbody.addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr.ev");
    if (tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openDetail(Number(tr.dataset.seq)); }
  });

  function trim() {
    while (tbody.rows.length && shown > MAX_ROWS) {
      const last = tbody.lastElementChild;
      if (last.classList.contains("ev")) { shown--; if (Number(last.dataset.seq) !== detailSeq) bySeq.delete(Number(last.dataset.seq)); }
      last.remove();
    }
  }

  function addEvents(events, fresh) {
    if (!events.length) return;
    const frag = document.createDocumentFragment();
    for (let i = events.length - 1; i >= Math.max(0, events.length - MAX_ROWS); i--) frag.appendChild(row(events[i], fresh));
    // Someone reading further down keeps their place while new rows arrive on top.
    const before = scroller.scrollHeight, top = scroller.scrollTop;
    tbody.prepend(frag);
    if (top > 0) scroller.scrollTop = top + (scroller.scrollHeight - before);
    shown += Math.min(events.length, MAX_ROWS);
    trim();
    updateInfo();
  }

  function reset(events) {
    tbody.replaceChildren();
    bySeq.clear();
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

  // ---- the detail panel: the whole record, pretty, with a copy button ------------
  // What is copied is the record format (time, type, data), as the recorder writes it.
  const detail = document.getElementById("detail");
  const detailJson = document.getElementById("detail-json");
  const copied = document.getElementById("detail-copied");
  let detailSeq = null, detailText = "", opener = null;

  function hasCut(value) {
    if (typeof value === "string") return CUT.test(value);
    if (value && typeof value === "object") return Object.values(value).some(hasCut);
    return false;
  }

  function openDetail(seq) {
    const ev = bySeq.get(seq);
    if (!ev) return;
    detailSeq = seq;
    opener = document.activeElement;
    tbody.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
    const tr = tbody.querySelector('tr.ev[data-seq="' + seq + '"]');
    if (tr) tr.classList.add("selected");
    document.getElementById("detail-dot").style.background = typeColor(ev.name);
    document.getElementById("detail-title").textContent = ev.name;
    const level = document.getElementById("detail-level");
    level.className = "badge lv-" + ev.level;
    level.textContent = ev.level.toLowerCase();
    document.getElementById("detail-time").textContent = fmtDateTime(ev.ts) + "  (" + ev.time + ")";
    document.getElementById("detail-type").textContent = ev.type;
    document.getElementById("detail-seq").textContent = "#" + ev.seq;
    document.getElementById("detail-cut").hidden = !hasCut(ev.data);
    detailText = JSON.stringify({ time: ev.time, type: ev.type, data: ev.data }, null, 2);
    detailJson.textContent = detailText;
    copied.textContent = "";
    detail.hidden = false;
    document.body.classList.add("detail-open");
    document.getElementById("detail-close").focus();
  }

  function closeDetail() {
    if (detail.hidden) return;
    detail.hidden = true;
    document.body.classList.remove("detail-open");
    tbody.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
    detailSeq = null;
    if (opener && document.contains(opener)) opener.focus();
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    // Plain http on a LAN address is not a secure context: the older way still works there.
    const area = el("textarea", { class: "sr-only", readonly: true });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("the browser refused");
  }

  document.getElementById("detail-close").addEventListener("click", closeDetail);
  document.getElementById("detail-copy").addEventListener("click", async () => {
    try { await copyText(detailText); copied.textContent = "Copied to the clipboard."; }
    catch (err) { copied.textContent = "Could not copy (" + err.message + "): select the text and copy it."; }
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });

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
  // Axis labels are measured, not guessed: the y axis is as wide as its widest label, x
  // ticks are spaced for the label width, and a label that would run past the canvas edge
  // is left out rather than clipped. Times use the page's one format (HH:MM:SS here).
  const chartBox = document.getElementById("chart");
  const counts = new Map();   // second -> {type: n}
  let plot = null, seriesNames = [], bufferSize = 2000;
  const ticks = {};           // axis index -> {splits, labels} as last drawn (for the tests)
  const measureCtx = document.createElement("canvas").getContext("2d");
  function textWidth(text) { measureCtx.font = AXIS_FONT; return measureCtx.measureText(text).width; }
  const X_LABEL = textWidth("00:00:00");

  function busiest() {
    const totals = new Map();
    for (const c of counts.values()) for (const [k, v] of Object.entries(c)) totals.set(k, (totals.get(k) || 0) + v);
    return [...totals.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  }

  function chartData() {
    const now = Math.floor(replayNow !== null ? replayNow : Date.now() / 1000) - 1;
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

  function seriesColor(name, alpha) {
    if (name === "other" || name === "events") {
      const grey = getComputedStyle(document.documentElement).getPropertyValue("--muted").trim() || "#64748b";
      return alpha === undefined ? grey : "transparent";
    }
    return typeColor(name, alpha);
  }

  function xLabels(u, splits, axisIdx) {
    const width = u.over.clientWidth;
    const labels = splits.map((v) => {
      const x = u.valToPos(v, "x");
      // centred on its tick: keep it whole inside the plot and its axis
      if (x - X_LABEL / 2 < -u.over.offsetLeft + 1 || x + X_LABEL / 2 > width + 1) return null;
      return fmtTime(v, { ms: false });
    });
    ticks[axisIdx] = { splits: splits.slice(), labels: labels.slice() };
    return labels;
  }

  function yLabels(u, splits, axisIdx) {
    const labels = splits.map((v) => (v >= 10000 ? (v / 1000).toFixed(0) + "k" : String(v)));
    ticks[axisIdx] = { splits: splits.slice(), labels: labels.slice() };
    return labels;
  }

  function yAxisSize(u, values) {
    const widest = Math.max(textWidth("000"), ...(values || []).filter(Boolean).map(textWidth));
    return Math.ceil(widest) + 16;  // label, gap and tick
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
    const axis = {
      stroke: dark ? "#93a0b2" : "#5f6b7a", font: AXIS_FONT, labelFont: AXIS_FONT,
      grid: { stroke: dark ? "#263140" : "#eef1f5", width: 1 }, ticks: { show: false },
    };
    plot = new uPlot({
      width: chartBox.clientWidth || 600,
      height: CHART_HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] } },
      axes: [
        Object.assign({ space: X_LABEL + 28, size: 30, values: xLabels }, axis),
        Object.assign({ space: 28, size: yAxisSize, values: yLabels, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }, axis),
      ],
      legend: { live: true },
      series: [{ label: "time", value: (u, v) => (v == null ? "–" : fmtTime(v, { ms: false })) }].concat(names.map((n) => ({
        label: n, stroke: seriesColor(n), width: 1.6,
        fill: names.length === 1 ? seriesColor(n, 0.08) : undefined, points: { show: false },
        value: (u, v) => (v == null ? "–" : v + "/s"),
      }))),
    }, chartData(), chartBox);
  }

  /* Where each axis label is drawn, in page pixels: what the browser tests check (labels
   * inside the chart, none overlapping). uPlot draws on a canvas, so it is measured here. */
  function axisLabels() {
    if (!plot) return null;
    const over = plot.over.getBoundingClientRect();
    const root = plot.root.querySelector(".u-wrap").getBoundingClientRect();
    const out = { chart: { left: root.left, right: root.right, top: root.top, bottom: root.bottom }, x: [], y: [] };
    (ticks[0] ? ticks[0].splits : []).forEach((v, i) => {
      const text = ticks[0].labels[i];
      if (text == null) return;
      const x = over.left + plot.valToPos(v, "x"), w = textWidth(text);
      out.x.push({ text: text, left: x - w / 2, right: x + w / 2 });
    });
    (ticks[1] ? ticks[1].splits : []).forEach((v, i) => {
      const text = ticks[1].labels[i];
      if (text == null) return;
      const y = over.top + plot.valToPos(v, "y"), w = textWidth(text);
      out.y.push({ text: text, left: over.left - 8 - w, right: over.left - 8, top: y - 7, bottom: y + 7 });
    });
    return out;
  }

  function setSeries(r) {
    counts.clear();
    r.counts.forEach((c, i) => { if (Object.keys(c).length) counts.set(r.start + i, c); });
  }
  function addCounts(second, c) { counts.set(second, c); for (const s of counts.keys()) if (s < second - WINDOW) counts.delete(s); }
  new ResizeObserver(debounce(() => { if (plot) plot.setSize({ width: chartBox.clientWidth, height: CHART_HEIGHT }); }, 100)).observe(chartBox);

  // ---- live connection -----------------------------------------------------------
  const socket = Bus.connect({
    snapshot(snap) {
      bufferSize = snap.buffer;
      applyOverview(snap.overview);
      setSeries(snap.rates);
      seriesNames = [];  // a new server (or a reconnect) draws its chart afresh
      buildChart();
      pending = [];
      reset(snap.events);
    },
    batch(batch) {
      noteDropped(batch.dropped);
      if (batch.stats) {
        const st = batch.stats;
        if (st.rates) setSeries(st.rates);  // a replay: the counts on the recorded clock, whole
        else addCounts(st.second, st.counts);
        document.getElementById("rate").textContent = Object.values(st.counts).reduce((a, b) => a + b, 0);
        document.getElementById("total").textContent = st.total;
        document.getElementById("clients").textContent = st.clients;
        uptimeBase = st.uptime; uptimeAt = Date.now();
        if (st.replay) uptimeEl.textContent = fmtDuration(uptimeBase);  // the recorded clock
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
  // A replay jumped (a seek, a loop): the list, the cards and the chart are fetched again, so
  // the page shows what a page opened at the new position shows.
  document.addEventListener("bussdcc:replay-jump", (e) => {
    replayNow = e.detail.position_ts;
    applyFilter();
    Bus.api("/api/overview").then(applyOverview).catch(() => {});
    Bus.api("/api/stats").then((st) => { setSeries(st.rates); buildChart(); }).catch(() => {});
  });
  window.BusDashboard = {
    socket, received: () => received, axisLabels, seriesNames: () => seriesNames.slice(), chartData,
  };
})();
