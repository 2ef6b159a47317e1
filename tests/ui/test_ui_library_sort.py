"""The library's sort and the URL (issue 23) in headless Chromium: the sort picker orders the list
through GraphQL `assets(sort:)`, and the search, filters and sort are written into the address
bar so that a reload shows the same list. Server: tests/ui/conftest.py's (the three demo clips)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

import ui_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

# the demo clips: name, duration (s)
DEMO = {"Test pattern 720p.mp4": 20.0, "Color bars 1080p.mp4": 10.0, "Mandelbrot 360p.webm": 8.0}


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    ui_stack.sign_in(pg, server[0])
    pg.wait_for_function("() => document.querySelectorAll('#asset-item').length === 3")
    yield pg
    context.close()


def names(pg) -> list[str]:
    return pg.eval_on_selector_all("#asset-item", "els => els.map(e => e.dataset.name)")


def choose_sort(pg, label: str, expected: list[str]) -> None:
    pg.click("#asset-sort")
    pg.get_by_role("option", name=label, exact=True).click()
    pg.wait_for_function("want => JSON.stringify([...document.querySelectorAll('#asset-item')]"
                         ".map(e => e.dataset.name)) === JSON.stringify(want)", arg=expected)


def query(pg) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(pg.url).query).items()}


def test_sort_orders_the_list_and_lands_in_the_url(page):
    by_name = sorted(DEMO, key=str.lower)
    choose_sort(page, "Name A–Z", by_name)
    page.wait_for_function("() => location.search.includes('sort=name_asc')")
    choose_sort(page, "Name Z–A", by_name[::-1])
    by_length = sorted(DEMO, key=DEMO.get, reverse=True)
    choose_sort(page, "Longest", by_length)
    choose_sort(page, "Shortest", by_length[::-1])
    page.wait_for_function("() => location.search.includes('sort=duration_asc')")
    assert page.get_by_label("Sort assets by").count() == 1  # the picker has a name (axe)


def test_reload_restores_search_filters_and_sort(page, server):
    page.fill("#asset-search", "p")  # "Test pattern", "Mandelbrot 360p": both have a p; so does "1080p"
    page.wait_for_function("() => location.search.includes('q=p')")
    page.locator("#asset-area-filter").get_by_role("radio", name="All").click()  # sources and outputs
    page.wait_for_function("() => location.search.includes('area=all')")
    assert query(page) == {"q": "p", "area": "all", "sort": "duration_asc"}
    before = names(page)
    page.reload()
    page.wait_for_function("n => document.querySelectorAll('#asset-item').length === n", arg=len(before))
    assert names(page) == before
    assert page.input_value("#asset-search") == "p"
    assert "Shortest" in page.inner_text("#asset-sort")
    assert query(page) == {"q": "p", "area": "all", "sort": "duration_asc"}
    # the URL is the truth: a hand-edited one with an unknown order and status means the defaults
    page.goto(server[0] + "/?sort=colour&status=bogus&q=mandel")
    page.wait_for_function("() => document.querySelectorAll('#asset-item').length === 1")
    assert "Newest" in page.inner_text("#asset-sort") and page.input_value("#asset-search") == "mandel"
    page.goto(server[0] + "/")
    page.wait_for_function("() => document.querySelectorAll('#asset-item').length === 3")
    assert page.input_value("#asset-search") == ""
