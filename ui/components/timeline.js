/* MPR timeline: playhead, scrubbing, in/out handle drags and editor keys, zoom, the waveform
 * and snapping to the analysis markers, all in the browser.
 *
 * Python cannot seek a <video> (reflex issue 1187) and a round trip per mouse move would lag,
 * so the playhead and drags live here. Values reach the Reflex state only on release (and on
 * I / O), through the hidden #tl-bridge input whose on_change the EditorState listens to.
 * DOM contract (ui/components/timeline.py): #player <video>, #timeline[data-duration][data-fps],
 * #tl-track, #tl-in, #tl-out, #tl-selection, #tl-shade-in, #tl-shade-out, #tl-playhead,
 * #tl-time (SMPTE readout; HH:MM:SS.mmm in its title), #tl-frame (frame number), #in-point, #out-point, #tl-bridge; for zoom, waveform and snapping
 * #tl-viewport > #tl-zoom (> #tl-ruler, #tl-ticks, #tl-track), #tl-waveform <canvas>,
 * #tl-zoom-in, #tl-zoom-out, #tl-zoom-level and #timeline[data-waveform][data-cuts][data-snaps].
 * Snapping (Shift disables it): scene cuts, keyframes and silence edges within SNAP_PX.
 * Premiere keys (docs/editor-keys.md; the list is ui/shortcuts.py): Shift+I/O go to In/Out, X marks
 * the shot under the playhead (between the scene cuts around it, or the whole asset), Alt+X clears,
 * K held + J/L steps a frame, ? opens the cheat sheet (#shortcuts-open).
 */
(function () {
  if (window.mprTimeline) return;
  const $ = (id) => document.getElementById(id);
  let seq = 0;
  let drag = null; // {kind: 'in'|'out'|'head', pointerId}
  let shuttle = null; // reverse-play interval (J)
  let kHeld = false; // K is down: J / L step a frame
  let rafId = 0;
  let zoom = 1; // 1 = the whole clip across the viewport
  let wave = null; // {url, rate, count, mins, maxs, peak} of the loaded peaks file
  let waveLoading = "";
  const SNAP_PX = 8; // a handle or the playhead this close to a marker lands on it
  const FRAME_PX_AT_MAX_ZOOM = 16; // the deepest zoom shows one frame this wide

  function meta() {
    const tl = $("timeline");
    if (!tl) return null;
    const duration = parseFloat(tl.dataset.duration || "0");
    const fps = parseFloat(tl.dataset.fps || "0");
    const inS = parseFloat(tl.dataset.in || "0");
    const outS = parseFloat(tl.dataset.out || String(duration));
    const list = (s) => (s || "").split(",").filter((x) => x !== "").map(parseFloat).filter(isFinite);
    return { tl, duration, fps, inS, outS, waveform: tl.dataset.waveform || "",
      cuts: list(tl.dataset.cuts), snaps: list(tl.dataset.snaps) };
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
  /* The readout's SMPTE label of the frame at t (as ui/timecode.py frame_to_smpte): HH:MM:SS:FF,
   * HH:MM:SS;FF drop-frame at 29.97 / 59.94 (labels ;00-;01, or ;00-;03, skipped each minute but every tenth). */
  function dropFrame(fps) { return fps > 0 && [30000 / 1001, 60000 / 1001].some((r) => Math.abs(fps - r) < 0.01); }
  function smpte(t, fps) {
    if (!(fps > 0)) return tc(t);
    if (!isFinite(t) || t < 0) t = 0;
    const nominal = Math.round(fps);
    let frame = Math.round(t * fps);
    let sep = ":";
    if (dropFrame(fps)) {
      sep = ";";
      const drop = 2 * Math.floor(nominal / 30);
      const perMinute = nominal * 60 - drop, perTen = perMinute * 10 + drop;
      const tens = Math.floor(frame / perTen), rest = frame % perTen;
      frame += drop * 9 * tens + (rest > drop ? drop * Math.floor((rest - drop) / perMinute) : 0);
    }
    const p = (n) => String(n).padStart(2, "0");
    const secs = Math.floor(frame / nominal);
    return `${p(Math.floor(secs / 3600))}:${p(Math.floor(secs / 60) % 60)}:${p(secs % 60)}${sep}${p(frame % nominal)}`;
  }
  function pct(t, d) { return d > 0 ? Math.min(Math.max(t / d, 0), 1) * 100 : 0; }

  /* ---------------------------------------------------------------- painting */
  function paintHead() {
    const m = meta(); const v = video();
    if (!m || !v) return;
    const t = v.currentTime || 0;
    const head = $("tl-playhead");
    if (head) head.style.left = pct(t, m.duration) + "%";
    const v2 = video();
    if (zoom > 1 && v2 && !v2.paused && !drag) reveal(t);
    const label = $("tl-time");
    if (label) label.textContent = smpte(t, m.fps);  // SMPTE (drop-frame where the rate needs it)
    const fr = $("tl-frame");
    if (fr) fr.textContent = m.fps > 0 ? "frame " + Math.round(t * m.fps) : "";
    if (label) label.title = tc(t);  // the same instant as HH:MM:SS.mmm
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
  const pendingPoint = {}; // in/out values moved by keys that React has not rendered yet
  new MutationObserver((records) => {
    const mine = records.filter((r) => r.target.id === "timeline");
    if (!mine.length) return;
    const now = meta();
    if (now) {
      if (pendingPoint.in !== undefined && Math.abs(now.inS - pendingPoint.in) < 1e-4) delete pendingPoint.in;
      if (pendingPoint.out !== undefined && Math.abs(now.outS - pendingPoint.out) < 1e-4) delete pendingPoint.out;
      if (mine.some((r) => r.attributeName === "data-duration")) { delete pendingPoint.in; delete pendingPoint.out; }
    }
    if (mine.some((r) => ["data-in", "data-out", "data-duration"].includes(r.attributeName))) clearPaint();
    if (mine.some((r) => r.attributeName === "data-duration")) setZoom(1, 0, 0);
    if (mine.some((r) => r.attributeName === "data-waveform")) loadWave();
  }).observe(document.documentElement, { subtree: true, attributes: true,
    attributeFilter: ["data-in", "data-out", "data-duration", "data-waveform"] });

  /* ---------------------------------------------------------------- zoom */
  function viewport() { return $("tl-viewport"); }
  function maxZoom() {
    const m = meta(); const vp = viewport();
    if (!m || !vp || !(m.duration > 0) || !vp.clientWidth) return 1;
    const frames = m.duration * (m.fps > 0 ? m.fps : 25);
    return Math.max(1, frames * FRAME_PX_AT_MAX_ZOOM / vp.clientWidth);
  }
  /* Zoom to `z`, keeping time `anchorT` at `anchorX` px from the viewport's left edge. */
  function setZoom(z, anchorT, anchorX) {
    const m = meta(); const vp = viewport(); const inner = $("tl-zoom");
    if (!m || !vp || !inner) return;
    zoom = Math.min(Math.max(z, 1), maxZoom());
    inner.style.width = zoom === 1 ? "" : (zoom * 100) + "%";
    const full = vp.clientWidth * zoom;
    const left = m.duration > 0 ? anchorT / m.duration * full - anchorX : 0;
    vp.scrollLeft = Math.min(Math.max(left, 0), Math.max(full - vp.clientWidth, 0));
    const label = $("tl-zoom-level");
    if (label) label.textContent = zoom < 10 ? zoom.toFixed(1).replace(/\.0$/, "") + "×" : Math.round(zoom) + "×";
    redraw();
  }
  function zoomBy(factor, clientX) {
    const m = meta(); const vp = viewport(); const v = video();
    if (!m || !vp || !(m.duration > 0)) return;
    const r = vp.getBoundingClientRect();
    let x, t;
    if (clientX === undefined) { // buttons and keys: around the playhead (or the middle when it is off screen)
      t = v ? v.currentTime || 0 : 0;
      x = t / m.duration * vp.clientWidth * zoom - vp.scrollLeft;
      if (x < 0 || x > vp.clientWidth) { x = vp.clientWidth / 2; t = (vp.scrollLeft + x) / (vp.clientWidth * zoom) * m.duration; }
    } else {
      x = Math.min(Math.max(clientX - r.left, 0), vp.clientWidth);
      t = (vp.scrollLeft + x) / (vp.clientWidth * zoom) * m.duration;
    }
    setZoom(zoom * factor, t, x);
  }
  /* Scroll so that time t is visible (playback, jumps). */
  function reveal(t) {
    const m = meta(); const vp = viewport();
    if (!m || !vp || zoom <= 1 || !(m.duration > 0)) return;
    const x = t / m.duration * vp.clientWidth * zoom;
    if (x < vp.scrollLeft || x > vp.scrollLeft + vp.clientWidth) {
      vp.scrollLeft = Math.max(x - vp.clientWidth * 0.1, 0);
      redraw();
    }
  }
  function visible() { // [t0, t1] seconds shown, and px per second
    const m = meta(); const vp = viewport();
    if (!m || !vp || !(m.duration > 0) || !vp.clientWidth) return null;
    const pps = vp.clientWidth * zoom / m.duration;
    return { t0: vp.scrollLeft / pps, t1: (vp.scrollLeft + vp.clientWidth) / pps, pps, m, vp };
  }
  function drawTicks() {
    const box = $("tl-ticks"); const ruler = $("tl-ruler"); const view = visible();
    if (!box || !ruler) return;
    if (!view || zoom <= 1) { box.style.display = "none"; ruler.style.visibility = ""; box.innerHTML = ""; return; }
    ruler.style.visibility = "hidden"; box.style.display = "block";
    const { t0, t1, pps, m } = view;
    const f = frame(m.fps);
    const steps = [f, 2 * f, 5 * f, 10 * f, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
    const major = steps.find((s) => s * pps >= 70) || 3600;
    const parts = [];
    const at = (t) => (t / m.duration * 100).toFixed(5) + "%";
    const showFrames = f * pps >= 5; // frame-level ticks once a frame is 5 px wide
    if (showFrames) {
      const first = Math.max(Math.floor(t0 / f), 0), last = Math.ceil(t1 / f);
      for (let i = first; i <= last && i - first < 2000; i++) {
        parts.push(`<div class="tl-tick tl-tick-frame" style="position:absolute;left:${at(i * f)};bottom:0;height:5px;border-left:1px solid #3a3f4d"></div>`);
      }
    }
    const firstMajor = Math.floor(t0 / major);
    for (let i = firstMajor; i * major <= t1 + major && i - firstMajor < 500; i++) {
      const t = i * major;
      if (t < 0 || t > m.duration + 1e-9) continue;
      const label = major < 1 && m.fps > 0 ? tc(t).slice(3, 8) + ":" + String(Math.round((t % 1) * m.fps)).padStart(2, "0")
        : tc(t).slice(3, 8);
      parts.push(`<div class="tl-tick tl-tick-major" style="position:absolute;left:${at(t)};top:0;height:100%;padding-left:3px;border-left:1px solid #3a3f4d;font:10px monospace;color:#6b7280;white-space:nowrap">${label}</div>`);
    }
    box.innerHTML = parts.join("");
    box.dataset.step = String(major);
    box.dataset.frames = showFrames ? "1" : "0";
  }

  /* ---------------------------------------------------------------- waveform */
  function parsePeaks(buf, url) {
    const head = new DataView(buf);
    const magic = String.fromCharCode(...new Uint8Array(buf, 0, 8));
    if (magic !== "MPRPEAK1") return null;
    const rate = head.getUint32(8, true), count = head.getUint32(12, true);
    const body = new Int8Array(buf, 16, Math.min(count * 2, buf.byteLength - 16));
    const mins = new Int8Array(count), maxs = new Int8Array(count);
    let peak = 1;
    for (let i = 0; i < count; i++) {
      mins[i] = body[2 * i]; maxs[i] = body[2 * i + 1];
      peak = Math.max(peak, -mins[i], maxs[i]);
    }
    return { url, rate, count, mins, maxs, peak };
  }
  function loadWave() {
    const m = meta();
    const url = m ? m.waveform : "";
    if (!url) { wave = null; waveLoading = ""; drawWave(); return; }
    if ((wave && wave.url === url) || waveLoading === url) { drawWave(); return; }
    waveLoading = url;
    fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.arrayBuffer() : null)).then((buf) => {
      if (waveLoading !== url) return;
      waveLoading = "";
      wave = buf ? parsePeaks(buf, url) : null;
      drawWave();
    }).catch(() => { if (waveLoading === url) waveLoading = ""; });
  }
  function drawWave() {
    const c = $("tl-waveform"); const view = visible();
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    const w = view ? view.vp.clientWidth : c.clientWidth, h = c.clientHeight || 36;
    c.style.left = (view ? view.vp.scrollLeft : 0) + "px";
    c.style.width = w + "px";
    c.width = Math.max(Math.round(w * dpr), 1); c.height = Math.max(Math.round(h * dpr), 1);
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    const m = view && view.m;
    if (!view || !wave || wave.url !== m.waveform) { delete c.dataset.drawn; return; }
    const mid = c.height / 2, scale = (c.height / 2 - 1) / wave.peak;
    const spp = 1 / (view.pps * dpr); // seconds per device pixel
    ctx.fillStyle = "#4fd1a5";
    for (let x = 0; x < c.width; x++) {
      const a = (view.t0 + x * spp) * wave.rate, b = (view.t0 + (x + 1) * spp) * wave.rate;
      const i0 = Math.floor(a);
      if (i0 >= wave.count) break;
      const i1 = Math.min(Math.max(Math.ceil(b), i0 + 1), wave.count);
      let lo = 127, hi = -127;
      for (let i = Math.max(i0, 0); i < i1; i++) { if (wave.mins[i] < lo) lo = wave.mins[i]; if (wave.maxs[i] > hi) hi = wave.maxs[i]; }
      if (hi < lo) continue;
      const y0 = Math.floor(mid - hi * scale), y1 = Math.ceil(mid - lo * scale);
      ctx.fillRect(x, y0, 1, Math.max(y1 - y0, 1));
    }
    c.dataset.drawn = wave.url;
    window.mprTimeline && (window.mprTimeline.lastWaveDraw = performance.now());
  }
  /* While zoomed: tiles for the visible range (the 1× strip stretches one tile per cell). */
  function drawStrip() {
    const box = $("tl-strip-zoomed"); const strip = document.querySelector(".tl-strip"); const view = visible();
    if (!box) return;
    const m = view && view.m;
    const url = m ? m.tl.dataset.strip || "" : "";
    const frames = m ? parseInt(m.tl.dataset.stripFrames || "0", 10) : 0;
    const tileW = m ? parseFloat(m.tl.dataset.tileWidth || "0") : 0;
    if (!view || zoom <= 1 || !url || !(frames > 0) || !(tileW > 0)) {
      box.style.display = "none"; box.innerHTML = ""; if (strip) strip.style.visibility = ""; return;
    }
    box.style.display = "block"; box.style.left = view.vp.scrollLeft + "px"; box.style.width = view.vp.clientWidth + "px";
    if (strip) strip.style.visibility = "hidden";
    const slots = Math.ceil(view.vp.clientWidth / tileW) + 1;
    const offset = view.t0 * view.pps % tileW; // slots move with the track while scrolling
    const parts = [];
    for (let i = 0; i < slots; i++) {
      const x = i * tileW - offset;
      const t = view.t0 + (x + tileW / 2) / view.pps;
      const tile = Math.min(Math.max(Math.floor(t / m.duration * frames), 0), frames - 1);
      parts.push(`<div class="tl-strip-tile" style="position:absolute;top:0;left:${x.toFixed(1)}px;width:${tileW}px;height:100%;` +
        `border-right:1px solid #000;background-image:url('${url.replace(/'/g, "%27").replace(/&/g, "&amp;")}');` +
        `background-size:${frames * tileW}px 100%;background-position:-${tile * tileW}px 0;background-repeat:no-repeat"></div>`);
    }
    box.innerHTML = parts.join("");
  }
  function redraw() { drawTicks(); drawWave(); drawStrip(); }

  /* ---------------------------------------------------------------- snapping */
  function snapped(t, e) {
    const m = meta(); const track = $("tl-track");
    if (!m || !track || (e && e.shiftKey) || !m.snaps.length) return t;
    const pps = track.getBoundingClientRect().width / m.duration;
    let best = null, bestD = SNAP_PX / Math.max(pps, 1e-9);
    for (const s of m.snaps) { const d = Math.abs(s - t); if (d <= bestD) { best = s; bestD = d; } }
    return best === null ? t : snap(best, m.fps);
  }
  function jumpCut(dir) {
    const m = meta(); const v = video();
    if (!m || !v || !m.cuts.length) return;
    const now = v.currentTime || 0, half = frame(m.fps) / 2;
    const target = dir > 0 ? m.cuts.find((c) => c > now + half) : [...m.cuts].reverse().find((c) => c < now - half);
    if (target === undefined) return;
    stopShuttle(); v.pause();
    seek(snap(target, m.fps));
    reveal(target);
  }

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

  /* ---------------------------------------------------------------- marks (Premiere keys)
   * X marks the clip under the playhead: between the scene cuts around it when the asset has
   * any (data-cuts), else the whole asset. Alt+X clears the marks (back to the whole asset). */
  function clipAround(t, m) {
    const half = frame(m.fps) / 2;
    let a = 0, b = m.duration;
    for (const c of m.cuts) {
      if (c <= t + half && c > a) a = c;
      if (c > t + half && c < b) b = c;
    }
    return [snap(a, m.fps), b >= m.duration ? m.duration : snap(b, m.fps)];
  }
  function markClip() {
    const m = meta(); const v = video();
    if (!m || !v || !(m.duration > 0)) return;
    const [a, b] = clipAround(v.currentTime || 0, m);
    paintSelection(a, b);
    commit({ edge: "both", in: a, out: b });
  }
  function clearMarks() {
    const m = meta();
    if (!m || !(m.duration > 0)) return;
    paintSelection(0, m.duration);
    commit({ edge: "both", in: 0, out: m.duration });
  }
  function openCheatSheet() { const b = $("shortcuts-open"); if (b) b.click(); }

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
    let t = snapped(timeAt(e.clientX), e);
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

  /* ---------------------------------------------------------------- sequence */
  function appendToSequence() {  // the sequence track's button does the work (ui/state/sequence.py)
    const b = document.getElementById("append-to-sequence");
    if (b && !b.disabled) b.click();
  }

  // reorder: a clip dragged onto another takes that one's place (SequenceState.js_edit, #sequence-bridge)
  let clipDrag = null;
  const clipAt = (e) => e.target && e.target.closest && e.target.closest(".sequence-clip");
  const clipIndex = (el) => Number(el.id.split("-").pop());
  document.addEventListener("dragstart", (e) => {
    const c = clipAt(e); if (!c) return;
    clipDrag = clipIndex(c);
    if (e.dataTransfer) { e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", c.id); }
  });
  document.addEventListener("dragover", (e) => { if (clipDrag !== null && clipAt(e)) e.preventDefault(); });
  document.addEventListener("dragend", () => { clipDrag = null; });
  document.addEventListener("drop", (e) => {
    const c = clipAt(e); if (clipDrag === null || !c) return;
    e.preventDefault();
    const from = clipDrag, to = clipIndex(c); clipDrag = null;
    const bridge = $("sequence-bridge");
    if (from === to || !bridge) return;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(bridge, JSON.stringify({ from, to, seq: ++seq }));
    bridge.dispatchEvent(new Event("input", { bubbles: true }));
  });

  /* ---------------------------------------------------------------- keys */
  function typing(el) {
    if (!el) return false;
    const tag = (el.tagName || "").toLowerCase();
    const role = el.getAttribute ? el.getAttribute("role") : null;
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable ||
      ["combobox", "radio", "option", "menuitem", "slider", "tab", "checkbox"].includes(role);
  }
  /* The library is a listbox of focusable rows: ↑/↓ move between them (past the last / first row
   * they fetch the next / previous page: library_scroll.js), Enter (or Space) opens one. */
  function onLibraryKey(e, row) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); row.click(); return true; }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const rows = Array.from(document.querySelectorAll("#asset-listbox [role=option]"));
      const next = rows[rows.indexOf(row) + (e.key === "ArrowDown" ? 1 : -1)];
      e.preventDefault();
      if (next) { next.focus(); next.scrollIntoView({ block: "nearest" }); }
      else if (window.mprLibrary) window.mprLibrary.beyond(row, e.key === "ArrowDown" ? 1 : -1); // the next page
      return true;
    }
    return false;
  }
  /* A focused in/out handle is a slider: ←/→ move it a frame (Shift: ten), Home/End to the ends.
   * Keys repeat faster than the state answers: a moved value stays `pendingPoint` until React has
   * rendered it (the #timeline data attribute equals it), so each press steps from the last one. */
  function onHandleKey(e, edge) {
    const m = meta();
    if (!m || !(m.duration > 0)) return false;
    const f = frame(m.fps);
    const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowDown: -1, ArrowUp: 1 }[e.key];
    const inS = pendingPoint.in !== undefined ? pendingPoint.in : m.inS;
    const outS = pendingPoint.out !== undefined ? pendingPoint.out : m.outS;
    m.inS = inS; m.outS = outS;
    let t;
    if (steps !== undefined) t = (edge === "in" ? inS : outS) + steps * (e.shiftKey ? 10 : 1) * f;
    else if (e.key === "Home") t = edge === "in" ? 0 : m.inS + f;
    else if (e.key === "End") t = edge === "in" ? m.outS - f : m.duration;
    else return false;
    e.preventDefault();
    t = edge === "in" ? Math.min(Math.max(snap(t, m.fps), 0), snap(m.outS - f, m.fps))
                      : Math.max(Math.min(snap(t, m.fps), m.duration), snap(m.inS + f, m.fps));
    pendingPoint[edge] = t;
    paintSelection(edge === "in" ? t : m.inS, edge === "in" ? m.outS : t);
    seek(t);
    commit(edge === "in" ? { edge, in: t } : { edge, out: t });
    return true;
  }
  function onKey(e) {
    const t = e.target;
    if ((t && (t.id === "in-point" || t.id === "out-point")) && e.key === "Enter") {
      e.preventDefault(); t.blur(); return;
    }
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "z" || e.key === "Z") && !typing(t)) {
      const b = document.getElementById(e.shiftKey ? "sequence-redo" : "sequence-undo");  // sequence edits
      if (b && !b.disabled) { e.preventDefault(); b.click(); }
      return;
    }
    if (t && (t.id === "tl-in" || t.id === "tl-out") && !e.ctrlKey && !e.metaKey && !e.altKey &&
        onHandleKey(e, t.id === "tl-in" ? "in" : "out")) return;
    const row = t && t.closest && t.closest("#asset-listbox [role=option]");
    if (row && !e.ctrlKey && !e.metaKey && !e.altKey && onLibraryKey(e, row)) return;
    if (typing(t) || e.ctrlKey || e.metaKey) return;
    if (document.querySelector("[role=dialog], [role=alertdialog], [role=listbox]:not(#asset-listbox)")) return;
    if (e.key === "?") { e.preventDefault(); openCheatSheet(); return; }
    const m = meta(); if (!m || !video()) return;
    if (e.altKey) { // Alt+X (e.code: macOS Option+X types "≈")
      if (e.code === "KeyX") { e.preventDefault(); clearMarks(); }
      return;
    }
    const k = e.key;
    if (k === "k" || k === "K") kHeld = true;
    // Premiere: with K held, J / L step one frame back / forward instead of shuttling
    const jl = (dir, shuttleFn) => () => (kHeld ? step(dir) : shuttleFn());
    const handled = {
      " ": toggle, "k": pause, "K": pause, "l": jl(1, forward), "L": jl(1, forward),
      "j": jl(-1, backward), "J": jl(-1, backward),
      "ArrowLeft": () => step(e.shiftKey ? -10 : -1), "ArrowRight": () => step(e.shiftKey ? 10 : 1),
      // Shift+I / Shift+O go to the In / Out point (as Premiere); I / O set them
      "i": () => setPoint("in"), "I": () => (e.shiftKey ? seek(m.inS) : setPoint("in")),
      "o": () => setPoint("out"), "O": () => (e.shiftKey ? seek(m.outS) : setPoint("out")),
      "x": markClip, "X": markClip,
      "Home": () => seek(m.inS), "End": () => seek(m.outS),
      "e": appendToSequence, "E": appendToSequence,
      "ArrowUp": () => jumpCut(-1), "ArrowDown": () => jumpCut(1),
      "+": () => zoomBy(2), "=": () => zoomBy(2), "-": () => zoomBy(0.5), "_": () => zoomBy(0.5),
    }[k];
    if (!handled) return;
    e.preventDefault();
    if (t && t.blur && t !== document.body && (t.tagName || "").toLowerCase() === "button") t.blur();
    handled();
  }

  /* ---------------------------------------------------------------- wiring */
  function showPlaying() { // the play button shows pause while playing (theme.py: #play-toggle[data-playing])
    const b = $("play-toggle"); const v = video();
    if (!b) return;
    const playing = !!(v && !v.paused && !v.ended) || !!shuttle;
    b.setAttribute("data-playing", playing ? "true" : "false");
    b.setAttribute("aria-label", playing ? "Pause" : "Play");
  }
  /* The poster (a still from 10 % into the clip, small and upscaled) stands in only until the clip's
   * own first frame is decoded; then the player shows that frame, the one the readout names. */
  function showFirstFrame(v) {
    if ((v.tagName || "").toLowerCase() !== "video") return;
    if (v.hasAttribute("poster")) v.removeAttribute("poster");
    v.setAttribute("data-first-frame", "shown");
  }
  function onMedia(e) {
    if (!e.target || e.target.id !== "player") return;
    if (e.type === "loadeddata" || (e.type === "seeked" && e.target.readyState >= 2)) showFirstFrame(e.target);
    if (e.type === "play" || e.type === "playing") kick();
    showPlaying();
    paintHead();
  }
  /* With focus on the player (after clicking the picture) its native controls also take Space and
   * the arrows: both would toggle, and nothing seems to happen. The editor's keys win: handled
   * here in the capture phase, before the element, with the native default prevented. */
  const PLAYER_KEYS = [" ", "k", "K", "j", "J", "l", "L", "ArrowLeft", "ArrowRight", "Home", "End"];
  function onPlayerKey(e) {
    const t = e.target;
    if (!t || t.id !== "player" || e.ctrlKey || e.metaKey || e.altKey || !PLAYER_KEYS.includes(e.key)) return;
    e.preventDefault();
    e.stopPropagation();
    if (e.type === "keydown") onKey(e);
  }
  ["play", "playing", "pause", "ended", "seeked", "timeupdate", "loadedmetadata", "loadeddata", "emptied"].forEach((type) =>
    document.addEventListener(type, onMedia, true));
  ["keydown", "keypress", "keyup"].forEach((type) => document.addEventListener(type, onPlayerKey, true));
  document.addEventListener("pointerdown", onDown, true);
  document.addEventListener("pointermove", onMove, true);
  document.addEventListener("pointerup", onUp, true);
  document.addEventListener("pointercancel", onUp, true);
  document.addEventListener("keydown", onKey);
  // capture phase: onPlayerKey stops a keyup on the focused player from reaching the bubble phase
  document.addEventListener("keyup", (e) => { if (e.key === "k" || e.key === "K") kHeld = false; }, true);
  window.addEventListener("blur", () => { kHeld = false; });
  document.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest("#tl-zoom-in, #tl-zoom-out");
    if (!b) return;
    e.preventDefault();
    zoomBy(b.id === "tl-zoom-in" ? 2 : 0.5);
  }, true);
  document.addEventListener("wheel", (e) => { // Ctrl+wheel zooms around the pointer; a wheel scrolls a zoomed track
    const vp = e.target.closest && e.target.closest("#tl-viewport");
    if (!vp) return;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      zoomBy(e.deltaY < 0 ? 1.25 : 0.8, e.clientX);
    } else if (zoom > 1) {
      e.preventDefault();
      vp.scrollLeft += Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY;
      redraw();
    }
  }, { passive: false, capture: true });
  // the upload's hidden file input (react-dropzone's, no props of ours reach it) gets a name as soon
  // as React puts it in the page (a mutation observer runs before any later task, e.g. a screen reader's)
  const nameFileInputs = () => document.querySelectorAll("input[type=file]:not([aria-label])").forEach((i) =>
    i.setAttribute("aria-label", "Files to upload"));
  nameFileInputs();
  if (window.MutationObserver) {
    new MutationObserver(nameFileInputs).observe(document.documentElement, { childList: true, subtree: true });
  }
  setInterval(() => { // a clip whose first frame was decoded before this script listened
    const v = video();
    if (v && v.readyState >= 2 && v.hasAttribute("poster")) showFirstFrame(v);
  }, 500);
  if (window.ResizeObserver) {
    let watched = null;
    const ro = new ResizeObserver(() => { if (zoom > maxZoom()) setZoom(maxZoom(), 0, 0); redraw(); });
    setInterval(() => { // the viewport is rendered by React after this script runs, and again per page
      const vp = viewport();
      if (vp && vp !== watched) { if (watched) ro.unobserve(watched); ro.observe(vp); watched = vp; loadWave(); }
    }, 500);
  }

  window.mprTimeline = { toggle, step, forward, backward, pause, seek, setPoint, tc, snap,
    smpte, paint: paintHead, state: () => ({ drag, meta: meta(), zoom, kHeld }), markClip, clearMarks, clipAround, zoomBy, setZoom, jumpCut, redraw,
    lastWaveDraw: 0 };
})();
