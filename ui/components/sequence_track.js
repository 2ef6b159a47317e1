/* MPR sequence track: trimming a clip's edges and previewing the sequence across its cuts, in the browser.
 *
 * DOM contract (ui/components/sequence_track.py): #sequence-clips > .sequence-clip#sequence-clip-N
 * [data-start][data-end][data-url][data-fps][data-duration] > .sequence-edge#sequence-trim-(start|end)-N
 * (role=slider), #sequence-playhead, #sequence-trim-label, #sequence-time, #play-sequence,
 * #stop-sequence, #sequence-bridge (its on_change is SequenceState.js_edit), and the editor's #player.
 *
 * Trim: an edge dragged moves by the clip's seconds-per-pixel, snapped to the source's frames, the
 * timecode and frame shown above it; released, it is saved ({trim, edge, value} on the bridge: one
 * undoable edit). Focused, ←/→ move it a frame (Shift: ten), Home/End to its limits; a burst of keys
 * is saved once, 400 ms after the last.
 *
 * Preview: the player plays each clip's range in order; at a clip's end it switches its src to the
 * next clip's source and seeks to that clip's start. A playhead runs over the track. While the preview
 * is on, Space, J/K/L (K held + J/L: a frame), ←/→ (Shift: ten frames) and Home/End act on the
 * sequence, across cuts; Esc or the stop button ends it and puts the open asset back in the player.
 */
(function () {
  if (window.mprSequence) return;
  const $ = (id) => document.getElementById(id);
  let seq = 0;

  function tc(t) {
    if (!isFinite(t) || t < 0) t = 0;
    let ms = Math.round(t * 1000);
    const h = Math.floor(ms / 3600000); ms -= h * 3600000;
    const m = Math.floor(ms / 60000); ms -= m * 60000;
    const s = Math.floor(ms / 1000); ms -= s * 1000;
    const p = (n, w) => String(n).padStart(w, "0");
    return `${p(h, 2)}:${p(m, 2)}:${p(s, 2)}.${p(ms, 3)}`;
  }
  function snap(t, fps) {
    if (!fps || fps <= 0) return Math.round(t * 1000) / 1000;
    return Math.round(Math.round(t * fps) / fps * 1e6) / 1e6;
  }
  function clipEls() { return Array.from(document.querySelectorAll("#sequence-clips .sequence-clip")); }
  function clipData(el) {
    const f = (k) => parseFloat(el.dataset[k] || "0");
    const fps = f("fps");
    return { el, start: f("start"), end: f("end"), fps, frame: fps > 0 ? 1 / fps : 0.04,
      duration: f("duration"), url: el.dataset.url || "" };
  }
  function clips() { return clipEls().map(clipData); }
  function send(payload) {
    const bridge = $("sequence-bridge");
    if (!bridge) return;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(bridge, JSON.stringify({ ...payload, seq: ++seq }));
    bridge.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* ---------------------------------------------------------------- trim */
  let trim = null; // {index, edge, x0, v0, spp, c, value, pointerId, moved}
  const pending = {}; // "index:edge" -> {base, value, timer}: keyed values not saved / rendered yet
  function limits(c, edge) {
    return edge === "start" ? [0, snap(c.end - c.frame, c.fps)]
      : [snap(c.start + c.frame, c.fps), c.duration > 0 ? c.duration : Infinity];
  }
  function clamp(v, [lo, hi]) { return Math.min(Math.max(v, lo), hi); }
  function showLabel(c, edge, value, clientX) {
    const label = $("sequence-trim-label"); const box = $("sequence-clips");
    if (!label || !box) return;
    const r = box.getBoundingClientRect();
    const edgeRect = c.el.getBoundingClientRect();
    const x = clientX !== undefined ? clientX : (edge === "start" ? edgeRect.left : edgeRect.right);
    label.textContent = `${edge === "start" ? "in" : "out"} ${tc(value)} · frame ${c.fps > 0 ? Math.round(value * c.fps) : "?"}`;
    label.style.display = "block";
    label.style.left = Math.min(Math.max(x - r.left - label.offsetWidth / 2, 0), Math.max(r.width - label.offsetWidth, 0)) + "px";
  }
  function hideLabel() { const l = $("sequence-trim-label"); if (l) l.style.display = "none"; }
  function preview(c, edge, value) { // the clip's box shows its new length until the saved one renders
    const len = Math.max((edge === "start" ? c.end - value : value - c.start), 0.001);
    c.el.style.flexGrow = String(len);
    const handle = c.el.querySelector(`.sequence-edge[data-edge=${edge}]`);
    if (handle) { handle.setAttribute("aria-valuenow", String(value)); handle.setAttribute("aria-valuetext", tc(value)); }
  }
  // once React renders the saved clip (its data-start/data-end change), its inline length goes
  new MutationObserver((records) => {
    records.forEach((r) => { if (r.target.classList && r.target.classList.contains("sequence-clip")) r.target.style.flexGrow = ""; });
  }).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ["data-start", "data-end"] });

  function onTrimDown(e) {
    const handle = e.target.closest && e.target.closest(".sequence-edge");
    if (!handle || e.button !== 0) return;
    const el = handle.closest(".sequence-clip"); if (!el) return;
    e.preventDefault(); e.stopPropagation();
    stopPreview(true); // a trim ends the preview: the open asset goes back in the player
    const c = clipData(el); const edge = handle.dataset.edge;
    const width = el.getBoundingClientRect().width || 1;
    el.setAttribute("draggable", "false"); // no HTML5 reorder drag from an edge
    trim = { index: Number(handle.dataset.index), edge, x0: e.clientX, c, v0: edge === "start" ? c.start : c.end,
      spp: (c.end - c.start) / width, pointerId: e.pointerId, moved: false };
    trim.value = trim.v0;
    handle.setPointerCapture && handle.setPointerCapture(e.pointerId);
    document.body.style.cursor = "ew-resize";
    showLabel(c, edge, trim.v0, e.clientX);
  }
  function onTrimMove(e) {
    if (!trim || e.pointerId !== trim.pointerId) return;
    e.preventDefault();
    const { c, edge } = trim;
    const v = clamp(snap(trim.v0 + (e.clientX - trim.x0) * trim.spp, c.fps), limits(c, edge));
    if (Math.abs(e.clientX - trim.x0) > 2) trim.moved = true;
    trim.value = v;
    preview(c, edge, v);
    showLabel(c, edge, v, e.clientX);
  }
  function onTrimUp(e) {
    if (!trim || e.pointerId !== trim.pointerId) return;
    const t = trim; trim = null;
    document.body.style.cursor = "";
    t.c.el.setAttribute("draggable", "true");
    hideLabel();
    if (Math.abs(t.value - t.v0) > 1e-6) {
      send({ trim: t.index, edge: t.edge, value: t.value });
      setTimeout(() => { t.c.el.style.flexGrow = ""; }, 4000); // refused: back to the saved length
    } else {
      t.c.el.style.flexGrow = "";
    }
    swallowClick = true; setTimeout(() => { swallowClick = false; }, 0);
  }
  let swallowClick = false;
  function onTrimKey(e) {
    const handle = e.target.closest && e.target.closest(".sequence-edge");
    if (!handle || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = handle.closest(".sequence-clip"); if (!el) return;
    const c = clipData(el); const edge = handle.dataset.edge; const index = Number(handle.dataset.index);
    const key = index + ":" + edge;
    const saved = edge === "start" ? c.start : c.end;
    let p = pending[key];
    if (p && Math.abs(p.base - saved) > 1e-6) { clearTimeout(p.timer); delete pending[key]; p = null; } // rendered
    const now = p ? p.value : saved;
    if (p) { // the other edge's limit comes from the pending value too
      if (edge === "start") c.start = now; else c.end = now;
    }
    const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowDown: -1, ArrowUp: 1 }[e.key];
    const lim = limits(c, edge);
    let v;
    if (steps !== undefined) v = now + steps * (e.shiftKey ? 10 : 1) * c.frame;
    else if (e.key === "Home") v = lim[0];
    else if (e.key === "End") v = isFinite(lim[1]) ? lim[1] : now;
    else return;
    e.preventDefault(); e.stopPropagation();
    v = clamp(snap(v, c.fps), lim);
    const entry = pending[key] || { base: saved };
    clearTimeout(entry.timer);
    entry.value = v;
    entry.timer = setTimeout(() => {
      if (Math.abs(entry.value - entry.base) > 1e-6) send({ trim: index, edge, value: entry.value });
      setTimeout(() => { if (pending[key] === entry) delete pending[key]; }, 3000);
      setTimeout(hideLabel, 1200);
    }, 400);
    pending[key] = entry;
    preview(c, edge, v);
    showLabel(c, edge, v);
  }

  /* ---------------------------------------------------------------- preview */
  let pv = null; // {index, origSrc, origTime, rate, loading}
  let shuttle = null;
  let kHeld = false;
  function player() { const v = $("player"); return v && v.tagName === "VIDEO" ? v : null; }
  function abs(url) { try { return new URL(url, location.href).href; } catch (e) { return url; } }
  function offsets(cs) { const o = []; let sum = 0; cs.forEach((c) => { o.push(sum); sum += c.end - c.start; }); return { o, total: sum }; }
  /* Show clip `index` at source time `t` (playing or not). A clip of another source switches the
   * player's src; until its metadata arrives the wanted place is kept in pv (keys pressed meanwhile
   * step from it), and one listener seeks there once it can. */
  function load(index, t, play) {
    const v = player(); const cs = clips();
    if (!v || !pv || !cs[index]) return;
    const c = cs[index];
    pv.index = index; pv.t = t; pv.play = play;
    const go = () => {
      if (!pv) return;
      v.currentTime = pv.t;
      if (pv.play) { v.playbackRate = pv.rate || 1; v.play().catch(() => {}); } else v.pause();
      paint();
    };
    const wanted = c.url ? abs(c.url) : "";
    if (wanted && wanted !== v.currentSrc && wanted !== v.src) {
      pv.loading = true;
      v.pause();
      v.addEventListener("loadedmetadata", function ready() {
        if (!pv || abs(v.getAttribute("src") || "") !== wanted) return; // superseded by a later switch
        pv.loading = false; go();
      }, { once: true });
      v.src = c.url;
      v.dataset.sequenceSrc = c.url;
      v.load();
    } else if (!pv.loading) {
      go();
    } // else: this source is loading; its listener seeks to pv.t
  }
  function current() { // [index, source time, clips] of the preview
    const v = player(); const cs = clips();
    if (!pv || !v || !cs.length) return null;
    const i = Math.min(pv.index, cs.length - 1);
    return [i, pv.loading ? pv.t : v.currentTime || 0, cs];
  }
  function paint() {
    const head = $("sequence-playhead"); const box = $("sequence-clips"); const label = $("sequence-time");
    const now = current();
    if (!now) { if (head) head.style.display = "none"; if (label) label.textContent = ""; return; }
    const [i, t, cs] = now; const c = cs[i];
    const frac = Math.min(Math.max((t - c.start) / Math.max(c.end - c.start, 1e-6), 0), 1);
    if (head && box) {
      const r = box.getBoundingClientRect(); const cr = c.el.getBoundingClientRect();
      head.style.display = "block";
      head.style.left = (cr.left - r.left + frac * cr.width - 1) + "px";
    }
    const { o, total } = offsets(cs);
    if (label) label.textContent = `${tc(o[i] + Math.min(Math.max(t - c.start, 0), c.end - c.start))} / ${tc(total)} · clip ${i + 1}/${cs.length}`;
    const track = $("sequence-track");
    if (track) { track.dataset.previewClip = String(i); track.dataset.previewTime = String(t); }
  }
  function tick() {
    if (!pv) return;
    const v = player();
    if (!v) { stopPreview(false); return; }
    if (v.dataset.sequenceSrc === undefined && pv.started) { stopPreview(false); return; } // another asset opened
    const now = current();
    if (now && !pv.loading && !v.paused) {
      const [i, t, cs] = now; const c = cs[i];
      if (t >= c.end - c.frame / 2) {
        if (i + 1 < cs.length) load(i + 1, cs[i + 1].start, true);
        else { v.pause(); v.currentTime = c.end - c.frame; }
      }
    }
    paint();
    requestAnimationFrame(tick);
  }
  function startPreview(fromStart) {
    const cs = clips();
    if (!cs.length) return;
    const v = player();
    if (!v) { // nothing playable open: open the first clip's source, then start
      const first = $("sequence-clip-0");
      if (first) first.click();
      let tries = 0;
      const wait = setInterval(() => {
        if (player() && player().readyState >= 1) { clearInterval(wait); startPreview(true); }
        else if (++tries > 100) clearInterval(wait);
      }, 100);
      return;
    }
    if (!pv) {
      pv = { index: 0, origSrc: v.getAttribute("src") || "", origTime: v.currentTime || 0, rate: 1, loading: false, started: false };
      v.dataset.sequenceSrc = v.getAttribute("src") || "";
      pv.started = true;
      setActive(true);
      requestAnimationFrame(tick);
      fromStart = true;
    }
    if (fromStart) { load(0, cs[0].start, true); return; }
    const now = current();
    if (now) {
      const [i, t, cs2] = now;
      if (i === cs2.length - 1 && t >= cs2[i].end - cs2[i].frame * 1.5) load(0, cs2[0].start, true); // at the end: again
      else { v.playbackRate = 1; pv.rate = 1; v.play().catch(() => {}); }
    }
  }
  function setActive(on) {
    const track = $("sequence-track");
    if (track) { if (on) track.dataset.previewing = "true"; else { delete track.dataset.previewing; delete track.dataset.previewClip; delete track.dataset.previewTime; } }
    const b = $("play-sequence"); if (b) b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function stopPreview(restore) {
    stopShuttle();
    if (!pv) return;
    const v = player(); const was = pv; pv = null;
    setActive(false);
    paint();
    if (v) {
      v.pause();
      if (restore && was.origSrc && v.getAttribute("src") !== was.origSrc) {
        v.addEventListener("loadedmetadata", () => { v.currentTime = was.origTime; }, { once: true });
        v.src = was.origSrc; v.load();
      }
      delete v.dataset.sequenceSrc;
    }
  }
  function pause() { stopShuttle(); const v = player(); if (v) v.pause(); }
  function toggle() {
    const v = player(); if (!v) return;
    stopShuttle();
    if (v.paused) startPreview(false); else v.pause();
  }
  function forward() { // L: play, faster on repeat
    const v = player(); if (!v) return;
    stopShuttle();
    if (v.paused) startPreview(false);
    else { pv.rate = Math.min((pv.rate || 1) * 2, 8); v.playbackRate = pv.rate; }
  }
  function stopShuttle() { if (shuttle) { clearInterval(shuttle); shuttle = null; } }
  function backward() { // J: reverse shuttle across cuts, faster on repeat
    const v = player(); if (!v || !pv) return;
    const rate = shuttle ? Math.min((shuttle.rate || 1) * 2, 8) : 1;
    stopShuttle(); v.pause();
    const tickMs = 50;
    shuttle = setInterval(() => {
      const now = current(); if (!now || !pv) { stopShuttle(); return; }
      if (pv.loading) return;
      const [i, t, cs] = now; const c = cs[i];
      const next = t - rate * tickMs / 1000;
      if (next >= c.start) { player().currentTime = next; paint(); return; }
      if (i > 0) load(i - 1, snap(cs[i - 1].end - cs[i - 1].frame, cs[i - 1].fps), false);
      else { player().currentTime = c.start; stopShuttle(); paint(); }
    }, tickMs);
    shuttle.rate = rate;
  }
  function step(n) { // n frames, crossing cuts (each clip at its own source's rate)
    const now = current(); if (!now) return;
    pause();
    let [i, t, cs] = now;
    t = snap(t, cs[i].fps);
    for (let k = 0; k < Math.abs(n); k++) {
      const c = cs[i];
      if (n > 0) {
        if (t + c.frame <= c.end - c.frame / 2) t = snap(t + c.frame, c.fps);
        else if (i + 1 < cs.length) { i += 1; t = cs[i].start; }
      } else {
        if (t - c.frame >= c.start - c.frame / 2) t = snap(t - c.frame, c.fps);
        else if (i > 0) { i -= 1; t = snap(cs[i].end - cs[i].frame, cs[i].fps); }
      }
    }
    load(i, t, false);
  }
  function home() { const cs = clips(); if (cs.length) { pause(); load(0, cs[0].start, false); } }
  function end() { const cs = clips(); if (cs.length) { pause(); const c = cs[cs.length - 1]; load(cs.length - 1, snap(c.end - c.frame, c.fps), false); } }

  function typing(el) {
    if (!el) return false;
    const tag = (el.tagName || "").toLowerCase();
    const role = el.getAttribute ? el.getAttribute("role") : null;
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable ||
      ["combobox", "radio", "option", "menuitem", "slider", "tab", "checkbox"].includes(role);
  }
  /* While previewing, the editor's transport keys act on the sequence: handled on window in the
   * capture phase, before timeline.js's listeners (which would act on the open asset alone). */
  function onPreviewKey(e) {
    if (!pv) return;
    if (e.type === "keyup") { if (e.key === "k" || e.key === "K") kHeld = false; return; }
    const t = e.target;
    if ((typing(t) && !(t && t.id === "player")) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.querySelector("[role=dialog], [role=alertdialog]")) return;
    const k = e.key;
    if (k === "k" || k === "K") kHeld = true;
    const jl = (dir, fn) => () => (kHeld ? step(dir) : fn());
    const handled = {
      " ": toggle, "k": pause, "K": pause, "l": jl(1, forward), "L": jl(1, forward), "j": jl(-1, backward),
      "J": jl(-1, backward), "ArrowLeft": () => step(e.shiftKey ? -10 : -1), "ArrowRight": () => step(e.shiftKey ? 10 : 1),
      "Home": home, "End": end, "Escape": () => stopPreview(true),
    }[k];
    if (!handled) return;
    e.preventDefault(); e.stopImmediatePropagation();
    if (t && t.blur && (t.tagName || "").toLowerCase() === "button") t.blur();
    handled();
  }

  /* ---------------------------------------------------------------- wiring */
  window.addEventListener("keydown", onPreviewKey, true);
  window.addEventListener("keyup", onPreviewKey, true);
  window.addEventListener("blur", () => { kHeld = false; });
  document.addEventListener("keydown", onTrimKey);
  document.addEventListener("focusout", (e) => {
    if (!trim && e.target && e.target.classList && e.target.classList.contains("sequence-edge")) hideLabel();
  });
  window.addEventListener("pointerdown", onTrimDown, true);
  window.addEventListener("pointermove", onTrimMove, true);
  window.addEventListener("pointerup", onTrimUp, true);
  window.addEventListener("pointercancel", onTrimUp, true);
  window.addEventListener("dragstart", (e) => { // an edge never starts a reorder drag
    if (trim || (e.target && e.target.closest && e.target.closest(".sequence-edge"))) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  window.addEventListener("click", (e) => {
    const target = e.target;
    if (!target || !target.closest) return;
    if (target.closest(".sequence-edge") || (swallowClick && target.closest(".sequence-clip"))) {
      e.stopPropagation(); e.preventDefault(); return; // no reopen of the clip's source
    }
    if (target.closest("#play-sequence")) { e.preventDefault(); if (pv && player() && !player().paused) pause(); else startPreview(false); return; }
    if (target.closest("#stop-sequence")) { e.preventDefault(); stopPreview(true); return; }
    const clip = pv && target.closest(".sequence-clip");
    if (clip && !target.closest("button")) { // previewing: a click on a clip jumps there
      e.stopPropagation(); e.preventDefault();
      const i = Number(clip.id.split("-").pop()); const cs = clips();
      if (cs[i]) load(i, cs[i].start, !player().paused);
    }
  }, true);

  window.mprSequence = { start: startPreview, stop: stopPreview, step, toggle, pause, forward, backward,
    active: () => !!pv, state: () => (pv ? { ...pv } : null), tc, snap };
})();
