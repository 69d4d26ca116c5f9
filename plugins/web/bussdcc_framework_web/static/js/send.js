/* Send page: a form generated from the message dataclass' fields, or raw JSON. */
"use strict";
(function () {
  const { api, el } = Bus;
  const typeSelect = document.getElementById("msg-type");
  const typeDoc = document.getElementById("type-doc");
  const fieldsBox = document.getElementById("fields");
  const jsonField = document.getElementById("json-field");
  const jsonData = document.getElementById("json-data");
  const result = document.getElementById("send-result");
  const form = document.getElementById("send-form");
  let types = [], current = null, mode = "form";

  function errorSlot(name) { return form.querySelector('[data-error-for="' + CSS.escape(name) + '"]'); }
  function clearErrors() {
    form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
    form.querySelectorAll(".field.invalid").forEach((f) => f.classList.remove("invalid"));
  }
  function showError(name, text) {
    const slot = errorSlot(name) || errorSlot("_");
    slot.textContent = text;
    const field = slot.closest(".field");
    if (field) field.classList.add("invalid");
  }

  function input(f) {
    const id = "f-" + f.name;
    const common = { id: id, name: f.name, "data-kind": f.kind };
    if (f.kind === "boolean") {
      const box = el("input", Object.assign({ type: "checkbox" }, common));
      box.checked = Boolean(f.default);
      return box;
    }
    if (f.kind === "choice") {
      const sel = el("select", common);
      if (f.nullable || !f.required) sel.appendChild(el("option", { value: "", text: f.required ? "— choose —" : "(default)" }));
      f.choices.forEach((c) => {
        const opt = el("option", { value: JSON.stringify(c), text: String(c) });
        if (f.default !== null && JSON.stringify(f.default) === JSON.stringify(c)) opt.selected = true;
        sel.appendChild(opt);
      });
      return sel;
    }
    if (f.kind === "json") {
      const area = el("textarea", Object.assign({ rows: 3, spellcheck: "false", placeholder: "JSON value" }, common));
      area.value = f.default === null || f.default === undefined ? "" : JSON.stringify(f.default);
      return area;
    }
    const attrs = Object.assign({ spellcheck: "false" }, common);
    if (f.kind === "integer") Object.assign(attrs, { type: "number", step: "1", inputmode: "numeric" });
    else if (f.kind === "number") Object.assign(attrs, { type: "number", step: "any", inputmode: "decimal" });
    else if (f.kind === "datetime") Object.assign(attrs, { type: "text", placeholder: "2026-03-09T12:00:00+00:00" });
    else attrs.type = "text";
    const node = el("input", attrs);
    if (f.default !== null && f.default !== undefined) node.value = String(f.default);
    if (!f.required && (f.default === null || f.default === undefined)) node.placeholder = f.nullable ? "empty = null" : "";
    return node;
  }

  function renderFields() {
    fieldsBox.replaceChildren();
    clearErrors();
    result.textContent = "";
    if (!current) { typeDoc.textContent = ""; return; }
    typeDoc.textContent = [current.doc, "severity " + current.severity.toLowerCase()].filter(Boolean).join(" · ");
    if (!current.fields.length) fieldsBox.appendChild(el("p", { class: "muted", text: "This message has no fields." }));
    for (const f of current.fields) {
      const label = el("label", { for: "f-" + f.name }, f.name,
        f.required ? el("span", { class: "req", title: "required", text: "*" }) : null,
        el("span", { class: "type", text: f.type }));
      const control = input(f);
      const wrap = el("div", { class: "field", dataset: { field: f.name } });
      if (f.kind === "boolean") wrap.append(el("label", { class: "check", for: control.id }, control, f.name, el("span", { class: "type", text: f.type })));
      else wrap.append(label, control);
      wrap.append(el("div", { class: "field-error", "data-error-for": f.name }));
      fieldsBox.appendChild(wrap);
    }
    jsonData.value = JSON.stringify(collect(true).data, null, 2);
  }

  // Turn the form into {"data": {...}}; a field left empty takes its default (it is omitted).
  function collect(lenient) {
    const data = {};
    let ok = true;
    for (const f of current ? current.fields : []) {
      const node = document.getElementById("f-" + f.name);
      if (f.kind === "boolean") { data[f.name] = node.checked; continue; }
      const raw = node.value;
      if (raw === "") {
        if (f.required && f.nullable) data[f.name] = null;
        continue;
      }
      if (f.kind === "integer" || f.kind === "number") {
        const n = Number(raw);
        data[f.name] = Number.isFinite(n) ? n : raw;
      } else if (f.kind === "choice") {
        data[f.name] = JSON.parse(raw);
      } else if (f.kind === "json") {
        try { data[f.name] = JSON.parse(raw); }
        catch (err) { if (!lenient) showError(f.name, "not valid JSON: " + err.message); ok = false; }
      } else {
        data[f.name] = raw;
      }
    }
    return { data: data, ok: ok };
  }

  function setMode(next) {
    if (next === mode) return;
    if (next === "json" && current) jsonData.value = JSON.stringify(collect(true).data, null, 2);
    mode = next;
    document.getElementById("mode-form").classList.toggle("active", mode === "form");
    document.getElementById("mode-json").classList.toggle("active", mode === "json");
    document.getElementById("mode-form").setAttribute("aria-selected", String(mode === "form"));
    document.getElementById("mode-json").setAttribute("aria-selected", String(mode === "json"));
    fieldsBox.hidden = mode !== "form";
    jsonField.hidden = mode !== "json";
  }
  document.getElementById("mode-form").addEventListener("click", () => setMode("form"));
  document.getElementById("mode-json").addEventListener("click", () => setMode("json"));

  typeSelect.addEventListener("change", () => {
    current = types.find((t) => t.type === typeSelect.value) || null;
    renderFields();
    const url = new URL(window.location.href);
    if (current) url.searchParams.set("type", current.type); else url.searchParams.delete("type");
    history.replaceState(null, "", url.pathname + url.search);
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    result.className = "result";
    result.textContent = "";
    if (!current) { showError("_", "Choose a message type first."); return; }
    let data;
    if (mode === "json") {
      try { data = JSON.parse(jsonData.value || "{}"); }
      catch (err) { showError("_json", "not valid JSON: " + err.message); return; }
    } else {
      const collected = collect(false);
      if (!collected.ok) return;
      data = collected.data;
    }
    const btn = document.getElementById("send-btn");
    btn.disabled = true;
    try {
      const answer = await api("/api/emit", { method: "POST", json: { type: current.type, data: data } });
      result.className = "result ok";
      result.textContent = "Sent " + current.name + " at " + new Date().toLocaleTimeString() + ".";
      void answer;
    } catch (err) {
      const fields = (err.body && err.body.fields) || null;
      if (fields) {
        for (const [name, text] of Object.entries(fields)) showError(mode === "json" && name !== "_" ? "_json" : name, mode === "json" && name !== "_" ? name + ": " + text : text);
      }
      result.className = "result err";
      result.textContent = "Not sent: " + err.message;
    } finally {
      btn.disabled = Bus.replaying();  // a replay sends nothing (data-acts)
    }
  });

  async function load() {
    try {
      types = (await api("/api/types")).types;
    } catch (err) {
      typeSelect.replaceChildren(el("option", { value: "", text: "Could not load types: " + err.message }));
      return;
    }
    const groups = new Map();
    for (const t of types) { if (!groups.has(t.module)) groups.set(t.module, []); groups.get(t.module).push(t); }
    const app = [...groups.keys()].filter((m) => !m.startsWith("bussdcc.") && !m.startsWith("bussdcc_framework."));
    const builtin = [...groups.keys()].filter((m) => !app.includes(m));
    typeSelect.replaceChildren(el("option", { value: "", text: "— choose a message type —" }));
    for (const module of app.concat(builtin)) {
      const og = el("optgroup", { label: module });
      for (const t of groups.get(module)) og.appendChild(el("option", { value: t.type, text: t.name }));
      typeSelect.appendChild(og);
    }
    const wanted = new URLSearchParams(window.location.search).get("type");
    if (wanted && types.some((t) => t.type === wanted)) { typeSelect.value = wanted; typeSelect.dispatchEvent(new Event("change")); }
  }
  load();
  Bus.connect({}, { types: ["-*"] });
})();
