"""Uplift intervals: published examples, scipy's Welch interval, and 95% coverage in simulated experiments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from youshu.campaigns import difference_in_means, difference_in_proportions


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        ((56, 70, 48, 80), 0.0524, 0.3339),  # Newcombe (1998), Table II, example (a)
        ((9, 10, 3, 10), 0.1705, 0.8090),  # example (b)
        ((5, 56, 0, 29), -0.0381, 0.1926),  # example (e): no control conversions
    ],
)
def test_newcombe_interval_matches_published_examples(
    counts: tuple[int, int, int, int], low: float, high: float
) -> None:
    est = difference_in_proportions(*counts)
    assert est.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(est.low, 4), round(est.high, 4)) == (low, high)


def test_welch_interval_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(8, 1, 300), rng.lognormal(7.8, 1.2, 80)
    est = difference_in_means(a.sum(), (a * a).sum(), len(a), b.sum(), (b * b).sum(), len(b), 0.9)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert est.estimate == pytest.approx(a.mean() - b.mean())
    assert (est.low, est.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert est.p_value == pytest.approx(ref.pvalue)


def test_intervals_cover_the_true_uplift_about_95_percent_of_the_time() -> None:
    # Rare conversions and a small control group, as in the alliance campaigns (3.6% base, 2,250 vs 550).
    rng = np.random.default_rng(7)
    n1, n0, p1, p0 = 2250, 550, 0.089, 0.036
    x1, x0 = rng.binomial(n1, p1, 2000), rng.binomial(n0, p0, 2000)
    covered = [
        difference_in_proportions(int(a), n1, int(b), n0).covers(p1 - p0) for a, b in zip(x1, x0, strict=True)
    ]
    assert 0.935 <= np.mean(covered) <= 0.965


def test_no_estimate_without_both_groups() -> None:
    est = difference_in_proportions(3, 10, 0, 0)
    assert est.estimate is None and est.low is None and not est.covers(0.0) and not est.significant
    assert difference_in_means(1.0, 1.0, 1, 2.0, 4.0, 5).estimate is None


def test_identical_groups_without_variance_collapse_the_interval() -> None:
    est = difference_in_means(10.0, 50.0, 2, 10.0, 50.0, 2)
    assert (est.estimate, est.low, est.high) == (0.0, 0.0, 0.0)
