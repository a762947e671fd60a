"""``youshu campaigns report``: the alliance ledger (异业联盟台账) and the uplift against the control group."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from youshu.campaigns.report import campaign_report
from youshu.cli.main import app
from youshu.cli.merchants import (
    ENGINE_HELP,
    WAREHOUSE_HELP,
    as_of_day,
    console,
    export,
    fmt,
    open_engine,
    settings_for,
    table,
    warehouse_path,
)

campaigns_app = typer.Typer(help="Campaigns with partner merchants (异业联盟).", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")


def _interval(low: object, high: object) -> str:
    return "—" if low is None or high is None else f"[{fmt(low, 'pct')}, {fmt(high, 'pct')}]"


@campaigns_app.command("report")
def report(
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign (campaign_id)."),
    as_of: datetime = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Use data on or before this date (default: as_of in youshu.yaml).",
    ),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help=WAREHOUSE_HELP),
    engine: str = typer.Option(None, "--engine", help=ENGINE_HELP),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write the ledger per partner merchant (.xlsx or .parquet)."
    ),
    summary_out: Path = typer.Option(
        None, "--summary-out", help="Write the per-campaign summary (.xlsx or .parquet)."
    ),
    top: int = typer.Option(20, "--top", help="Ledger rows to print."),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """Coupons, redemptions, referrals and retained deposits per partner merchant, and the uplift of each
    campaign against its randomized control group with a confidence interval.

    Examples:

      youshu campaigns report --as-of 2025-09-30

      youshu campaigns report --campaign CMP001 --as-of 2025-09-30 -o lists/breakfast.xlsx
    """
    settings = settings_for(engine)
    day = as_of_day(as_of, settings)
    wh = warehouse_path(warehouse, settings)
    cfg = settings.merchants.campaigns
    with open_engine(settings) as eng:
        rep = campaign_report(eng, wh, day, campaign=campaign, settings=cfg)
    level = f"{cfg.confidence:.0%}"
    summary = table(
        "活动 campaign",
        "类型 type",
        "实验/对照 T/C",
        "发券/核销 coupons",
        "转化率 实验/对照",
        "提升 uplift",
        f"{level} 置信区间 CI",
        "P值",
        title=f"营销活动效果 campaigns as of {day}",
    )
    for r in rep.campaigns.to_dict("records"):
        summary.add_row(
            f"{r['campaign_name']} {r['campaign_id']}",
            str(r["campaign_type_zh"]),
            f"{r['treatment']:,}/{r['control']:,}",
            f"{r['coupons_issued']:,}/{r['coupons_redeemed']:,}",
            f"{fmt(r['conversion_treatment'], 'pct')}/{fmt(r['conversion_control'], 'pct')}",
            fmt(r["uplift"], "pct"),
            _interval(r["uplift_low"], r["uplift_high"]),
            fmt(r["uplift_p_value"], "float"),
        )
    console.print(summary)
    horizons = cfg.deposit_horizons_days
    ledger = table(
        "活动 campaign",
        "合作商户 partner",
        "发券",
        "核销",
        "引荐客户",
        "核销后转化",
        *(f"{h}天留存(元)" for h in horizons),
        title="异业联盟台账 alliance ledger",
    )
    for r in rep.ledger.head(top).to_dict("records"):
        ledger.add_row(
            str(r["campaign_id"]),
            f"{r['merchant_name']} {r['merchant_id']}",
            fmt(r["coupons_issued"]),
            fmt(r["coupons_redeemed"]),
            fmt(r["customers_referred"]),
            fmt(r["referred_after_redemption"]),
            *(fmt(r[f"retained_{h}d_fen"], "yuan") for h in horizons),
        )
    console.print(ledger)
    notes = {"as_of": day.isoformat(), "campaign": campaign or "all", "confidence": str(cfg.confidence)}
    if out:
        export(rep.ledger, out, title=f"异业联盟台账 {day}", exported_by=exported_by, notes=notes)
    if summary_out:
        export(rep.campaigns, summary_out, title=f"营销活动效果 {day}", exported_by=exported_by, notes=notes)
