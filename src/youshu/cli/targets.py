"""``youshu targets build``: capacity-aware target lists (营销名单) per outlet from scored campaigns."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import YoushuError
from youshu.models.target_inputs import read_id_file
from youshu.models.target_lists import (
    EXCLUSION_REASONS,
    ScoredCampaign,
    build_target_lists,
    write_target_lists,
)

targets_app = typer.Typer(help="Target lists (营销名单): capacity-aware, per outlet.", no_args_is_help=True)
app.add_typer(targets_app, name="targets")
console = Console()


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise YoushuError(f"{option} takes NAME=VALUE, got {value!r}")
        out[name] = rest
    return out


def _read_table(path: Path, what: str) -> pa.Table:
    if not path.is_file():
        raise YoushuError(f"{what} {path} does not exist")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".csv":
        return pa.Table.from_pandas(pd.read_csv(path, dtype={"customer_id": str, "outlet_id": str}))
    raise YoushuError(f"{what} {path}: give a .parquet or .csv file")


@targets_app.command("build")
def build(
    scores: list[str] = typer.Option(
        ..., "--scores", help="NAME=FILE (.parquet/.csv: customer_id, score[, reasons]); repeat per campaign."
    ),
    as_of: datetime = typer.Option(..., "--as-of", formats=["%Y-%m-%d"], help="CRM windows end on this day."),
    out: Path = typer.Option(..., "--out", "-o", help="List file: .xlsx or .parquet (summary beside it)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Warehouse (default: config)."),
    per_manager_week: int = typer.Option(
        20, "--per-manager-week", help="Contacts per account manager a week."
    ),
    weeks: int = typer.Option(1, "--weeks", help="Weeks the list covers."),
    default_managers: int = typer.Option(
        1, "--default-managers", help="Managers of an outlet without contacts."
    ),
    managers: Path = typer.Option(None, "--managers", help="Override table: outlet_id, account_managers."),
    exclude_risky: Path = typer.Option(None, "--exclude-risky", help="customer_risk_flags folder or file."),
    opt_out: Path = typer.Option(None, "--opt-out", help="Opted-out customer ids (.txt, .csv or .parquet)."),
    cooling_off_days: int = typer.Option(
        30, "--cooling-off-days", help="Declined-contact cooling-off; 0: off."
    ),
    contacted_days: int = typer.Option(
        0, "--contacted-days", help="Skip customers contacted for the campaign's purpose in N days; 0: off."
    ),
    value: list[str] = typer.Option([], "--value", help="NAME=FEN value of one conversion (all or none)."),
    purpose: list[str] = typer.Option([], "--purpose", help="NAME=crm purpose (default: the name)."),
    zh: list[str] = typer.Option([], "--zh", help="NAME=中文活动名."),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
    top: int = typer.Option(10, "--top", help="Summary rows to print."),
) -> None:
    """Build per-outlet target lists from scored campaigns: one campaign per customer, capacity respected.

    Examples:

      youshu targets build --scores wealth=wealth.parquet --scores insurance=her.parquet --as-of 2025-09-30
      --per-manager-week 20 --weeks 1 --exclude-risky runs/risk/customer_risk_flags --opt-out optout.txt
      -o lists/targets.xlsx
    """
    files = _pairs(scores, "--scores")
    values = {k: float(v) for k, v in _pairs(value, "--value").items()}
    purposes = _pairs(purpose, "--purpose")
    names_zh = _pairs(zh, "--zh")
    unknown = sorted((set(values) | set(purposes) | set(names_zh)) - set(files))
    if unknown:
        raise YoushuError(f"--value/--purpose/--zh name campaign(s) {unknown} not given with --scores")
    campaigns = [
        ScoredCampaign(
            name,
            _read_table(Path(path), f"scores of campaign {name!r}"),
            zh=names_zh.get(name, ""),
            value_fen=values.get(name),
            purpose=purposes.get(name),
        )
        for name, path in files.items()
    ]
    settings = get_settings()
    wh = warehouse or settings.resolve(settings.warehouse)
    result = build_target_lists(
        wh,
        campaigns,
        as_of.date(),
        per_manager_week=per_manager_week,
        weeks=weeks,
        default_managers=default_managers,
        manager_overrides=_read_table(managers, "managers file") if managers else None,
        opt_out=read_id_file(opt_out, "opt-out file") if opt_out else None,
        risky=exclude_risky,
        cooling_off_days=cooling_off_days or None,
        contacted_days=contacted_days or None,
    )
    listed, summary_file = write_target_lists(result, out, wh, exported_by=exported_by)
    summary = result.summary
    table = Table(
        "网点 outlet", "经理 managers", "容量 capacity", "候选 candidates", "入选 selected", "剔除 excluded"
    )
    excluded_cols = [c for c in summary.column_names if c.startswith("excluded_")]
    for row in (
        summary.sort_by([("selected", "descending"), ("outlet_id", "ascending")]).slice(0, top).to_pylist()
    ):
        table.add_row(
            row["outlet_id"],
            str(row.get("account_managers", "")),
            f"{row['capacity']:,}",
            f"{row['candidates']:,}",
            f"{row['selected']:,}",
            f"{sum(row[c] for c in excluded_cols):,}",
        )
    console.print(table)
    console.print("剔除 excluded by reason:", highlight=False)
    for code, count in result.excluded.items():
        console.print(f"  {code} {EXCLUSION_REASONS[code]}: {count:,}", highlight=False)
    console.print(
        f"入选 selected {result.lists.num_rows:,} customers in {summary.num_rows:,} outlets "
        f"(personal data masked) -> {listed.resolve()}\n汇总 summary -> {summary_file.resolve()}",
        highlight=False,
        soft_wrap=True,
    )
