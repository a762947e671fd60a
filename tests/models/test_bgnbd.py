"""BG/NBD and Gamma-Gamma reproduce the published CDNOW estimates, recover simulated parameters, and predict sanely."""

from __future__ import annotations

from datetime import date, datetime

import ibis
import numpy as np
import pandas as pd
import pytest

from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.models.bgnbd import (
    BetaGeoFitter,
    ConvergenceError,
    GammaGammaFitter,
    rfm_summary,
    simulate_bgnbd,
)

from .conftest import CDNOW_CALIBRATION_END, cdnow_transactions

# -- the CDNOW reference (Fader, Hardie & Lee 2005; Fader & Hardie 2013) -----------------------------------


def test_cdnow_summary_matches_the_published_sample(cdnow: pd.DataFrame) -> None:
    # 2,357 customers; 1,411 made no repeat purchase in the 39 weeks; 2,457 repeat purchases in all.
    assert len(cdnow) == 2357
    assert int((cdnow["frequency"] == 0).sum()) == 1411
    assert int(cdnow["frequency"].sum()) == 2457
    first = cdnow.iloc[0]  # customer 0001: x = 2, t_x = 30.43, T = 38.86 weeks, mean repeat spend $22.35
    assert (first["customer_id"], first["frequency"]) == ("0001", 2)
    assert first["recency"] == pytest.approx(30.43, abs=0.005)
    assert first["T"] == pytest.approx(38.86, abs=0.005)
    assert first["monetary_value"] == pytest.approx(22.345)


def test_bgnbd_parameters_match_fader_hardie_lee_2005(cdnow: pd.DataFrame) -> None:
    model = BetaGeoFitter().fit(cdnow)
    p = model.params_
    assert round(p["r"], 3) == 0.243
    assert round(p["alpha"], 3) == 4.414
    assert round(p["a"], 3) == 0.793
    assert round(p["b"], 3) == 2.426
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_standard_errors_match_the_reference_implementation(cdnow: pd.DataFrame) -> None:
    # lifetimes 0.11 reports these standard errors for the same fit (inverse Hessian).
    errors = BetaGeoFitter().fit(cdnow).summary_["standard_error"]
    assert errors.to_dict() == pytest.approx({"r": 0.0126, "alpha": 0.378, "a": 0.186, "b": 0.705}, abs=0.002)


def test_conditional_expectation_matches_fader_hardie_lee_2005(cdnow: pd.DataFrame) -> None:
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in the next 39 weeks.
    model = BetaGeoFitter().fit(cdnow)
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert model.predict_purchases(one, t=39)[0] == pytest.approx(1.226, abs=0.001)


def test_conditional_expectations_track_the_holdout_purchases(cdnow: pd.DataFrame) -> None:
    # FHL 2005 fig. 4: in the 39 holdout weeks, customers grouped by calibration frequency buy about what the
    # model expects of them. Actual holdout purchase days are counted from the raw log here.
    log = cdnow_transactions()[["customer_id", "date"]].drop_duplicates()
    holdout = log[log["date"] > CDNOW_CALIBRATION_END].groupby("customer_id").size()
    actual = cdnow["customer_id"].map(holdout).fillna(0).to_numpy()
    predicted = BetaGeoFitter().fit(cdnow).predict_purchases(cdnow, t=39)
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.15)
    assert np.corrcoef(actual, predicted)[0, 1] > 0.55
    by_frequency = pd.DataFrame(
        {"x": cdnow["frequency"].clip(upper=7), "actual": actual, "predicted": predicted}
    )
    means = by_frequency.groupby("x").mean()
    assert means["predicted"].is_monotonic_increasing
    assert np.allclose(means["predicted"], means["actual"], rtol=0.35)


def test_gamma_gamma_matches_fader_hardie_2013(cdnow: pd.DataFrame) -> None:
    model = GammaGammaFitter().fit(cdnow)
    p = model.params_
    assert (round(p["p"], 2), round(p["q"], 2), round(p["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert model.n_customers_ == 946  # customers with at least one repeat purchase


def test_gamma_gamma_shrinks_a_customers_mean_towards_the_population_mean(cdnow: pd.DataFrame) -> None:
    model = GammaGammaFitter().fit(cdnow)
    population = model.population_mean_
    rows = pd.DataFrame({"frequency": [1, 10, 0], "monetary_value": [200.0, 200.0, np.nan]})
    few, many, none = model.predict_value(rows)
    assert population < many < few < 200.0 or population < few < many < 200.0
    assert many > few  # more purchases: more weight on the customer's own mean
    assert none == pytest.approx(population)


# -- fitting mechanics -------------------------------------------------------------------------------------


def test_collapsing_equal_customers_gives_the_same_fit_as_every_row(cdnow: pd.DataFrame) -> None:
    collapsed = BetaGeoFitter().fit(cdnow)
    every_row = BetaGeoFitter(collapse_rows=False).fit(cdnow)
    assert collapsed.n_unique_ < every_row.n_unique_ == 2357
    assert collapsed.params_ == pytest.approx(every_row.params_, rel=1e-6)
    assert collapsed.log_likelihood_ == pytest.approx(every_row.log_likelihood_, rel=1e-9)


def test_sample_weights_count_as_repeated_customers(cdnow: pd.DataFrame) -> None:
    doubled = pd.concat([cdnow, cdnow.head(500)], ignore_index=True)
    weights = np.ones(len(cdnow))
    weights[:500] = 2
    by_rows = BetaGeoFitter().fit(doubled)
    by_weight = BetaGeoFitter().fit(cdnow, sample_weight=weights)
    assert by_weight.params_ == pytest.approx(by_rows.params_, rel=1e-6)


def test_fit_recovers_the_parameters_of_simulated_customers() -> None:
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}
    rng = np.random.default_rng(11)
    ages = np.round(rng.uniform(4, 104, 40_000) * 7) / 7  # whole days, in weeks
    summary = simulate_bgnbd(40_000, **truth, T=ages, resolution=1 / 7, seed=3)
    model = BetaGeoFitter().fit(summary)
    estimates = model.summary_
    for name, value in truth.items():
        low, high = estimates.loc[name, ["lower_95", "upper_95"]]
        assert low - 0.5 * (high - low) < value < high + 0.5 * (high - low), (name, value, low, high)
    assert model.n_unique_ < 40_000


def test_a_coarser_resolution_fits_fewer_rows_and_nearly_the_same_parameters() -> None:
    rng = np.random.default_rng(2)
    summary = simulate_bgnbd(
        30_000,
        r=0.3,
        alpha=5.0,
        a=0.8,
        b=2.5,
        T=np.round(rng.uniform(4, 104, 30_000) * 7) / 7,
        resolution=1 / 7,
    )
    exact = BetaGeoFitter().fit(summary)
    weekly = BetaGeoFitter(resolution=1.0).fit(summary)
    assert weekly.n_unique_ < 0.8 * exact.n_unique_
    assert weekly.params_ == pytest.approx(exact.params_, rel=0.1)


def test_an_optimiser_stopped_early_raises_a_convergence_error_that_says_what_to_try(
    cdnow: pd.DataFrame,
) -> None:
    with pytest.raises(ConvergenceError, match="penalizer"):
        BetaGeoFitter(max_iter=1).fit(cdnow)


# -- predictions -------------------------------------------------------------------------------------------


def test_p_alive_is_one_without_repeats_and_falls_with_time_since_the_last_purchase(
    cdnow: pd.DataFrame,
) -> None:
    model = BetaGeoFitter().fit(cdnow)
    rows = pd.DataFrame({"frequency": [0, 3, 3, 3], "recency": [0.0, 30.0, 20.0, 5.0], "T": [30.0] * 4})
    alive = model.p_alive(rows)
    assert alive[0] == 1.0
    assert 1.0 > alive[1] > alive[2] > alive[3] > 0.0
    # Expected purchases rise with t and are zero at t = 0.
    assert model.predict_purchases(rows, t=0) == pytest.approx(np.zeros(4))
    assert (model.predict_purchases(rows, t=52) > model.predict_purchases(rows, t=13)).all()
    assert model.expected_purchases_new(39) > model.expected_purchases_new(10) > 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"frequency": [1], "recency": [5.0], "T": [4.0]}, "recency must lie in"),
        ({"frequency": [-1], "recency": [0.0], "T": [4.0]}, "whole number"),
        ({"frequency": [0], "recency": [2.0], "T": [4.0]}, "recency must be 0"),
        ({"frequency": [1], "recency": [1.0], "T": [0.0]}, "T .* must be > 0"),
    ],
)
def test_invalid_summaries_are_refused_naming_the_row(row: dict[str, list[float]], message: str) -> None:
    frame = pd.DataFrame({"frequency": [2, 0], "recency": [3.0, 0.0], "T": [10.0, 10.0]})
    frame = pd.concat([frame, pd.DataFrame(row)], ignore_index=True)
    with pytest.raises(YoushuError, match=f"row 2 .*{message}"):
        BetaGeoFitter().fit(frame)


def test_predicting_before_fitting_is_an_error() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BetaGeoFitter().p_alive(pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [1.0]}))


# -- the summary on each engine ----------------------------------------------------------------------------


def test_rfm_summary_merges_same_day_purchases_and_agrees_across_engines(engine: Engine) -> None:
    events = ibis.memtable(
        {
            "customer_id": ["A", "A", "A", "A", "B", "C", "D"],
            "at": [
                datetime(2025, 1, 1, 9),
                datetime(2025, 1, 1, 15),  # same day as the first: one purchase day
                datetime(2025, 1, 15, 10),
                datetime(2025, 3, 1, 10),  # after the end: ignored
                datetime(2025, 1, 8, 8),
                datetime(2025, 2, 5, 12),  # first purchase on the end date: T = 0, left out
                datetime(2025, 3, 2, 12),  # only after the end: left out
            ],
            "amount": [10.0, 5.0, 30.0, 99.0, 7.0, 1.0, 1.0],
        }
    )
    summary = rfm_summary(events, end=date(2025, 2, 5), at="at", value="amount", unit_days=7)
    frame = engine.execute(summary).sort_values("customer_id").reset_index(drop=True)
    assert frame["customer_id"].tolist() == ["A", "B"]
    assert frame["frequency"].tolist() == [1, 0]
    assert frame["recency"].tolist() == pytest.approx([2.0, 0.0])
    assert frame["T"].tolist() == pytest.approx([5.0, 4.0])
    assert frame["monetary_value"].iloc[0] == pytest.approx(30.0)
    assert pd.isna(frame["monetary_value"].iloc[1])
