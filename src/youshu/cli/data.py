"""``youshu data validate|import``: check an export against the canonical schema, map it into the warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console

from youshu.cli.main import app
from youshu.schema.validate import validate_warehouse

data_app = typer.Typer(help="Validate and import bank data (数据校验与导入).", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()


@data_app.command("validate")
def validate(
    folder: Path = typer.Argument(..., help="Folder with <table>/*.parquet, <table>.parquet or <table>.csv."),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Extract date: event dates after it are problems."
    ),
    table: list[str] = typer.Option(None, "--table", "-t", help="Check only this table (repeatable)."),
) -> None:
    """Report every problem in FOLDER: columns, types, nulls, keys, foreign keys, amounts, dates, coordinates,
    enumerations. Personal data in the examples is masked. Exit code 2 when anything is wrong.

    Examples:

      youshu data validate data/warehouse

      youshu data validate exports/2025-09 --as-of 2025-09-30 --table customers --table accounts
    """
    report = validate_warehouse(folder, as_of=as_of.date() if as_of else None, tables=table or None)
    if report.ok:
        console.print(f"[green]{report.to_text()}[/]", highlight=False, soft_wrap=True)
        return
    console.print(report.to_text(), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)
