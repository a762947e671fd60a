"""Transaction-based value: BG/NBD + Gamma-Gamma on the product-purchase RFM summary (12 months ahead)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from youshu.models.bgnbd import BetaGeoFitter
from youshu.models.gammagamma import GammaGammaFitter
from youshu.models.rfm import rfm_summary

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["purchase_value"]


def purchase_value(
    engine: Engine, warehouse: Path, as_of: date, *, horizon_weeks: float = 52.0
) -> pd.DataFrame:
    """Per customer with a purchase on or before ``as_of``: P(alive), expected purchases and value ahead.

    BG/NBD (maximum likelihood, equal (x, t_x, T) rows collapsed) on weekly recency/T of ``purchases``
    (same-day purchases merged), Gamma-Gamma on the mean repeat-purchase amount of customers with repeats.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``p_alive``, ``expected_purchases`` (in ``horizon_weeks``), ``expected_value_fen``
        (mean purchase amount, Gamma-Gamma posterior; population mean without repeats) and
        ``purchase_value_fen`` (their product). Customers without purchases are absent.
    """
    purchases = engine.table(warehouse, "purchases")
    summary = engine.execute(rfm_summary(purchases, end=as_of, at="purchase_date", value="amount_fen"))
    if summary.empty:
        return pd.DataFrame(
            columns=[
                "customer_id",
                "p_alive",
                "expected_purchases",
                "expected_value_fen",
                "purchase_value_fen",
            ]
        )
    rfm = summary[["frequency", "recency", "T"]].astype("float64")
    bgnbd = BetaGeoFitter(penalizer=0.001).fit(rfm)
    expected = bgnbd.predict_purchases(rfm, horizon_weeks)
    repeat = summary["frequency"].to_numpy() > 0
    # Gamma-Gamma in yuan (fen would push its scale parameter into a badly conditioned range), no penalty.
    monetary = summary[["frequency", "monetary_value"]].astype("float64")
    monetary["monetary_value"] = monetary["monetary_value"] / 100.0
    observed = monetary["monetary_value"].to_numpy() * 100.0
    value = np.where(repeat, observed, np.nan)
    if repeat.sum() >= 10:
        gg = GammaGammaFitter().fit(monetary[repeat])
        if np.isfinite(gg.population_mean_):
            value[repeat] = gg.predict_value(monetary[repeat]) * 100.0
            value[~repeat] = gg.population_mean_ * 100.0
    if np.isnan(value).any():
        # Without a usable Gamma-Gamma fit: the observed mean of repeat buyers.
        value[np.isnan(value)] = float(np.nanmean(observed[repeat])) if repeat.any() else 0.0
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype(str).to_numpy(),
            "p_alive": bgnbd.p_alive(rfm),
            "expected_purchases": expected,
            "expected_value_fen": value,
            "purchase_value_fen": expected * value,
        }
    )
