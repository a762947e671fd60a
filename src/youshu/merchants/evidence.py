"""Why an alert fired, in Chinese, with the numbers that triggered it (资金动向预警依据)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

from youshu.config import MerchantAlertSettings

__all__ = ["RULE_ZH", "AlertRule", "evidence", "pct", "yuan"]


class AlertRule(StrEnum):
    """The fund-flow alert rules, in display order."""

    QUICK_OUTFLOW = "quick_outflow"
    VOLUME_DROP = "volume_drop"
    SILENT = "silent"


RULE_ZH: dict[str, str] = {
    AlertRule.QUICK_OUTFLOW: "资金快进快出",
    AlertRule.VOLUME_DROP: "收单交易量骤降",
    AlertRule.SILENT: "连续无收单",
}


def yuan(fen: Any) -> str:
    """Fen shown as yuan with two decimals and thousands separators: ``1234567 -> "12,345.67"``."""
    return f"{float(fen) / 100:,.2f}"


def pct(share: Any) -> str:
    """A share as a percentage with one decimal: ``0.456 -> "45.6%"``."""
    return f"{float(share) * 100:.1f}%"


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat() if isinstance(value, date | pd.Timestamp) else str(value)


def evidence(
    rule: AlertRule, row: dict[str, Any], cfg: MerchantAlertSettings, windows: dict[str, date]
) -> str:
    """The zh evidence of ``rule`` for one merchant's metrics ``row`` (see ``alert_metrics``).

    ``windows`` holds the days the metrics covered: ``settle_first``, ``settle_last`` (quick outflow).
    """
    if rule == AlertRule.QUICK_OUTFLOW:
        return (
            f"{_day(windows['settle_first'])}至{_day(windows['settle_last'])}结算入账{yuan(row['settled_fen'])}元，"
            f"入账后{cfg.quick_outflow_days}天内转出{yuan(row['quick_out_fen'])}元，"
            f"占{pct(row['quick_out_share'])}（阈值{pct(cfg.quick_outflow_share)}）"
        )
    if rule == AlertRule.VOLUME_DROP:
        return (
            f"近{cfg.drop_recent_days}天收单{int(row['recent_payments'])}笔、{yuan(row['recent_amount_fen'])}元"
            f"（日均{yuan(row['recent_daily_fen'])}元），前{cfg.drop_baseline_weeks}周"
            f"{int(row['baseline_payments'])}笔、日均{yuan(row['baseline_daily_fen'])}元，"
            f"日均下降{pct(row['drop_share'])}（阈值{pct(cfg.drop_share)}）"
        )
    days = int(row["days_silent"])
    if row.get("last_paid_date") is None or pd.isna(row["last_paid_date"]):
        return f"{_day(row['onboard_date'])}签约以来从未收单，已{days}天（阈值{cfg.silent_days}天）"
    return f"最近一笔收单在{_day(row['last_paid_date'])}，已连续{days}天无收单（阈值{cfg.silent_days}天）"
