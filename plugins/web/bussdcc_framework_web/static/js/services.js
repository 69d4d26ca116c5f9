/* Services page: services (with start/stop), processes and interfaces, each with its status;
 * statuses follow the kernel's Service*, Process* and Interface* events live. */
"use strict";
(function () {
  const { api, debounce } = Bus;
  const table = document.getElementById("services");
  const errorBox = document.getElementById("svc-error");

  function apply(s) {
    if (!table) return;
    const tr = table.querySelector('tr[data-service="' + CSS.escape(s.name) + '"]');
    if (!tr) return;
    const badge = tr.querySelector('[data-field="status"]');
    badge.textContent = s.status;
    badge.className = "badge status-" + s.status;
    // During a replay the buttons stay off (data-acts): services act on the outside world.
    tr.querySelector('[data-action="start"]').disabled = s.running || Bus.replaying();
    tr.querySelector('[data-action="stop"]').disabled = !s.running || Bus.replaying();
  }

  function applyComponent(kind, c) {
    const box = document.getElementById(kind);
    const tr = box && box.querySelector('tr[data-component="' + CSS.escape(c.name) + '"]');
    if (!tr) return;
    const badge = tr.querySelector('[data-field="status"]');
    badge.textContent = c.status;
    badge.className = "badge status-" + c.status;
  }

  async function refresh() {
    try {
      const answer = await api("/api/services");
      answer.services.forEach(apply);
      for (const kind of ["processes", "interfaces"]) (answer[kind] || []).forEach((c) => applyComponent(kind, c));
    } catch (_) { /* the connection banner shows why */ }
  }
  const refreshSoon = debounce(refresh, 150);

  if (table) table.addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-action]");
    if (!btn) return;
    const name = btn.closest("tr").dataset.service;
    const action = btn.dataset.action;
    btn.disabled = true;
    errorBox.hidden = true;
    try {
      const answer = await api("/api/services/" + encodeURIComponent(name) + "/" + action, { method: "POST" });
      apply(answer.service);
    } catch (err) {
      errorBox.textContent = "Could not " + action + " " + name + ": " + err.message;
      errorBox.hidden = false;
      refresh();
    }
  });

  Bus.connect({
    snapshot() { refresh(); },
    batch(batch) { if ((batch.events || []).length) refreshSoon(); },
  }, { types: ["bussdcc.message.service:*", "bussdcc.message.process:*", "bussdcc.message.interface:*"] });
  setInterval(refresh, 10000);
})();
