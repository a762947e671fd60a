"""The alliance ledger (异业联盟台账): per campaign and partner merchant, what the partnership brought.

Per campaign and merchant, as of a date:

- ``coupons_issued`` / ``face_value_issued_fen``: coupons redeemable at the merchant, issued by the date;
- ``coupons_redeemed`` / ``face_value_redeemed_fen``: coupons redeemed at the merchant by the date (the
  bank's cost of the offer);
- ``customers_referred``: distinct customers whose referral (new account or bound card) names the merchant,
  split into ``new_accounts`` and ``cards_bound``;
- ``referred_after_redemption``: distinct customers of the campaign who converted on or after the day they
  redeemed a coupon at the merchant (whatever merchant the referral names);
- ``retained_<h>d_fen`` and ``observed_<h>d``: deposits retained by the referred accounts at each horizon
  (``youshu.campaigns.deposits``) and how many referrals are old enough to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from youshu.campaigns.counts import campaigns_started, redemptions_by
from youshu.campaigns.deposits import referral_deposits, retained_column
from youshu.engine import Tables
from youshu.schema.enums import MERCHANT_CATEGORY_ZH

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["LEDGER_COLUMNS", "alliance_ledger"]

_KEYS = ["campaign_id", "merchant_id"]
_COUNTS = [
    "coupons_issued",
    "face_value_issued_fen",
    "coupons_redeemed",
    "face_value_redeemed_fen",
    "customers_referred",
    "new_accounts",
    "cards_bound",
    "referred_after_redemption",
]
LEDGER_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "merchant_id",
    "merchant_name",
    "category_zh",
    "outlet_id",
    *_COUNTS,
    "redemption_rate",
]


def alliance_ledger(
    engine: Engine,
    t: Tables,
    as_of: date,
    *,
    campaign: str | None = None,
    horizons: Sequence[int] = (30, 90),
) -> pd.DataFrame:
    """The ledger of every campaign started by ``as_of`` (or one), one row per campaign and partner merchant.

    Returns
    -------
    DataFrame
        ``LEDGER_COLUMNS`` then ``retained_<h>d_fen, observed_<h>d`` per horizon, by campaign and most
        coupons redeemed first. ``outlet_id`` is the merchant's acquiring outlet.
    """
    started = campaigns_started(t, as_of, campaign).select("campaign_id", "campaign_name")
    cp = t.coupons.filter(t.coupons.issued_date <= as_of, t.coupons.merchant_id.notnull())
    cp = cp.semi_join(started, "campaign_id")
    issued = cp.group_by(_KEYS).aggregate(
        coupons_issued=cp.count(), face_value_issued_fen=cp.face_value_fen.sum()
    )
    rd = redemptions_by(t, as_of).semi_join(started, "campaign_id")
    redeemed = rd.group_by(_KEYS).aggregate(
        coupons_redeemed=rd.coupon_id.nunique(), face_value_redeemed_fen=rd.face_value_fen.sum()
    )
    ref = referral_deposits(t, as_of, horizons).semi_join(started, "campaign_id")
    named = ref.filter(ref.merchant_id.notnull())
    per_horizon = {}
    for h in horizons:
        col = named[retained_column(h)]
        per_horizon[retained_column(h)] = col.sum()
        per_horizon[f"observed_{h}d"] = col.count()
    referred = named.group_by(_KEYS).aggregate(
        customers_referred=named.customer_id.nunique(),
        new_accounts=named.customer_id.nunique(where=named.outcome == "new_account"),
        cards_bound=named.customer_id.nunique(where=named.outcome == "card_bound"),
        **per_horizon,
    )
    # A conversion follows a redemption when the coupon was redeemed on or before the referral day.
    redeemers = rd.select(
        "campaign_id", "customer_id", redeemed_merchant=rd.merchant_id, redeemed_date=rd.redeemed_at.date()
    )
    pairs = ref.join(redeemers, ["campaign_id", "customer_id"])
    pairs = pairs.filter(pairs.redeemed_date <= pairs.referral_date)
    after = pairs.group_by(["campaign_id", pairs.redeemed_merchant.name("merchant_id")]).aggregate(
        referred_after_redemption=pairs.customer_id.nunique()
    )
    frame: pd.DataFrame | None = None
    for part in (issued, redeemed, referred, after):
        df = engine.execute(part).reset_index(drop=True)
        frame = df if frame is None else frame.merge(df, on=_KEYS, how="outer")
    assert frame is not None
    extra = [c for h in horizons for c in (retained_column(h), f"observed_{h}d")]
    for c in [*_COUNTS, *[f"observed_{h}d" for h in horizons]]:
        frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
    for h in horizons:
        frame[retained_column(h)] = pd.to_numeric(frame[retained_column(h)]).astype("Int64")
    names = engine.execute(started).reset_index(drop=True)
    m = t.merchants
    merchants = engine.execute(
        m.select("merchant_id", "merchant_name", "category", outlet_id=m.acquiring_outlet_id)
    ).reset_index(drop=True)
    frame = frame.merge(names, on="campaign_id", how="left").merge(merchants, on="merchant_id", how="left")
    frame["category_zh"] = [MERCHANT_CATEGORY_ZH.get(c, c) for c in frame["category"]]
    frame["redemption_rate"] = [
        (r / i) if i else None
        for r, i in zip(frame["coupons_redeemed"], frame["coupons_issued"], strict=True)
    ]
    frame["redemption_rate"] = frame["redemption_rate"].astype("float64")
    frame = frame.sort_values(
        ["campaign_id", "coupons_redeemed", "merchant_id"], ascending=[True, False, True]
    )
    return frame[LEDGER_COLUMNS + extra].reset_index(drop=True)
