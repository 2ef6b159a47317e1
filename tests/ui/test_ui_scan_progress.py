"""A folder scan of 300 new files in headless Chromium (issue 23): the Scan button starts the scan on
the server and returns at once; the library shows "n of 300 probed" advancing while the files are
probed, the list fills as assets land, and the scan ends with 300 assets and no error toast (the UI
waits on no long request, so nothing times out). A file that is not media is listed with its reason.

Its own server (no demo clips): ONE tiny clip made with ffmpeg's lavfi source, copied 300 times."""
from __future__ import annotations

import shutil
import subprocess

import pytest

import ui_stack
from backend.media.binaries import ffmpeg_path

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

FILES = 300

# every distinct progress text and every toast the page shows, recorded as they appear
RECORDER = """() => {
  window.__scanTexts = []; window.__toasts = [];
  const look = () => {
    const t = document.getElementById('scan-progress-text');
    if (t && window.__scanTexts[window.__scanTexts.length - 1] !== t.textContent) window.__scanTexts.push(t.textContent);
    document.querySelectorAll('[data-sonner-toast]').forEach((el) => {
      const entry = (el.getAttribute('data-type') || '') + ': ' + el.textContent;
      if (!window.__toasts.includes(entry)) window.__toasts.push(entry);
    });
  };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def scan_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-scan")
    proc, port = ui_stack.start_and_wait(root, demo=False)
    yield f"http://127.0.0.1:{port}", root
    ui_stack.stop(proc)


def make_files(folder, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder.parent / "tiny.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=1",
                    "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-shortest", str(clip)], check=True, stdin=subprocess.DEVNULL)
    for i in range(count):
        shutil.copyfile(clip, folder / f"clip-{i:03d}.mp4")
    clip.unlink()


def test_scan_of_300_files_shows_live_progress_and_lands_every_asset(browser, scan_server, artifacts):
    base, root = scan_server
    make_files(root / "media" / "in" / "batch", FILES)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, base)
    page.get_by_text("0 assets").wait_for()
    page.evaluate(RECORDER)

    page.click("#scan-folder")
    page.wait_for_selector("#scan-progress-text")
    # the count advances while the files are probed (seen at least twice below 300)
    page.wait_for_function("() => window.__scanTexts.filter(t => / of 300 probed/.test(t) && !/^Scanning: 0 of/.test(t)"
                           " && !/300 of 300/.test(t)).length >= 2", timeout=600_000)
    # the list fills while the scan runs
    page.wait_for_function("() => document.getElementById('scan-progress-text') && "
                           "document.querySelectorAll('#asset-item').length > 0", timeout=600_000)
    page.screenshot(path=str(artifacts / "scan-progress-1280.png"))
    page.get_by_text("Scan: 300 added, 0 updated, 0 unchanged.").wait_for(timeout=600_000)
    page.get_by_text("1–100 of 300").wait_for()  # the list holds its first page of the 300
    assert page.locator("#scan-progress-text").count() == 0 and page.locator("#scan-errors").count() == 0

    texts = page.evaluate("() => window.__scanTexts")
    counts = [int(t.split("Scanning: ")[1].split(" of")[0]) for t in texts if " of 300 probed" in t]
    assert counts == sorted(counts) and len(set(counts)) >= 3, texts
    toasts = page.evaluate("() => window.__toasts")
    assert not [t for t in toasts if t.startswith("error") or "not reachable" in t], toasts

    # a file that is not media: listed under Scan with its reason, the toast says how many
    (root / "media" / "in" / "batch" / "broken.mp4").write_bytes(b"\x00" * 200)
    page.click("#scan-folder")
    page.wait_for_selector("#scan-errors")
    assert "broken.mp4" in page.inner_text("#scan-errors")
    page.get_by_text("Scan: 1 added, 0 updated, 300 unchanged, 1 not usable (listed under Scan).").wait_for()
    toasts = page.evaluate("() => window.__toasts")
    assert not [t for t in toasts if t.startswith("error") or "not reachable" in t], toasts
    page.click("#scan-errors-close")
    page.wait_for_selector("#scan-errors", state="detached")
    context.close()
