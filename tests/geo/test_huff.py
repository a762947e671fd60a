"""Huff catchments: λ and attractiveness recovered by maximum likelihood; probability zones on an H3 grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.engine import Engine
from youshu.errors import TruthAccessError, YoushuError
from youshu.geo.distance import nearest
from youshu.geo.huff import HuffModel, calibrate_huff, huff_observations, trade_areas
from youshu.schema.storage import TRUTH_DIR

from .conftest import AS_OF


def _simulated(lam: float, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Customers choosing among their 6 nearest of 40 outlets by a Huff model with known λ and A."""
    rng = np.random.default_rng(seed)
    outlets = pd.DataFrame(
        {
            "outlet_id": [f"O{i:02d}" for i in range(40)],
            "lat": rng.uniform(29.0, 29.5, 40),
            "lon": rng.uniform(104.0, 104.6, 40),
        }
    )
    attractiveness = np.exp(rng.normal(0, 0.6, 40))
    lat, lon = rng.uniform(29.0, 29.5, n), rng.uniform(104.0, 104.6, n)
    idx, dist = nearest(outlets["lat"], outlets["lon"], lat, lon, k=6, shortlist=8)
    util = attractiveness[idx] * np.maximum(dist / 1000, 0.3) ** -lam
    p = util / util.sum(axis=1, keepdims=True)
    pick = (p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    chosen = outlets["outlet_id"].to_numpy()[idx[np.arange(n), pick]]
    return pd.DataFrame({"lat": lat, "lon": lon, "outlet_id": chosen}), outlets, attractiveness


def test_lambda_and_attractiveness_match_the_simulating_model() -> None:
    choices, outlets, attractiveness = _simulated(1.8, 20_000, seed=4)
    model = HuffModel(candidates=6).fit(choices["lat"], choices["lon"], choices["outlet_id"], outlets)
    assert abs(model.lambda_ - 1.8) < 4 * model.lambda_se_
    assert 0 < model.lambda_se_ < 0.1
    estimated = np.log(model.attractiveness_.loc[outlets["outlet_id"]].to_numpy())
    assert np.corrcoef(estimated, np.log(attractiveness))[0, 1] > 0.95
    assert np.exp(np.mean(estimated)) == pytest.approx(1.0)  # geometric mean 1
    assert model.coverage_ == 1.0


def test_weights_count_as_repeated_observations() -> None:
    choices, outlets, _ = _simulated(2.0, 3000, seed=8)
    counted = choices.groupby(["lat", "lon", "outlet_id"], as_index=False).size()
    doubled = HuffModel().fit(
        counted["lat"], counted["lon"], counted["outlet_id"], outlets, 2 * counted["size"]
    )
    repeated = pd.concat([choices, choices])
    plain = HuffModel().fit(repeated["lat"], repeated["lon"], repeated["outlet_id"], outlets)
    assert doubled.lambda_ == pytest.approx(plain.lambda_, rel=1e-4)


def test_calibrated_lambda_is_within_ten_percent_of_the_planted_one(duck: Engine, geo_province: Path) -> None:
    model = calibrate_huff(duck, geo_province, AS_OF)
    planted = json.loads((geo_province / TRUTH_DIR / "meta.json").read_text())[
        "huff_lambda"
    ]  # evaluation only
    assert model.lambda_ == pytest.approx(planted, rel=0.10)
    assert model.coverage_ > 0.95
    summary = model.summary().set_index("parameter")
    assert summary.loc["lambda", "estimate"] == model.lambda_
    assert summary.loc["lambda", "std_error"] < 0.1 * planted


def test_observations_come_from_home_outlets_and_counter_visits(duck: Engine, geo_province: Path) -> None:
    home, outlets = huff_observations(duck, geo_province, AS_OF, source="home")
    visits, _ = huff_observations(duck, geo_province, AS_OF, source="visits")
    both, _ = huff_observations(duck, geo_province, AS_OF, source="both")
    assert home["weight"].sum() == 3000  # every customer onboarded by then, once
    assert visits["weight"].sum() > home["weight"].sum()
    assert both["weight"].sum() == home["weight"].sum() + visits["weight"].sum()
    assert set(both["outlet_id"]) <= set(outlets["outlet_id"])
    with pytest.raises(YoushuError, match="source must be"):
        huff_observations(duck, geo_province, AS_OF, source="truth")  # type: ignore[arg-type]


def test_models_cannot_read_the_planted_truth(duck: Engine, geo_province: Path) -> None:
    with pytest.raises(TruthAccessError):
        duck.table(geo_province, "truth/outlets")


def test_probabilities_sum_to_one_and_favour_the_nearer_of_equal_outlets() -> None:
    outlets = pd.DataFrame({"outlet_id": ["A", "B"], "lat": [30.0, 30.0], "lon": [104.0, 104.1]})
    model = HuffModel(candidates=2)
    model.fit([30.0, 30.0, 30.0, 30.0], [104.01, 104.09, 104.02, 104.08], ["A", "B", "A", "B"], outlets)
    idx, p = model.predict_proba([30.0, 30.0], [104.03, 104.05])
    assert np.allclose(p.sum(axis=1), 1.0)
    near_a = p[0][idx[0] == 0][0]
    assert near_a > 0.5
    with pytest.raises(YoushuError, match="not fitted"):
        HuffModel().predict_proba([30.0], [104.0])


def test_trade_areas_are_nested_probability_zones() -> None:
    choices, outlets, _ = _simulated(2.0, 5000, seed=1)
    model = HuffModel().fit(choices["lat"], choices["lon"], choices["outlet_id"], outlets)
    zones = trade_areas(model, resolution=8, levels=(0.5, 0.7), reach_km=5).to_pandas()
    assert set(zones["level"]) == {0.5, 0.7}
    assert (zones["probability"] >= 0.5).all()
    assert ((zones["level"] == 0.7) == (zones["probability"] >= 0.7)).all()
    # A cell belongs to at most one outlet's 50 % zone (probabilities of one place sum to 1).
    assert not zones[zones["probability"] > 0.5].duplicated("h3_cell").any()
    # The probabilities stored are the model's at the cell centre.
    sample = zones.sample(20, random_state=0)
    idx, p = model.predict_proba(sample["lat"], sample["lon"])
    ids = model.outlet_ids_[idx]
    stored = [p[i][ids[i] == o][0] for i, o in enumerate(sample["outlet_id"])]
    assert np.allclose(stored, sample["probability"], atol=1e-6)
    with pytest.raises(YoushuError, match="levels must be probabilities"):
        trade_areas(model, levels=(0.0, 1.5))


def test_fit_explains_what_is_wrong() -> None:
    outlets = pd.DataFrame({"outlet_id": ["A"], "lat": [30.0], "lon": [104.0]})
    with pytest.raises(YoushuError, match="at least two outlets"):
        HuffModel().fit([30.0], [104.0], ["A"], outlets)
    two = pd.DataFrame({"outlet_id": ["A", "B"], "lat": [30.0, 30.1], "lon": [104.0, 104.0]})
    with pytest.raises(YoushuError, match="no observation chose one of its candidate outlets"):
        HuffModel().fit([30.0], [104.0], ["C"], two)


@pytest.mark.spark
def test_observations_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, duck: Engine, geo_province: Path
) -> None:
    local, outlets = huff_observations(duck, geo_province, AS_OF)
    remote, remote_outlets = huff_observations(spark_engine, geo_province, AS_OF)
    pd.testing.assert_frame_equal(local, remote, check_dtype=False)
    pd.testing.assert_frame_equal(outlets, remote_outlets, check_dtype=False)
