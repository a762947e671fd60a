"""ASGI entry for ``youshu serve --workers N``: each worker builds the app from ``YOUSHU_APP_RUN`` and
``YOUSHU_APP_DATABASE_URL`` (set by the command)."""

from __future__ import annotations

import os
from pathlib import Path

from youshu.app.settings import app_settings
from youshu.app.web import create_app

app = create_app(
    app_settings(Path(os.environ["YOUSHU_APP_RUN"]), database_url=os.environ.get("YOUSHU_APP_DATABASE_URL")),
    migrate_db=False,
)
