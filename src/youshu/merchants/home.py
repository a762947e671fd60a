"""Acquired merchants as of a date and the outlet each one belongs to (its home outlet, 归属网点)."""

from __future__ import annotations

from datetime import date

import ibis.expr.types as ir

from youshu.engine import Tables

__all__ = ["acquired_by", "acquired_merchants"]


def acquired_by(m: ir.Table, as_of: date) -> ir.BooleanValue:
    """Whether a merchant had been signed for acquiring by ``as_of`` (later signings were still prospects)."""
    return (m.is_acquired & (m.onboard_date <= as_of)).fill_null(False)


def acquired_merchants(t: Tables, as_of: date) -> ir.Table:
    """Merchants signed for acquiring on or before ``as_of``, one row each, with their home outlet.

    The home outlet is the acquiring outlet (收单网点), the outlet that signed the merchant and looks after
    it. Circle membership of ``youshu.geo`` (nearest outlet within the service radius) can replace it once
    it is built; prospects have no home outlet here because every merchant operation below concerns signed
    merchants.

    Returns
    -------
    ibis.Table
        ``merchant_id, merchant_name, category, outlet_id, onboard_date, settlement_account_id,
        owner_customer_id``.
    """
    m = t.merchants
    signed = m.filter(acquired_by(m, as_of))
    return signed.select(
        "merchant_id",
        "merchant_name",
        "category",
        outlet_id=signed.acquiring_outlet_id,
        onboard_date=signed.onboard_date,
        settlement_account_id=signed.settlement_account_id,
        owner_customer_id=signed.owner_customer_id,
    )
