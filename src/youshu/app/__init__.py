"""The web workbench (``youshu serve``): FastAPI pages and JSON API over one pipeline run, scoped per outlet,
with masked personal data, an audit log and its own small database (users, sessions)."""

from __future__ import annotations

from youshu.app.settings import AppSettings, app_settings
from youshu.app.web import create_app

__all__ = ["AppSettings", "app_settings", "create_app"]
