"""Daily risk alerts: the top-scored accounts with the features, rules and counterparties behind each score.

An alert says *why*: the features that pushed the model's log-odds up most (LightGBM ``pred_contrib``, with
Chinese names and values in yuan, shares or counts), the rules that fired, and the counterparties the money
went to and came from in the last 30 days. Exports mask the account holder's personal data
(``youshu.reports.lists``); account numbers are identifiers, not personal data, and stay readable for
investigators.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from youshu.engine.base import Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date, days_before, end_of, start_of
from youshu.features.graph import GRAPH_FEATURES
from youshu.features.risk import RISK_FEATURES, ledger_from_transactions
from youshu.models.risk.frames import account_frame
from youshu.models.risk.scorer import RiskModel
from youshu.reports.lists import customer_list, write_list

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "ALERT_HEADERS_ZH",
    "alert_counterparties",
    "build_alerts",
    "explain",
    "export_alerts",
    "score_accounts",
    "top_alerts",
]

_SPECS = {s.name: s for s in (*RISK_FEATURES, *GRAPH_FEATURES)}
#: Chinese headers of an alert list.
ALERT_HEADERS_ZH = {
    "rank": "排名",
    "as_of_date": "预警日期",
    "account_id": "账号",
    "customer_id": "客户号",
    "name": "姓名",
    "phone": "手机号",
    "id_card_no": "证件号码",
    "outlet_id": "开户网点",
    "county_id": "区县",
    "score": "综合风险分",
    "model_score": "模型分",
    "rules_hit": "命中规则",
    "reasons": "主要原因(特征贡献)",
    "counterparties": "主要交易对手(近30天)",
}


def score_accounts(engine: Engine, warehouse: Path, as_of: date, model: RiskModel) -> pa.Table:
    """Risk scores of every account active in the 30 days up to ``as_of`` (pipeline entry point).

    Returns
    -------
    pyarrow.Table
        ``account_id, as_of_date, customer_id, outlet_id, county_id, model_score, rule_score, score,
        rules_hit``, highest score first.
    """
    frame = account_frame(engine, warehouse, as_of, graph=model.uses_graph)
    scored = model.score(frame).sort_values(["score", "account_id"], ascending=[False, True])
    return pa.Table.from_pandas(scored.reset_index(drop=True), preserve_index=False)


def _show(name: str, value: Any) -> str:
    spec = _SPECS.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        shown = "空"
    elif spec is None:
        shown = f"{value}"
    elif spec.unit == "fen":
        shown = f"{float(value) / 100:,.0f}元"
    elif spec.unit == "share":
        shown = f"{float(value):.0%}"
    elif spec.dtype == "bool":
        shown = "是" if value else "否"
    elif spec.dtype == "float":
        shown = f"{float(value):.2f}"
    else:
        shown = f"{int(value):,}"
    zh = spec.zh if spec else name
    return f"{zh}={shown}"


def explain(model: RiskModel, frame: pd.DataFrame, top: int = 5) -> list[str]:
    """Per row, the ``top`` features pushing its score up most: ``"近7天夜间交易占比=83% (+1.20)"``, joined by '；'."""
    if frame.empty:
        return []
    contrib = model.classifier.contributions(frame).drop(columns="bias")
    values = contrib.to_numpy()
    names = np.asarray(contrib.columns)
    out = []
    for i, row in enumerate(values):
        order = np.argsort(-row)[:top]
        parts = [f"{_show(names[j], frame.iloc[i][names[j]])} ({row[j]:+.2f})" for j in order if row[j] > 0]
        out.append("；".join(parts))
    return out


def alert_counterparties(
    engine: Engine, ledger: ir.Table, accounts: list[str], as_of: date, top: int = 5
) -> pd.DataFrame:
    """The ``top`` counterparties by amount of each account over the last 30 days, as text.

    Returns
    -------
    pandas.DataFrame
        ``account_id, counterparties`` with entries like ``"转出→EXT0100000001 3笔 12,000元"``.
    """
    if not accounts:
        return pd.DataFrame({"account_id": [], "counterparties": []})
    as_of = as_of_date(as_of)
    x = ledger.filter(
        ledger.account_id.isin(accounts),
        ledger.counterparty_id.notnull(),
        ledger.txn_at >= start_of(days_before(as_of, 30)),
        ledger.txn_at < end_of(as_of),
    )
    agg = x.group_by(["account_id", "counterparty_id", "direction"]).aggregate(
        n=x.count(), amount_fen=x.amount_fen.sum()
    )
    rank = ibis.row_number().over(
        group_by="account_id", order_by=[ibis.desc("amount_fen"), ibis.asc("counterparty_id")]
    )
    ranked = agg.mutate(_rank=rank)
    rows = engine.execute(ranked.filter(ranked._rank < top).order_by(["account_id", "_rank"]))
    text: dict[str, list[str]] = {}
    for r in rows.itertuples(index=False):
        arrow = "转出→" if r.direction == "out" else "转入←"
        text.setdefault(r.account_id, []).append(
            f"{arrow}{r.counterparty_id} {int(r.n)}笔 {float(r.amount_fen) / 100:,.0f}元"
        )
    return pd.DataFrame({"account_id": list(text), "counterparties": ["；".join(v) for v in text.values()]})


def top_alerts(model: RiskModel, frame: pd.DataFrame, top: int = 100) -> pd.DataFrame:
    """The ``top`` highest-scored accounts of a one-date model frame, with reasons and rule names (zh)."""
    if top < 1:
        raise YoushuError(f"the alert budget must be at least 1, got {top}")
    scored = model.score(frame)
    order = np.lexsort((scored["account_id"].to_numpy(), -scored["score"].to_numpy()))[:top]
    chosen = scored.iloc[order].reset_index(drop=True)
    rows = frame.iloc[order].reset_index(drop=True)
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    chosen["rules_hit"] = [
        "；".join(model.rules.by_id(r).name_zh for r in hit.split(",") if r) for hit in chosen["rules_hit"]
    ]
    chosen["reasons"] = explain(model, rows)
    return chosen


def build_alerts(
    engine: Engine, warehouse: Path, as_of: date, model: RiskModel, top: int = 100
) -> pd.DataFrame:
    """The day's alerts from the canonical warehouse: :func:`top_alerts` plus counterparties."""
    frame = account_frame(engine, warehouse, as_of, graph=model.uses_graph)
    alerts = top_alerts(model, frame, top)
    ledger = ledger_from_transactions(Tables(engine, Path(warehouse)))
    cps = alert_counterparties(engine, ledger, alerts["account_id"].tolist(), as_of)
    return alerts.merge(cps, on="account_id", how="left").fillna({"counterparties": ""})


def export_alerts(
    alerts: pd.DataFrame, path: Path, *, warehouse: Path | None = None, exported_by: str = "youshu"
) -> Path:
    """Write alerts as ``.xlsx`` or ``.parquet`` with zh headers; the holder's name, phone and ID are masked.

    With ``warehouse`` the holder's masked name, phone and ID-card number are added from ``customers``.
    """
    table = alerts.copy()
    if warehouse is not None and "customer_id" in table.columns and table["customer_id"].notna().any():
        ids = table["customer_id"].dropna().astype(str).unique()
        people = customer_list(
            warehouse, pa.array(ids), ("customer_id", "name", "phone", "id_card_no")
        ).to_pandas()
        table = table.merge(people, on="customer_id", how="left")
    keep = [c for c in ALERT_HEADERS_ZH if c in table.columns]
    table = table[keep]
    day = str(table["as_of_date"].iloc[0]) if len(table) else ""
    return write_list(
        pa.Table.from_pandas(table, preserve_index=False),
        Path(path),
        title=f"风险账户预警 risk alerts {day}",
        headers_zh=ALERT_HEADERS_ZH,
        notes={"as_of_date": day, "alerts": str(len(table))},
        exported_by=exported_by,
    )
