/* State page: the runtime's state tree, kept live from snapshot + changes. */
"use strict";
(function () {
  const { el, debounce, fmtTime, fmtDateTime, isIsoTime } = Bus;
  const treeBox = document.getElementById("tree");
  const info = document.getElementById("state-info");
  const emptyBox = document.getElementById("state-empty");
  const search = document.getElementById("state-search");
  let flat = {};                      // path -> value
  let truncated = false;
  const open = new Set([""]);         // which branches are expanded (survives re-renders)
  let changed = new Set();
  let firstRender = true;
  let updated = null;                 // when the last change arrived

  function nest(entries) {
    const root = {};
    for (const [path, value] of entries) {
      const keys = path.split(".");
      let node = root;
      keys.forEach((k, i) => {
        if (i === keys.length - 1) { node[k] = { __leaf: true, value: value, path: path }; }
        else { if (!node[k] || node[k].__leaf) node[k] = {}; node = node[k]; }
      });
    }
    return root;
  }

  function valueNode(value) {
    // A time stamp (ISO 8601 text, as records and the codec write them) is shown in the
    // page's one time format, local time; the exact value is in its tooltip.
    if (isIsoTime(value)) return el("time", { class: "val time", datetime: value, title: value, text: fmtDateTime(value) });
    const kind = typeof value === "string" ? "str" : (typeof value === "number" ? "num" : "");
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value, null, value && typeof value === "object" ? 2 : 0);
    return el("span", { class: "val " + kind, text: text === undefined ? String(value) : text });
  }

  function count(node) { let n = 0; for (const v of Object.values(node)) n += v.__leaf ? 1 : count(v); return n; }

  function render(node, prefix, container, forceOpen) {
    for (const key of Object.keys(node).sort()) {
      const child = node[key];
      const path = prefix ? prefix + "." + key : key;
      if (child.__leaf) {
        const leaf = el("div", { class: "leaf" + (changed.has(path) ? " changed" : ""), dataset: { path: path } },
          el("span", { class: "key", text: key }), valueNode(child.value));
        container.appendChild(leaf);
      } else {
        const details = el("details", { dataset: { path: path } });
        if (forceOpen || open.has(path) || (firstRender && path.split(".").length <= 2)) { details.open = true; open.add(path); }
        details.addEventListener("toggle", () => { if (details.open) open.add(path); else open.delete(path); });
        details.appendChild(el("summary", {}, key, el("span", { class: "count", text: count(child) + "" })));
        render(child, path, details, forceOpen);
        container.appendChild(details);
      }
    }
  }

  function draw() {
    const q = search.value.trim().toLowerCase();
    let entries = Object.entries(flat);
    if (q) entries = entries.filter(([p, v]) => p.toLowerCase().includes(q) || JSON.stringify(v).toLowerCase().includes(q));
    const frag = document.createDocumentFragment();
    render(nest(entries), "", frag, Boolean(q));
    treeBox.replaceChildren(frag);
    firstRender = false;
    const total = Object.keys(flat).length;
    emptyBox.hidden = total > 0;
    info.textContent = total + " values" + (truncated ? " (cut: the state is larger than shown)" : "") + (q ? " · " + entries.length + " match" : "") +
      (updated ? " · updated " + fmtTime(updated) : "");
    changed = new Set();
  }

  search.addEventListener("input", debounce(draw, 150));
  document.getElementById("state-tools").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("state-expand").addEventListener("click", () => { treeBox.querySelectorAll("details").forEach((d) => { d.open = true; }); });
  document.getElementById("state-collapse").addEventListener("click", () => { treeBox.querySelectorAll("details").forEach((d) => { d.open = false; }); open.clear(); });

  Bus.connect({
    snapshot(snap) { flat = snap.state || {}; truncated = snap.state_truncated; updated = new Date(); draw(); },
    batch(batch) {
      if (!batch.state) return;
      updated = new Date();
      for (const p of batch.state.removed) delete flat[p];
      for (const [p, v] of Object.entries(batch.state.changes)) { flat[p] = v; changed.add(p); }
      draw();
    },
  }, { types: ["-*"] });
})();
