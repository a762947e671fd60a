"""``youshu rural catalogue|map|chain|select``: specialty catalogue (特产名录), county map, chain customers, selection."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.config import get_settings
from youshu.engine import Tables, connect_from_settings
from youshu.errors import YoushuError
from youshu.rural import CATALOGUE_COLUMNS, chain_customers, specialty_catalogue
from youshu.rural.county_map import write_county_map
from youshu.rural.select import rural_selection, write_selection

rural_app = typer.Typer(
    help="Rural finance (乡村振兴): specialty catalogue, chain customers, selection.", no_args_is_help=True
)
app.add_typer(rural_app, name="rural")
console = Console()
DATE = ["%Y-%m-%d"]


def _warehouse(warehouse: Path | None) -> Path:
    settings = get_settings()
    wh = warehouse or settings.resolve(settings.warehouse)
    if not Path(wh).is_dir():
        raise YoushuError(f"warehouse {wh} does not exist; give --warehouse or set it in youshu.yaml")
    return Path(wh)


def _write(frame: pd.DataFrame, out: Path) -> None:
    """Write ``frame`` atomically as Parquet, CSV (UTF-8 with BOM, for Excel) or Excel by the suffix."""
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv", ".xlsx"):
        raise YoushuError(f"output {out} must end in .parquet, .csv or .xlsx")
    with atomic_file(out) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            frame.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            frame.to_excel(tmp, index=False, engine="openpyxl")


@rural_app.command("catalogue")
def catalogue(
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the whole catalogue (.parquet/.csv/.xlsx)."),
    top: int = typer.Option(3, "--top", help="Products shown per county."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
) -> None:
    """Print each county's top specialty products (特产名录) with location quotient and competitiveness.

    Examples:

      youshu rural catalogue --as-of 2025-09-30 -o runs/catalogue.xlsx
    """
    wh = _warehouse(warehouse)
    with connect_from_settings(get_settings()) as eng:
        frame = eng.execute(specialty_catalogue(Tables(eng, wh), as_of.date()))
    if out is not None:
        _write(frame[list(CATALOGUE_COLUMNS)], out)
    shown = frame[frame["rank_in_county"] <= top]
    table = Table(title=f"特产名录 specialty catalogue as of {as_of.date()} (top {top} per county)")
    for title in (
        "区县 county",
        "排名 rank",
        "特产 product",
        "区位商 LQ",
        "竞争力 index",
        "增长 growth",
        "旺季 peak",
    ):
        table.add_column(title)
    for row in shown.itertuples(index=False):
        growth = "-" if pd.isna(row.growth) else f"{row.growth:+.0%}"
        peak = "-" if pd.isna(row.peak_month) else f"{int(row.peak_month)}月 {row.seasonality_peak_share:.0%}"
        table.add_row(
            f"{row.county_name} {row.county_id}",
            str(row.rank_in_county),
            f"{row.industry_zh} {row.industry}",
            f"{row.location_quotient:.2f}",
            f"{row.competitiveness_index:+.2f}",
            growth,
            peak,
        )
    console.print(table)
    if out is not None:
        console.print(f"特产名录 catalogue ({len(frame):,} county-products) → {out.resolve()}")


@rural_app.command("map")
def county_map(
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(..., "--out", "-o", help="The map page (.html), self-contained."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
) -> None:
    """Draw the offline county map of specialties (一县一品): colour = first product, size = its activity.

    Hover a county for its top 3 products with location quotient (区位商) and competitiveness index.
    The page embeds plotly.js and fetches nothing (no tiles, no CDN).

    Examples:

      youshu rural map --as-of 2025-09-30 -o runs/county_map.html
    """
    wh = _warehouse(warehouse)
    with connect_from_settings(get_settings()) as eng:
        path = write_county_map(eng, wh, as_of.date(), out)
    console.print(f"县域特产地图 county map of specialties → {path.resolve()}")


@rural_app.command("chain")
def chain(
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(..., "--out", "-o", help="Chain members file (.parquet/.csv/.xlsx)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
) -> None:
    """Identify industry-chain customers: chain, stage (生产/加工/销售), probability and evidence.

    Examples:

      youshu rural chain --as-of 2025-09-30 -o runs/chain_customers.parquet
    """
    wh = _warehouse(warehouse)
    with connect_from_settings(get_settings()) as eng:
        members = chain_customers(eng, wh, as_of.date())
    _write(members, out)
    counts = members.groupby(["chain_industry_zh", "chain_stage_zh"]).size()
    table = Table(title=f"产业链客户 chain customers as of {as_of.date()}")
    for title in ("产业链 chain", "环节 stage", "客户数 customers"):
        table.add_column(title)
    for (industry, stage), n in counts.items():
        table.add_row(str(industry), str(stage), f"{n:,}")
    console.print(table)
    console.print(f"产业链客户 {len(members):,} chain members → {out.resolve()}")


@rural_app.command("select")
def select(
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(..., "--out", "-o", help="List file (.xlsx or .parquet); summary beside it."),
    top: int = typer.Option(
        None, "--top", help="N customers (default 200,000 x customers / 16M, at least 100)."
    ),
    risky: Path = typer.Option(None, "--risky", help="风险账户: customer_risk_flags folder/file or id file."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
) -> None:
    """Select the top N chain customers for agricultural loans and AUM campaigns, listed per outlet.

    Excludes 风险账户 customers (--risky) and customers without a home outlet; ranks by loan-eligibility
    score (还款记录, 流入稳定性, 资产, 产业链地位); names and phones masked; reasons in zh.

    Examples:

      youshu rural select --as-of 2025-09-30 -o runs/rural_select.xlsx

      youshu rural select --as-of 2025-09-30 --top 5000 --risky runs/customer_risk_flags -o sel.parquet
    """
    wh = _warehouse(warehouse)
    with connect_from_settings(get_settings()) as eng:
        result = rural_selection(eng, wh, as_of.date(), top=top, risky=risky)
    listed, summary = write_selection(result, out, wh)
    table = Table(title=f"乡村振兴优选 rural selection as of {as_of.date()} (top {result.top:,})")
    for title in ("项目 item", "数值 value"):
        table.add_column(title)
    table.add_row("候选 chain members scored", f"{result.candidates:,}")
    table.add_row("剔除:风险账户 risky", f"{result.excluded.get('risky_account', 0):,}")
    table.add_row("剔除:无归属网点 no home outlet", f"{result.excluded.get('no_home_outlet', 0):,}")
    table.add_row("入选 selected", f"{len(result.lists):,}")
    table.add_row("网点 outlets", f"{len(result.summary):,}")
    console.print(table)
    console.print(f"名单 list → {listed.resolve()}\n网点汇总 summary → {summary.resolve()}")
