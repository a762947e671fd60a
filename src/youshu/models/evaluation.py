"""Shared evaluation of scores against observed outcomes: ranking, top-k, lift, calibration, bootstrap intervals.

Every model (propensity, risk, IVL) is judged here in the same way:

- time split: features as of T, labels from observed events in (T, T+H] (:class:`TimeSplit`,
  :func:`window_labels`, :func:`label_vector`), validated out of time (:func:`out_of_time`);
- ranking: ROC-AUC and PR-AUC (scikit-learn), precision/recall at k and at a contact budget (overall or per
  outlet), lift and cumulative gain by decile;
- calibration: reliability curve, Brier score, expected calibration error;
- uncertainty: seeded bootstrap confidence intervals;
- an :class:`EvaluationReport` with ``to_dict()`` and plotly charts (:mod:`youshu.models.charts`).

Ties in a score are resolved by expectation (every order of tied rows equally likely), so a score with many
equal values (e.g. AUM 0) gets the precision and lift a random tie-break would give on average, never a lucky
order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score

from youshu.errors import YoushuError
from youshu.models.charts import gain_chart, lift_chart, pr_curve_chart, reliability_chart
from youshu.models.timesplit import (
    EventFilter,
    TimeSplit,
    check_out_of_time,
    label_vector,
    out_of_time,
    window_labels,
)

__all__ = [
    "EvaluationError",
    "EvaluationReport",
    "EventFilter",
    "Interval",
    "TimeSplit",
    "TopK",
    "at_budget",
    "at_k",
    "bootstrap_ci",
    "brier",
    "calibration_error",
    "check_out_of_time",
    "compare",
    "evaluate",
    "gain_chart",
    "label_vector",
    "lift_chart",
    "lift_table",
    "out_of_time",
    "pr_auc",
    "pr_curve_chart",
    "reliability_chart",
    "reliability_curve",
    "roc_auc",
    "top_share_lift",
    "window_labels",
]

Metric = Callable[[np.ndarray, np.ndarray], float]
#: Points kept of the precision-recall curve in a report (enough for a chart, small in JSON).
PR_CURVE_POINTS = 201


class EvaluationError(YoushuError):
    """Scores and labels cannot be evaluated as given (lengths, values, a single class)."""


class TopK(NamedTuple):
    """Precision and recall when the ``k`` highest-scored rows are contacted.

    ``hits`` is the expected number of positives among them (ties resolved by expectation, so it may be
    fractional); ``lift`` is ``precision / base rate``.
    """

    label: str
    k: int
    hits: float
    precision: float
    recall: float
    lift: float


class Interval(NamedTuple):
    """A bootstrap confidence interval (percentile method)."""

    low: float
    high: float


# -- inputs -----------------------------------------------------------------------------------------------


def _check(y_true: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise EvaluationError(f"labels and scores must be 1-D, got shapes {y.shape} and {s.shape}")
    if len(y) != len(s):
        raise EvaluationError(f"{len(y)} labels but {len(s)} scores: they must be aligned row by row")
    if len(y) == 0:
        raise EvaluationError("nothing to evaluate: no rows")
    if y.dtype != np.bool_:
        values = pd.unique(y)
        bad = [v for v in values if not (v == 0 or v == 1)]  # also catches None and NaN
        if bad:
            raise EvaluationError(f"labels must be 0/1 or boolean; found {bad[:5]}")
    bad_rows = np.flatnonzero(~np.isfinite(s))
    if len(bad_rows):
        raise EvaluationError(
            f"{len(bad_rows)} scores are NaN or infinite (first at row {int(bad_rows[0])}); "
            "fill or drop them before evaluating"
        )
    return y.astype(np.int8), s


def _both_classes(y: np.ndarray, what: str) -> None:
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        only = "positive" if positives else "negative"
        raise EvaluationError(f"{what} needs positive and negative labels; all {len(y)} rows are {only}")


def _ranked(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows by descending score: (expected label per position with ties averaged, sorted scores)."""
    order = np.argsort(-s, kind="stable")
    ss = s[order]
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    sizes = np.diff(np.r_[starts, len(ss)])
    means = np.add.reduceat(y[order].astype(np.float64), starts) / sizes
    return np.repeat(means, sizes), ss


# -- ranking ----------------------------------------------------------------------------------------------


def roc_auc(y_true: Any, score: Any) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); 0.5 is random ranking."""
    y, s = _check(y_true, score)
    _both_classes(y, "ROC-AUC")
    return float(roc_auc_score(y, s))


def pr_auc(y_true: Any, score: Any) -> float:
    """Area under the precision-recall curve as average precision (``sklearn.metrics.average_precision_score``).

    The value of a random ranking is the base rate, so compare it with ``y_true.mean()``.
    """
    y, s = _check(y_true, score)
    _both_classes(y, "PR-AUC")
    return float(average_precision_score(y, s))


def at_k(y_true: Any, score: Any, k: int) -> TopK:
    """Precision, recall and lift of the ``k`` highest scores (``k`` larger than the rows means all of them).

    Examples
    --------
    >>> at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 2)
    TopK(label='top 2', k=2, hits=1.0, precision=0.5, recall=0.5, lift=1.0)
    """
    y, s = _check(y_true, score)
    if int(k) < 1:
        raise EvaluationError(f"k must be at least 1, got {k!r}")
    k = min(int(k), len(y))
    expected, _ = _ranked(y, s)
    return _top(f"top {k:,}", k, float(expected[:k].sum()), y)


def _top(label: str, k: int, hits: float, y: np.ndarray) -> TopK:
    positives = float(y.sum())
    precision = hits / k if k else math.nan
    recall = hits / positives if positives else math.nan
    base = positives / len(y)
    return TopK(label, k, hits, precision, recall, precision / base if base else math.nan)


def _capacities(budget: int | float | Mapping[Any, int], names: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    if isinstance(budget, Mapping):
        return np.array([int(budget.get(name, 0)) for name in names], dtype=np.int64)
    if isinstance(budget, float):
        if not 0 < budget <= 1:
            raise EvaluationError(
                f"a budget share (a float) must lie in (0, 1], got {budget}; give an int for a count"
            )
        return np.floor(sizes * budget + 1e-9).astype(np.int64)
    if budget < 0:
        raise EvaluationError(f"a contact budget must be >= 0, got {budget}")
    return np.minimum(np.full(len(sizes), int(budget), dtype=np.int64), sizes)


def at_budget(
    y_true: Any,
    score: Any,
    budget: int | float | Mapping[Any, int],
    *,
    groups: Any = None,
    label: str | None = None,
) -> TopK:
    """Precision and recall when a contact budget is spent on the highest scores, overall or per group.

    Parameters
    ----------
    y_true, score : array-like
        0/1 outcomes and scores, aligned.
    budget : int, float or mapping
        Contacts: an ``int`` count, a ``float`` share in (0, 1] of the rows, or (with ``groups``) a mapping
        group -> count. With ``groups`` an int or share applies to each group: e.g. each outlet's managers
        call their own 50 best customers.
    groups : array-like, optional
        Group per row (e.g. ``home_outlet_id``); without it the budget is spent over all rows.
    label : str, optional
        The name shown in reports; built from the budget when omitted.

    Returns
    -------
    TopK
        ``k`` is the number of rows contacted in total.

    Examples
    --------
    >>> at_budget([1, 0, 0, 1], [0.9, 0.8, 0.2, 0.1], 1, groups=["a", "a", "b", "b"]).hits
    1.0
    """
    y, s = _check(y_true, score)
    g = np.zeros(len(y), dtype=np.int64) if groups is None else np.asarray(groups)
    if len(g) != len(y):
        raise EvaluationError(f"{len(g)} groups for {len(y)} rows: give one group per row")
    if groups is None and isinstance(budget, Mapping):
        raise EvaluationError("a budget per group needs groups=")
    names, codes = np.unique(g.astype(str) if g.dtype == object else g, return_inverse=True)
    order = np.lexsort((-s, codes))
    cs, ss, ys = codes[order], s[order], y[order].astype(np.float64)
    sizes = np.bincount(cs, minlength=len(names))
    group_start = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.arange(len(ys)) - group_start[cs]
    tie_start = np.flatnonzero(np.r_[True, (cs[1:] != cs[:-1]) | (ss[1:] != ss[:-1])])
    tie_size = np.diff(np.r_[tie_start, len(ys)])
    expected = np.repeat(np.add.reduceat(ys, tie_start) / tie_size, tie_size)
    capacity = _capacities(budget, names, sizes)
    chosen = rank < capacity[cs]
    k = int(chosen.sum())
    if label is None:
        per = " per group" if groups is not None else ""
        shown = (
            f"{budget:.0%}"
            if isinstance(budget, float)
            else ("mapping" if isinstance(budget, Mapping) else f"{budget:,}")
        )
        label = f"budget {shown}{per}"
    return _top(label, k, float(expected[chosen].sum()), y)


def top_share_lift(y_true: Any, score: Any, share: float = 0.1) -> float:
    """Lift of the top ``share`` of rows: their positive rate over the overall rate (top-decile lift at 0.1)."""
    y, s = _check(y_true, score)
    k = max(1, round(len(y) * share))
    expected, _ = _ranked(y, s)
    base = y.mean()
    return float(expected[:k].mean() / base) if base else math.nan


def lift_table(y_true: Any, score: Any, bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain by score bin (deciles by default), bin 1 holding the highest scores.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin``, ``rows``, ``positives`` (expected with ties averaged), ``rate``, ``lift``
        (rate / base rate), ``cum_rows``, ``cum_positives``, ``precision`` (cumulative rate), ``gain``
        (share of all positives found so far), ``cum_lift``, ``score_min``, ``score_max``.
    """
    y, s = _check(y_true, score)
    if bins < 1 or bins > len(y):
        raise EvaluationError(f"bins must lie in 1..{len(y)} (the rows), got {bins}")
    expected, ss = _ranked(y, s)
    n = len(y)
    which = (np.arange(n) * bins) // n
    rows = np.bincount(which, minlength=bins)
    positives = np.bincount(which, weights=expected, minlength=bins)
    total = expected.sum()
    base = total / n
    cum_rows = np.cumsum(rows)
    cum_pos = np.cumsum(positives)
    first = np.r_[0, cum_rows[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                "bin": np.arange(1, bins + 1),
                "rows": rows,
                "positives": positives,
                "rate": positives / rows,
                "lift": positives / rows / base,
                "cum_rows": cum_rows,
                "cum_positives": cum_pos,
                "precision": cum_pos / cum_rows,
                "gain": cum_pos / total,
                "cum_lift": cum_pos / cum_rows / base,
                "score_min": ss[cum_rows - 1],
                "score_max": ss[first],
            }
        )
    return frame


# -- calibration ------------------------------------------------------------------------------------------


def _check_probabilities(p: np.ndarray) -> None:
    if p.min() < 0 or p.max() > 1:
        raise EvaluationError(
            f"calibration needs probabilities in [0, 1]; scores run from {p.min():g} to {p.max():g}"
        )


def brier(y_true: Any, probability: Any) -> float:
    """Brier score: mean squared difference of probability and outcome (``sklearn.metrics.brier_score_loss``)."""
    y, p = _check(y_true, probability)
    _check_probabilities(p)
    return float(brier_score_loss(y, p))


def reliability_curve(
    y_true: Any, probability: Any, bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Observed positive rate against mean predicted probability per bin (a reliability diagram).

    Parameters
    ----------
    bins : int
        Number of bins; quantile bins that would coincide (many equal probabilities) are merged.
    strategy : {"quantile", "uniform"}
        Equal-count bins, or equal-width bins over [0, 1] (empty ones dropped).

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``rows``, ``mean_predicted``, ``observed_rate``; low probabilities first.
    """
    y, p = _check(y_true, probability)
    _check_probabilities(p)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, bins + 1)
    else:
        raise EvaluationError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    which = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, max(len(edges) - 2, 0))
    count = np.bincount(which, minlength=len(edges) - 1)
    predicted = np.bincount(which, weights=p, minlength=len(edges) - 1)
    observed = np.bincount(which, weights=y, minlength=len(edges) - 1)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": np.arange(1, int(keep.sum()) + 1),
            "rows": count[keep],
            "mean_predicted": predicted[keep] / count[keep],
            "observed_rate": observed[keep] / count[keep],
        }
    )


def calibration_error(curve: pd.DataFrame) -> float:
    """Expected calibration error of a :func:`reliability_curve`: row-weighted mean |observed - predicted|."""
    weights = curve["rows"] / curve["rows"].sum()
    return float((weights * (curve["observed_rate"] - curve["mean_predicted"]).abs()).sum())


# -- uncertainty ------------------------------------------------------------------------------------------


def bootstrap_ci(
    metric: Metric, y_true: Any, score: Any, *, n_boot: int = 200, seed: int = 0, level: float = 0.95
) -> Interval:
    """A percentile bootstrap interval of ``metric(y, score)``, resampling rows with replacement.

    Resamples with a single class are skipped (AUC is undefined on them). Seeded: the same inputs and
    seed give the same interval. Cost: ``n_boot`` evaluations of the metric on ``len(y)`` rows.

    Returns
    -------
    Interval
        ``(nan, nan)`` when no resample could be evaluated.
    """
    y, s = _check(y_true, score)
    if not 0 < level < 1 or n_boot < 1:
        raise EvaluationError(
            f"bootstrap needs 0 < level < 1 and n_boot >= 1, got level={level}, n_boot={n_boot}"
        )
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        yb = y[idx]
        positives = int(yb.sum())
        if positives == 0 or positives == len(yb):
            continue
        values.append(metric(yb, s[idx]))
    if not values:
        return Interval(math.nan, math.nan)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))


# -- the report -------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return [{k: _jsonable(v) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class EvaluationReport:
    """How well one score ranks (and, for probabilities, calibrates) observed outcomes.

    Attributes
    ----------
    name : str
        The model or rule evaluated (e.g. ``"PropensityRanker"``, ``"rank by AUM"``).
    rows, positives : int
        Rows evaluated and positive outcomes among them.
    roc_auc, pr_auc, top_decile_lift : float
    top : tuple of TopK
        Precision and recall at each k and contact budget asked for.
    lift : DataFrame
        :func:`lift_table` by decile.
    pr_curve : DataFrame
        ``recall, precision`` at up to 201 points (for charts).
    brier, calibration_error : float or None
        None when the score is not a probability.
    reliability : DataFrame or None
        :func:`reliability_curve`.
    intervals : dict
        Metric name -> bootstrap :class:`Interval` at ``level``.
    level : float
        Confidence level of the intervals.
    split : str
        The time split the labels come from (``str(TimeSplit)``), or ``""``.
    """

    name: str
    rows: int
    positives: int
    roc_auc: float
    pr_auc: float
    top_decile_lift: float
    top: tuple[TopK, ...]
    lift: pd.DataFrame
    pr_curve: pd.DataFrame
    brier: float | None = None
    calibration_error: float | None = None
    reliability: pd.DataFrame | None = None
    intervals: dict[str, Interval] = field(default_factory=dict)
    level: float = 0.95
    split: str = ""

    @property
    def base_rate(self) -> float:
        """Share of rows with a positive outcome."""
        return self.positives / self.rows

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (frames as lists of records, NaN as None)."""
        out = {
            "name": self.name,
            "rows": self.rows,
            "positives": self.positives,
            "base_rate": self.base_rate,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "top_decile_lift": self.top_decile_lift,
            "brier": self.brier,
            "calibration_error": self.calibration_error,
            "level": self.level,
            "split": self.split,
            "intervals": self.intervals,
            "top": list(self.top),
            "lift": self.lift,
            "pr_curve": self.pr_curve,
            "reliability": self.reliability,
        }
        return {k: _jsonable(v) for k, v in out.items()}


def _pr_points(y: np.ndarray, s: np.ndarray) -> pd.DataFrame:
    precision, recall, _ = precision_recall_curve(y, s)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(PR_CURVE_POINTS, len(recall))).round().astype(int))
    return pd.DataFrame({"recall": recall[keep], "precision": precision[keep]})


def _is_probability(s: np.ndarray) -> bool:
    return bool(s.min() >= 0 and s.max() <= 1)


def evaluate(
    y_true: Any,
    score: Any,
    *,
    name: str = "model",
    ks: Sequence[int] = (),
    budgets: Sequence[int | float] = (),
    groups: Any = None,
    calibration: bool | None = None,
    bins: int = 10,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    split: TimeSplit | None = None,
) -> EvaluationReport:
    """Evaluate a score against observed 0/1 outcomes.

    Parameters
    ----------
    y_true, score : array-like
        Outcomes and scores, aligned (higher score = more likely positive).
    name : str
        Shown in reports and charts.
    ks : sequence of int
        Precision/recall at each top-k.
    budgets : sequence of int or float
        Contact budgets (see :func:`at_budget`), per group when ``groups`` is given.
    groups : array-like, optional
        Group per row for ``budgets`` (e.g. the home outlet: each outlet spends its own budget).
    calibration : bool, optional
        Compute Brier and the reliability curve; by default when every score lies in [0, 1].
    bins : int
        Bins of the lift table and reliability curve.
    n_boot : int
        Bootstrap resamples for the intervals of ROC-AUC, PR-AUC and top-decile lift; 0 skips them.
    seed : int
        Seed of the bootstrap.
    level : float
        Confidence level of the intervals.
    split : TimeSplit, optional
        The split the labels come from, recorded in the report.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    EvaluationError
        When labels and scores are misaligned, not 0/1, not finite, or of a single class.

    Examples
    --------
    >>> report = evaluate(y_test, model.predict_proba(X_test)[:, 1], name="wealth", ks=[1000])  # doctest: +SKIP
    >>> report.roc_auc, report.top_decile_lift  # doctest: +SKIP
    """
    y, s = _check(y_true, score)
    _both_classes(y, "evaluation")
    calibrate = _is_probability(s) if calibration is None else calibration
    top = [at_k(y, s, k) for k in ks] + [at_budget(y, s, b, groups=groups) for b in budgets]
    lift = lift_table(y, s, bins)
    reliability = reliability_curve(y, s, bins) if calibrate else None
    intervals: dict[str, Interval] = {}
    if n_boot:
        metrics: dict[str, Metric] = {"roc_auc": roc_auc, "pr_auc": pr_auc, "top_decile_lift": top_share_lift}
        for offset, (metric_name, metric) in enumerate(metrics.items()):
            intervals[metric_name] = bootstrap_ci(
                metric, y, s, n_boot=n_boot, seed=seed + offset, level=level
            )
    return EvaluationReport(
        name=name,
        rows=len(y),
        positives=int(y.sum()),
        roc_auc=roc_auc(y, s),
        pr_auc=pr_auc(y, s),
        top_decile_lift=top_share_lift(y, s, 0.1),
        top=tuple(top),
        lift=lift,
        pr_curve=_pr_points(y, s),
        brier=brier(y, s) if calibrate else None,
        calibration_error=calibration_error(reliability) if reliability is not None else None,
        reliability=reliability,
        intervals=intervals,
        level=level,
        split=str(split) if split is not None else "",
    )


def compare(reports: Sequence[EvaluationReport]) -> pd.DataFrame:
    """One row per report with the headline metrics and their intervals (for tables and printed summaries)."""
    rows = []
    for r in reports:
        row: dict[str, Any] = {
            "name": r.name,
            "rows": r.rows,
            "positives": r.positives,
            "base_rate": r.base_rate,
            "roc_auc": r.roc_auc,
            "pr_auc": r.pr_auc,
            "top_decile_lift": r.top_decile_lift,
            "brier": r.brier,
        }
        for metric, interval in r.intervals.items():
            row[f"{metric}_low"], row[f"{metric}_high"] = interval
        for t in r.top:
            row[f"precision@{t.label}"] = t.precision
            row[f"recall@{t.label}"] = t.recall
        rows.append(row)
    return pd.DataFrame(rows)
