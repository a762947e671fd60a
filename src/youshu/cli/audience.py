"""``youshu audience count|export``: select customers by a boolean expression over tags."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
import typer
from rich.console import Console
from rich.table import Table

from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import YoushuError
from youshu.reports.lists import customer_list, write_list, zh_headers
from youshu.tags.audience import AudienceIndex

audience_app = typer.Typer(help="Audiences (客群圈选): boolean expressions over tags.", no_args_is_help=True)
app.add_typer(audience_app, name="audience")
console = Console()


def _index(tags: Path, id_column: str, outlet_column: str | None) -> AudienceIndex:
    if (tags / "index.json").exists():
        return AudienceIndex.load(tags)
    if not tags.exists():
        raise YoushuError(
            f"{tags} does not exist; point --tags at a wide tag table (Parquet) or a saved index"
        )
    table = ds.dataset(tags, format="parquet").to_table()
    if id_column not in table.column_names:
        raise YoushuError(f"{tags} has no column {id_column!r}; columns: {', '.join(table.column_names)}")
    outlet = outlet_column if outlet_column and outlet_column in table.column_names else None
    return AudienceIndex.from_wide(table, id_column, outlet_column=outlet)


@audience_app.command("count")
def count(
    expression: str = typer.Argument(
        ..., help="e.g. 'is_female AND buys_wealth_elsewhere AND NOT is_dormant'"
    ),
    tags: Path = typer.Option(
        ..., "--tags", help="Wide tag table (Parquet file or folder) or a saved index."
    ),
    by_outlet: bool = typer.Option(False, "--by-outlet", help="Also count per outlet."),
    id_column: str = typer.Option("customer_id", "--id-column", help="Entity id column of the tag table."),
    outlet_column: str = typer.Option(
        "home_outlet_id", "--outlet-column", help="Outlet column for --by-outlet."
    ),
    top: int = typer.Option(20, "--top", help="Outlets to show with --by-outlet."),
) -> None:
    """Count the customers matching EXPRESSION (AND, OR, NOT, parentheses; also 且 或 非).

    Examples:

      youshu audience count "女性客群 AND 行外理财客户 AND NOT 沉睡客户" --tags runs/tags/customer_tags/wide

      youshu audience count "has_payroll OR has_pension" --tags wide.parquet --by-outlet
    """
    index = _index(tags, id_column, outlet_column)
    n = index.count(expression)
    console.print(
        f"客群 audience: {expression}\n人数 matches: {n:,} of {len(index.universe):,}", highlight=False
    )
    if by_outlet:
        table = Table("网点 outlet", "人数 matches")
        for outlet, k in list(index.count_by_outlet(expression).items())[:top]:
            table.add_row(outlet, f"{k:,}")
        console.print(table)


@audience_app.command("export")
def export(
    expression: str = typer.Argument(..., help="Audience expression."),
    tags: Path = typer.Option(
        ..., "--tags", help="Wide tag table (Parquet file or folder) or a saved index."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="List file: .xlsx or .parquet."),
    warehouse: Path = typer.Option(
        None, "--warehouse", "-w", help="Warehouse with customers (default: config)."
    ),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """Export the matching customers as a list with masked personal data and zh headers.

    Examples:

      youshu audience export "女性客群 AND 行外理财客户" --tags wide.parquet -o lists/her_wealth.xlsx
    """
    settings = get_settings()
    index = _index(tags, "customer_id", None)
    members = index.members(expression)
    table = customer_list(warehouse or settings.resolve(settings.warehouse), members)
    path = write_list(
        table,
        out,
        title=expression,
        headers_zh=zh_headers(table.column_names),
        exported_by=exported_by,
        notes={"expression": expression},
    )
    console.print(
        f"导出 exported {table.num_rows:,} customers (personal data masked) -> {path.resolve()}",
        highlight=False,
        soft_wrap=True,
    )
