"""``youshu chainloan suggest``: 产业e贷 credit lines for a core enterprise's upstream and downstream customers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from youshu.cli.main import app
from youshu.cli.rural import DATE, _warehouse
from youshu.config import get_settings
from youshu.engine import connect_from_settings
from youshu.errors import YoushuError
from youshu.reports.lists import customer_list, write_list, zh_headers
from youshu.rural.chainloan import CHAINLOAN_COLUMNS, suggest_credit_lines

chainloan_app = typer.Typer(
    help="产业e贷: chain credit lines around a core enterprise.", no_args_is_help=True
)
app.add_typer(chainloan_app, name="chainloan")
console = Console()


@chainloan_app.command("suggest")
def suggest(
    core: str = typer.Option(
        ..., "--core", help="Core enterprise: a transactions.counterparty_id or customer id."
    ),
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(..., "--out", "-o", help="List file (.xlsx or .parquet)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
) -> None:
    """Find the core's upstream (it pays them) and downstream (they pay it) customers and suggest credit lines.

    Line = min(cap, k x median monthly volume with the core x months active / 12) x repayment factor
    (definitions/rural/chainloan.yml); names and phones masked; evidence in zh.

    Examples:

      youshu chainloan suggest --core BUY0000100743 --as-of 2025-09-30 -o runs/chainloan.xlsx
    """
    if out.suffix not in (".xlsx", ".parquet"):
        raise YoushuError(f"{out}: 产业e贷 lists are written as .xlsx or .parquet")
    wh = _warehouse(warehouse)
    with connect_from_settings(get_settings()) as eng:
        lines = suggest_credit_lines(eng, wh, core, as_of.date())
    table = pa.Table.from_pandas(lines, preserve_index=False)
    people = customer_list(wh, table.column("customer_id").combine_chunks(), ("customer_id", "name", "phone"))
    table = table.add_column(1, "name", people.column("name")).add_column(2, "phone", people.column("phone"))
    write_list(
        table,
        out,
        title=f"产业e贷 {core} {as_of.date()}",
        headers_zh={**zh_headers(table.column_names), **CHAINLOAN_COLUMNS},
        notes={"core": core, "as_of": as_of.date().isoformat()},
    )
    summary = Table(title=f"产业e贷 core {core} as of {as_of.date()}")
    for title in ("关系 relation", "客户数 customers", "授信客户 with a line", "建议额度合计 total"):
        summary.add_column(title)
    for relation, g in lines.groupby("relation_zh"):
        granted = g[g["suggested_line_fen"] > 0]
        total = granted["suggested_line_fen"].sum() / 100
        summary.add_row(str(relation), f"{len(g):,}", f"{len(granted):,}", f"¥{total:,.0f}")
    console.print(summary)
    console.print(f"产业e贷 {len(lines):,} customers → {out.resolve()}")
