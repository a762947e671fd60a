"""Loan eligibility (贷款准入评分) and AUM potential (资产提升潜力) of chain customers, from observed data.

A documented scorecard (definitions/rural/eligibility.yml), no labels:

    score = 100 * sum_c w_c * component_c / sum_c w_c,      component_c in [0, 1]

| component | definition |
|---|---|
| repayment 还款记录 | no instalment due by T: ``neutral_repayment`` (0.5); any instalment more than 30 days late: 0; otherwise (on_time + 1) / (due + 2) / (1 + mean days late / ``late_days_scale``) |
| stability 流入稳定性 | 1 / (1 + CV) of the 12 30-day inflow sums; 0 without inflows |
| assets 资产 | min(1, log10(1 + AUM in yuan) / ``assets_log10_full``) |
| chain 产业链地位 | chain probability × the stage's factor |

AUM potential = max(0, ``retain_share`` × inflows of the last 360 days − AUM), in fen: money that passes
through the customer's accounts but is not kept there (a proxy, not the IVL value forecast).

:func:`repayment_outcomes` gives the later observed outcome the score is evaluated against: a borrower is
*bad* when an instalment due in (T, T + horizon] was not paid within 30 days of its due date.

Inputs, read as of the as-of date T from observed tables only:

| column | definition |
|---|---|
| ``inflow_months_fen`` | nothing stored: inflows are summed per 30-day period p = 0..11 ending on T (p = 0 the last 30 days), over the customer's accounts, excluding loan disbursements (``counterparty_category = loan``) |
| ``inflow_total_fen`` | the 360 days' inflows |
| ``inflow_cv`` | coefficient of variation of the 12 period sums, zero periods included (population std / mean); null without inflows |
| ``inflow_active_periods`` | periods with any inflow |
| ``due_count`` | loan instalments due on or before T (all of the customer's loans) |
| ``on_time_count`` | those paid on or before their due date, the payment made by T |
| ``late_days_mean``, ``late_days_max`` | days late per instalment: paid − due when paid by T, T − due when unpaid at T; 0 when early |
| ``overdue_30_count`` | instalments more than 30 days late (paid late or still unpaid at T) |
| ``aum_fen`` | month-end balances of the customer's accounts plus product holdings at the last month end on or before T |

A payment dated after T counts as unpaid at T: nothing after the as-of date is read.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date, attach, days_before, end_of, month_ends, start_of
from youshu.rural.chains import STAGE_ZH, chain_customers
from youshu.rural.config import DEFAULT_DIR, _load

__all__ = [
    "COMPONENTS_ZH",
    "ELIGIBILITY_COLUMNS",
    "PERIODS",
    "PERIOD_DAYS",
    "EligibilityConfig",
    "eligibility_inputs",
    "eligibility_scores",
    "load_eligibility",
    "repayment_history",
    "repayment_outcomes",
    "score_eligibility",
]

PERIOD_DAYS = 30
PERIODS = 12


def _inflows(t: Tables, as_of: date, owners: ir.Table) -> ir.Table:
    first = days_before(as_of, PERIOD_DAYS * PERIODS)
    x = t.transactions
    x = x.filter(
        (x.direction == "in")
        & (x.txn_at >= start_of(first))
        & (x.txn_at < end_of(as_of))
        & (x.counterparty_category.isnull() | (x.counterparty_category != "loan"))
    )
    x = x.join(owners, "account_id")
    age = ibis.literal(as_of, type="date").delta(x.txn_at.date(), unit="day")
    x = x.mutate(period=(age // PERIOD_DAYS).cast("int64"), fen=x.amount_fen.cast("float64"))
    per = x.group_by(["customer_id", "period"]).aggregate(fen=x.fen.sum())
    agg = per.group_by("customer_id").aggregate(
        inflow_total_fen=per.fen.sum(),
        inflow_sq=(per.fen * per.fen).sum(),
        inflow_active_periods=per.period.nunique(),
    )
    mean = agg.inflow_total_fen / PERIODS
    var = (agg.inflow_sq / PERIODS - mean * mean).clip(lower=0)
    return agg.select(
        "customer_id",
        inflow_total_fen=agg.inflow_total_fen.cast("int64"),
        inflow_active_periods=agg.inflow_active_periods.cast("int64"),
        inflow_cv=var.sqrt() / mean.nullif(0),
    )


def repayment_history(t: Tables, as_of: date) -> ir.Table:
    """Repayment history per customer as of ``as_of`` (see the module docstring); borrowers with a due instalment only."""
    loans = t.loans.filter(t.loans.issue_date <= as_of).select("loan_id", "customer_id")
    r = t.loan_repayments
    r = r.filter(r.due_date <= as_of).join(loans, "loan_id")
    paid = r.paid_date.notnull() & (r.paid_date <= as_of)
    t_lit = ibis.literal(as_of, type="date")
    late = ibis.ifelse(paid, r.paid_date.delta(r.due_date, unit="day"), t_lit.delta(r.due_date, unit="day"))
    r = r.mutate(_late=ibis.greatest(late, 0).cast("int64"), _on_time=paid & (r.paid_date <= r.due_date))
    return r.group_by("customer_id").aggregate(
        due_count=r.count(),
        on_time_count=r.count(where=r._on_time),
        late_days_mean=r._late.mean(),
        late_days_max=r._late.max(),
        overdue_30_count=r.count(where=r._late > 30),
    )


def _aum(t: Tables, as_of: date, owners: ir.Table) -> ir.Table:
    end = month_ends(as_of, 0)[0]
    b = t.balances.filter(t.balances.month_end_date == end).join(owners, "account_id")
    bal = b.group_by("customer_id").aggregate(fen=b.balance_fen.sum())
    h = t.holdings.filter(t.holdings.month_end_date == end)
    hold = h.group_by("customer_id").aggregate(fen=h.value_fen.sum())
    both = ibis.union(bal, hold, distinct=False)
    return both.group_by("customer_id").aggregate(aum_fen=both.fen.sum().cast("int64"))


def eligibility_inputs(t: Tables, as_of: date, customers: ir.Table) -> ir.Table:
    """The inputs of the module docstring for each row of ``customers`` (a table with ``customer_id``).

    Parameters
    ----------
    t : Tables
        The warehouse's canonical tables on an engine.
    as_of : date
        The as-of date (inclusive).
    customers : ibis.Table
        Whom to describe, unique on ``customer_id`` (other columns are kept).

    Returns
    -------
    ibis.Table
        ``customers`` with the input columns; counts and amounts 0 where nothing was observed, ``inflow_cv``
        and the late-day figures null without inflows or instalments.
    """
    owners = t.accounts.filter(t.accounts.open_date <= as_of).select("account_id", "customer_id")
    wide = attach(
        customers,
        "customer_id",
        [_inflows(t, as_of, owners), repayment_history(t, as_of), _aum(t, as_of, owners)],
    )
    zero = [
        "inflow_total_fen",
        "inflow_active_periods",
        "due_count",
        "on_time_count",
        "overdue_30_count",
        "aum_fen",
    ]
    return wide.mutate(**{c: wide[c].fill_null(0).cast("int64") for c in zero})


def repayment_outcomes(t: Tables, as_of: date, horizon_days: int, observed_to: date) -> ir.Table:
    """Later observed repayment: borrowers with an instalment due in (``as_of``, ``as_of`` + ``horizon_days``].

    Only instalments whose 30-day grace ends by ``observed_to`` (the last day the data covers) are judged, so
    an instalment due near the end of the data is not called bad for lack of time.

    Returns
    -------
    ibis.Table
        ``customer_id, due_in_window, late_30_in_window, is_bad`` (``is_bad``: an instalment not paid within 30
        days of its due date).

    Raises
    ------
    YoushuError
        When no instalment due after ``as_of`` can be judged by ``observed_to``.
    """
    last = min(as_of + timedelta(days=horizon_days), observed_to - timedelta(days=30))
    if last <= as_of:
        raise YoushuError(
            f"no outcome window after {as_of}: instalments must be due by {observed_to} - 30 days to be judged"
        )
    r = t.loan_repayments
    r = r.filter((r.due_date > as_of) & (r.due_date <= last))
    r = r.join(t.loans.select("loan_id", "customer_id"), "loan_id")
    late = r.paid_date.isnull() | (r.paid_date.delta(r.due_date, unit="day") > 30)
    out = r.group_by("customer_id").aggregate(due_in_window=r.count(), late_30_in_window=r.count(where=late))
    return out.mutate(is_bad=out.late_30_in_window > 0)


# -- the scorecard -----------------------------------------------------------------------------------------

COMPONENTS_ZH = {"repayment": "还款记录", "stability": "流入稳定性", "assets": "资产", "chain": "产业链地位"}
ELIGIBILITY_COLUMNS: dict[str, str] = {
    "customer_id": "客户号",
    "county_id": "区县编号",
    "chain_industry": "产业链(代码)",
    "chain_industry_zh": "产业链",
    "chain_stage": "环节(代码)",
    "chain_stage_zh": "环节",
    "probability": "产业链概率",
    "eligibility_score": "准入评分",
    "repayment": "还款记录分",
    "stability": "流入稳定性分",
    "assets": "资产分",
    "chain": "产业链地位分",
    "inflow_total_fen": "近360天流入(分)",
    "inflow_cv": "月度流入变异系数",
    "due_count": "已到期期数",
    "on_time_count": "按期还款期数",
    "late_days_mean": "平均逾期天数",
    "overdue_30_count": "逾期30天以上期数",
    "aum_fen": "资产AUM(分)",
    "aum_potential_fen": "资产提升潜力(分)",
    "reasons": "理由",
}


class EligibilityConfig(BaseModel):
    """definitions/rural/eligibility.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[str, float]
    neutral_repayment: float = Field(0.5, ge=0, le=1)
    late_days_scale: float = Field(1.0, gt=0)
    assets_log10_full: float = Field(6.0, gt=0)
    stage_factors: dict[str, float]
    retain_share: float = Field(0.3, ge=0, le=1)


def load_eligibility(folder: Path | None = None) -> EligibilityConfig:
    """Read and check ``eligibility.yml`` from ``folder`` (default definitions/rural).

    Raises
    ------
    YoushuError
        When the file is missing or invalid, or the weights or stage factors do not name exactly the
        components and stages.
    """
    path = (folder or DEFAULT_DIR) / "eligibility.yml"
    try:
        config = EligibilityConfig(**_load(path))
    except ValidationError as exc:
        raise YoushuError(f"{path} is not a valid eligibility definition: {exc}") from exc
    if set(config.weights) != set(COMPONENTS_ZH) or sum(config.weights.values()) <= 0:
        raise YoushuError(
            f"{path}: weights must name {list(COMPONENTS_ZH)} with a positive sum, got {config.weights}"
        )
    if set(config.stage_factors) != set(STAGE_ZH):
        raise YoushuError(
            f"{path}: stage_factors must name {list(STAGE_ZH)}, got {sorted(config.stage_factors)}"
        )
    return config


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        raise YoushuError(f"eligibility inputs lack column {column!r}; columns: {', '.join(frame.columns)}")
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")


def score_eligibility(inputs: pd.DataFrame, config: EligibilityConfig | None = None) -> pd.DataFrame:
    """The scorecard of the module docstring on ``inputs`` (the columns of :func:`eligibility_inputs` plus
    ``chain_stage`` and ``probability``); returns ``inputs`` with the components, score, potential, reasons.
    """
    cfg = config or load_eligibility()
    due, on_time = _num(inputs, "due_count"), _num(inputs, "on_time_count")
    late_mean = np.nan_to_num(_num(inputs, "late_days_mean"))
    overdue = _num(inputs, "overdue_30_count")
    repayment = np.where(
        due > 0, (on_time + 1) / (due + 2) / (1 + late_mean / cfg.late_days_scale), cfg.neutral_repayment
    )
    repayment = np.where(overdue > 0, 0.0, repayment)
    cv = _num(inputs, "inflow_cv")
    stability = np.where(np.isfinite(cv), 1 / (1 + np.nan_to_num(cv, nan=0.0)), 0.0)
    aum = np.maximum(np.nan_to_num(_num(inputs, "aum_fen")), 0)
    assets = np.minimum(1.0, np.log10(1 + aum / 100) / cfg.assets_log10_full)
    stage = inputs["chain_stage"].map(cfg.stage_factors).to_numpy(dtype="float64")
    chain = np.nan_to_num(_num(inputs, "probability") * stage)
    parts = {"repayment": repayment, "stability": stability, "assets": assets, "chain": chain}
    total = sum(cfg.weights.values())
    score = sum(cfg.weights[c] * v for c, v in parts.items()) * 100 / total
    out = inputs.copy()
    for name, values in parts.items():
        out[name] = np.round(values, 4)
    out["eligibility_score"] = np.round(score, 2)
    inflow = np.nan_to_num(_num(inputs, "inflow_total_fen"))
    out["aum_potential_fen"] = np.maximum(0, np.round(cfg.retain_share * inflow - aum)).astype("int64")
    out["reasons"] = [_reasons(r) for r in out.to_dict("records")]
    return out


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def _reasons(row: dict[str, Any]) -> str:
    """zh reasons, e.g. 按期还款 11/12 期，平均逾期 0.3 天；月度流入变异系数 0.42；资产 ¥52,000；茶叶生产环节(概率 0.93)."""
    due = int(row.get("due_count") or 0)
    if due == 0:
        repay = "暂无到期贷款(还款记录按中性计)"
    elif int(row.get("overdue_30_count") or 0) > 0:
        repay = f"有 {int(row['overdue_30_count'])} 期逾期超30天"
    else:
        repay = f"按期还款 {int(row.get('on_time_count') or 0)}/{due} 期，平均逾期 {float(row.get('late_days_mean') or 0):.1f} 天"
    cv = row.get("inflow_cv")
    flow = "近12个月无资金流入" if cv is None or pd.isna(cv) else f"月度流入变异系数 {float(cv):.2f}"
    parts = [repay, flow, f"资产 {_yuan(float(row.get('aum_fen') or 0))}"]
    stage = row.get("chain_stage")
    if isinstance(stage, str):
        industry = row.get("chain_industry_zh") or row.get("chain_industry") or ""
        parts.append(
            f"{industry}{STAGE_ZH.get(stage, stage)}环节(概率 {float(row.get('probability') or 0):.2f})"
        )
    potential = float(row.get("aum_potential_fen") or 0)
    if potential > 0:
        parts.append(f"资产提升潜力 {_yuan(potential)}")
    return "；".join(parts)


def eligibility_scores(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    members: pd.DataFrame | None = None,
    config: EligibilityConfig | None = None,
) -> pd.DataFrame:
    """Eligibility and AUM potential of every chain member as of ``as_of`` (see the module docstring).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark; the inputs run on it.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date (inclusive).
    members : pandas.DataFrame, optional
        Chain members (the columns of ``youshu.rural.chains.CHAIN_COLUMNS``); default
        ``chain_customers(engine, warehouse, as_of)``.
    config : EligibilityConfig, optional
        Scorecard (default: definitions/rural/eligibility.yml).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`ELIGIBILITY_COLUMNS`, sorted by score (descending) then customer id.
    """
    as_of = as_of_date(as_of)
    if members is None:
        members = chain_customers(engine, warehouse, as_of)
    keep = [
        "customer_id",
        "county_id",
        "chain_industry",
        "chain_industry_zh",
        "chain_stage",
        "chain_stage_zh",
        "probability",
    ]
    if members.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ELIGIBILITY_COLUMNS})
    base = ibis.memtable(members[keep])
    inputs = engine.execute(eligibility_inputs(Tables(engine, warehouse), as_of, base))
    scored = score_eligibility(inputs, config)
    scored = scored.sort_values(["eligibility_score", "customer_id"], ascending=[False, True])
    return scored[list(ELIGIBILITY_COLUMNS)].reset_index(drop=True)
