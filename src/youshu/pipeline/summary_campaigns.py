"""Campaigns of the summary: members, coupons and referrals per campaign with raw rates per group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from youshu.pipeline.summary_query import Tables, dates, end_of, execute, ints, labels, ratio

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["CAMPAIGN_TYPE_ZH", "CampaignResults", "campaign_results"]

CAMPAIGN_TYPE_ZH = labels("coupon=异业联盟优惠券 referral=推荐有礼 product_promotion=产品促销")

_COUNTS = [
    "members",
    "control",
    "coupons_issued",
    "coupons_redeemed",
    "referrals",
    "referred_control",
    "referred_treatment",
]
_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "campaign_type",
    "campaign_type_zh",
    "start_date",
    "end_date",
    "members",
    "treatment",
    "control",
    "coupons_issued",
    "coupons_redeemed",
    "redemption_rate",
    "referrals",
    "referred_treatment",
    "referred_control",
    "referral_rate_treatment",
    "referral_rate_control",
]


@dataclass(frozen=True)
class CampaignResults:
    """Campaigns started by the as-of date with raw outcome rates per group (descriptive, not causal).

    ``by_campaign``: ``campaign_id, campaign_name, campaign_type, start_date, end_date, members, treatment,
    control, coupons_issued, coupons_redeemed, redemption_rate, referrals, referred_treatment,
    referred_control, referral_rate_treatment, referral_rate_control``.
    """

    by_campaign: pd.DataFrame
    members: int
    treatment: int
    control: int
    coupons_issued: int
    coupons_redeemed: int
    referred_treatment: int
    referred_control: int

    @property
    def redemption_rate(self) -> float | None:
        """Redeemed coupons over coupons issued."""
        return ratio(self.coupons_redeemed, self.coupons_issued)

    @property
    def referral_rate_treatment(self) -> float | None:
        """Share of treatment members who converted (new account or bound card)."""
        return ratio(self.referred_treatment, self.treatment)

    @property
    def referral_rate_control(self) -> float | None:
        """Share of control members who converted anyway."""
        return ratio(self.referred_control, self.control)


def campaign_results(engine: Engine, t: Tables, as_of: date) -> CampaignResults:
    """Campaigns started on or before ``as_of`` with what happened in them up to that date."""
    frame = _per_campaign(engine, t, as_of)
    for c in _COUNTS:
        if c not in frame:
            frame[c] = 0
    frame = ints(frame, _COUNTS)
    frame["treatment"] = frame["members"] - frame["control"]
    frame["start_date"] = dates(frame["start_date"])
    frame["end_date"] = dates(frame["end_date"])
    frame["redemption_rate"] = _rates(frame["coupons_redeemed"], frame["coupons_issued"])
    frame["referral_rate_treatment"] = _rates(frame["referred_treatment"], frame["treatment"])
    frame["referral_rate_control"] = _rates(frame["referred_control"], frame["control"])
    frame.insert(3, "campaign_type_zh", [CAMPAIGN_TYPE_ZH.get(v, v) for v in frame["campaign_type"]])
    frame = frame[_COLUMNS]
    frame = frame.sort_values(["start_date", "campaign_id"]).reset_index(drop=True)
    return CampaignResults(
        by_campaign=frame,
        members=int(frame["members"].sum()),
        treatment=int(frame["treatment"].sum()),
        control=int(frame["control"].sum()),
        coupons_issued=int(frame["coupons_issued"].sum()),
        coupons_redeemed=int(frame["coupons_redeemed"].sum()),
        referred_treatment=int(frame["referred_treatment"].sum()),
        referred_control=int(frame["referred_control"].sum()),
    )


def _per_campaign(engine: Engine, t: Tables, as_of: date) -> pd.DataFrame:
    """One row per campaign started by ``as_of`` with its raw counts (missing where nothing happened)."""
    camp = t.campaigns.filter(t.campaigns.start_date <= as_of)
    info = execute(
        engine, camp.select("campaign_id", "campaign_name", "campaign_type", "start_date", "end_date")
    )
    mem = t.campaign_members.filter(t.campaign_members.assigned_date <= as_of)
    control = mem.is_control.cast("int64")
    members = execute(
        engine, mem.group_by("campaign_id").aggregate(members=mem.count(), control=control.sum())
    )
    cp = t.coupons.filter(t.coupons.issued_date <= as_of)
    issued = execute(engine, cp.group_by("campaign_id").aggregate(coupons_issued=cp.count()))
    rd = t.redemptions.filter(t.redemptions.redeemed_at < end_of(as_of)).select("coupon_id")
    rd = rd.join(cp.select("coupon_id", "campaign_id"), "coupon_id")
    redeemed = execute(engine, rd.group_by("campaign_id").aggregate(coupons_redeemed=rd.coupon_id.nunique()))
    ref = t.referrals.filter(t.referrals.referral_date <= as_of)
    ref_count = execute(engine, ref.group_by("campaign_id").aggregate(referrals=ref.count()))
    converted = ref.select("campaign_id", "customer_id").distinct()
    conv = converted.join(
        mem.select("campaign_id", "customer_id", "is_control"), ["campaign_id", "customer_id"]
    )
    in_control = conv.is_control.cast("int64")
    referred = execute(
        engine,
        conv.group_by("campaign_id").aggregate(
            referred_control=in_control.sum(), referred_treatment=(1 - in_control).sum()
        ),
    )
    frame = info
    for part in (members, issued, redeemed, ref_count, referred):
        frame = frame.merge(part, on="campaign_id", how="left")
    return frame


def _rates(num: pd.Series, den: pd.Series) -> pd.Series:
    return pd.Series([ratio(n, d) for n, d in zip(num, den, strict=True)], index=num.index, dtype="float64")
