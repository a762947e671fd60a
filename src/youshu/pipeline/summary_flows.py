"""Money flows of the summary: account transactions of the last 90 days by counterparty category and channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from youshu.pipeline.summary_query import TXN_WINDOW_DAYS, Tables, execute, labelled, labels, within_days

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["CHANNEL_ZH", "COUNTERPARTY_CATEGORY_ZH", "Flows", "flows"]

# Display names (zh) of enumerated values; the English value itself is shown as the subtitle.
CHANNEL_ZH = labels(
    "counter=柜面 mobile=手机银行 atm=自助设备 qr=扫码支付 pos=POS刷卡 online=网银/快捷支付 auto=批量代发代扣"
)
COUNTERPARTY_CATEGORY_ZH = labels(
    "payroll=代发工资 pension=养老金 social_security=社保医保 agri_subsidy=惠农补贴 agri_buyer=农产品收购商 "
    "farm_input=农资供应商 farmer=农户 distributor=经销商 ecommerce=电商平台 logistics=物流快递 "
    "other_bank_wealth=他行理财平台 fund_securities=基金证券公司 insurer=保险公司 utility=水电燃气 "
    "telecom=通信缴费 merchant=商户消费 acquiring_settlement=收单结算 p2p=个人转账 cash=现金存取 "
    "loan=贷款放还款 tax=税费 other=其他"
)


@dataclass(frozen=True)
class Flows:
    """Account transactions in the window ``window_start``..``window_end`` (both inclusive, local dates).

    ``by_category`` and ``by_channel`` have ``key, name_zh, txn_count, amount_fen, in_fen, out_fen``.
    """

    window_start: date
    window_end: date
    txn_count: int
    amount_fen: int
    by_category: pd.DataFrame
    by_channel: pd.DataFrame


def _flow_aggregates(tx: ir.Table) -> dict[str, ir.Value]:
    inflow = tx.direction == "in"
    return {
        "txn_count": tx.count(),
        "amount_fen": tx.amount_fen.sum(),
        "in_fen": ibis.ifelse(inflow, tx.amount_fen, 0).sum(),
        "out_fen": ibis.ifelse(inflow, 0, tx.amount_fen).sum(),
    }


def flows(engine: Engine, t: Tables, as_of: date) -> Flows:
    """Transactions of the 90 days ending on ``as_of``, by counterparty category and by channel."""
    start = as_of - timedelta(days=TXN_WINDOW_DAYS - 1)
    tx = within_days(t.transactions, "txn_at", start, as_of)
    values = ["txn_count", "amount_fen", "in_fen", "out_fen"]
    cat = execute(engine, tx.group_by(key=tx.counterparty_category).aggregate(**_flow_aggregates(tx)))
    chan = execute(engine, tx.group_by(key=tx.channel).aggregate(**_flow_aggregates(tx)))
    by_cat = labelled(cat, "key", COUNTERPARTY_CATEGORY_ZH, [], values)
    by_cat = by_cat.sort_values(["amount_fen", "key"], ascending=[False, True]).reset_index(drop=True)
    by_chan = labelled(chan, "key", CHANNEL_ZH, list(CHANNEL_ZH), values)
    return Flows(
        window_start=start,
        window_end=as_of,
        txn_count=int(by_cat["txn_count"].sum()),
        amount_fen=int(by_cat["amount_fen"].sum()),
        by_category=by_cat,
        by_channel=by_chan,
    )
