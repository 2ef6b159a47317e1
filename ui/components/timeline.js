/* MPR timeline: playhead, scrubbing, in/out handle drags and editor keys, all in the browser.
 *
 * Python cannot seek a <video> (reflex issue 1187) and a round trip per mouse move would lag,
 * so the playhead and drags live here. Values reach the Reflex state only on release (and on
 * I / O), through the hidden #tl-bridge input whose on_change the EditorState listens to.
 * DOM contract (ui/components/timeline.py): #player <video>, #timeline[data-duration][data-fps],
 * #tl-track, #tl-in, #tl-out, #tl-selection, #tl-shade-in, #tl-shade-out, #tl-playhead,
 * #tl-time, #tl-frame, #in-point, #out-point, #tl-bridge.
 */
(function () {
  if (window.mprTimeline) return;
  const $ = (id) => document.getElementById(id);
  let seq = 0;
  let drag = null; // {kind: 'in'|'out'|'head', pointerId}
  let shuttle = null; // reverse-play interval (J)
  let rafId = 0;

  function meta() {
    const tl = $("timeline");
    if (!tl) return null;
    const duration = parseFloat(tl.dataset.duration || "0");
    const fps = parseFloat(tl.dataset.fps || "0");
    const inS = parseFloat(tl.dataset.in || "0");
    const outS = parseFloat(tl.dataset.out || String(duration));
    return { tl, duration, fps, inS, outS };
  }
  function video() { return $("player"); }
  function snap(t, fps) {
    if (!fps || fps <= 0) return Math.round(t * 1000) / 1000;
    return Math.round(Math.round(t * fps) / fps * 1e6) / 1e6;
  }
  function frame(fps) { return fps > 0 ? 1 / fps : 0.04; }
  function tc(t) {
    if (!isFinite(t) || t < 0) t = 0;
    let ms = Math.round(t * 1000);
    const h = Math.floor(ms / 3600000); ms -= h * 3600000;
    const m = Math.floor(ms / 60000); ms -= m * 60000;
    const s = Math.floor(ms / 1000); ms -= s * 1000;
    const p = (n, w) => String(n).padStart(w, "0");
    return `${p(h, 2)}:${p(m, 2)}:${p(s, 2)}.${p(ms, 3)}`;
  }
  function pct(t, d) { return d > 0 ? Math.min(Math.max(t / d, 0), 1) * 100 : 0; }

  /* ---------------------------------------------------------------- painting */
  function paintHead() {
    const m = meta(); const v = video();
    if (!m || !v) return;
    const t = v.currentTime || 0;
    const head = $("tl-playhead");
    if (head) head.style.left = pct(t, m.duration) + "%";
    const label = $("tl-time");
    if (label) label.textContent = tc(t);
    const fr = $("tl-frame");
    if (fr) fr.textContent = m.fps > 0 ? "frame " + Math.round(t * m.fps) : "";
  }
  function paintSelection(inS, outS) {
    const m = meta();
    if (!m) return;
    const a = pct(inS, m.duration), b = pct(outS, m.duration);
    const set = (id, left, width) => {
      const el = $(id);
      if (!el) return;
      if (left !== null) el.style.left = left + "%";
      if (width !== null) el.style.width = width + "%";
    };
    set("tl-in", a, null); set("tl-out", b, null);
    set("tl-selection", a, Math.max(b - a, 0));
    set("tl-shade-in", 0, a); set("tl-shade-out", b, 100 - b);
    const inField = $("in-point"), outField = $("out-point");
    if (drag && drag.kind === "in" && inField) inField.value = tc(inS);
    if (drag && drag.kind === "out" && outField) outField.value = tc(outS);
  }
  /* A drag paints inline styles, which outrank the positions React renders (emotion classes).
   * Once React has rendered new in/out values (the #timeline data attributes change), drop them. */
  const PAINTED = ["tl-in", "tl-out", "tl-selection", "tl-shade-in", "tl-shade-out"];
  function clearPaint() {
    if (drag) return;
    PAINTED.forEach((id) => { const el = $(id); if (el) { el.style.left = ""; el.style.width = ""; } });
  }
  new MutationObserver((records) => {
    if (records.some((r) => r.target.id === "timeline")) clearPaint();
  }).observe(document.documentElement, { subtree: true, attributes: true,
    attributeFilter: ["data-in", "data-out", "data-duration"] });

  function loop() {
    paintHead();
    const v = video();
    rafId = v && !v.paused ? requestAnimationFrame(loop) : 0;
  }
  function kick() { if (!rafId) rafId = requestAnimationFrame(loop); }

  /* ---------------------------------------------------------------- commits */
  function commit(data) {
    const bridge = $("tl-bridge");
    if (!bridge) return;
    data.seq = ++seq;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(bridge, JSON.stringify(data));
    bridge.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function setPoint(edge) {
    const m = meta(); const v = video();
    if (!m || !v || !(m.duration > 0)) return;
    const t = snap(Math.min(v.currentTime || 0, m.duration), m.fps);
    const inS = edge === "in" ? t : m.inS, outS = edge === "out" ? t : m.outS;
    paintSelection(inS, outS);
    commit(edge === "in" ? { edge, in: t } : { edge, out: t });
  }

  /* ---------------------------------------------------------------- transport */
  function stopShuttle() { if (shuttle) { clearInterval(shuttle); shuttle = null; } }
  function seek(t) {
    const m = meta(); const v = video();
    if (!v || !m) return;
    v.currentTime = Math.min(Math.max(t, 0), m.duration || v.duration || 0);
    paintHead();
  }
  function toggle() {
    const v = video(); if (!v) return;
    stopShuttle();
    if (v.paused) { v.playbackRate = 1; v.play().catch(() => {}); } else { v.pause(); }
  }
  function step(frames) {
    const m = meta(); const v = video(); if (!m || !v) return;
    stopShuttle(); v.pause();
    const f = frame(m.fps);
    const current = snap(v.currentTime || 0, m.fps);
    seek(snap(current + frames * f, m.fps));
  }
  function forward() { // L: play, faster on repeat
    const v = video(); if (!v) return;
    stopShuttle();
    if (v.paused) { v.playbackRate = 1; v.play().catch(() => {}); }
    else { v.playbackRate = Math.min(v.playbackRate * 2, 8); }
  }
  function backward() { // J: reverse shuttle, faster on repeat
    const v = video(); if (!v) return;
    const rate = shuttle ? Math.min((shuttle.rate || 1) * 2, 8) : 1;
    stopShuttle(); v.pause();
    const tick = 50;
    shuttle = setInterval(() => {
      const nv = video();
      if (!nv || nv.currentTime <= 0) { stopShuttle(); return; }
      nv.currentTime = Math.max(nv.currentTime - rate * tick / 1000, 0);
      paintHead();
    }, tick);
    shuttle.rate = rate;
  }
  function pause() { const v = video(); stopShuttle(); if (v) v.pause(); }

  /* ---------------------------------------------------------------- pointer */
  function timeAt(clientX) {
    const m = meta(); const track = $("tl-track");
    if (!m || !track) return 0;
    const r = track.getBoundingClientRect();
    const x = Math.min(Math.max(clientX - r.left, 0), r.width);
    return snap(r.width > 0 ? x / r.width * m.duration : 0, m.fps);
  }
  function onDown(e) {
    const m = meta();
    if (!m || !(m.duration > 0) || e.button !== 0) return;
    const handle = e.target.closest && e.target.closest("#tl-in, #tl-out");
    const track = e.target.closest && e.target.closest("#tl-track");
    if (!handle && !track) return;
    e.preventDefault();
    stopShuttle();
    const kind = handle ? (handle.id === "tl-in" ? "in" : "out") : "head";
    drag = { kind, pointerId: e.pointerId, inS: m.inS, outS: m.outS, wasPlaying: false };
    const v = video();
    if (v && !v.paused) { drag.wasPlaying = true; v.pause(); }
    (handle || track).setPointerCapture && (handle || track).setPointerCapture(e.pointerId);
    document.body.style.cursor = "ew-resize";
    onMove(e);
  }
  function onMove(e) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    const m = meta(); if (!m) return;
    const f = frame(m.fps);
    let t = timeAt(e.clientX);
    if (drag.kind === "in") {
      t = Math.min(t, snap(drag.outS - f, m.fps)); t = Math.max(t, 0);
      drag.inS = t; paintSelection(drag.inS, drag.outS); seek(t);
    } else if (drag.kind === "out") {
      t = Math.max(t, snap(drag.inS + f, m.fps)); t = Math.min(t, m.duration);
      drag.outS = t; paintSelection(drag.inS, drag.outS); seek(t);
    } else {
      seek(t);
    }
  }
  function onUp(e) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    const d = drag; drag = null;
    document.body.style.cursor = "";
    if (d.kind === "in") commit({ edge: "in", in: d.inS });
    else if (d.kind === "out") commit({ edge: "out", out: d.outS });
    const v = video();
    if (d.wasPlaying && v) v.play().catch(() => {});
  }

  /* ---------------------------------------------------------------- keys */
  function typing(el) {
    if (!el) return false;
    const tag = (el.tagName || "").toLowerCase();
    const role = el.getAttribute ? el.getAttribute("role") : null;
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable ||
      ["combobox", "radio", "option", "menuitem", "slider", "tab", "checkbox"].includes(role);
  }
  function onKey(e) {
    const t = e.target;
    if ((t && (t.id === "in-point" || t.id === "out-point")) && e.key === "Enter") {
      e.preventDefault(); t.blur(); return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(t)) return;
    if (document.querySelector("[role=dialog], [role=alertdialog], [role=listbox]")) return;
    const m = meta(); if (!m || !video()) return;
    const k = e.key;
    const handled = {
      " ": toggle, "k": pause, "K": pause, "l": forward, "L": forward, "j": backward, "J": backward,
      "ArrowLeft": () => step(e.shiftKey ? -10 : -1), "ArrowRight": () => step(e.shiftKey ? 10 : 1),
      "i": () => setPoint("in"), "I": () => setPoint("in"), "o": () => setPoint("out"), "O": () => setPoint("out"),
      "Home": () => seek(m.inS), "End": () => seek(m.outS),
    }[k];
    if (!handled) return;
    e.preventDefault();
    if (t && t.blur && t !== document.body && (t.tagName || "").toLowerCase() === "button") t.blur();
    handled();
  }

  /* ---------------------------------------------------------------- wiring */
  function onMedia(e) {
    if (!e.target || e.target.id !== "player") return;
    if (e.type === "play" || e.type === "playing") kick();
    paintHead();
  }
  ["play", "playing", "pause", "seeked", "timeupdate", "loadedmetadata", "emptied"].forEach((type) =>
    document.addEventListener(type, onMedia, true));
  document.addEventListener("pointerdown", onDown, true);
  document.addEventListener("pointermove", onMove, true);
  document.addEventListener("pointerup", onUp, true);
  document.addEventListener("pointercancel", onUp, true);
  document.addEventListener("keydown", onKey);

  window.mprTimeline = { toggle, step, forward, backward, pause, seek, setPoint, tc, snap,
    paint: paintHead, state: () => ({ drag, meta: meta() }) };
})();
