"""Fund-flow monitoring (资金动向): alert lists per outlet, each alert with the numbers that triggered it.

Three rules over every merchant signed for acquiring by the as-of date (thresholds: ``merchants.alerts`` in
youshu.yaml):

- **quick outflow** (资金快进快出): at least ``quick_outflow_share`` of the settlements of the window left
  the settlement account within ``quick_outflow_days`` days (FIFO, see ``youshu.merchants.fundflow``), and
  at least ``quick_outflow_min_settled_fen`` was settled;
- **volume drop** (收单交易量骤降): QR takings per day of the last ``drop_recent_days`` days fell by at least
  ``drop_share`` against the ``drop_baseline_weeks`` weeks before, for merchants signed before the baseline
  with at least ``drop_min_baseline_payments`` baseline payments;
- **silent** (连续无收单): no QR payment for ``silent_days`` days or more (up to ``silent_max_days``).

VIP merchants (``merchants.vip``) are flagged on every alert and listed on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from youshu.config import MerchantSettings
from youshu.engine import Tables, safe_divide
from youshu.errors import ConfigError, YoushuError
from youshu.features.common import as_of_date, attach
from youshu.merchants.activity import ActivityWindows, qr_activity
from youshu.merchants.evidence import RULE_ZH, AlertRule, evidence
from youshu.merchants.fundflow import quick_outflow_window, quick_outflows
from youshu.merchants.home import acquired_merchants
from youshu.merchants.vip import merchant_value
from youshu.schema.enums import MERCHANT_CATEGORY_ZH

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["ALERT_COLUMNS", "MerchantAlerts", "alert_metrics", "merchant_alerts"]

ALERT_COLUMNS = [
    "outlet_id",
    "outlet_name",
    "merchant_id",
    "merchant_name",
    "category",
    "category_zh",
    "rule",
    "rule_zh",
    "is_vip",
    "value",
    "threshold",
    "evidence_zh",
    "owner_customer_id",
]
_FLAGS = {
    AlertRule.QUICK_OUTFLOW: ("is_quick_outflow", "quick_out_share", "quick_outflow_share"),
    AlertRule.VOLUME_DROP: ("is_volume_drop", "drop_share", "drop_share"),
    AlertRule.SILENT: ("is_silent", "days_silent", "silent_days"),
}


def _check(settings: MerchantSettings) -> None:
    cfg = settings.alerts
    if cfg.silent_max_days is not None and cfg.silent_max_days < cfg.silent_days:
        raise ConfigError(
            f"merchants.alerts.silent_max_days ({cfg.silent_max_days}) must be at least silent_days "
            f"({cfg.silent_days}), or null for no upper limit"
        )


def alert_metrics(t: Tables, as_of: date, settings: MerchantSettings | None = None) -> ir.Table:
    """One row per acquired merchant with every number the alert rules look at and the rule flags.

    Parameters
    ----------
    t : Tables
        The canonical tables (DuckDB or Spark).
    as_of : date
        Nothing after this day is read.
    settings : MerchantSettings, optional
        Thresholds (default: the built-in defaults, as in youshu.yaml without a ``merchants`` block).

    Returns
    -------
    ibis.Table
        ``merchant_id, merchant_name, category, outlet_id, onboard_date, owner_customer_id, settled_fen,
        quick_out_fen, quick_out_share, recent_payments, recent_amount_fen, recent_daily_fen,
        baseline_payments, baseline_amount_fen, baseline_daily_fen, drop_share, last_paid_date,
        days_silent, deposit_fen, qr_amount_90d_fen, is_vip, is_quick_outflow, is_volume_drop, is_silent``.
    """
    settings = settings or MerchantSettings()
    _check(settings)
    as_of = as_of_date(as_of)
    cfg = settings.alerts
    windows = ActivityWindows.of(as_of, cfg)
    base = acquired_merchants(t, as_of).drop("settlement_account_id")
    parts = [
        quick_outflows(t, as_of, cfg),
        qr_activity(t, as_of, cfg),
        merchant_value(t, as_of, settings.vip).drop("deposit_month_end"),
    ]
    w = attach(base, "merchant_id", parts)
    w = w.mutate(
        settled_fen=w.settled_fen.fill_null(0),
        quick_out_fen=w.quick_out_fen.fill_null(0),
        quick_out_share=safe_divide(w.quick_out_fen, w.settled_fen),
        recent_daily_fen=w.recent_amount_fen / cfg.drop_recent_days,
        baseline_daily_fen=w.baseline_amount_fen / windows.baseline_days,
    )
    w = w.mutate(drop_share=1 - safe_divide(w.recent_daily_fen, w.baseline_daily_fen))
    silent_max = ibis.literal(True) if cfg.silent_max_days is None else w.days_silent <= cfg.silent_max_days
    return w.mutate(
        is_quick_outflow=(
            (w.settled_fen >= cfg.quick_outflow_min_settled_fen)
            & (w.quick_out_share >= cfg.quick_outflow_share)
        ).fill_null(False),
        is_volume_drop=(
            w.has_full_baseline
            & (w.baseline_payments >= max(cfg.drop_min_baseline_payments, 1))
            & (w.drop_share >= cfg.drop_share)
        ).fill_null(False),
        is_silent=((w.days_silent >= cfg.silent_days) & silent_max).fill_null(False),
    ).drop("has_full_baseline")


@dataclass(frozen=True)
class MerchantAlerts:
    """Alerts as of a date.

    Attributes
    ----------
    alerts : DataFrame
        One row per merchant and rule fired (``ALERT_COLUMNS``), by outlet, rule, VIP first, then value.
    by_outlet : DataFrame
        ``outlet_id, outlet_name, merchants, vip, quick_outflow, volume_drop, silent, alerts`` per outlet
        with signed merchants, most alerts first.
    vip : DataFrame
        ``outlet_id, outlet_name, merchant_id, merchant_name, category_zh, deposit_fen, qr_amount_90d_fen``.
    metrics : DataFrame
        The full ``alert_metrics`` result (every signed merchant).
    """

    as_of: date
    alerts: pd.DataFrame
    by_outlet: pd.DataFrame
    vip: pd.DataFrame
    metrics: pd.DataFrame


def merchant_alerts(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    settings: MerchantSettings | None = None,
    outlet: str | None = None,
) -> MerchantAlerts:
    """Fund-flow alerts and VIP merchants as of ``as_of``, for every outlet or for one.

    Raises
    ------
    YoushuError
        When ``outlet`` is not in the ``outlets`` table, or the thresholds contradict each other.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     res = merchant_alerts(eng, Path("data/warehouse"), date(2025, 9, 30), outlet="O00012")
    ...     res.alerts[["merchant_name", "rule_zh", "evidence_zh"]]
    """
    settings = settings or MerchantSettings()
    as_of = as_of_date(as_of)
    t = Tables(engine, warehouse)
    outlets = engine.execute(t.outlets.select("outlet_id", "outlet_name")).reset_index(drop=True)
    expr = alert_metrics(t, as_of, settings)
    if outlet is not None:
        if outlet not in set(outlets["outlet_id"]):
            raise YoushuError(f"outlet {outlet!r} is not in the outlets table of {warehouse}")
        expr = expr.filter(expr.outlet_id == outlet)
    metrics = _tidy(engine.execute(expr)).merge(outlets, on="outlet_id", how="left")
    metrics["category_zh"] = [MERCHANT_CATEGORY_ZH.get(c, c) for c in metrics["category"]]
    first, last = quick_outflow_window(as_of, settings.alerts)
    alerts = _long(metrics, settings, {"settle_first": first, "settle_last": last})
    vip = metrics[metrics["is_vip"].astype(bool)].sort_values(
        ["outlet_id", "deposit_fen"], ascending=[True, False]
    )
    vip = vip[
        [
            "outlet_id",
            "outlet_name",
            "merchant_id",
            "merchant_name",
            "category_zh",
            "deposit_fen",
            "qr_amount_90d_fen",
        ]
    ].reset_index(drop=True)
    return MerchantAlerts(as_of, alerts, _by_outlet(metrics, alerts), vip, metrics)


def _tidy(metrics: pd.DataFrame) -> pd.DataFrame:
    """Engine-neutral types: dates as ``date``, silence as nullable integers, rows by outlet and merchant."""
    for c in ("onboard_date", "last_paid_date"):
        metrics[c] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in metrics[c]]
    metrics["days_silent"] = pd.to_numeric(metrics["days_silent"]).astype("Int64")
    return metrics.sort_values(["outlet_id", "merchant_id"]).reset_index(drop=True)


def _long(metrics: pd.DataFrame, settings: MerchantSettings, windows: dict[str, date]) -> pd.DataFrame:
    cfg = settings.alerts
    rows = []
    for order, (rule, (flag, value, threshold)) in enumerate(_FLAGS.items()):
        fired = metrics[metrics[flag].astype(bool)]
        for rec in fired.to_dict("records"):
            rows.append(
                {
                    **{c: rec.get(c) for c in ALERT_COLUMNS if c in rec},
                    "rule": str(rule),
                    "rule_zh": RULE_ZH[rule],
                    "is_vip": bool(rec["is_vip"]),
                    "value": float(rec[value]),
                    "threshold": float(getattr(cfg, threshold)),
                    "evidence_zh": evidence(rule, rec, cfg, windows),
                    "_order": order,
                }
            )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ALERT_COLUMNS})
    frame = pd.DataFrame(rows).sort_values(
        ["outlet_id", "_order", "is_vip", "value", "merchant_id"], ascending=[True, True, False, False, True]
    )
    return frame[ALERT_COLUMNS].reset_index(drop=True)


def _by_outlet(metrics: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    counts = metrics.groupby(["outlet_id", "outlet_name"], dropna=False).agg(
        merchants=("merchant_id", "count"), vip=("is_vip", "sum")
    )
    for rule, (flag, _, _) in _FLAGS.items():
        counts[str(rule)] = metrics.groupby(["outlet_id", "outlet_name"], dropna=False)[flag].sum()
    counts["alerts"] = counts[[str(r) for r in _FLAGS]].sum(axis=1)
    counts = counts.reset_index().astype(
        {c: "int64" for c in ["merchants", "vip", "alerts", *map(str, _FLAGS)]}
    )
    return counts.sort_values(["alerts", "outlet_id"], ascending=[False, True]).reset_index(drop=True)
