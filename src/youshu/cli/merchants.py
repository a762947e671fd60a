"""``youshu merchants alerts``: fund-flow alerts (资金动向) per outlet and VIP merchants, as of a date.

Also holds the options the merchant-operation commands share (``campaigns``, ``kpi``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from youshu.cli.main import app
from youshu.config import Settings, get_settings
from youshu.engine import Engine, connect_from_settings
from youshu.engine.base import Tables
from youshu.errors import YoushuError
from youshu.merchants.alerts import merchant_alerts
from youshu.merchants.evidence import pct, yuan
from youshu.merchants.export import to_arrow, with_owner_contacts, zh_headers
from youshu.reports.lists import write_list

merchants_app = typer.Typer(
    help="Merchant operations (商户经营): fund-flow alerts, VIP merchants.", no_args_is_help=True
)
app.add_typer(merchants_app, name="merchants")
console = Console()

ENGINES = ("duckdb", "spark")
WAREHOUSE_HELP = "Canonical warehouse (default from youshu.yaml)."
ENGINE_HELP = "duckdb or spark (default from youshu.yaml)."


def settings_for(engine: str | None) -> Settings:
    """The project settings, with ``--engine`` applied."""
    settings = get_settings()
    if engine is None:
        return settings
    if engine not in ENGINES:
        raise typer.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}", param_hint="--engine"
        )
    return settings.model_copy(update={"engine": engine})


@contextlib.contextmanager
def open_engine(settings: Settings) -> Iterator[Engine]:
    eng = connect_from_settings(settings)
    try:
        yield eng
    finally:
        eng.close()


def as_of_day(value: datetime | None, settings: Settings) -> date:
    """``--as-of`` or the project's ``as_of``; a usage error without either."""
    if value is not None:
        return value.date()
    if settings.as_of is None:
        raise typer.BadParameter(
            "give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)", param_hint="--as-of"
        )
    return settings.as_of


def warehouse_path(value: Path | None, settings: Settings) -> Path:
    path = value or settings.resolve(settings.warehouse)
    if not path.is_dir():
        raise YoushuError(f"warehouse {path} does not exist; generate one (youshu synth) or pass --warehouse")
    return path


def export(frame: pd.DataFrame, out: Path, *, title: str, exported_by: str, notes: dict[str, str]) -> Path:
    """Write a report table as Excel or Parquet (by suffix) with zh headers, atomically, and say where."""
    path = write_list(
        to_arrow(frame),
        out,
        title=title,
        headers_zh=zh_headers(list(frame.columns)),
        exported_by=exported_by,
        notes=notes,
    )
    console.print(f"导出 exported {len(frame):,} rows -> {path.resolve()}", highlight=False, soft_wrap=True)
    return path


def table(*headers: str, title: str | None = None) -> Table:
    """A rich table whose cells wrap (fold) instead of being cut short: names and evidence stay whole."""
    out = Table(title=title)
    for header in headers:
        out.add_column(header, overflow="fold")
    return out


def fmt(value: Any, kind: str = "int") -> str:
    """A cell: counts with separators, fen as yuan, shares as percentages, missing as —."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if kind == "yuan":
        return yuan(value)
    if kind == "pct":
        return pct(value)
    if kind == "float":
        return f"{float(value):,.2f}"
    return f"{int(value):,}"


@merchants_app.command("alerts")
def alerts(
    as_of: datetime = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Use data on or before this date (default: as_of in youshu.yaml).",
    ),
    outlet: str = typer.Option(None, "--outlet", help="Only this outlet (outlet_id)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help=WAREHOUSE_HELP),
    engine: str = typer.Option(None, "--engine", help=ENGINE_HELP),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write the alert list (.xlsx or .parquet; owners masked)."
    ),
    vip_out: Path = typer.Option(None, "--vip-out", help="Write the VIP merchant list (.xlsx or .parquet)."),
    top: int = typer.Option(30, "--top", help="Alerts and outlets to print."),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """Fund-flow alerts per outlet: quick outflow, volume drop, 28 days without QR payments (资金动向预警).

    Each alert carries its evidence (the numbers that triggered it). Thresholds: merchants.alerts in
    youshu.yaml.

    Examples:

      youshu merchants alerts --as-of 2025-09-30

      youshu merchants alerts --as-of 2025-09-30 --outlet O00012 -o lists/alerts.xlsx
    """
    settings = settings_for(engine)
    day = as_of_day(as_of, settings)
    wh = warehouse_path(warehouse, settings)
    with open_engine(settings) as eng:
        result = merchant_alerts(eng, wh, day, settings=settings.merchants, outlet=outlet)
        listing = with_owner_contacts(eng, Tables(eng, wh), result.alerts) if out else result.alerts
    by_outlet = table(
        "网点 outlet",
        "收单商户 merchants",
        "VIP",
        "快进快出",
        "骤降",
        "无收单",
        "预警 alerts",
        title=f"资金动向预警 alerts as of {day}",
    )
    for r in result.by_outlet.head(top).itertuples():
        by_outlet.add_row(
            f"{r.outlet_name} {r.outlet_id}",
            fmt(r.merchants),
            fmt(r.vip),
            fmt(r.quick_outflow),
            fmt(r.volume_drop),
            fmt(r.silent),
            fmt(r.alerts),
        )
    console.print(by_outlet)
    listed = table("网点 outlet", "商户 merchant", "预警 rule", "VIP", "依据 evidence")
    for r in result.alerts.head(top).itertuples():
        listed.add_row(
            str(r.outlet_id),
            f"{r.merchant_name} {r.merchant_id}",
            str(r.rule_zh),
            "是" if r.is_vip else "",
            str(r.evidence_zh),
        )
    console.print(listed)
    console.print(f"预警 alerts: {len(result.alerts):,}; VIP商户: {len(result.vip):,}", highlight=False)
    notes = {"as_of": day.isoformat(), "outlet": outlet or "all"}
    if out:
        export(listing, out, title=f"资金动向预警 {day}", exported_by=exported_by, notes=notes)
    if vip_out:
        export(result.vip, vip_out, title=f"VIP商户 {day}", exported_by=exported_by, notes=notes)
