/* Shared by every page: the access token, API calls, the live connection, safe DOM building.
 * Event data is only ever put into the page with textContent, never as HTML.
 *
 * Served at the stable URL /_bussdcc/static/js/common.js and loaded by
 * bussdcc_web/base.html. Plugin pages use it through `window.bussdcc` (docs/web.md,
 * "Pages for plugins"):
 *   bussdcc.api(path, {method, json, headers})  fetch with the bearer token; resolves to the
 *                                               parsed JSON, rejects with bussdcc.ApiError
 *                                               (.status, .body) on a non-2xx answer
 *   bussdcc.token()                             the access token of this tab, or null
 *   bussdcc.connect(handlers, filter)           the live Socket.IO connection
 *   bussdcc.el(tag, attrs, ...children)         build DOM nodes safely (text, never HTML) */
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

  const conn = () => document.getElementById("conn");
  function setConn(state, text) {
    const el = conn();
    if (!el) return;
    el.dataset.state = state;
    el.querySelector(".conn-text").textContent = text || state;
  }

  // One Socket.IO connection per page. WebSocket first; long-polling only as a fallback.
  // The snapshot and each batch are acknowledged after they are handled: that is the server's
  // flow control (a page that stops acknowledging is disconnected after web.stall_timeout).
  function connect(handlers, filter) {
    const auth = Object.assign({}, filter || {});
    if (token()) auth.token = token();
    const socket = io({ transports: ["websocket", "polling"], auth: auth, reconnectionDelayMax: 5000 });
    socket.on("connect", () => setConn("live", "live"));
    socket.on("disconnect", (reason) => setConn("offline", reason === "io client disconnect" ? "closed" : "reconnecting"));
    socket.on("connect_error", (err) => {
      const msg = (err && err.message) || "offline";
      setConn("offline", msg);
      if (/token/.test(msg)) { socket.disconnect(); }
    });
    socket.on("bye", (m) => setConn("offline", (m && m.reason) || "disconnected"));
    socket.on("snapshot", (snap, ack) => {
      try { handlers.snapshot && handlers.snapshot(snap); }
      finally { if (typeof ack === "function") ack(true); }
    });
    socket.on("batch", (batch, ack) => {
      try { handlers.batch && handlers.batch(batch); }
      finally { if (typeof ack === "function") ack(true); }
    });
    return socket;
  }

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

  const pad = (n, w) => String(n).padStart(w || 2, "0");
  function fmtTime(ts) {
    const d = new Date(ts * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
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

  window.Bus = { api, ApiError, connect, el, fmtTime, fmtDuration, short, debounce, token, setConn };
  window.bussdcc = window.Bus;  // the documented name for plugin pages
})();
