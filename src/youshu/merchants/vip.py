"""VIP merchants (VIP商户): deposits kept on the settlement account and QR volume, as of a date."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from youshu.config import VipMerchantSettings
from youshu.engine import Tables
from youshu.features.common import last_days, month_ends
from youshu.merchants.home import acquired_merchants

__all__ = ["VIP_QR_DAYS", "merchant_value"]

#: Days of QR takings that count towards VIP status.
VIP_QR_DAYS = 90


def merchant_value(t: Tables, as_of: date, vip: VipMerchantSettings) -> ir.Table:
    """Retained deposits and QR takings of every acquired merchant, and whether it is a VIP.

    Retained deposits are the balance of the settlement account at the last month end on or before
    ``as_of`` (what the merchant keeps with the bank); QR takings are the payments of the 90 days ending on
    ``as_of``. A VIP merchant reaches both ``min_deposit_fen`` and ``min_qr_amount_90d_fen``.

    Returns
    -------
    ibis.Table
        ``merchant_id, deposit_month_end, deposit_fen, qr_amount_90d_fen, is_vip``.
    """
    month_end = month_ends(as_of, 0)[0]
    b = t.balances.filter(t.balances.month_end_date == month_end)
    balance = b.select(account_id="account_id", deposit_fen="balance_fen")
    a = last_days(t.acquiring_transactions, "paid_at", as_of, VIP_QR_DAYS)
    qr = a.group_by("merchant_id").aggregate(qr_amount_90d_fen=a.amount_fen.sum())
    m = acquired_merchants(t, as_of)
    j = m.left_join(balance, m.settlement_account_id == balance.account_id).left_join(
        qr, m.merchant_id == qr.merchant_id
    )
    deposit = j.deposit_fen.fill_null(0).cast("int64")
    amount = j.qr_amount_90d_fen.fill_null(0).cast("int64")
    return j.select(
        m.merchant_id,
        deposit_month_end=ibis.literal(month_end, type="date"),
        deposit_fen=deposit,
        qr_amount_90d_fen=amount,
        is_vip=(deposit >= vip.min_deposit_fen) & (amount >= vip.min_qr_amount_90d_fen),
    )
