"""The specialty catalogue on the hand-built warehouse: location quotients, growth, seasonality, credit, index."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.rural import CATALOGUE_COLUMNS, load_competitiveness, specialty_catalogue
from youshu.rural.config import CompetitivenessConfig

from .tiny import AS_OF


def _catalogue(engine: Engine, warehouse: Path, config: CompetitivenessConfig | None = None) -> pd.DataFrame:
    frame = engine.execute(specialty_catalogue(Tables(engine, warehouse), AS_OF, config))
    return frame.set_index(["county_id", "industry"]).sort_index()


# Composite activity by hand (weights 0.5 transactions, 0.25 merchants, 0.25 loans; province totals
# 100,000 fen of tagged transactions, 4 merchants, 20,000 fen of loans).
ACTIVITY = {
    ("A", "tea"): 0.5 * 40_000 / 100_000 + 0.25 * 1 / 4 + 0.25 * 10_000 / 20_000,
    ("A", "walnut"): 0.5 * 10_000 / 100_000,
    ("B", "tea"): 0.5 * 10_000 / 100_000,
    ("B", "walnut"): 0.5 * 40_000 / 100_000 + 0.25 * 3 / 4 + 0.25 * 10_000 / 20_000,
}


def _expected_lq(county: str, industry: str) -> float:
    county_total = sum(v for (c, _), v in ACTIVITY.items() if c == county)
    industry_total = sum(v for (_, i), v in ACTIVITY.items() if i == industry)
    return (ACTIVITY[(county, industry)] / county_total) / (industry_total / sum(ACTIVITY.values()))


def test_location_quotients_match_the_hand_computation(
    engine: Engine, tiny_catalogue_warehouse: Path
) -> None:
    cat = _catalogue(engine, tiny_catalogue_warehouse)
    assert list(cat.index) == list(ACTIVITY)
    for key in ACTIVITY:
        assert cat.loc[key, "location_quotient"] == pytest.approx(_expected_lq(*key), rel=1e-9)
    assert cat.loc[("A", "tea"), "location_quotient"] == pytest.approx((0.3875 / 0.4375) / 0.4375)


def test_window_growth_seasonality_and_credit_are_measured_as_of_the_date(
    engine: Engine, tiny_catalogue_warehouse: Path
) -> None:
    cat = _catalogue(engine, tiny_catalogue_warehouse)
    a_tea, a_walnut, b_walnut = cat.loc[("A", "tea")], cat.loc[("A", "walnut")], cat.loc[("B", "walnut")]
    # the walnut receipts after the as-of date and before the window are not counted
    assert a_walnut["txn_amount_fen"] == 10_000 and a_walnut["txn_count"] == 1
    assert a_tea["growth"] == pytest.approx(2.0)  # 30,000 in the last 180 days against 10,000 before
    assert math.isnan(a_walnut["growth"])  # nothing in the 180 days before
    assert a_tea["seasonality_peak_share"] == pytest.approx(0.75) and a_tea["peak_month"] == 5
    assert a_tea["merchants"] == 1 and cat.loc[("B", "walnut"), "merchants"] == 3
    # the merchant signed after the as-of date is left out
    assert a_walnut["merchants"] == 0
    # 5 of 6 instalments paid on time in the province: p0 = 5/6, shrunk by 12 pseudo-instalments
    assert a_tea["credit_quality"] == pytest.approx((3 + 12 * 5 / 6) / (4 + 12))
    assert b_walnut["credit_quality"] == pytest.approx((2 + 12 * 5 / 6) / (2 + 12))
    assert math.isnan(cat.loc[("B", "tea"), "credit_quality"])
    assert cat.loc[("A", "tea"), "industry_zh"] == "茶叶" and cat.loc[("A", "tea"), "county_name"] == "甲县"
    assert set(cat.reset_index().columns) == set(CATALOGUE_COLUMNS)


def _z(x: pd.Series) -> pd.Series:
    known = x.dropna()
    z = (x - known.mean()) / known.std(ddof=0)
    return z.clip(-3, 3).fillna(0.0)


def test_competitiveness_index_is_the_documented_weighted_z_score(
    engine: Engine, tiny_catalogue_warehouse: Path
) -> None:
    cfg = load_competitiveness()
    cat = _catalogue(engine, tiny_catalogue_warehouse)
    scale = np.log1p((cat["txn_amount_fen"] + cat["loan_principal_fen"]) / 100.0)
    growth = cat["growth"].clip(-1, 3)
    concentration = np.log(cat["location_quotient"])
    expected = (
        cfg.weight("scale") * _z(scale)
        + cfg.weight("growth") * _z(growth)
        + cfg.weight("concentration") * _z(concentration)
        + cfg.weight("credit_quality") * _z(cat["credit_quality"])
    )
    assert np.allclose(cat["competitiveness_index"], expected, atol=1e-9)
    assert cat.loc[("A", "tea"), "rank_in_county"] == 1 and cat.loc[("B", "walnut"), "rank_in_county"] == 1
    assert sorted(cat["rank_in_county"]) == [1, 1, 2, 2]


def test_weights_from_the_definition_change_the_ranking(
    engine: Engine, tiny_catalogue_warehouse: Path
) -> None:
    base = load_competitiveness()
    only_growth = base.model_copy(
        update={
            "components": [
                c.model_copy(update={"weight": 1.0 if c.name == "growth" else 0.0}) for c in base.components
            ]
        }
    )
    cat = _catalogue(engine, tiny_catalogue_warehouse, only_growth)
    # A tea grew 200% (the only growth figure, z = 0 as the only known value... and so is every other row):
    # all indices are 0 and the product name breaks the tie, tea before walnut
    assert cat.loc[("A", "tea"), "rank_in_county"] == 1
    assert cat.loc[("B", "tea"), "rank_in_county"] == 1
    assert np.allclose(cat["competitiveness_index"], _z(cat["growth"].clip(-1, 3)))


def test_a_definition_without_a_component_is_refused(tmp_path: Path) -> None:
    (tmp_path / "competitiveness.yml").write_text(
        "source_weights: {transactions: 1, merchants: 0, loans: 0}\n"
        "components:\n  - {name: scale, name_zh: 规模, weight: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(YoushuError, match="components must be exactly"):
        load_competitiveness(tmp_path)
