"""Evaluation rows of a propensity model for its card: the out-of-time holdout of ``youshu models train``.

``train_model`` measures the recipe by fitting on the split one horizon earlier and testing on the training
split; this re-runs that holdout (seeded, so the same figures) and keeps the rows — outcome, score, gender and
age band — for the card's breakdown and the evaluation charts.
"""

from __future__ import annotations

import datetime as dtm
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from youshu.errors import YoushuError

if TYPE_CHECKING:
    from youshu.engine import Engine
    from youshu.models.segment import Segment

__all__ = ["holdout_evaluation"]


def holdout_evaluation(
    engine: Engine, warehouse: Path, target: str, as_of: dtm.date, horizon_days: int, segment: Segment | None
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The holdout rows (``y, score, gender, age_band``) and plotly charts, or None when there is no holdout.

    The holdout is the one ``train_model`` reports: fitted on features as of D - 2H, tested on D - H.
    """
    from youshu.models.charts import lift_chart, pr_curve_chart, reliability_chart
    from youshu.models.evaluation import evaluate
    from youshu.models.timesplit import out_of_time
    from youshu.models.training import default_ranker, split_rows

    t_0, t_1 = out_of_time(as_of - dtm.timedelta(days=horizon_days), horizon_days, folds=1)
    try:
        x0, y0 = split_rows(engine, warehouse, target, t_0, segment)
        x1, y1 = split_rows(engine, warehouse, target, t_1, segment)
    except YoushuError:
        return None
    scores = default_ranker().fit(x0, y0).predict_proba(x1)[:, 1]
    rows = pd.DataFrame({"y": y1.astype(int), "score": scores})
    for column in ("gender", "age_band"):
        if column in x1.column_names:
            rows[column] = x1.column(column).to_pylist()
    report = evaluate(y1, scores, name="PropensityRanker", n_boot=0, split=t_1)
    charts = {
        "提升度 Lift": lift_chart(report),
        "精确率-召回率 Precision-recall": pr_curve_chart(report),
        "校准 Calibration": reliability_chart(report),
    }
    return rows, charts
