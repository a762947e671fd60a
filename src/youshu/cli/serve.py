"""``youshu serve`` (the web workbench) and ``youshu users add|list|disable|password`` (its users)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from youshu.cli.main import app

if TYPE_CHECKING:
    from youshu.app.db import User

users_app = typer.Typer(
    help="工作台用户 Workbench users: roles (admin, analyst, outlet_manager, viewer) and scopes.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
console = Console()

PASSWORD_ENV_HELP = "Read the password from this environment variable instead of prompting."


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _database(database_url: str | None):  # type: ignore[no-untyped-def]
    from youshu.app.db import make_engine, migrate, session_factory
    from youshu.app.settings import DATABASE_ENV
    from youshu.config import get_settings

    url = database_url or os.environ.get(DATABASE_ENV)
    if not url:
        folder = get_settings().resolve(Path("app"))
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'youshu_app.db'}"
    engine = make_engine(url)
    migrate(engine)
    return session_factory(engine)


def _password(env: str | None) -> str:
    if env:
        value = os.environ.get(env)
        if not value:
            raise typer.BadParameter(
                f"environment variable {env} is empty or unset", param_hint="--password-env"
            )
        return value
    return str(
        typer.prompt("密码 password (at least 8 characters)", hide_input=True, confirmation_prompt=True)
    )


@app.command("serve")
def serve(
    run_folder: Path = typer.Option(
        None,
        "--run",
        help="Run folder to show (default: the latest under runs_dir, e.g. runs/2025-09-30/main).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Worker processes (each loads the run)."),
    database_url: str = typer.Option(
        None,
        "--database-url",
        help="App database (default sqlite:///app/youshu_app.db; or YOUSHU_APP_DATABASE_URL).",
    ),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (behind HTTPS)."
    ),
) -> None:
    """Start the web workbench: pages for outlet staff and analysts, JSON API at /api/v1 (启动工作台).

    Examples:

      youshu users add admin --role admin

      youshu serve --port 8000            # then open http://127.0.0.1:8000
    """
    import uvicorn

    from youshu.app import app_settings, create_app

    settings = app_settings(run_folder, database_url=database_url, secure_cookies=secure_cookies)
    if database_url:
        os.environ["YOUSHU_APP_DATABASE_URL"] = database_url
    _say(f"邮数工作台 workbench: http://{host}:{port}  (run {settings.run_folder})")
    _say(
        f"API: http://{host}:{port}/api/v1 (schema /api/openapi.json) · app database: {settings.database_url.split('@')[-1]}"
    )
    from sqlalchemy import func, select

    from youshu.app.db import User

    with _database(settings.database_url)() as db:
        if not db.scalar(select(func.count()).select_from(User)):
            _say("还没有用户 no users yet: create one with `youshu users add admin --role admin`")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
        return
    os.environ["YOUSHU_APP_RUN"] = str(settings.run_folder)
    os.environ["YOUSHU_APP_DATABASE_URL"] = settings.database_url
    _serve_workers(host, port, workers)


def _serve_workers(host: str, port: int, workers: int) -> None:
    """Several worker processes on one listening socket that we open ourselves: uvicorn's own multi-worker
    socket leaves Nagle's algorithm on, which adds about 40 ms to every answer (uvicorn issue #3149)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    config = uvicorn.Config(
        "youshu.app.asgi:app", host=host, port=port, workers=workers, log_level="warning", access_log=False
    )
    Multiprocess(config, sockets=[sock]).run()


@users_app.command("add")
def add_user(
    username: str = typer.Argument(..., help="Login name (letters, digits, '_' and '.')."),
    role: str = typer.Option(..., "--role", help="admin, analyst, outlet_manager or viewer."),
    outlets: str = typer.Option(None, "--outlets", help="Comma-separated outlet ids the user may see."),
    counties: str = typer.Option(None, "--counties", help="Comma-separated county ids the user may see."),
    display_name: str = typer.Option("", "--name", help="Display name (e.g. 王经理)."),
    password_env: str = typer.Option(None, "--password-env", help=PASSWORD_ENV_HELP),
    database_url: str = typer.Option(None, "--database-url", help="App database (default: the project's)."),
) -> None:
    """Add a workbench user with a role and a scope (新增用户). Without --outlets/--counties: the whole province.

    Examples:

      youshu users add admin --role admin

      youshu users add wang --role outlet_manager --outlets O00012,O00013 --name 王经理
    """
    from youshu.app.security import create_user

    if outlets and counties:
        raise typer.BadParameter("give --outlets or --counties, not both")
    kind, values = "all", []
    if outlets:
        kind, values = "outlets", [v.strip() for v in outlets.split(",") if v.strip()]
    elif counties:
        kind, values = "counties", [v.strip() for v in counties.split(",") if v.strip()]
    factory = _database(database_url)
    with factory() as db:
        user = create_user(
            db,
            username,
            _password(password_env),
            role,
            display_name=display_name,
            scope_kind=kind,
            scope_values=values,
        )
    scope = "全省 whole province" if kind == "all" else f"{kind}: {', '.join(values)}"
    _say(f"已创建 created {user.username} ({user.role}; {scope})")


@users_app.command("list")
def list_users(
    database_url: str = typer.Option(None, "--database-url", help="App database (default: the project's)."),
) -> None:
    """List users with role, scope and state (用户列表)."""
    from sqlalchemy import select

    from youshu.app.db import User

    with _database(database_url)() as db:
        for user in db.scalars(select(User).order_by(User.username)):
            scope = "all" if user.scope_kind == "all" else f"{user.scope_kind}={user.scope_values}"
            state = "" if user.active else "  (disabled)"
            _say(f"{user.username:<20} {user.role:<15} {scope}{state}")


def _update_user(database_url: str | None, username: str, change: Callable[[User], None]) -> None:
    """Apply ``change`` to the user, end their sessions (they log in again) and commit."""
    from sqlalchemy import delete, select

    from youshu.app.db import LoginSession, User
    from youshu.errors import YoushuError

    with _database(database_url)() as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise YoushuError(f"no user {username!r}: see `youshu users list`")
        change(user)
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        db.commit()


@users_app.command("disable")
def disable_user(
    username: str = typer.Argument(...),
    database_url: str = typer.Option(None, "--database-url", help="App database (default: the project's)."),
) -> None:
    """Disable a user and end their sessions (停用用户)."""
    _update_user(database_url, username, lambda user: setattr(user, "active", False))
    _say(f"已停用 disabled {username}")


@users_app.command("password")
def set_password(
    username: str = typer.Argument(...),
    password_env: str = typer.Option(None, "--password-env", help=PASSWORD_ENV_HELP),
    database_url: str = typer.Option(None, "--database-url", help="App database (default: the project's)."),
) -> None:
    """Set a user's password and end their sessions (重置密码)."""
    from youshu.app.security import hash_password

    # asked for only once the user is found, as before
    _update_user(
        database_url,
        username,
        lambda user: setattr(user, "password_hash", hash_password(_password(password_env))),
    )
    _say(f"已重置 password set for {username}")
