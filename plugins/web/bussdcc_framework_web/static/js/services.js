/* Services page: start/stop controls; statuses follow Service* events live. */
"use strict";
(function () {
  const { api, debounce } = Bus;
  const table = document.getElementById("services");
  const errorBox = document.getElementById("svc-error");
  if (!table) { Bus.connect({}, { types: ["-*"] }); return; }

  function apply(s) {
    const tr = table.querySelector('tr[data-service="' + CSS.escape(s.name) + '"]');
    if (!tr) return;
    const badge = tr.querySelector('[data-field="status"]');
    badge.textContent = s.status;
    badge.className = "badge status-" + s.status;
    tr.querySelector('[data-action="start"]').disabled = s.running;
    tr.querySelector('[data-action="stop"]').disabled = !s.running;
  }

  async function refresh() {
    try { (await api("/api/services")).services.forEach(apply); } catch (_) { /* the pill shows why */ }
  }
  const refreshSoon = debounce(refresh, 150);

  table.addEventListener("click", async (e) => {
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
  }, { types: ["bussdcc.message.service:*"] });
  setInterval(refresh, 10000);
})();
