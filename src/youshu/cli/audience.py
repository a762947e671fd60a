"""``youshu audience count|export``: select customers by a boolean expression over tags."""

from __future__ import annotations

from datetime import date, datetime
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


def _saved(tags: Path) -> Path | None:
    """The saved index ``tags`` points at: an index folder, a date folder, or the ``wide`` folder beside one."""
    beside = [tags.parent / "audience"] if tags.name == "wide" else []
    for folder in (tags, tags / "audience", *beside):
        if (folder / "index.json").is_file():
            return folder
    return None


def _applied(entity: str, as_of: date | None) -> Path:
    """The date folder ``youshu tags apply`` wrote under tags_dir: that date's, or the latest."""
    settings = get_settings()
    root = settings.resolve(settings.tags_dir) / f"{entity}_tags"
    if as_of is not None:
        folder = root / f"as_of_date={as_of.isoformat()}"
        if not folder.is_dir():
            raise YoushuError(
                f"no {entity} tags applied as of {as_of} in {root}; run youshu tags apply --as-of {as_of}"
            )
        return folder
    dates = sorted(p for p in root.glob("as_of_date=*") if p.is_dir()) if root.is_dir() else []
    if not dates:
        raise YoushuError(
            f"no {entity} tags applied in {root}; run youshu tags apply --as-of YYYY-MM-DD or pass --tags"
        )
    return dates[-1]


def _index(
    tags: Path | None, id_column: str, outlet_column: str | None, as_of: date | None = None
) -> AudienceIndex:
    if tags is None:
        tags = _applied(id_column.removesuffix("_id"), as_of)
    saved = _saved(tags)
    if saved is not None:  # written by youshu tags apply with the tags themselves: no rebuilding
        return AudienceIndex.load(saved)
    if not tags.exists():
        raise YoushuError(
            f"{tags} does not exist; point --tags at a wide tag table (Parquet) or a saved index"
        )
    table = ds.dataset(tags, format="parquet").to_table()
    if id_column not in table.column_names:
        raise YoushuError(f"{tags} has no column {id_column!r}; columns: {', '.join(table.column_names)}")
    outlet = outlet_column if outlet_column and outlet_column in table.column_names else None
    return AudienceIndex.from_wide(table, id_column, outlet_column=outlet)


TAGS = typer.Option(
    None,
    "--tags",
    help="Applied tags: a date folder, its wide/ or audience/ folder, or any wide tag table (Parquet). "
    "Default: the audience index youshu tags apply saved under tags_dir (latest date, or --as-of).",
)
AS_OF = typer.Option(None, "--as-of", formats=["%Y-%m-%d"], help="Which applied date (default: the latest).")


@audience_app.command("count")
def count(
    expression: str = typer.Argument(
        ..., help="e.g. 'is_female AND buys_wealth_elsewhere AND NOT is_dormant'"
    ),
    tags: Path = TAGS,
    as_of: datetime = AS_OF,
    by_outlet: bool = typer.Option(False, "--by-outlet", help="Also count per outlet."),
    id_column: str = typer.Option("customer_id", "--id-column", help="Entity id column of the tag table."),
    outlet_column: str = typer.Option(
        "home_outlet_id", "--outlet-column", help="Outlet column for --by-outlet."
    ),
    top: int = typer.Option(20, "--top", help="Outlets to show with --by-outlet."),
) -> None:
    """Count the customers matching EXPRESSION (AND, OR, NOT, parentheses; also 且 或 非).

    Examples:

      youshu audience count "女性客群 AND 行外理财客户 AND NOT 沉睡客户" --as-of 2025-09-30

      youshu audience count "女性客群 AND 行外理财客户" --tags data/tags/customer_tags/as_of_date=2025-09-30

      youshu audience count "has_payroll OR has_pension" --tags wide.parquet --by-outlet
    """
    index = _index(tags, id_column, outlet_column, as_of.date() if as_of else None)
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
    tags: Path = TAGS,
    as_of: datetime = AS_OF,
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
    index = _index(tags, "customer_id", None, as_of.date() if as_of else None)
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
