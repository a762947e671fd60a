"""``youshu data validate|import``: check tables against the canonical schema, map a bank export into the warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import ValidationFailed
from youshu.schema.importer import import_export
from youshu.schema.validate import ValidationReport, validate_warehouse

_HELP = (
    "数据校验与导入 Validate tables and import bank exports into the canonical warehouse.\n\n"
    "Examples:\n\n"
    "  youshu data validate data/warehouse --as-of 2025-09-30\n\n"
    "  youshu data import exports/2025-09 --mapping exports/map.yml"
)
data_app = typer.Typer(
    name="data",
    help=_HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(
    data_app,
    name="data",
    help=_HELP,
)
console = Console()


def _say(text: str) -> None:
    # Data values may contain [brackets]: never interpret them as rich markup.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _failed(report: ValidationReport, what: str) -> ValidationFailed:
    n, t = len(report.problems), len(report.problem_tables())
    return ValidationFailed(
        f"{what}: {n} problem{'s' if n != 1 else ''} in {t} table{'s' if t != 1 else ''} (listed above); "
        "fix them and run the command again",
        report,
    )


@data_app.command("validate")
def validate(
    folder: Path = typer.Argument(
        ..., help="Folder with <table>/*.parquet, <table>.parquet or <table>.csv (truth/ is ignored)."
    ),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Extract date: events dated after it are problems."
    ),
    table: list[str] = typer.Option(
        None, "--table", "-t", help="Check only this table (repeatable); tables it refers to are read too."
    ),
) -> None:
    """Check tables against the canonical schema and report every problem (数据校验).

    Each problem names the table, column and rule with up to 5 example rows, personal data masked:
    missing/extra columns, wrong types, empty required values, duplicate keys, dangling foreign keys,
    negative amounts, bounds, dates after the as-of date, coordinates outside China, unknown codes.
    Exit code 0 when clean, 2 when anything is wrong.

    Examples:

      youshu data validate data/warehouse --as-of 2025-09-30

      youshu data validate exports/2025-09 --table customers --table accounts
    """
    report = validate_warehouse(folder, as_of=as_of.date() if as_of else None, tables=table or None)
    if report.ok:
        _say(report.summary())
        return
    _say(report.to_text())
    raise _failed(report, f"validation of {folder} failed")


@data_app.command("import")
def import_(
    src: Path = typer.Argument(..., help="Folder holding the bank export (CSV or Parquet files)."),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="map.yml describing the export."),
    warehouse: Path = typer.Option(
        None,
        "--warehouse",
        "-w",
        help="Canonical warehouse to import into (default: youshu.yaml's warehouse).",
    ),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Extract date: events dated after it are problems."
    ),
) -> None:
    """Map a bank export into the canonical warehouse (数据导入), validating before writing anything.

    map.yml renames columns, converts money units (yuan/jiao/fen -> fen, exactly), coordinates
    (GCJ-02/BD-09 -> WGS-84) and codes (男 -> M), and sets constants. Every table is checked first, with
    foreign keys resolved against the tables already in the warehouse; only a clean import is written, and
    atomically: on any error the warehouse is unchanged. Exit code 2 on any problem.

    map.yml:

      tables:
        - source: khxx.csv
          table: customers
          columns: {customer_id: KHH, name: XM, gender: XB}
          values: {gender: {"男": M, "女": F}}
          coordinates: gcj02
        - source: jyls.csv
          table: transactions
          money_unit: yuan

    Examples:

      youshu data import exports/2025-09 --mapping exports/map.yml

      youshu data import exports/2025-09 -m map.yml --warehouse /data/warehouse --as-of 2025-09-30
    """
    settings = get_settings()
    target = warehouse if warehouse is not None else settings.resolve(settings.warehouse)
    try:
        result = import_export(src, mapping, target, as_of=as_of.date() if as_of else None)
    except ValidationFailed as exc:
        if not isinstance(exc.report, ValidationReport):
            raise
        _say(exc.report.to_text())
        raise _failed(exc.report, f"import of {src} failed, nothing was written to {target}") from None
    summary = Table(title=Text(f"导入 imported into {result.warehouse}"), show_lines=False)
    summary.add_column("表 table")
    summary.add_column("来源 source")
    summary.add_column("行数 rows", justify="right")
    for name, rows in result.tables.items():
        summary.add_row(Text(name), Text(str(result.sources[name])), Text(f"{rows:,}"))
    console.print(summary, highlight=False)
    _say(f"OK: {len(result.tables)} tables, {sum(result.tables.values()):,} rows in {result.seconds:.1f} s")
