/* The replay bar, loaded on every page while the runtime replays a recording.
 *
 * It shows the recording's start and end, the recorded time now, the speed and the state;
 * drives the replay through /api/replay (play/pause, step, speed, seek with the scrubber or
 * by clicking a warning/error mark); and disables every control marked data-acts (they would
 * act on the outside world: the send form, services start/stop, an application's buttons).
 *
 * The status arrives with the live connection's stats (common.js dispatches it as the
 * "bussdcc:replay" DOM event). This script dispatches, for the page:
 *   "bussdcc:replay-status"  detail: the status, on every update
 *   "bussdcc:replay-jump"    detail: the status, when the replay jumped (a seek, a loop): what
 *                            the page shows is stale, fetch it again */
"use strict";
(function () {
  const { api, el, fmtDateTime } = Bus;
  const bar = document.getElementById("replay-bar");
  if (!bar) return;
  const $ = (id) => document.getElementById(id);
  const play = $("replay-play"), stepBtn = $("replay-step"), speed = $("replay-speed");
  const scrub = $("replay-scrub"), marksBox = $("replay-marks"), errorBox = $("replay-error");
  let status = null, epoch = null, scrubbing = false, marksSeen = -1, timelineDone = false;
  let timeline = null, loadingTimeline = false, drawnFor = "";

  // ---- controls that would act on the outside world ---------------------------------------
  const WHY = "Disabled during a replay: the recording already happened";
  function disableActs() {
    document.querySelectorAll("[data-acts]").forEach((node) => {
      if (!node.disabled) node.disabled = true;
      node.setAttribute("aria-disabled", "true");
      node.title = WHY;
    });
  }
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; disableActs(); });
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["disabled"] });
  disableActs();

  // ---- showing the status -----------------------------------------------------------------
  function showTime(id, iso, ts) {
    const node = $(id);
    if (!node) return;
    if (ts === null || ts === undefined) { node.textContent = id === "replay-end" ? "…" : "–"; return; }
    node.setAttribute("datetime", iso);
    node.textContent = fmtDateTime(ts);
    node.title = iso;
  }

  function stateOf(s) {
    if (s.seeking) return "seeking";
    if (s.finished) return "finished";
    if (s.stepping) return "stepping";
    return s.paused ? "paused" : "playing";
  }

  const knownEnd = (s) => (timeline && timeline.end_ts) || s.end_ts || null;
  function range(s) {
    const start = s.start_ts, end = knownEnd(s) || s.position_ts;
    return [start, Math.max(end || start, start + 0.001)];
  }

  function apply(s) {
    if (!s || !s.replaying) return;
    const jumped = epoch !== null && s.epoch !== epoch;
    epoch = s.epoch;
    status = s;
    showTime("replay-start", s.start, s.start_ts);
    showTime("replay-end", s.end || (timeline && timeline.end), s.end_ts || (timeline && timeline.end_ts));
    if (!scrubbing) showTime("replay-position", s.position, s.position_ts);
    const state = stateOf(s);
    const label = $("replay-state");
    label.dataset.state = state;
    label.textContent = state === "playing" ? "playing at " + (s.max ? "max speed" : s.speed + "×") : state;
    $("replay-events").textContent = s.events.toLocaleString();
    const moving = !s.paused && !s.finished;
    play.textContent = moving ? "Pause" : "Play";
    play.setAttribute("aria-pressed", String(moving));
    stepBtn.disabled = Boolean(s.finished);
    const wanted = s.max ? "max" : String(s.speed);
    if ([...speed.options].some((o) => o.value === wanted)) speed.value = wanted;
    // Until the end of the recording is known the scrubber would mean nothing: it waits.
    scrub.disabled = !knownEnd(s);
    scrub.title = scrub.disabled ? "Finding the end of the recording…" : "";
    if (!scrubbing && s.start_ts !== null) {
      const [start, end] = range(s);
      scrub.min = String(start);
      scrub.max = String(end);
      scrub.value = String(s.position_ts === null ? start : s.position_ts);
    }
    document.body.dataset.replayState = state;
    const spanNow = range(s).join(" ");
    if (timeline && spanNow !== drawnFor) drawMarks();
    if (s.marks !== marksSeen || (!timelineDone && s.timeline_complete)) loadTimeline();
    document.dispatchEvent(new CustomEvent("bussdcc:replay-status", { detail: s }));
    if (jumped) document.dispatchEvent(new CustomEvent("bussdcc:replay-jump", { detail: s }));
  }
  document.addEventListener("bussdcc:replay", (e) => apply(e.detail));

  // ---- the timeline: warnings and errors to jump to ---------------------------------------
  async function loadTimeline() {
    if (loadingTimeline) return;
    loadingTimeline = true;
    try {
      timeline = await api("/api/replay/timeline");
      marksSeen = timeline.marks.length;
      timelineDone = Boolean(timeline.complete);
      drawMarks();
      if (status) apply(Object.assign({}, status, { epoch: epoch }));
    } catch (_) { /* the connection banner says why */ }
    finally { loadingTimeline = false; }
    if (!timelineDone) setTimeout(loadTimeline, 1500);
  }

  function drawMarks() {
    if (!timeline || !status) return;
    const [start, end] = range(status);
    drawnFor = start + " " + end;
    marksBox.replaceChildren(...timeline.marks.map((m) => {
      const left = Math.min(100, Math.max(0, ((m.ts - start) / (end - start)) * 100));
      const mark = el("button", {
        type: "button", class: "replay-mark sev-" + m.severity,
        title: m.severity + ": " + m.name + " at " + fmtDateTime(m.ts),
        "aria-label": "Go to the " + m.severity + " " + m.name + " at " + fmtDateTime(m.ts),
        dataset: { ts: m.ts, type: m.type, severity: m.severity },
      });
      mark.style.left = left + "%";
      // Just after the mark: the warning or error itself has then happened.
      mark.addEventListener("click", () => command("seek", { to: m.ts + 0.001 }));
      return mark;
    }));
  }

  // ---- commands ------------------------------------------------------------------------
  async function command(action, body) {
    errorBox.hidden = true;
    try {
      apply(await api("/api/replay/" + action, { method: "POST", json: body || {} }));
    } catch (err) {
      errorBox.textContent = "Could not " + action + ": " + err.message;
      errorBox.hidden = false;
    }
  }
  play.addEventListener("click", () => command(status && !status.paused && !status.finished ? "pause" : "resume"));
  stepBtn.addEventListener("click", () => command("step", { count: 1 }));
  speed.addEventListener("change", () => command("speed", { speed: speed.value === "max" ? "max" : Number(speed.value) }));
  scrub.addEventListener("input", () => {
    scrubbing = true;
    const ts = Number(scrub.value);
    showTime("replay-position", new Date(ts * 1000).toISOString(), ts);
  });
  scrub.addEventListener("change", () => {
    scrubbing = false;
    command("seek", { to: Number(scrub.value) });
  });
  window.addEventListener("resize", drawMarks);

  window.BusReplay = { status: () => status, seek: (ts) => command("seek", { to: ts }), command };
  api("/api/replay").then(apply).catch(() => {});
  loadTimeline();
})();
