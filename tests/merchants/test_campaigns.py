"""The alliance ledger (异业联盟台账) and campaign uplift: hand counts on the tiny warehouse, hand SQL on a
synthetic province, and the uplift interval against the planted effect."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from youshu.campaigns import CampaignReport, campaign_report, difference_in_proportions
from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.schema.storage import TRUTH_DIR

from .conftest import Sql
from .tiny import AS_OF, MONTH_ENDS, REFERRALS, _balance

_CACHE: dict[Path, CampaignReport] = {}


def _report(engine: Engine, warehouse: Path) -> CampaignReport:
    if warehouse not in _CACHE:
        _CACHE[warehouse] = campaign_report(engine, warehouse, AS_OF)
    return _CACHE[warehouse]


def _retained(customer: str, horizon: int) -> int:
    """By hand from the tiny balances: first month end >= day + h minus the last month end before the day."""
    day = REFERRALS[customer][1]
    base = max(m for m in MONTH_ENDS if m < day)
    later = min(m for m in MONTH_ENDS if m >= day + timedelta(days=horizon))
    account = "A" + customer[1:]
    return _balance(account, later) - _balance(account, base)


def test_ledger_counts_coupons_redemptions_and_referrals_per_partner(duck: Engine, tiny: Path) -> None:
    ledger = _report(duck, tiny).ledger.set_index("merchant_id")
    cols = [
        "coupons_issued",
        "coupons_redeemed",
        "customers_referred",
        "cards_bound",
        "referred_after_redemption",
    ]
    # K35's redemption at M04 happens after the as-of date; K32 converted before redeeming
    assert ledger.loc["M01", cols].tolist() == [8, 5, 3, 3, 2]
    assert ledger.loc["M04", cols].tolist() == [8, 3, 3, 3, 0]
    assert ledger.loc["M01", "face_value_redeemed_fen"] == 2_500
    assert ledger.loc["M01", "redemption_rate"] == pytest.approx(5 / 8)
    assert list(ledger["campaign_name"].unique()) == ["绑卡享1元早餐"]


def test_ledger_deposits_retained_at_30_and_90_days(duck: Engine, tiny: Path) -> None:
    ledger = _report(duck, tiny).ledger.set_index("merchant_id")
    assert _retained("K24", 30) == 480_000  # 580,000 on 2025-04-30 minus 100,000 on 2025-02-28
    for merchant, customers in (("M01", ["K24", "K25", "K29"]), ("M04", ["K32", "K36", "K37"])):
        for h in (30, 90):
            assert ledger.loc[merchant, f"retained_{h}d_fen"] == sum(_retained(c, h) for c in customers)
            assert ledger.loc[merchant, f"observed_{h}d"] == 3


def test_campaign_uplift_against_the_control_group(duck: Engine, tiny: Path) -> None:
    rows = _report(duck, tiny).campaigns.set_index("campaign_id")
    g1 = rows.loc["G1"]
    assert (g1["members"], g1["treatment"], g1["control"]) == (20, 16, 4)
    assert (g1["referred_treatment"], g1["referred_control"]) == (6, 1)
    expected = difference_in_proportions(6, 16, 1, 4)
    assert g1["uplift"] == pytest.approx(0.375 - 0.25)
    assert (g1["uplift_low"], g1["uplift_high"]) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
    )
    assert g1["incremental_conversions"] == pytest.approx(2.0)
    treated = sum(_retained(c, 30) for c in ("K24", "K25", "K29", "K32", "K36", "K37"))
    assert g1["deposits_per_member_treatment_30d_fen"] == pytest.approx(treated / 16)
    assert g1["deposits_per_member_control_30d_fen"] == pytest.approx(_retained("K20", 30) / 4)
    assert g1["deposit_uplift_30d_fen"] == pytest.approx(treated / 16 - _retained("K20", 30) / 4)


def test_campaigns_not_yet_started_are_left_out_and_promotions_have_no_referral_uplift(
    duck: Engine, tiny: Path
) -> None:
    rows = _report(duck, tiny).campaigns.set_index("campaign_id")
    assert list(rows.index) == ["G1", "G3"]  # G2 starts 2025-10-10
    assert pd.isna(rows.loc["G3", "uplift"]) and rows.loc["G3", "members"] == 10
    with pytest.raises(YoushuError, match="starts after the as-of date"):
        campaign_report(duck, tiny, AS_OF, campaign="G2")
    with pytest.raises(YoushuError, match="'G9' is not in the campaigns table"):
        campaign_report(duck, tiny, AS_OF, campaign="G9")


def test_deposit_uplift_waits_until_the_horizon_is_observed(duck: Engine, tiny: Path) -> None:
    early = campaign_report(duck, tiny, date(2025, 6, 30), campaign="G1").campaigns.iloc[0]
    # the last referral day is the campaign end (2025-05-31): +30 days -> 2025-06-30 is observed, +90 is not
    assert early["deposit_uplift_30d_fen"] is not None and not pd.isna(early["deposit_uplift_30d_fen"])
    assert pd.isna(early["deposit_uplift_90d_fen"])


# -- a synthetic province ------------------------------------------------------------------------------


def test_ledger_matches_hand_sql_on_a_province(duck: Engine, province: Path, province_sql: Sql) -> None:
    ledger = _report(duck, province).ledger.set_index(["campaign_id", "merchant_id"]).sort_index()
    hand = province_sql(
        """
        with issued as (
          select campaign_id, merchant_id, count(*) as coupons_issued from coupons
          where issued_date <= date '2025-09-30' and merchant_id is not null group by all),
        redeemed as (
          select c.campaign_id, r.merchant_id, count(distinct r.coupon_id) as coupons_redeemed
          from redemptions r join coupons c using (coupon_id)
          where r.redeemed_at < date '2025-10-01' and c.issued_date <= date '2025-09-30' group by all),
        referred as (
          select campaign_id, merchant_id, count(distinct customer_id) as customers_referred from referrals
          where referral_date <= date '2025-09-30' and merchant_id is not null group by all),
        after as (
          select f.campaign_id, r.merchant_id, count(distinct f.customer_id) as referred_after_redemption
          from referrals f
          join coupons c on c.campaign_id = f.campaign_id and c.customer_id = f.customer_id
          join redemptions r on r.coupon_id = c.coupon_id
          where r.redeemed_at::date <= f.referral_date and f.referral_date <= date '2025-09-30'
          group by all)
        select * from issued full join redeemed using (campaign_id, merchant_id)
          full join referred using (campaign_id, merchant_id) full join after using (campaign_id, merchant_id)
        """
    )
    hand = hand.set_index(["campaign_id", "merchant_id"]).sort_index().fillna(0).astype("int64")
    assert list(ledger.index) == list(hand.index)
    for column in hand.columns:
        assert ledger[column].tolist() == hand[column].tolist(), column
    assert hand["coupons_issued"].sum() > 1000


def test_the_breakfast_alliance_campaign_is_reported(duck: Engine, province: Path) -> None:
    rep = _report(duck, province)
    row = rep.campaigns.set_index("campaign_id").loc["CMP001"]
    assert row["campaign_name"] == "绑卡享1元早餐" and row["campaign_type"] == "coupon"
    assert "1元早餐" in row["description"] and "合作面馆" in row["description"]
    partners = rep.ledger[rep.ledger["campaign_id"] == "CMP001"]
    assert set(partners["category_zh"]) == {"餐饮美食"}
    assert partners["merchant_name"].str.endswith("面馆").all()
    assert partners["coupons_issued"].sum() == row["coupons_issued"]
    assert partners["coupons_redeemed"].sum() == row["coupons_redeemed"]
    assert row["coupons_issued"] == row["treatment"]  # every treated member got a coupon
    # the campaign ended in May: both deposit horizons are observed by the as-of date and have an interval
    for h in (30, 90):
        assert (
            row[f"deposit_uplift_{h}d_low"]
            < row[f"deposit_uplift_{h}d_fen"]
            < row[f"deposit_uplift_{h}d_high"]
        )


@pytest.mark.parametrize("campaign", ["CMP001", "CMP002"])
def test_uplift_interval_covers_the_planted_uplift(duck: Engine, province: Path, campaign: str) -> None:
    truth = pq.read_table(province / TRUTH_DIR / "campaign_effects").to_pandas().set_index("campaign_id")
    row = _report(duck, province).campaigns.set_index("campaign_id").loc[campaign]
    planted = float(truth.loc[campaign, "true_uplift"])
    assert row["treatment"] == truth.loc[campaign, "treated_members"]
    assert row["uplift_low"] <= planted <= row["uplift_high"], (
        f"planted {planted:.4f} outside [{row['uplift_low']:.4f}, {row['uplift_high']:.4f}]: a 95% interval "
        "misses for 1 province in 20; if the generator changed, see the coverage test in test_uplift.py"
    )
    if campaign == "CMP001":  # a 5-point uplift on ~2,000 treated members is clearly detected
        assert row["uplift_low"] > 0
