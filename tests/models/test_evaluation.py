"""Evaluation gives the hand-computed metrics, resolves ties fairly, and reports intervals, calibration and charts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from youshu.models.evaluation import (
    EvaluationError,
    EvaluationReport,
    at_budget,
    at_k,
    bootstrap_ci,
    brier,
    calibration_error,
    compare,
    evaluate,
    gain_chart,
    lift_chart,
    lift_table,
    pr_auc,
    pr_curve_chart,
    reliability_chart,
    reliability_curve,
    roc_auc,
    top_share_lift,
)


@pytest.fixture(scope="module")
def noisy() -> tuple[np.ndarray, np.ndarray]:
    """10,000 rows, ~10% positive, a probability that ranks positives higher but imperfectly."""
    rng = np.random.default_rng(7)
    y = (rng.random(10_000) < 0.1).astype(np.int8)
    p = np.clip(0.05 + 0.25 * y + rng.normal(0, 0.1, len(y)), 0, 1)
    return y, p


# -- ranking ----------------------------------------------------------------------------------------------


def test_roc_auc_is_one_for_a_perfect_ranking_zero_for_a_reversed_one_and_half_for_a_constant() -> None:
    y = [0, 0, 1, 1]
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_pr_auc_of_a_constant_score_is_the_base_rate() -> None:
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    assert pr_auc(y, np.zeros(10)) == pytest.approx(0.2)


def test_precision_and_recall_at_k_count_the_positives_among_the_top_k() -> None:
    y = [1, 0, 1, 0, 0, 1]
    score = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
    top = at_k(y, score, 3)
    assert (top.k, top.hits, top.precision) == (3, 2.0, pytest.approx(2 / 3))
    assert top.recall == pytest.approx(2 / 3)
    assert top.lift == pytest.approx((2 / 3) / 0.5)
    assert at_k(y, score, 100).k == 6  # k beyond the rows: everyone


def test_ties_are_resolved_by_expectation_not_by_row_order() -> None:
    # The two positives sit first in row order; a stable sort would put them in the top 2.
    y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    flat = np.zeros(10)
    assert at_k(y, flat, 2).precision == pytest.approx(0.2)
    assert top_share_lift(y, flat, 0.1) == pytest.approx(1.0)
    table = lift_table(y, flat)
    assert table["lift"].tolist() == pytest.approx([1.0] * 10)


def test_budget_per_group_takes_each_groups_own_best_rows() -> None:
    y = [1, 0, 0, 1, 0, 1]
    score = [0.9, 0.8, 0.1, 0.2, 0.95, 0.3]
    groups = ["A", "A", "A", "B", "B", "B"]
    # One contact per group: A -> row 0 (positive), B -> row 4 (negative).
    top = at_budget(y, score, 1, groups=groups)
    assert (top.k, top.hits) == (2, 1.0)
    # Overall, the same two contacts go to rows 4 and 0 as well.
    assert at_budget(y, score, 2).hits == 1.0
    # A capacity per group, and a share of each group (floor of 2/3 of 3 rows = 2 each).
    assert at_budget(y, score, {"A": 0, "B": 3}, groups=groups).hits == 2.0
    assert at_budget(y, score, 2 / 3, groups=groups).k == 4


def test_a_budget_share_above_one_is_refused() -> None:
    with pytest.raises(EvaluationError, match="share"):
        at_budget([0, 1], [0.1, 0.2], 1.5)


def test_lift_table_by_decile_matches_a_hand_count() -> None:
    y = np.array([1] * 3 + [0] * 7 + [1] * 1 + [0] * 19)  # 30 rows, 4 positives
    score = np.linspace(1, 0, 30)  # already in descending order
    table = lift_table(y, score, bins=3)
    assert table["rows"].tolist() == [10, 10, 10]
    assert table["positives"].tolist() == [3.0, 1.0, 0.0]
    base = 4 / 30
    assert table["lift"].tolist() == pytest.approx([0.3 / base, 0.1 / base, 0.0])
    assert table["gain"].tolist() == pytest.approx([0.75, 1.0, 1.0])
    assert table["score_max"].iloc[0] == 1.0


# -- calibration ------------------------------------------------------------------------------------------


def test_brier_is_the_mean_squared_error_of_the_probability() -> None:
    assert brier([1, 0], [0.8, 0.4]) == pytest.approx((0.04 + 0.16) / 2)


def test_a_calibrated_probability_has_a_small_calibration_error_and_a_shifted_one_a_large_one() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.5, 200_000)
    y = (rng.random(len(p)) < p).astype(int)
    good = reliability_curve(y, p)
    assert len(good) == 10
    assert calibration_error(good) < 0.01
    assert np.allclose(good["observed_rate"], good["mean_predicted"], atol=0.01)
    shifted = reliability_curve(y, np.clip(p + 0.2, 0, 1))
    assert calibration_error(shifted) == pytest.approx(0.2, abs=0.01)


def test_calibration_refuses_scores_outside_zero_one() -> None:
    with pytest.raises(EvaluationError, match="probabilities"):
        brier([0, 1], [0.5, 3.0])


# -- bootstrap --------------------------------------------------------------------------------------------


def test_bootstrap_interval_is_seeded_and_brackets_the_estimate(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = noisy
    first = bootstrap_ci(roc_auc, y, p, n_boot=60, seed=1)
    again = bootstrap_ci(roc_auc, y, p, n_boot=60, seed=1)
    other = bootstrap_ci(roc_auc, y, p, n_boot=60, seed=2)
    assert first == again
    assert first != other
    assert first.low < roc_auc(y, p) < first.high
    assert first.high - first.low < 0.05


# -- the report -------------------------------------------------------------------------------------------


def test_evaluate_reports_every_metric_and_serialises_to_strict_json(
    noisy: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = noisy
    groups = np.arange(len(y)) % 7
    report = evaluate(y, p, name="m", ks=[100], budgets=[0.05], groups=groups, n_boot=20, seed=0)
    assert report.rows == 10_000 and report.positives == int(y.sum())
    assert report.roc_auc == pytest.approx(roc_auc(y, p))
    assert report.top_decile_lift == pytest.approx(lift_table(y, p)["lift"].iloc[0])
    assert report.brier == pytest.approx(brier(y, p))
    assert [t.label for t in report.top] == ["top 100", "budget 5% per group"]
    assert set(report.intervals) == {"roc_auc", "pr_auc", "top_decile_lift"}
    assert len(report.pr_curve) <= 201
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["lift"][0]["bin"] == 1
    assert data["top"][0]["k"] == 100
    assert data["intervals"]["roc_auc"]["low"] < data["roc_auc"]


def test_a_score_that_is_not_a_probability_gets_no_calibration() -> None:
    y = np.array([0, 1] * 50)
    aum = np.arange(100) * 1000.0
    report = evaluate(y, aum, name="rank by AUM", n_boot=0)
    assert report.brier is None and report.reliability is None and report.intervals == {}
    assert "brier" in compare([report]).columns


@pytest.mark.parametrize(
    ("y", "score", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "aligned"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1, 1], [0.1, math.nan, 0.3], "NaN"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "all 3 rows are positive"),
    ],
)
def test_bad_inputs_are_refused_with_a_message_saying_what_is_wrong(
    y: list[int], score: list[float], message: str
) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate(y, score, n_boot=0)


def test_compare_puts_models_side_by_side(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = noisy
    reports = [evaluate(y, p, name="model", n_boot=0), evaluate(y, np.zeros(len(y)), name="flat", n_boot=0)]
    table = compare(reports)
    assert table["name"].tolist() == ["model", "flat"]
    assert table["roc_auc"].iloc[1] == 0.5
    assert table["top_decile_lift"].iloc[0] > table["top_decile_lift"].iloc[1]


# -- charts -----------------------------------------------------------------------------------------------


def test_charts_draw_one_trace_per_model_plus_the_random_reference(
    noisy: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = noisy
    model = evaluate(y, p, name="model", n_boot=0)
    rule = evaluate(y, p * 1000, name="rule", n_boot=0)  # not a probability: no reliability curve
    reports: list[EvaluationReport] = [model, rule]
    lift = lift_chart(reports)
    assert [t.name for t in lift.data] == ["model", "rule"]
    assert list(lift.data[0].y) == pytest.approx(model.lift["lift"].round(3).tolist())
    gain = gain_chart(reports)
    assert len(gain.data) == 3 and gain.data[0].y[-1] == pytest.approx(1.0)
    reliability = reliability_chart(reports)
    assert len(reliability.data) == 2  # the model and the diagonal; the rule has no probabilities
    pr = pr_curve_chart(model)
    assert pr.data[0].name.startswith("model")
    assert isinstance(model.lift, pd.DataFrame)


def test_the_charts_render_in_the_html_report(noisy: tuple[np.ndarray, np.ndarray]) -> None:
    from datetime import date

    from youshu.reports.html import FigureBlock, Section, render_report

    y, p = noisy
    reports = [evaluate(y, p, name="模型 model", n_boot=0), evaluate(y, p * 1000, name="rule", n_boot=0)]
    blocks = [
        FigureBlock(lift_chart(reports), "十分位提升度", "lift by decile"),
        FigureBlock(gain_chart(reports), "累计覆盖", "cumulative gain"),
        FigureBlock(reliability_chart(reports), "校准曲线", "reliability"),
        FigureBlock(pr_curve_chart(reports), "精确率-召回率", "precision-recall"),
    ]
    html = render_report(
        [Section("evaluation", "模型评估", "Model evaluation", blocks)], title="评估", as_of=date(2025, 9, 30)
    )
    assert html.count('class="figure"') == 4
    assert "模型 model" in html and "提升度 lift" in html
