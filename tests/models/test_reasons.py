"""Reason codes read as a marketer would say them: zh names, yuan for fen, units, flags by name."""

from __future__ import annotations

import numpy as np
import pytest

from youshu.features.catalog import get_feature
from youshu.models.reasons import NO_RECORD, format_reason, format_value, top_reasons


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("other_bank_wealth_out_90d_fen", 5_200_000, "近90天转他行理财 ¥52,000"),
        ("other_bank_wealth_out_90d_fen", 1_250, "近90天转他行理财 ¥12.50"),
        ("days_since_last_purchase", 12, "距最近购买天数 12天"),
        ("days_since_last_purchase", None, f"距最近购买天数 {NO_RECORD}"),
        ("channel_share_mobile_90d", 0.456, "近90天手机银行交易占比 46%"),
        ("aum_trend_3m", 1.5, "AUM 3个月变化 1.50倍"),
        ("distance_to_home_outlet_m", 2345.0, "距归属网点距离(米) 2.3公里"),
        ("distance_to_home_outlet_m", 420.4, "距归属网点距离(米) 420米"),
        ("txn_count_90d", 37, "近90天交易笔数 37"),
        ("age", 61, "年龄 61岁"),
        ("has_payroll_90d", True, "代发工资客户"),
        ("has_payroll_90d", False, "非代发工资客户"),
        ("occupation", "retiree", "职业 retiree"),
    ],
)
def test_a_catalog_feature_reads_with_its_zh_name_and_unit(feature: str, value: object, text: str) -> None:
    assert format_reason(feature, value, get_feature("customer", feature)) == text


def test_a_feature_outside_the_catalog_shows_its_column_name_and_raw_value() -> None:
    assert format_reason("partner_score", 3.14159, None) == "partner_score 3.14"
    assert format_value(1200, None) == "1,200"


def test_top_reasons_keep_only_features_that_raised_the_score() -> None:
    contributions = np.array([[0.5, -0.2, 0.1], [-0.1, -0.3, -0.2]])
    values = np.array([[5_200_000.0, 3.0, 12.0], [0.0, 1.0, 2.0]])
    names = ["other_bank_wealth_out_90d_fen", "txn_count_90d", "days_since_last_purchase"]
    specs = {n: get_feature("customer", n) for n in names}
    table = top_reasons(contributions, lambda r, j: values[r, j], names, specs, top=2)
    assert table.loc[0, "reason_1"] == "近90天转他行理财 ¥52,000"
    assert table.loc[0, "reason_2"] == "距最近购买天数 12天"
    assert table.loc[1, "reason_1"] is None  # nothing pushed the second row up
    assert table.loc[0, "reason_contribution_1"] == pytest.approx(0.5)
