"""Settings of the web workbench: which run it shows, where its own database lives, session and login limits."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from youshu.config import Settings, get_settings
from youshu.errors import YoushuError

#: Environment variable naming the app database (SQLAlchemy URL); default SQLite under the project.
DATABASE_ENV = "YOUSHU_APP_DATABASE_URL"


class AppConfigError(YoushuError):
    """The workbench cannot start: no run to show, or an unusable database URL."""


@dataclass(frozen=True)
class AppSettings:
    """What ``youshu serve`` needs.

    Attributes
    ----------
    run_folder : Path
        The pipeline run the workbench shows (``runs/<as_of>/<name>/``); pages only read it.
    warehouse : Path
        The canonical tables (customer master data: names, phones and home outlets).
    database_url : str
        SQLAlchemy URL of the app database (users, sessions, audit log): SQLite by default,
        ``postgresql+pg8000://...`` supported.
    secure_cookies : bool
        Mark cookies ``Secure`` (set when served over HTTPS).
    session_hours : float
        A session ends this long after its last request.
    login_failures : int
        Failed logins per user name (or 4× per address) within ``login_window_minutes`` before logins are
        refused with 429 until the window passes.
    """

    run_folder: Path
    warehouse: Path
    database_url: str
    secure_cookies: bool = False
    session_hours: float = 8.0
    login_failures: int = 5
    login_window_minutes: float = 15.0


def latest_run(*runs_dirs: Path) -> Path:
    """The newest finished run folder under any of ``runs_dirs`` (latest as-of date; ``main`` first)."""
    runs = [p.parent for d in runs_dirs for p in d.glob("*/*/run.json")]
    if not runs:
        where = " or ".join(str(d) for d in runs_dirs)
        raise AppConfigError(
            f"no finished run under {where}: run `youshu demo` (or `youshu run --as-of YYYY-MM-DD`) first"
        )

    def key(folder: Path) -> tuple[date, bool, str]:
        try:
            as_of = date.fromisoformat(folder.parent.name)
        except ValueError:
            as_of = date.min
        return as_of, folder.name == "main", folder.name

    return max(runs, key=key)


def app_settings(
    run_folder: Path | None = None,
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    secure_cookies: bool = False,
) -> AppSettings:
    """Settings from the project: the given run (default the latest), its warehouse, the app database.

    Without ``run_folder``: the latest run under the project's ``runs_dir`` or ``demo/runs``. The warehouse is
    the one the run recorded in its ``run.json``, else the project's.
    """
    settings = settings or get_settings()
    # `youshu demo` writes its runs under demo/runs; a project's own runs go to runs_dir.
    folder = (
        Path(run_folder)
        if run_folder
        else latest_run(settings.resolve(settings.runs_dir), settings.resolve(Path("demo/runs")))
    )
    if not (folder / "run.json").exists():
        raise AppConfigError(f"{folder} is not a finished run folder (no run.json)")
    recorded = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("warehouse")
    warehouse = (
        Path(recorded) if recorded and Path(recorded).exists() else settings.resolve(settings.warehouse)
    )
    url = database_url or os.environ.get(DATABASE_ENV)
    if not url:
        db_file = settings.resolve(Path("app")) / "youshu_app.db"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{db_file}"
    return AppSettings(
        run_folder=folder.resolve(), warehouse=warehouse, database_url=url, secure_cookies=secure_cookies
    )
