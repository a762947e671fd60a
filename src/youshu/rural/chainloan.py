"""产业e贷: a core enterprise's upstream and downstream customers and a suggested credit line for each.

The core is a ``transactions.counterparty_id`` (a buyer, processor or distributor firm) or a customer id (its
accounts then stand for it). Over the ``window_days`` days up to the as-of date, cut into 30-day months:

- upstream 上游 (suppliers): customers the core paid (their ``in`` transactions from the core);
- downstream 下游 (buyers): customers who paid the core (their ``out`` transactions to it);
- 上下游 when both.

Credit line (definitions/rural/chainloan.yml), in fen::

    base   = k × median monthly volume with the core (active months only) × months active / 12
    factor = 0 with an instalment > 30 days late by the as-of date; else 1 − late_penalty × (1 − on-time share);
             1 without instalments due
    line   = min(cap, base × factor), rounded down to ``round_fen``; 0 below ``min_active_months``

Each row carries the evidence in zh: trades, months, median, repayment and the arithmetic of the line.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date, days_before, end_of, start_of
from youshu.rural.config import DEFAULT_DIR, _load
from youshu.rural.eligibility import repayment_history

__all__ = ["CHAINLOAN_COLUMNS", "ChainLoanConfig", "credit_lines", "load_chainloan", "suggest_credit_lines"]

MONTH_DAYS = 30
RELATION_ZH = {"upstream": "上游", "downstream": "下游", "both": "上下游"}
CHAINLOAN_COLUMNS: dict[str, str] = {
    "customer_id": "客户号",
    "relation": "关系(代码)",
    "relation_zh": "上下游关系",
    "county_id": "区县编号",
    "home_outlet_id": "归属网点",
    "trade_count": "交易笔数",
    "trade_fen": "交易金额(分)",
    "months_active": "活跃月数",
    "median_monthly_fen": "月交易额中位数(分)",
    "due_count": "已到期期数",
    "on_time_count": "按期还款期数",
    "overdue_30_count": "逾期30天以上期数",
    "repayment_factor": "还款系数",
    "base_line_fen": "基础额度(分)",
    "suggested_line_fen": "建议额度(分)",
    "is_capped": "是否封顶",
    "evidence": "依据",
}


class ChainLoanConfig(BaseModel):
    """definitions/rural/chainloan.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(365, ge=90, le=730)
    k: float = Field(3.0, gt=0)
    cap_fen: int = Field(50_000_000, gt=0)
    min_active_months: int = Field(3, ge=1)
    late_penalty: float = Field(0.5, ge=0, le=1)
    round_fen: int = Field(100_000, ge=1)


def load_chainloan(folder: Path | None = None) -> ChainLoanConfig:
    """Read and check ``chainloan.yml`` from ``folder`` (default definitions/rural).

    Raises
    ------
    YoushuError
        When the file is missing or invalid.
    """
    path = (folder or DEFAULT_DIR) / "chainloan.yml"
    try:
        return ChainLoanConfig(**_load(path))
    except ValidationError as exc:
        raise YoushuError(f"{path} is not a valid 产业e贷 definition: {exc}") from exc


def credit_lines(trades: pd.DataFrame, config: ChainLoanConfig | None = None) -> pd.DataFrame:
    """The formula of the module docstring on ``trades`` (``median_monthly_fen, months_active, due_count,
    on_time_count, overdue_30_count``); returns ``repayment_factor, base_line_fen, suggested_line_fen,
    is_capped`` with the index of ``trades``.
    """
    cfg = config or load_chainloan()
    for column in ("median_monthly_fen", "months_active", "due_count", "on_time_count", "overdue_30_count"):
        if column not in trades.columns:
            raise YoushuError(f"credit lines need column {column!r}; got {', '.join(trades.columns)}")
    median = trades["median_monthly_fen"].to_numpy(dtype="float64")
    months = trades["months_active"].to_numpy(dtype="float64")
    due = trades["due_count"].to_numpy(dtype="float64")
    on_time = trades["on_time_count"].to_numpy(dtype="float64")
    share = np.divide(on_time, due, out=np.ones_like(due), where=due > 0)
    factor = np.where(trades["overdue_30_count"].to_numpy() > 0, 0.0, 1 - cfg.late_penalty * (1 - share))
    base = cfg.k * median * months / 12
    line = np.minimum(cfg.cap_fen, base * factor)
    line = np.where(months >= cfg.min_active_months, np.floor(line / cfg.round_fen) * cfg.round_fen, 0)
    return pd.DataFrame(
        {
            "repayment_factor": np.round(factor, 4),
            "base_line_fen": np.round(base).astype("int64"),
            "suggested_line_fen": line.astype("int64"),
            "is_capped": (base * factor > cfg.cap_fen) & (months >= cfg.min_active_months),
        },
        index=trades.index,
    )


def _trades(engine: Engine, warehouse: Path, core: str, as_of: date, cfg: ChainLoanConfig) -> pd.DataFrame:
    """Per customer: monthly trading with the core (customer_id, relation, period, n, fen)."""
    t = Tables(engine, warehouse)
    accounts = t.accounts.filter(t.accounts.open_date <= as_of)
    core_accounts = engine.execute(accounts.filter(accounts.customer_id == core).select("account_id"))
    ids = [core, *core_accounts["account_id"].astype(str)]
    x = t.transactions
    x = x.filter(
        x.counterparty_id.isin(ids)
        & (x.txn_at >= start_of(days_before(as_of, cfg.window_days)))
        & (x.txn_at < end_of(as_of))
    )
    x = x.join(accounts.select("account_id", "customer_id"), "account_id")
    x = x.filter(x.customer_id != core)
    age = ibis.literal(as_of, type="date").delta(x.txn_at.date(), unit="day")
    x = x.mutate(period=(age // MONTH_DAYS).cast("int64"))
    per = x.group_by(["customer_id", "period"]).aggregate(
        n=x.count(),
        fen=x.amount_fen.sum(),
        n_in=x.count(where=x.direction == "in"),
        n_out=x.count(where=x.direction == "out"),
    )
    return engine.execute(per)


def suggest_credit_lines(
    engine: Engine, warehouse: Path, core: str, as_of: date, config: ChainLoanConfig | None = None
) -> pd.DataFrame:
    """Upstream and downstream customers of ``core`` with a suggested credit line (see the module docstring).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse.
    core : str
        A ``transactions.counterparty_id`` or a ``customers.customer_id``.
    as_of : date
        The as-of date (inclusive).
    config : ChainLoanConfig, optional
        The formula's parameters (default: definitions/rural/chainloan.yml).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CHAINLOAN_COLUMNS`, by suggested line (descending) then customer id.

    Raises
    ------
    YoushuError
        When no customer traded with ``core`` in the window.
    """
    as_of = as_of_date(as_of)
    cfg = config or load_chainloan()
    per = _trades(engine, warehouse, core, as_of, cfg)
    if per.empty:
        raise YoushuError(
            f"no transactions with core {core!r} (a transactions.counterparty_id or a customer id) in the "
            f"{cfg.window_days} days up to {as_of}; check the id"
        )
    g = per.groupby("customer_id")
    out = pd.DataFrame(
        {
            "trade_count": g["n"].sum(),
            "trade_fen": g["fen"].sum(),
            "months_active": g["period"].nunique(),
            "median_monthly_fen": g["fen"].median().round().astype("int64"),
            "n_in": g["n_in"].sum(),
            "n_out": g["n_out"].sum(),
        }
    ).reset_index()
    out["relation"] = np.where(
        (out["n_in"] > 0) & (out["n_out"] > 0), "both", np.where(out["n_in"] > 0, "upstream", "downstream")
    )
    out["relation_zh"] = out["relation"].map(RELATION_ZH)
    t = Tables(engine, warehouse)
    who = ibis.memtable(out[["customer_id"]])
    history = engine.execute(repayment_history(t, as_of).join(who, "customer_id"))
    homes = engine.execute(
        t.customers.select("customer_id", "county_id", "home_outlet_id").join(who, "customer_id")
    )
    out = out.merge(homes, on="customer_id", how="left").merge(history, on="customer_id", how="left")
    for column in ("due_count", "on_time_count", "overdue_30_count"):
        out[column] = out[column].fillna(0).astype("int64")
    out = pd.concat([out, credit_lines(out, cfg)], axis=1)
    out["evidence"] = [_evidence(r, core, cfg) for r in out.to_dict("records")]
    out = out.sort_values(["suggested_line_fen", "customer_id"], ascending=[False, True])
    return out[list(CHAINLOAN_COLUMNS)].reset_index(drop=True)


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def _evidence(row: dict[str, Any], core: str, cfg: ChainLoanConfig) -> str:
    """zh evidence, e.g. 近365天与核心企业BUY01交易 24 笔 ¥120,000（收款）；活跃 10 个月，…；建议额度 = …."""
    flow = {"upstream": "收款", "downstream": "付款", "both": "收付款"}[str(row["relation"])]
    months = int(row["months_active"])
    median = float(row["median_monthly_fen"])
    parts = [
        f"近{cfg.window_days}天与核心企业{core}交易 {int(row['trade_count'])} 笔 "
        f"{_yuan(float(row['trade_fen']))}（{flow}）",
        f"活跃 {months} 个月，月交易额中位数 {_yuan(median)}",
    ]
    due = int(row["due_count"])
    if int(row["overdue_30_count"]) > 0:
        parts.append(f"有 {int(row['overdue_30_count'])} 期逾期超30天，不予授信")
    elif due:
        parts.append(
            f"按期还款 {int(row['on_time_count'])}/{due} 期，还款系数 {float(row['repayment_factor']):.2f}"
        )
    else:
        parts.append("暂无到期贷款")
    if months < cfg.min_active_months:
        parts.append(f"活跃不足 {cfg.min_active_months} 个月，暂不授信")
    else:
        capped = "，封顶" if row["is_capped"] else ""
        parts.append(
            f"建议额度 = min({_yuan(cfg.cap_fen)}, {cfg.k:g} × {_yuan(median)} × {months}/12 × "
            f"{float(row['repayment_factor']):.2f}) = {_yuan(float(row['suggested_line_fen']))}{capped}"
        )
    return "；".join(parts)
