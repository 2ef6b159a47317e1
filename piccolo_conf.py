"""Piccolo configuration: picks PostgreSQL or SQLite from `MPR_DATABASE_URL` and lists the apps."""
from piccolo.conf.apps import AppRegistry

from backend.catalog.engine import engine_from_url
from backend.config import Settings

DB = engine_from_url(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.catalog.piccolo_app",
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
    ]
)
