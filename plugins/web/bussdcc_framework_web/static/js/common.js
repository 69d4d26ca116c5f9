/* Shared by every page: the access token, API calls, the live connection, safe DOM building,
 * the one time format, type colours and the banners under the top bar.
 * Event data is only ever put into the page with textContent, never as HTML.
 *
 * Served at the stable URL /_bussdcc/static/js/common.js and loaded by
 * bussdcc_web/base.html. Plugin pages use it through `window.bussdcc` (docs/web.md,
 * "Pages for plugins"):
 *   bussdcc.api(path, {method, json, headers})  fetch with the bearer token; resolves to the
 *                                               parsed JSON, rejects with bussdcc.ApiError
 *                                               (.status, .body) on a non-2xx answer
 *   bussdcc.token()                             the access token of this tab, or null
 *   bussdcc.connect(handlers, filter)           the live Socket.IO connection; it reconnects by
 *                                               itself, and handlers.snapshot runs again then
 *   bussdcc.el(tag, attrs, ...children)         build DOM nodes safely (text, never HTML)
 *   bussdcc.fmtTime(t) / fmtDateTime(t)         "17:12:40.777" / "2026-11-30 17:12:40.777", local
 *                                               time; t: seconds since the epoch, Date or ISO text
 *   bussdcc.typeColor(name)                     the colour of a message type, from its name
 *   bussdcc.banner(id, {kind, text, nodes})     show a banner under the top bar (null: remove)
 *   bussdcc.replaying()                         true while the runtime replays a recording; the
 *                                               page then also gets the DOM events
 *                                               "bussdcc:replay-status" and "bussdcc:replay-jump"
 *                                               (js/replay.js) and [data-acts] controls are off */
"use strict";
(function () {
  const KEY = "bussdcc.token";

  // A token arriving in the address (?token=..., as printed at start-up) moves to
  // sessionStorage and leaves the address bar, history and any copied link.
  const here = new URL(window.location.href);
  if (here.searchParams.has("token")) {
    sessionStorage.setItem(KEY, here.searchParams.get("token"));
    here.searchParams.delete("token");
    history.replaceState(history.state, "", here.pathname + here.search + here.hash);
  }
  const token = () => sessionStorage.getItem(KEY);

  // Page navigations cannot carry a header: add the token to the link when one is clicked.
  document.addEventListener("click", (e) => {
    const a = e.target.closest ? e.target.closest("a[data-nav]") : null;
    const t = token();
    if (!a || !t || e.defaultPrevented || e.button !== 0) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    url.searchParams.set("token", t);
    e.preventDefault();
    window.location.assign(url.toString());
  });

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || ("HTTP " + status));
      this.status = status;
      this.body = body || {};
    }
  }

  // True while the runtime replays a recording (the page was served with the replay bar):
  // controls marked data-acts stay disabled then (js/replay.js).
  const replaying = () => document.body.dataset.replay === "1";

  async function api(path, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
    const t = token();
    if (t) headers["Authorization"] = "Bearer " + t;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    opts.headers = headers;
    const response = await fetch(path, opts);
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  // ---- banners under the top bar (the connection banner; a replay banner later) ----------
  function banner(id, options) {
    const box = document.getElementById("banners");
    let node = document.getElementById(id);
    if (!options) { if (node) node.remove(); return null; }
    if (!box) return null;
    if (!node) { node = el("div", { id: id, role: "status" }); box.appendChild(node); }
    node.className = "banner banner-" + (options.kind || "info");
    node.replaceChildren(...(options.nodes || [options.text || ""]));
    return node;
  }

  // ---- the connection: the pill, the offline banner, stale data greyed out -------------
  // body[data-conn] is "connecting" until connected, then "live" or "offline"; app.css greys
  // the page out while offline. lastLive: when data last arrived. Pages may listen to the
  // "bussdcc:connection" event (detail.state) to stop clocks while offline.
  let lastLive = null, everLive = false;
  const conn = () => document.getElementById("conn");
  function setConn(state, text) {
    document.body.dataset.conn = state;
    const pill = conn();
    if (pill) {
      pill.dataset.state = state;
      pill.querySelector(".conn-text").textContent = text || state;
    }
    if (state === "live") { everLive = true; lastLive = new Date(); banner("offline-banner", null); }
    document.dispatchEvent(new CustomEvent("bussdcc:connection", { detail: { state: state, text: text || state } }));
  }
  function showOffline(why, refused) {
    setConn("offline", refused ? "refused" : "offline");
    const since = lastLive ? " Everything below is from " + fmtTime(lastLive) + " and may be out of date." : "";
    const text = refused
      ? "The server refused this page: " + why + "."
      : (everLive ? "The server is not answering." : "Cannot reach the server.") + since +
        " Reconnecting by itself" + (why ? " (" + why + ")" : "") + "…";
    banner("offline-banner", { kind: "offline", text: text });
  }

  // One Socket.IO connection per page. WebSocket first; long-polling only as a fallback.
  // The snapshot and each batch are acknowledged after they are handled: that is the server's
  // flow control (a page that stops acknowledging is disconnected after web.stall_timeout).
  // The client library retries by itself after a lost connection, but not after the server
  // closed it (a shutdown, or a client dropped for being slow): then this retries, with backoff.
  function connect(handlers, filter) {
    const auth = Object.assign({}, filter || {});
    if (token()) auth.token = token();
    const socket = io({ transports: ["websocket", "polling"], auth: auth, reconnectionDelayMax: 5000 });
    let retry = null, delay = 500, refused = false;
    function retryLater() {
      if (refused || retry || socket.connected || socket.active) return;
      retry = setTimeout(() => { retry = null; if (!socket.connected) socket.connect(); }, delay);
      delay = Math.min(delay * 2, 5000);
    }
    socket.on("connect", () => { delay = 500; setConn("live", replaying() ? "replay" : "live"); });
    socket.on("disconnect", (reason) => {
      if (reason === "io client disconnect") { setConn("offline", "closed"); return; }
      showOffline(reason === "io server disconnect" ? "the server closed the connection" : "connection lost");
      retryLater();
    });
    socket.on("connect_error", (err) => {
      const msg = (err && err.message) || "offline";
      if (/token|Host/.test(msg)) { refused = true; socket.disconnect(); showOffline(msg, true); return; }
      showOffline(/error/.test(msg) ? "" : msg);
      retryLater();
    });
    socket.on("bye", (m) => showOffline((m && m.reason) || "disconnected"));
    socket.on("snapshot", (snap, ack) => {
      lastLive = new Date();
      try { if (handlers.snapshot) handlers.snapshot(snap); }
      finally { if (typeof ack === "function") ack(true); }
    });
    socket.on("batch", (batch, ack) => {
      lastLive = new Date();
      if (batch.stats && batch.stats.replay) {
        document.dispatchEvent(new CustomEvent("bussdcc:replay", { detail: batch.stats.replay }));
      }
      try { handlers.batch && handlers.batch(batch); }
      finally { if (typeof ack === "function") ack(true); }
    });
    return socket;
  }

  // ---- the navigation menu on narrow screens -------------------------------------------
  document.addEventListener("click", (e) => {
    const toggle = e.target.closest ? e.target.closest("#nav-toggle") : null;
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("nav-open", open);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !document.body.classList.contains("nav-open")) return;
    document.body.classList.remove("nav-open");
    const toggle = document.getElementById("nav-toggle");
    if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
  });

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  // ---- one time format for every page: local time, 24 h, milliseconds where useful -------
  // The same shape as the console's human format: "2026-11-30 17:12:40.777".
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;
  function toDate(t) {
    if (t instanceof Date) return t;
    return typeof t === "number" ? new Date(t * 1000) : new Date(t);
  }
  function fmtTime(t, options) {
    const d = toDate(t);
    const text = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    return options && options.ms === false ? text : text + "." + pad(d.getMilliseconds(), 3);
  }
  function fmtDate(t) {
    const d = toDate(t);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function fmtDateTime(t, options) { return fmtDate(t) + " " + fmtTime(t, options); }
  const isIsoTime = (value) => typeof value === "string" && ISO_TIME.test(value) && !isNaN(Date.parse(value));

  // ---- a colour per message type, derived from its name: the same on every reload -------
  function typeColor(name, alpha) {
    let h = 0x811c9dc5;  // FNV-1a over the name
    for (let i = 0; i < name.length; i++) { h ^= name.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    const hue = h % 360, sat = 55 + ((h >>> 9) % 25);
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    const light = (dark ? 60 : 40) + ((h >>> 17) % 10);
    return "hsl(" + hue + " " + sat + "% " + light + "%" + (alpha !== undefined ? " / " + alpha : "") + ")";
  }
  function fmtDuration(seconds) {
    let s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return d + "d " + h + "h " + pad(m) + "m";
    if (h) return h + "h " + pad(m) + "m " + pad(s) + "s";
    if (m) return m + "m " + pad(s) + "s";
    return s + "s";
  }
  function short(value, limit) {
    let text = typeof value === "string" ? value : JSON.stringify(value);
    if (text === undefined) text = String(value);
    return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
  }
  function debounce(fn, ms) {
    let t = null;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  window.Bus = {
    api, ApiError, connect, el, fmtTime, fmtDate, fmtDateTime, isIsoTime, fmtDuration, short, debounce,
    token, setConn, typeColor, banner, replaying,
  };
  window.bussdcc = window.Bus;  // the documented name for plugin pages
})();
