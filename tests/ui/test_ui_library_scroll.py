"""A library of 1,000 assets scrolls to its last item (issue 23) in headless Chromium: no button is
pressed, the list fetches its pages as its end nears, holds a bounded window of rows however far
it goes, and the last asset of the chosen sort order ends up in view; ↓ on the last row fetches the
next page and moves on; scrolling back up fetches the pages above again.
Server: tests/ui/conftest.py's (the three demo clips), plus 1,000 catalog rows seeded in bulk."""
from __future__ import annotations

import pytest

import ui_stack
from ui.state.library import LIST_LIMIT, WINDOW_PAGES

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

SEEDED = 1000
DEMO = ["Test pattern 720p.mp4", "Color bars 1080p.mp4", "Mandelbrot 360p.webm"]
ALL_NAMES = DEMO + [f"Seeded clip {i:06d}.mp4" for i in range(SEEDED)]


@pytest.fixture(scope="module")
def page(browser, server):
    ui_stack.seed_assets(server[1], SEEDED)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    ui_stack.sign_in(pg, server[0])
    pg.wait_for_function("() => document.querySelectorAll('#asset-item').length === 100")
    yield pg
    context.close()


def names(pg) -> list[str]:
    return pg.eval_on_selector_all("#asset-item", "els => els.map(e => e.dataset.name)")


def choose_sort(pg, label: str, first: str) -> None:
    pg.click("#asset-sort")
    pg.get_by_role("option", name=label, exact=True).click()
    pg.wait_for_function("n => document.querySelector('#asset-item')?.dataset.name === n", arg=first)


def in_view(pg, name: str) -> bool:
    """The row named `name` is inside the list's visible box."""
    return pg.evaluate("""name => {
        const row = [...document.querySelectorAll('#asset-item')].find(e => e.dataset.name === name);
        if (!row) return false;
        const r = row.getBoundingClientRect(), l = document.getElementById('asset-list').getBoundingClientRect();
        return r.top >= l.top - 1 && r.bottom <= l.bottom + 1 && r.height > 0; }""", name)


def test_scrolling_reaches_the_last_asset_in_the_sort_order(page):
    by_name = sorted(ALL_NAMES, key=str.lower)
    choose_sort(page, "Name A–Z", by_name[0])
    assert page.inner_text("#asset-count") == f"1–{LIST_LIMIT} of {len(ALL_NAMES)}"
    turns = ui_stack.scroll_library_to_end(page)
    assert turns > 5  # it took scrolling, page after page
    shown = names(page)
    assert shown[-1] == by_name[-1] == "Test pattern 720p.mp4"
    assert in_view(page, by_name[-1])
    assert page.get_by_text(by_name[-1], exact=True).is_visible()
    assert len(shown) <= WINDOW_PAGES * LIST_LIMIT  # a bounded DOM: the pages scrolled past were dropped
    assert shown == by_name[-len(shown):]  # the window is the end of the order, in order
    start = len(ALL_NAMES) - len(shown) + 1
    assert page.inner_text("#asset-count") == f"{start}–{len(ALL_NAMES)} of {len(ALL_NAMES)}"

    # back to the top: the pages above are fetched again, the first asset is the first row
    box = page.locator("#asset-list").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(200):
        page.mouse.wheel(0, -4000)
        page.wait_for_timeout(50)
        if page.evaluate("() => !document.getElementById('asset-previous') && "
                         "document.getElementById('asset-list').scrollTop === 0"):
            break
    page.wait_for_function("n => document.querySelector('#asset-item')?.dataset.name === n", arg=by_name[0])
    assert in_view(page, by_name[0])
    assert len(names(page)) <= WINDOW_PAGES * LIST_LIMIT


def test_a_new_order_starts_at_the_top_and_arrow_down_on_the_last_row_fetches_the_next_page(page):
    box = page.locator("#asset-list").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):  # some way down: pages fetched, the window moved
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(200)
    page.wait_for_function("() => document.getElementById('asset-list').scrollTop > 10000")
    page.click("#asset-sort")
    page.get_by_role("option", name="Newest", exact=True).click()
    page.wait_for_function("() => !location.search.includes('sort=')")
    page.wait_for_function("n => document.querySelectorAll('#asset-item').length === n", arg=LIST_LIMIT)
    page.wait_for_function("() => document.getElementById('asset-list').scrollTop === 0")  # a new list, from its top
    assert page.inner_text("#asset-count") == f"1–{LIST_LIMIT} of {len(ALL_NAMES)}"
    last_name = page.locator("#asset-item").last.get_attribute("data-name")
    # focused without scrolling to it: only the key can bring the next page (the end is out of view)
    page.evaluate("() => [...document.querySelectorAll('#asset-item')].pop().focus({preventScroll: true})")
    page.keyboard.press("ArrowDown")
    page.wait_for_function("n => document.querySelectorAll('#asset-item').length === n", arg=2 * LIST_LIMIT)
    page.wait_for_function("""prev => {
        const rows = [...document.querySelectorAll('#asset-item')];
        const i = rows.findIndex(e => e.dataset.name === prev);
        return i >= 0 && document.activeElement === rows[i + 1]; }""", arg=last_name)
    focused = page.evaluate("document.activeElement.dataset.name")
    assert focused != last_name and in_view(page, focused)
