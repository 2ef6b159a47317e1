"""The library view in the page's query string: `?q=<search>&status=<s>&area=<a>&sort=<order>`, so a
reload (or a shared link) shows the same list. Only values the UI offers are read back; defaults
are left out of the URL. Pure functions: LibraryState reads at boot and writes on each change."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from ui.statuses import ASSET_STATUSES

MAX_SEARCH = 200
STATUSES = ("all", *ASSET_STATUSES)
AREAS = ("in", "out", "all")
# the API's AssetSort values in lower case, with their labels in the sort picker
SORT_LABELS = {
    "date_desc": "Newest", "date_asc": "Oldest", "name_asc": "Name A–Z", "name_desc": "Name Z–A",
    "duration_asc": "Shortest", "duration_desc": "Longest", "size_asc": "Smallest", "size_desc": "Largest",
}
SORTS = tuple(SORT_LABELS)
DEFAULT_SORT = "date_desc"
DEFAULTS = {"q": "", "status": "all", "area": "in", "sort": DEFAULT_SORT}
ALLOWED = {"status": STATUSES, "area": AREAS, "sort": SORTS}


def read(params) -> dict[str, str]:
    """The known keys of a query-parameter mapping with acceptable values (the rest is dropped)."""
    out: dict[str, str] = {}
    for key in DEFAULTS:
        value = params.get(key) if params else None
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, str):
            continue
        if key == "q":
            out[key] = value[:MAX_SEARCH]
        elif value in ALLOWED[key]:
            out[key] = value
    return out


def write(search: str, status: str, area: str, sort: str) -> str:
    """The query string ("" when everything is the default), with its leading "?"."""
    values = {"q": search, "status": status, "area": area, "sort": sort}
    kept = {k: v for k, v in values.items() if v != DEFAULTS[k]}
    return "?" + urlencode(kept) if kept else ""


def replace_state_js(query: str) -> str:
    """Script that puts `query` in the address bar without a navigation or a history entry."""
    return f"history.replaceState(history.state, '', window.location.pathname + {json.dumps(query)})"
