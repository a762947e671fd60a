"""The campaign report: per campaign the raw counts, the conversion and deposit uplift against the randomized
control group (with confidence intervals) and the per-merchant alliance ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from youshu.campaigns.counts import COUNT_COLUMNS, campaign_counts
from youshu.campaigns.deposits import horizon_observed, referral_deposits, retained_column
from youshu.campaigns.ledger import alliance_ledger
from youshu.campaigns.uplift import difference_in_means, difference_in_proportions
from youshu.config import CampaignReportSettings
from youshu.engine import Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["CAMPAIGN_TYPE_ZH", "REFERRAL_TYPES", "CampaignReport", "campaign_report", "deposit_moments"]

CAMPAIGN_TYPE_ZH = {"coupon": "异业联盟优惠券", "referral": "推荐有礼", "product_promotion": "产品促销"}
#: Campaign types whose conversion is a referral (new account or bound card); product promotions convert by
#: purchases, which this report does not measure, so their uplift columns stay null.
REFERRAL_TYPES = frozenset({"coupon", "referral"})


@dataclass(frozen=True)
class CampaignReport:
    """Campaigns started by ``as_of`` with their uplift, and the alliance ledger per partner merchant.

    ``campaigns`` has one row per campaign: the counts of ``campaign_counts``, ``treatment``, the
    conversion rates per group, ``uplift`` (treatment minus control conversion rate) with ``uplift_low``,
    ``uplift_high`` and ``uplift_p_value``, ``incremental_conversions`` (uplift x treatment members) and,
    per deposit horizon h, the retained deposits per member of each group and their difference
    (``deposit_uplift_<h>d_fen`` with ``_low``/``_high``), null until every referral of the campaign could
    reach the horizon. ``ledger`` is ``alliance_ledger``.
    """

    as_of: date
    confidence: float
    campaigns: pd.DataFrame
    ledger: pd.DataFrame


def deposit_moments(engine: Engine, t: Tables, as_of: date, horizon: int) -> pd.DataFrame:
    """Per campaign and group: members ``n``, sum ``s`` and sum of squares ``ss`` of retained deposits.

    A member's value is the deposits its referrals of the campaign retained at ``horizon`` days (0 without
    a referral or before the horizon is observed).
    """
    mem = t.campaign_members.filter(t.campaign_members.assigned_date <= as_of)
    ref = referral_deposits(t, as_of, (horizon,))
    per = ref.group_by(["campaign_id", "customer_id"]).aggregate(v=ref[retained_column(horizon)].sum())
    j = mem.left_join(per, [mem.campaign_id == per.campaign_id, mem.customer_id == per.customer_id])
    v = j.v.fill_null(0).cast("float64")
    moments = j.group_by([mem.campaign_id, mem.is_control]).aggregate(
        n=j.count(), s=v.sum(), ss=(v * v).sum()
    )
    return engine.execute(moments).reset_index(drop=True)


_UPLIFT = [
    "conversion_treatment",
    "conversion_control",
    "uplift",
    "uplift_low",
    "uplift_high",
    "uplift_p_value",
    "incremental_conversions",
]


def _group(moments: pd.DataFrame, campaign_id: str, control: bool) -> tuple[float, float, int]:
    row = moments[(moments["campaign_id"] == campaign_id) & (moments["is_control"].astype(bool) == control)]
    if row.empty:
        return 0.0, 0.0, 0
    r = row.iloc[0]
    return float(r["s"]), float(r["ss"]), int(r["n"])


def _uplift_columns(row: dict[str, Any], confidence: float) -> dict[str, Any]:
    if row["campaign_type"] not in REFERRAL_TYPES:
        return dict.fromkeys(_UPLIFT, None)
    est = difference_in_proportions(
        int(row["referred_treatment"]),
        int(row["treatment"]),
        int(row["referred_control"]),
        int(row["control"]),
        confidence,
    )
    rate_t = row["referred_treatment"] / row["treatment"] if row["treatment"] else None
    rate_c = row["referred_control"] / row["control"] if row["control"] else None
    return {
        "conversion_treatment": rate_t,
        "conversion_control": rate_c,
        "uplift": est.estimate,
        "uplift_low": est.low,
        "uplift_high": est.high,
        "uplift_p_value": est.p_value,
        "incremental_conversions": None if est.estimate is None else est.estimate * row["treatment"],
    }


def campaign_report(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    campaign: str | None = None,
    settings: CampaignReportSettings | None = None,
) -> CampaignReport:
    """Counts, uplift with confidence intervals and the alliance ledger of campaigns started by ``as_of``.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        Nothing after this day is read.
    campaign : str, optional
        Report one campaign only.
    settings : CampaignReportSettings, optional
        Confidence level and deposit horizons (default 0.95 and 30/90 days).

    Raises
    ------
    YoushuError
        When ``campaign`` is not in the ``campaigns`` table or starts after ``as_of``.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     rep = campaign_report(eng, Path("data/warehouse"), date(2025, 9, 30), campaign="CMP001")
    ...     rep.campaigns[["campaign_name", "uplift", "uplift_low", "uplift_high"]]
    """
    settings = settings or CampaignReportSettings()
    as_of = as_of_date(as_of)
    t = Tables(engine, warehouse)
    frame = campaign_counts(engine, t, as_of, campaign)
    if campaign is not None and frame.empty:
        known = engine.execute(t.campaigns.select("campaign_id", "start_date"))
        if campaign in set(known["campaign_id"]):
            raise YoushuError(
                f"campaign {campaign!r} starts after the as-of date {as_of}; choose a later --as-of"
            )
        raise YoushuError(f"campaign {campaign!r} is not in the campaigns table of {warehouse}")
    for c in COUNT_COLUMNS:
        frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
    frame["treatment"] = frame["members"] - frame["control"]
    frame["start_date"] = [pd.Timestamp(v).date() for v in frame["start_date"]]
    frame["end_date"] = [pd.Timestamp(v).date() for v in frame["end_date"]]
    frame["campaign_type_zh"] = [CAMPAIGN_TYPE_ZH.get(v, v) for v in frame["campaign_type"]]
    frame["redemption_rate"] = [
        r / i if i else None for r, i in zip(frame["coupons_redeemed"], frame["coupons_issued"], strict=True)
    ]
    rows = [{**r, **_uplift_columns(r, settings.confidence)} for r in frame.to_dict("records")]
    for h in settings.deposit_horizons_days:
        moments = deposit_moments(engine, t, as_of, h)
        for r in rows:
            last_day = min(r["end_date"], as_of)
            est = None
            s1, ss1, n1 = _group(moments, r["campaign_id"], False)
            s0, ss0, n0 = _group(moments, r["campaign_id"], True)
            if r["campaign_type"] in REFERRAL_TYPES and horizon_observed(last_day, h, as_of):
                est = difference_in_means(s1, ss1, n1, s0, ss0, n0, settings.confidence)
            r[f"deposits_per_member_treatment_{h}d_fen"] = s1 / n1 if est and n1 else None
            r[f"deposits_per_member_control_{h}d_fen"] = s0 / n0 if est and n0 else None
            r[f"deposit_uplift_{h}d_fen"] = est.estimate if est else None
            r[f"deposit_uplift_{h}d_low"] = est.low if est else None
            r[f"deposit_uplift_{h}d_high"] = est.high if est else None
    campaigns = pd.DataFrame(rows)
    floats = [c for c in campaigns.columns if c in _UPLIFT or c.startswith(("deposit", "redemption_rate"))]
    for c in floats:
        campaigns[c] = pd.to_numeric(campaigns[c]).astype("float64")
    if not campaigns.empty:
        campaigns = campaigns.sort_values(["start_date", "campaign_id"]).reset_index(drop=True)
    ledger = alliance_ledger(engine, t, as_of, campaign=campaign, horizons=settings.deposit_horizons_days)
    return CampaignReport(as_of, settings.confidence, campaigns, ledger)
