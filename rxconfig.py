"""Reflex configuration for the MPR timeline UI (app module: ui/ui.py).

Bun comes from npm (`.tools/node_modules/bun`, installed by backend/serve.py) because Reflex
cannot download it here; telemetry is off and the sitemap plugin is disabled (one page).
"""
from pathlib import Path

import reflex as rx

from backend.api.origins import policy_for
from backend.config import Settings
from reflex_base.plugins.sitemap import SitemapPlugin

_ROOT = Path(__file__).resolve().parent
BUN = _ROOT / ".tools" / "node_modules" / "bun" / "bin" / "bun.exe"

config = rx.Config(
    app_name="ui",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    default_color_mode="dark",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="indigo", gray_color="slate", radius="medium",
                           scaling="95%", has_background=False),
        ),
    ],
    disable_plugins=[SitemapPlugin],
    cors_allowed_origins=policy_for(Settings.from_env()).origins,
    **({"bun_path": BUN} if BUN.exists() else {}),
)
