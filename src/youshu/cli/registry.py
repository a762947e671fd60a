"""``youshu registry serve`` (the MLflow UI on 127.0.0.1) and ``youshu usecases list|show`` (应用案例)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import typer
from rich.console import Console

from youshu.cli.main import app
from youshu.config import get_settings

registry_app = typer.Typer(help="模型注册表 Model registry (MLflow): serve its UI.", no_args_is_help=True)
usecases_app = typer.Typer(
    help="应用案例 Use cases: business problems, their models, tags and lists.", no_args_is_help=True
)
app.add_typer(registry_app, name="registry")
app.add_typer(usecases_app, name="usecases")
console = Console()


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@registry_app.command("serve")
def serve(
    port: int = typer.Option(5000, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    registry_uri: str = typer.Option(
        None, "--registry-uri", help="sqlite:///path/mlflow.db (default: registry/)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command without starting the server."),
) -> None:
    """Start the MLflow UI for the project's registry on 127.0.0.1 (until Ctrl-C) (启动注册表界面).

    Examples:

      youshu registry serve --port 5000
    """
    from youshu.registry.store import SERVE_ENV, format_command, resolve_store, serve_command

    store = resolve_store(get_settings(), registry_uri)
    command = serve_command(store, port=port)
    _say(f"MLflow UI: http://127.0.0.1:{port}  ({store.describe()})")
    _say(format_command(command))
    if dry_run:
        return
    assert store.artifacts is not None
    store.artifacts.mkdir(parents=True, exist_ok=True)
    raise typer.Exit(subprocess.call(command, env={**os.environ, **SERVE_ENV}))


@usecases_app.command("list")
def list_cases(
    folder: Path = typer.Option(
        None, "--definitions", help="Use-case folder (default: definitions/use_cases)."
    ),
) -> None:
    """List the use cases by business area (应用案例列表)."""
    from youshu.registry.card import BusinessArea
    from youshu.registry.usecases import load_use_cases

    cases = load_use_cases(folder)
    for area in (a for a in BusinessArea if any(c.business_area == a for c in cases)):
        _say(f"{area.value} {area.en}")
        for c in (c for c in cases if c.business_area == area):
            models = ", ".join(c.models) or "no model"
            _say(
                f"  {c.id}  {c.name_zh} {c.name_en}  (models: {models}; {len(c.outcomes)} outcome figure(s))"
            )


@usecases_app.command("show")
def show_case(
    key: str = typer.Argument(..., help="Use-case id or zh name."),
    folder: Path = typer.Option(
        None, "--definitions", help="Use-case folder (default: definitions/use_cases)."
    ),
) -> None:
    """Show a use case: problem, models, tags, lists and outcome figures with their source (应用案例详情)."""
    from youshu.registry.usecases import find_use_case, load_use_cases

    case = find_use_case(load_use_cases(folder), key)
    _say(f"{case.name_zh} {case.name_en} [{case.business_area.value} {case.business_area.en}]")
    _say(f"问题 problem: {case.problem}")
    if case.owner_team:
        _say(f"负责 owner: {case.owner_team}")
    _say(f"模型 models: {', '.join(case.models) or '–'}")
    _say(f"标签 tags: {', '.join(case.tags) or '–'}")
    _say(f"名单 lists: {', '.join(case.lists) or '–'}")
    for o in case.outcomes:
        _say(
            f"  {o.metric}: {o.value:g}{o.unit and ' ' + o.unit} — measured on {o.measured_on}; source {o.source}"
        )
    for command in case.commands:
        _say(f"  $ {command}")
