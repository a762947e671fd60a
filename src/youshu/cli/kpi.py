"""``youshu kpi report``: KPIs per outlet and sub-branch for a period, against targets, ranked in the city."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from youshu.cli.main import app
from youshu.cli.merchants import (
    ENGINE_HELP,
    WAREHOUSE_HELP,
    console,
    export,
    fmt,
    open_engine,
    settings_for,
    table,
    warehouse_path,
)
from youshu.merchants.kpi import KpiReport, kpi_report
from youshu.merchants.periods import Period

kpi_app = typer.Typer(
    help="KPIs (考核): outlets and sub-branches against their targets.", no_args_is_help=True
)
app.add_typer(kpi_app, name="kpi")


def _units(rep: KpiReport, level: str, top: int) -> Table:
    frame = rep.outlets if level == "outlet" else rep.sub_branches
    key = "outlet_id" if level == "outlet" else "sub_branch_id"
    units = table(
        "地市 city",
        "排名 rank",
        "网点 outlet" if level == "outlet" else "支行 sub-branch",
        "新增有效商户 实际/目标",
        "新增资产(元) 完成率",
        "新增客户 实际/目标",
        "理财销售 完成率",
        "得分 score",
        title=f"考核 KPIs {rep.period.label} as of {rep.as_of} (时间进度 {rep.elapsed:.0%})",
    )
    for r in frame.head(top).to_dict("records"):
        name = f"{r['outlet_name']} {r[key]}" if level == "outlet" else str(r[key])
        units.add_row(
            str(r["city_name"]),
            fmt(r["rank_in_city"]),
            name,
            f"{fmt(r['new_effective_merchants'])}/{fmt(r['new_effective_merchants_target'], 'float')}",
            f"{fmt(r['assets_brought_in_fen'], 'yuan')} {fmt(r['assets_brought_in_fen_achievement'], 'pct')}",
            f"{fmt(r['new_customers'])}/{fmt(r['new_customers_target'], 'float')}",
            fmt(r["wealth_sales_fen_achievement"], "pct"),
            fmt(r["score"], "float"),
        )
    return units


@kpi_app.command("report")
def report(
    period: str = typer.Option(..., "--period", help="2025Q3, 2025-09, 2025H1 or 2025."),
    as_of: datetime = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Use data on or before this date (default: the period's last day).",
    ),
    level: str = typer.Option("outlet", "--level", help="outlet or sub-branch (what to print)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help=WAREHOUSE_HELP),
    engine: str = typer.Option(None, "--engine", help=ENGINE_HELP),
    out: Path = typer.Option(None, "--out", "-o", help="Write the outlet KPIs (.xlsx or .parquet)."),
    sub_branches_out: Path = typer.Option(None, "--sub-branches-out", help="Write the sub-branch KPIs."),
    trend_out: Path = typer.Option(None, "--trend-out", help="Write the monthly trend per outlet."),
    top: int = typer.Option(30, "--top", help="Rows to print."),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """New effective merchants, assets brought in, new customers and wealth sales per outlet and sub-branch,
    against kpi_targets, ranked within the city, with the monthly trend.

    Examples:

      youshu kpi report --period 2025Q3

      youshu kpi report --period 2025-09 --level sub-branch -o lists/kpi_2025-09.xlsx
    """
    if level not in ("outlet", "sub-branch"):
        raise typer.BadParameter("choose outlet or sub-branch", param_hint="--level")
    settings = settings_for(engine)
    parsed = Period.parse(period)
    wh = warehouse_path(warehouse, settings)
    with open_engine(settings) as eng:
        rep = kpi_report(
            eng, wh, parsed, as_of=as_of.date() if as_of else None, settings=settings.merchants.kpi
        )
    console.print(_units(rep, level, top))
    trend = table(
        "月份 month",
        "新增有效商户",
        "新增资产(元)",
        "新增客户",
        "理财销售(元)",
        title="月度趋势 monthly trend",
    )
    for r in rep.trend_total().to_dict("records"):
        trend.add_row(
            str(r["month"]),
            fmt(r["new_effective_merchants"]),
            fmt(r["assets_brought_in_fen"], "yuan"),
            fmt(r["new_customers"]),
            fmt(r["wealth_sales_fen"], "yuan"),
        )
    console.print(trend)
    notes = {"period": parsed.label, "as_of": rep.as_of.isoformat()}
    for frame, path, title in (
        (rep.outlets, out, "网点考核"),
        (rep.sub_branches, sub_branches_out, "支行考核"),
        (rep.trend, trend_out, "月度趋势"),
    ):
        if path:
            export(frame, path, title=f"{title} {parsed.label}", exported_by=exported_by, notes=notes)
