"""Shared by the propensity evaluations: the model against baselines on the same test rows, printed."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.models.evaluation import EvaluationReport, compare, roc_auc, top_share_lift
from youshu.models.propensity import PropensityRanker
from youshu.schema.storage import TRUTH_DIR

Metric = Callable[[np.ndarray, np.ndarray], float]
#: The metrics of the paired bootstrap, as printed.
PAIRED_METRICS: tuple[tuple[str, Metric], ...] = (("AUC", roc_auc), ("top-decile lift", top_share_lift))


def paired_difference(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, metric: Metric, n_boot: int, seed: int
) -> tuple[float, float, float]:
    """metric(y, a) - metric(y, b) and its 95% bootstrap interval over the same resampled rows."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            diffs.append(metric(y[idx], a[idx]) - metric(y[idx], b[idx]))
    low, high = np.percentile(diffs, [2.5, 97.5]) if diffs else (np.nan, np.nan)
    return metric(y, a) - metric(y, b), float(low), float(high)


def planted(warehouse: Path, column: str, ids: pa.ChunkedArray) -> np.ndarray:
    """The planted truth ``column`` of ``truth/customers`` for ``ids`` (the ceiling; evaluation only)."""
    truth = pq.read_table(warehouse / TRUTH_DIR / "customers", columns=["customer_id", column])
    by_id = dict(zip(truth.column(0).to_pylist(), truth.column(1).to_pylist(), strict=True))
    return np.array([by_id[c] for c in ids.to_pylist()])


def print_comparison(reports: Sequence[EvaluationReport], shown: Sequence[str]) -> None:
    """The ``shown`` columns of :func:`compare` that exist, one row per report."""
    table = compare(reports)
    print(
        table[[c for c in shown if c in table.columns]].to_string(
            index=False, float_format=lambda v: f"{v:.4f}"
        )
    )


def print_paired(
    y: np.ndarray,
    model_scores: np.ndarray,
    others: Mapping[str, np.ndarray],
    n_boot: int,
    *,
    width: int,
    minus: str = "baseline",
) -> None:
    """Paired bootstrap of the model's AUC and top-decile lift minus each other's, with 95% intervals."""
    print(f"\npaired bootstrap, PropensityRanker minus {minus} (95% interval):")
    for name, other in others.items():
        for metric_name, metric in PAIRED_METRICS:
            diff, low, high = paired_difference(y, model_scores, other, metric, max(n_boot // 2, 20), seed=3)
            print(f"  vs {name:<{width}} {metric_name:<16} {diff:+.4f}  [{low:+.4f}, {high:+.4f}]")


def print_beats(model: EvaluationReport, others: Sequence[EvaluationReport], *, indent: str = "") -> None:
    """PASS when the model's AUC and top-decile lift both exceed the other's (point estimates)."""
    for other in others:
        beats = model.roc_auc > other.roc_auc and model.top_decile_lift > other.top_decile_lift
        print(
            f"{indent}beats {other.name}: {'PASS' if beats else 'FAIL'} (point estimates; see the paired intervals)"
        )


def print_model(ranker: PropensityRanker, x: pa.Table, scores: np.ndarray) -> None:
    """Reason codes of the five highest-scored customers and the top features by gain share."""
    top = np.argsort(-scores)[:5]
    reasons = ranker.reason_codes(x.take(pa.array(top)), top=3)
    print("\nreason codes of the five highest-scored customers:")
    for i, row in zip(top, reasons.itertuples(), strict=True):
        shown_reasons = "；".join(r for r in (row.reason_1, row.reason_2, row.reason_3) if r)
        print(f"  {x.column('customer_id')[int(i)]}  {scores[i]:.3f}  {shown_reasons}")
    print("\ntop features (gain share):")
    for row in ranker.importance_frame().head(8).itertuples():
        print(f"  {row.feature:<34} {row.zh:<14} {row.gain_share:.3f}")


def write_reports(reports: Sequence[EvaluationReport], out: Path | None) -> None:
    """The reports as JSON to ``out`` (nothing when None)."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=1))
