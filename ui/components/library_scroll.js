/* MPR library: endless scrolling through a window of pages (ui/state/library.py).
 *
 * When #asset-more (after the last row) comes within MARGIN px of #asset-list's visible part, an
 * IntersectionObserver presses it: the state fetches the next page and drops the farthest, so the
 * DOM stays bounded however far the list scrolls. When the spacer standing for the rows above the
 * window (#asset-list-above) does, the page in view is asked for: the one just above the window
 * through #asset-previous (prepended), one farther up (a fling, a scrollbar drag) through the
 * hidden #asset-list-bridge (the window jumps there). One request at a time: the next waits until
 * the rows have changed (then everything is observed afresh, which reports what is still in view). ↓ on the last row (↑ on the first) presses the button too and
 * moves the focus on once the rows are there (timeline.js's listbox keys call `beyond`).
 * A new list from the top (a search, filter or sort: #asset-list[data-generation] changes) scrolls
 * back to the top. No scroll listener: scrolling itself runs no script.
 * DOM contract (ui/components/library.py): #asset-list[data-page-px][data-window-page][data-generation] (the
 * scroller) > #asset-list-above > #asset-previous, #asset-listbox > [role=option][data-asset-id],
 * #asset-more, #asset-list-bridge.
 */
(function () {
  if (window.mprLibrary) return;
  const MARGIN = 800; // px: fetch about a dozen rows before the end shows
  const STALE_MS = 4000; // a press that changed nothing (an error, the end) stops blocking after this
  const WATCHED = ["asset-more", "asset-list-above"];
  let list = null, listbox = null, io = null, busy = 0, pendingFocus = null, seq = 0, generation = null;
  const watched = new Map(); // button id -> element observed
  const rowsSeen = new MutationObserver(rowsChanged);
  const listSeen = new MutationObserver(bind);

  function press(button) {
    if (!button || button.disabled || busy) return;
    busy = performance.now();
    button.click();
  }
  function onIntersect(entries) {
    for (const e of entries) {
      if (!e.isIntersecting || !e.target.isConnected) continue;
      if (e.target.id === "asset-list-above") above(); else press(e.target);
    }
  }
  /* The rows above the window are in view: the page just above comes by "previous", one farther up by a jump. */
  function above() {
    if (busy || !list) return;
    const pagePx = parseFloat(list.dataset.pagePx || "0");
    const windowPage = parseInt(list.dataset.windowPage || "0", 10);
    if (!(pagePx > 0) || !(windowPage > 0)) return;
    const inView = Math.floor(list.scrollTop / pagePx);
    if (inView >= windowPage - 1) { press(document.getElementById("asset-previous")); return; }
    const bridge = document.getElementById("asset-list-bridge");
    if (!bridge) return;
    busy = performance.now();
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(bridge, JSON.stringify({ page: inView, seq: ++seq }));
    bridge.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function reobserve() {
    for (const el of watched.values()) { io.unobserve(el); io.observe(el); }
  }
  function rowsChanged() {
    busy = 0;
    if (list && list.dataset.generation !== generation) { // a new list: from its top
      if (generation !== null) list.scrollTop = 0;
      generation = list.dataset.generation;
    }
    moveFocus();
    bind();
    reobserve();
  }
  function moveFocus() {
    if (!pendingFocus || !listbox) return;
    const row = listbox.querySelector(`[role=option][data-asset-id="${CSS.escape(pendingFocus.id)}"]`);
    const next = row && (pendingFocus.dir > 0 ? row.nextElementSibling : row.previousElementSibling);
    if (next && next.getAttribute("role") === "option") {
      pendingFocus = null;
      next.focus({ preventScroll: true });
      next.scrollIntoView({ block: "nearest" });
    }
  }
  /* (Re)attach to the elements React rendered: the list, the listbox and whichever buttons exist. */
  function bind() {
    const nowList = document.getElementById("asset-list");
    if (nowList !== list) {
      if (io) io.disconnect();
      listSeen.disconnect();
      watched.clear();
      list = nowList;
      generation = list ? list.dataset.generation : null;
      io = list ? new IntersectionObserver(onIntersect, { root: list, rootMargin: `${MARGIN}px 0px` }) : null;
      if (list) listSeen.observe(list, { childList: true });
    }
    const nowListbox = document.getElementById("asset-listbox");
    if (nowListbox !== listbox) {
      rowsSeen.disconnect();
      listbox = nowListbox;
      if (listbox) rowsSeen.observe(listbox, { childList: true });
    }
    if (!io) return;
    for (const id of WATCHED) {
      const el = document.getElementById(id);
      const old = watched.get(id);
      if (old === el) continue;
      if (old) io.unobserve(old);
      if (el) { watched.set(id, el); io.observe(el); } else watched.delete(id);
    }
  }
  /* ↓ on the last row / ↑ on the first: fetch the next / previous page and focus the row after. */
  function beyond(row, dir) {
    const button = document.getElementById(dir > 0 ? "asset-more" : "asset-previous");
    if (!button || !row.dataset.assetId) return false;
    pendingFocus = { id: row.dataset.assetId, dir };
    press(button); // an observer's press already under way brings the same rows
    return true;
  }

  bind();
  setInterval(() => { // React renders the list after this script runs, and again after sign-in
    bind();
    if (busy && performance.now() - busy > STALE_MS) { busy = 0; reobserve(); }
  }, 500);

  window.mprLibrary = { beyond, bind, state: () => ({ busy, pendingFocus, watched: [...watched.keys()] }) };
})();
