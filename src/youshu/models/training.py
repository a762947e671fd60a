"""Training and scoring a propensity model (倾向模型) for any named target and tag segment.

:func:`train_model` fits a PropensityRanker on features as of T1 = D - H with labels from events in (T1, D].
When the data allow, it first measures the same recipe out of time: a ranker fitted on the split as of
T0 = D - 2H (labels in (T0, T1]) is tested on the T1 rows, next to ranking by AUM on the same rows; the figures
go into the model card. There is no early stopping (like the wealth test: a fixed, small, slowly learning
forest), so the holdout figures are honest: nothing was tuned on the rows they are measured on. Segments
restrict the rows of every split to the customers for whom the tag expression is true as of that split's own
as-of date (``youshu.models.segment``). :func:`score_table` scores a feature table with zh reasons; the CLI
(``youshu models train|score``) and the pipeline's models step both use it.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from youshu.errors import YoushuError

if TYPE_CHECKING:
    from youshu.engine import Engine
    from youshu.models.propensity import PropensityRanker
    from youshu.models.segment import Segment
    from youshu.models.store import ModelCard
    from youshu.models.timesplit import TimeSplit

__all__ = [
    "RANKER",
    "REASON_ROWS",
    "Trained",
    "default_ranker",
    "score_table",
    "split_rows",
    "train_model",
]

#: The ranker's settings: few shallow trees learning slowly (the wealth test's recipe; no early stopping).
RANKER: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_child_samples": 100,
}
#: Rows whose reason codes are computed at once (LightGBM contributions are rows x features floats).
REASON_ROWS = 100_000


def split_rows(
    engine: Engine, warehouse: Path, target: str, split: TimeSplit, segment: Segment | None
) -> tuple[pa.Table, np.ndarray]:
    """Features as of the split's date and labels from its window, restricted to the segment as of that date.

    Parameters
    ----------
    engine : Engine
        Where the features, labels and segment tags are computed.
    warehouse : Path
        Canonical tables.
    target : str
        A named target (``youshu.models.targets``), e.g. ``insurance_purchase``.
    split : TimeSplit
        Features as of ``split.as_of``, labels in its window.
    segment : Segment, optional
        Keep only its customers as of ``split.as_of`` (None: every customer).

    Returns
    -------
    (pyarrow.Table, numpy.ndarray)
        The feature rows and their 0/1 labels, row for row.

    Raises
    ------
    SegmentError
        When the segment matches no customer, or none of its customers has the event in the window.
    """
    from youshu.models.segment import SegmentError
    from youshu.models.targets import get_target, labelled_features

    features, labels = labelled_features(engine, warehouse, target, split)
    if segment is not None:
        keep = segment.mask(engine, features)
        if not keep.any():
            raise SegmentError(
                f"segment {segment.expression!r} matches none of the {features.num_rows:,} customers as of "
                f"{split.as_of}; check it with `youshu audience count` or widen it"
            )
        features, labels = features.filter(pa.array(keep)), labels[keep]
    if labels.sum() == 0:
        who = (
            f"the {len(labels):,} customers of segment {segment.expression!r}"
            if segment is not None
            else f"the {len(labels):,} customers"
        )
        raise SegmentError(
            f"none of {who} had the event {target!r} ({get_target(target).zh}) in "
            f"{split.label_first}..{split.label_last}; a model needs positives: widen the segment, lengthen "
            "the horizon or choose another as-of date"
        )
    return features, labels


def default_ranker() -> PropensityRanker:
    """An unfitted PropensityRanker with the :data:`RANKER` settings."""
    from youshu.models.propensity import PropensityRanker

    return PropensityRanker(**RANKER)


@dataclass(frozen=True)
class Trained:
    """A fitted ranker and its card (what ``youshu models train`` saves)."""

    ranker: PropensityRanker
    card: ModelCard


def train_model(
    engine: Engine,
    warehouse: Path,
    target: str,
    as_of: dtm.date,
    horizon_days: int,
    segment: Segment | None,
    *,
    holdout: bool = True,
) -> Trained:
    """Fit the ranker on (features as of D - H, labels in (D - H, D]) and measure the recipe one split earlier.

    Parameters
    ----------
    engine : Engine
        Where features, labels and segment tags are computed.
    warehouse : Path
        Canonical tables.
    target : str
        A named target, e.g. ``insurance_purchase``.
    as_of : datetime.date
        D: the labels end here.
    horizon_days : int
        H: the label window in days.
    segment : Segment, optional
        Train (and measure) on its customers only.
    holdout : bool
        Measure out of time on the split one horizon earlier.

    Returns
    -------
    Trained
        The ranker and a card whose ``metrics`` hold the out-of-time holdout figures (empty when the data
        do not reach back to D - 2H or that split has no positives; ``notes`` then says why).

    Raises
    ------
    YoushuError
        For an unknown target; SegmentError when the training split has no rows or no positives.
    """
    from youshu.models.evaluation import evaluate
    from youshu.models.targets import get_target
    from youshu.models.timesplit import out_of_time

    get_target(target)  # unknown targets fail before any work
    t_0, t_1 = out_of_time(as_of - dtm.timedelta(days=horizon_days), horizon_days, folds=1)
    x1, y1 = split_rows(engine, warehouse, target, t_1, segment)
    metrics: dict[str, object] = {}
    notes: dict[str, object] = {
        "train_as_of": t_1.as_of.isoformat(),
        "rows": len(y1),
        "positives": int(y1.sum()),
        "ranker": dict(RANKER),
    }
    if holdout:
        try:
            x0, y0 = split_rows(engine, warehouse, target, t_0, segment)
        except YoushuError as exc:
            notes["holdout_skipped"] = str(exc)
        else:
            scores = default_ranker().fit(x0, y0).predict_proba(x1)[:, 1]
            model = evaluate(y1, scores, name="PropensityRanker", n_boot=0, split=t_1)
            metrics = {
                "holdout": str(t_1),
                "trained_on": str(t_0),
                "rows": model.rows,
                "positives": model.positives,
                "base_rate": model.base_rate,
                "roc_auc": model.roc_auc,
                "pr_auc": model.pr_auc,
                "top_decile_lift": model.top_decile_lift,
            }
            if "aum_fen" in x1.column_names:
                from youshu.models.baselines import rank_by

                aum = evaluate(y1, rank_by(x1, "aum_fen"), name="rank by AUM", n_boot=0)
                metrics["rank_by_aum_roc_auc"] = aum.roc_auc
                metrics["rank_by_aum_top_decile_lift"] = aum.top_decile_lift
    else:
        notes["holdout_skipped"] = "--no-holdout"
    ranker = default_ranker().fit(x1, y1)
    from youshu.models.store import ModelCard

    card = ModelCard(
        target=target,
        as_of=as_of,
        horizon_days=horizon_days,
        segment=segment.expression if segment else None,
        metrics=metrics,
        notes=notes,
    )
    return Trained(ranker, card)


def score_table(
    ranker: PropensityRanker,
    features: pa.Table,
    *,
    id_column: str,
    compile: bool = False,
    keep: Mapping[str, str] | None = None,
    reason_features: bool = False,
    top: int = 3,
) -> pa.Table:
    """Score every row of a feature table: score, rank (1 = highest; ties by id) and zh reasons, best first.

    Parameters
    ----------
    ranker : PropensityRanker
        A fitted ranker.
    features : pyarrow.Table
        Feature rows with an ``id_column``.
    id_column : str
        The entity's id column, e.g. ``customer_id``; it breaks ties in score (ascending).
    compile : bool
        Score with compiled trees (lleaves, checked against LightGBM on 2,000 rows): for millions of rows.
    keep : mapping of str to str, optional
        Feature columns to carry over after the id, as ``{feature column: output name}`` (e.g.
        ``{"home_outlet_id": "outlet_id"}``).
    reason_features : bool
        Add ``reason_feature_<k>`` (the feature's name) after each ``reason_<k>``.
    top : int
        Reasons per row.

    Returns
    -------
    pyarrow.Table
        ``id_column``, the ``keep`` columns, ``score``, ``rank`` and ``reason_1..top`` (zh text or null; with
        ``reason_feature_1..top`` interleaved when asked), ordered by rank.

    Raises
    ------
    YoushuError
        When the id column or a ``keep`` column is missing from the feature table.
    """
    from youshu.models.scoring import BatchScorer

    keep = dict(keep or {})
    if id_column not in features.column_names:
        raise YoushuError(
            f"the feature table has no id column {id_column!r}; columns: {features.column_names}"
        )
    missing = [c for c in keep if c not in features.column_names]
    if missing:
        raise YoushuError(f"the feature table has no column(s) {missing}; columns: {features.column_names}")
    scores = BatchScorer(ranker, compile=compile, check=features.slice(0, 2000) if compile else None).score(
        features
    )
    slots = [f"reason_{k}" for k in range(1, top + 1)]
    if reason_features:
        slots = [name for k in range(1, top + 1) for name in (f"reason_{k}", f"reason_feature_{k}")]
    reasons: dict[str, list[str | None]] = {name: [] for name in slots}
    for lo in range(0, features.num_rows, REASON_ROWS):
        part = ranker.reason_codes(features.slice(lo, REASON_ROWS), top=top)
        for name, values in reasons.items():
            values.extend(None if v is None or v != v else str(v) for v in part[name])
    table = pa.table(
        {
            id_column: features.column(id_column),
            **{name: features.column(column) for column, name in keep.items()},
            "score": pa.array(scores, pa.float64()),
            **{name: pa.array(values, pa.string()) for name, values in reasons.items()},
        }
    )
    order = pc.sort_indices(table, sort_keys=[("score", "descending"), (id_column, "ascending")])
    table = table.take(order)
    rank = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.add_column(table.schema.get_field_index("score") + 1, "rank", rank)
