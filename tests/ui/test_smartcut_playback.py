"""A smart cut plays in headless Chromium: a plain page with a <video> served over loopback HTTP
plays the output to its end, and `currentTime` advances past each join (re-encoded head → copied
middle → re-encoded tail) without a media error."""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.media.probe import probe
from backend.pipeline import JobSpec, Location, NullReporter
from backend.pipeline.smartcut import run_smartcut
from smartcut_sources import make_source

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGE = """<!doctype html><html><body>
<video id="v" src="cut.mp4" muted playsinline preload="auto"></video>
<script>
  const v = document.getElementById('v');
  window.seen = []; window.done = false; window.failed = null;
  v.addEventListener('timeupdate', () => window.seen.push(v.currentTime));
  v.addEventListener('ended', () => { window.done = true; });
  v.addEventListener('error', () => { window.failed = v.error ? v.error.code + ' ' + v.error.message : 'error'; });
  v.addEventListener('canplay', () => { v.playbackRate = 2.0; v.play(); }, {once: true});
</script></body></html>"""


@pytest.fixture
def served(tmp_path):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_smart_cut_plays_past_every_join_to_the_end(browser, served, tmp_path_factory):
    folder, base = served
    src = make_source(tmp_path_factory.mktemp("sources"), "h264-gop2-mp4")
    # in one frame after the keyframe at 2 s, out one frame after the one at 6 s:
    # 1.96 s re-encoded, 4.0..6.0 copied, 0.04 s re-encoded
    spec = JobSpec(source=Location(area="in", key="s"), output=Location(area="out", key="cut.mp4"),
                   preset={"name": "copy", "kind": "copy", "container": "mp4"},
                   trim_start=2.04, trim_end=6.04, trim_mode="smart")
    # sync Playwright runs its own event loop in this thread: cut in another one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, run_smartcut(spec, src, folder / "cut.mp4", NullReporter(),
                                                       info=probe(src))).result()
    joins, t = [], 0.0
    for part in result.plan.parts[:-1]:
        t += part.count / 25
        joins.append(t)
    assert [round(j, 2) for j in joins] == [1.96, 3.96]
    (folder / "index.html").write_text(PAGE)

    page = browser.new_page()
    try:
        page.goto(base + "/index.html")
        page.wait_for_function("() => window.done || window.failed", timeout=60_000)
        state = page.evaluate("() => ({done: window.done, failed: window.failed, seen: window.seen, "
                              "duration: document.getElementById('v').duration})")
    finally:
        page.close()
    assert state["failed"] is None and state["done"], state
    assert state["duration"] == pytest.approx(4.0, abs=0.05)
    seen = state["seen"]
    assert seen == sorted(seen)  # never jumps back
    for join in joins:
        assert any(s > join + 0.05 for s in seen), (join, seen)
    assert max(seen) >= state["duration"] - 0.05
