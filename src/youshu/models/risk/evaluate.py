"""Time-split evaluation of risky-account detection at daily alert budgets (the harness; it reads labels).

Train on the model frames of some as-of dates, test on later dates at least ``LABEL_WINDOW_DAYS`` after the
last training date (so no test feature window overlaps a training one), and report for each scorer: PR-AUC
and ROC-AUC over all test account-days, and precision and recall when the top 100 / 1,000 accounts of each
test day are alerted (``youshu.models.evaluation.at_budget`` with the day as group). The same run compares
the model with and without graph features, the rules alone and the combined score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from youshu.errors import YoushuError
from youshu.models.evaluation import at_budget, pr_auc, roc_auc
from youshu.models.risk.frames import account_frame
from youshu.models.risk.labels import LABEL_WINDOW_DAYS, label_accounts
from youshu.models.risk.rules import RuleSet, load_rules
from youshu.models.risk.scorer import RiskModel, fit_risk_model

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "BUDGETS",
    "RiskEvaluation",
    "collect_frames",
    "date_range",
    "evaluate_time_split",
    "score_metrics",
]

#: Alerts per day evaluated by default.
BUDGETS = (100, 1000)
Progress = Callable[[str, int, int], None]


def date_range(first: date, last: date, every_days: int) -> list[date]:
    """``first``, ``first + every_days``, ... up to ``last`` (inclusive)."""
    if every_days < 1:
        raise YoushuError(f"the step between as-of dates must be at least 1 day, got {every_days}")
    out = []
    day = first
    while day <= last:
        out.append(day)
        day += timedelta(days=every_days)
    return out


def collect_frames(
    engine: Engine,
    warehouse: Path,
    dates: Sequence[date],
    *,
    graph: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Model frames of several as-of dates, stacked (``youshu.models.risk.frames.account_frame``)."""
    frames = []
    for i, day in enumerate(dates):
        frames.append(account_frame(engine, warehouse, day, graph=graph))
        if progress is not None:
            progress("frames", i + 1, len(dates))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def score_metrics(
    y: np.ndarray, scores: dict[str, np.ndarray], days: np.ndarray, budgets: Sequence[int] = BUDGETS
) -> pd.DataFrame:
    """One row per scorer: PR-AUC, ROC-AUC, precision and recall at each daily budget, and the base rate."""
    rows = []
    for name, score in scores.items():
        row: dict[str, Any] = {"scorer": name, "pr_auc": pr_auc(y, score), "roc_auc": roc_auc(y, score)}
        for k in budgets:
            top = at_budget(y, score, k, groups=days)
            row[f"precision_at_{k}"] = top.precision
            row[f"recall_at_{k}"] = top.recall
            row[f"alerts_at_{k}"] = top.k
        row["base_rate"] = float(np.mean(y))
        row["positives"] = int(np.sum(y))
        row["rows"] = len(y)
        rows.append(row)
    return pd.DataFrame(rows).set_index("scorer")


@dataclass
class RiskEvaluation:
    """Metrics per scorer and what they were measured on.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per scorer (``model``, ``model_without_graph``, ``rules``, ``combined``), see
        :func:`score_metrics`.
    train_dates, test_dates : list of date
    model : RiskModel
        The fitted model with graph features (``model_without_graph`` is not kept).
    test_scores : pandas.DataFrame
        The test rows' context, label and every scorer's score.
    """

    metrics: pd.DataFrame
    train_dates: list[date]
    test_dates: list[date]
    model: RiskModel
    test_scores: pd.DataFrame = field(repr=False)
    per_day: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_dates": [str(d) for d in self.train_dates],
            "test_dates": [str(d) for d in self.test_dates],
            "metrics": self.metrics.reset_index().to_dict(orient="records"),
        }

    def text(self) -> str:
        """A plain-text table of the metrics."""
        cols = [c for c in self.metrics.columns if not c.startswith("alerts_at_")]
        return self.metrics[cols].to_string(float_format=lambda v: f"{v:.3f}")


def evaluate_time_split(
    engine: Engine,
    warehouse: Path,
    cases: pd.DataFrame,
    train_dates: Sequence[date],
    test_dates: Sequence[date],
    *,
    budgets: Sequence[int] = BUDGETS,
    rules: RuleSet | None = None,
    progress: Progress | None = None,
    train_cases: pd.DataFrame | None = None,
    **params: Any,
) -> RiskEvaluation:
    """Train on ``train_dates``, test on ``test_dates``; compare the scorers at daily alert budgets.

    Parameters
    ----------
    engine, warehouse
        Where the canonical tables are.
    cases : pandas.DataFrame
        Confirmed cases (``youshu.models.risk.labels``).
    train_dates, test_dates : sequence of date
        Every test date must come at least ``LABEL_WINDOW_DAYS`` after the last training date.
    budgets : sequence of int
        Alerts per day.
    train_cases : pandas.DataFrame, optional
        Cases to train on, when they differ from those that measure (e.g. only the cases the bank had been
        told of before the test period, against every planted mule); default ``cases``.
    **params
        Hyperparameters of the classifier.

    Raises
    ------
    YoushuError
        When the split is not out of time, or a side has no positive.
    """
    train_dates, test_dates = sorted(train_dates), sorted(test_dates)
    if not train_dates or not test_dates:
        raise YoushuError("give at least one training and one test as-of date")
    if test_dates[0] < train_dates[-1] + timedelta(days=LABEL_WINDOW_DAYS):
        raise YoushuError(
            f"test date {test_dates[0]} is within {LABEL_WINDOW_DAYS} days of training date {train_dates[-1]}: "
            "their feature windows would overlap; test later or train earlier"
        )
    rules = rules or load_rules()
    train = collect_frames(engine, warehouse, train_dates, progress=progress)
    test = collect_frames(engine, warehouse, test_dates, progress=progress)
    y_train = label_accounts(
        train["account_id"], train["as_of_date"], cases if train_cases is None else train_cases
    ).astype(int)
    y_test = label_accounts(test["account_id"], test["as_of_date"], cases).astype(int)
    for name, labels in (("training", y_train), ("test", y_test)):
        if labels.sum() == 0:
            raise YoushuError(f"no confirmed case is active on the {name} dates; pick dates inside the cases")
    model = fit_risk_model(train, y_train, graph=True, rules=rules, **params)
    plain = fit_risk_model(train, y_train, graph=False, rules=rules, **params)
    hits = rules.hits(test)
    scored = model.score(test, hits)
    scores = {
        "model": scored["model_score"].to_numpy(),
        "model_without_graph": plain.classifier.predict_proba(test)[:, 1],
        "rules": model.rules_only(hits),
        "combined": scored["score"].to_numpy(),
    }
    days = test["as_of_date"].astype(str).to_numpy()
    metrics = score_metrics(y_test, scores, days, budgets)
    per_day = _per_day(y_test, scores["combined"], days, budgets)
    table = test[["account_id", "as_of_date", "outlet_id", "county_id"]].copy()
    table["label"] = y_test
    for name, score in scores.items():
        table[name] = score
    table["rules_hit"] = scored["rules_hit"].to_numpy()
    return RiskEvaluation(metrics, list(train_dates), list(test_dates), model, table, per_day)


def _per_day(y: np.ndarray, score: np.ndarray, days: np.ndarray, budgets: Sequence[int]) -> pd.DataFrame:
    rows = []
    for day in np.unique(days):
        mask = days == day
        row: dict[str, Any] = {
            "as_of_date": day,
            "positives": int(y[mask].sum()),
            "accounts": int(mask.sum()),
        }
        for k in budgets:
            top = at_budget(y[mask], score[mask], k)
            row[f"precision_at_{k}"] = top.precision
            row[f"recall_at_{k}"] = top.recall
        rows.append(row)
    return pd.DataFrame(rows)
