"""Raw counts per campaign as of a date: members, coupons, redemptions, referrals and who converted."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import pandas as pd

from youshu.engine import Tables
from youshu.features.common import end_of

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["COUNT_COLUMNS", "campaign_counts", "campaigns_started", "redemptions_by"]

#: The count columns of ``campaign_counts`` (missing where nothing happened).
COUNT_COLUMNS = [
    "members",
    "control",
    "coupons_issued",
    "coupons_redeemed",
    "referrals",
    "referred_control",
    "referred_treatment",
]


def campaigns_started(t: Tables, as_of: date, campaign: str | None = None) -> ir.Table:
    """Campaigns that started on or before ``as_of`` (optionally only ``campaign``)."""
    camp = t.campaigns.filter(t.campaigns.start_date <= as_of)
    return camp if campaign is None else camp.filter(camp.campaign_id == campaign)


def redemptions_by(t: Tables, as_of: date) -> ir.Table:
    """Redemptions up to ``as_of`` with the coupon's campaign and holder.

    Returns ``redemption_id, coupon_id, merchant_id, redeemed_at, campaign_id, customer_id,
    face_value_fen``.
    """
    cp = t.coupons.filter(t.coupons.issued_date <= as_of)
    rd = t.redemptions.filter(t.redemptions.redeemed_at < end_of(as_of))
    return rd.join(cp.select("coupon_id", "campaign_id", "customer_id", "face_value_fen"), "coupon_id")


def campaign_counts(engine: Engine, t: Tables, as_of: date, campaign: str | None = None) -> pd.DataFrame:
    """One row per campaign started by ``as_of`` with its raw counts (missing where nothing happened).

    Members are those assigned by ``as_of``; a member converted when a referral (new account or bound card)
    of the same campaign names them on or before ``as_of``. Columns: ``campaign_id, campaign_name,
    campaign_type, start_date, end_date, description`` and ``COUNT_COLUMNS``.
    """
    camp = campaigns_started(t, as_of, campaign)
    info = engine.execute(
        camp.select("campaign_id", "campaign_name", "campaign_type", "start_date", "end_date", "description")
    ).reset_index(drop=True)
    mem = t.campaign_members.filter(t.campaign_members.assigned_date <= as_of)
    control = mem.is_control.cast("int64")
    members = mem.group_by("campaign_id").aggregate(members=mem.count(), control=control.sum())
    cp = t.coupons.filter(t.coupons.issued_date <= as_of)
    issued = cp.group_by("campaign_id").aggregate(coupons_issued=cp.count())
    rd = redemptions_by(t, as_of)
    redeemed = rd.group_by("campaign_id").aggregate(coupons_redeemed=rd.coupon_id.nunique())
    ref = t.referrals.filter(t.referrals.referral_date <= as_of)
    ref_count = ref.group_by("campaign_id").aggregate(referrals=ref.count())
    converted = ref.select("campaign_id", "customer_id").distinct()
    conv = converted.join(
        mem.select("campaign_id", "customer_id", "is_control"), ["campaign_id", "customer_id"]
    )
    in_control = conv.is_control.cast("int64")
    referred = conv.group_by("campaign_id").aggregate(
        referred_control=in_control.sum(), referred_treatment=(1 - in_control).sum()
    )
    frame = info
    for part in (members, issued, redeemed, ref_count, referred):
        frame = frame.merge(engine.execute(part).reset_index(drop=True), on="campaign_id", how="left")
    return frame
