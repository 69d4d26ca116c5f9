/* The access-token gate: re-send a token kept in sessionStorage, or ask for one. */
"use strict";
(function () {
  const KEY = "bussdcc.token";
  const url = new URL(window.location.href);
  const stored = sessionStorage.getItem(KEY);
  if (url.searchParams.has("token")) {
    // The token in the address was refused: forget it and ask.
    sessionStorage.removeItem(KEY);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    document.getElementById("gate-error").hidden = false;
  } else if (stored) {
    url.searchParams.set("token", stored);
    window.location.replace(url.toString());
    return;
  }
  document.getElementById("gate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = document.getElementById("gate-token").value.trim();
    if (!value) return;
    const next = new URL(window.location.href);
    next.searchParams.set("token", value);
    window.location.replace(next.toString());
  });
})();
