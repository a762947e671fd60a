"""Campaigns of the summary: members, coupons and referrals per campaign with raw rates per group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from youshu.campaigns.counts import COUNT_COLUMNS as _COUNTS
from youshu.campaigns.counts import campaign_counts
from youshu.campaigns.report import CAMPAIGN_TYPE_ZH
from youshu.pipeline.summary_query import Tables, dates, ints, ratio

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["CAMPAIGN_TYPE_ZH", "CampaignResults", "campaign_results"]

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
    frame = campaign_counts(engine, t, as_of)
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


def _rates(num: pd.Series, den: pd.Series) -> pd.Series:
    return pd.Series([ratio(n, d) for n, d in zip(num, den, strict=True)], index=num.index, dtype="float64")
