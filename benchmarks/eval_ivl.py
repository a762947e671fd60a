"""Evaluation: the IVL portrait on the synthetic province against its planted truth (issue 5, item 2).

Measured in one run (truth/ is read here only to score):

- L: macro-F1 of the lifecycle rules vs the planted stage as of T = 2025-09-30 (target >= 0.80), per-stage F1;
- I: share of customers with no account transaction in (T, T+90] by intimacy tercile (target: top <= half
  the bottom), and Spearman of the score with the planted intimacy;
- V: Spearman(predicted AUM, realised AUM 12 months later) out of sample: features as of 2024-12-31, AUM
  observed at 2025-12-31, LightGBM fitted on a random half of the customers and scored on the other half
  (a 12-month label cannot be out of time inside the two-year window); baseline "current AUM" in the same run.

    .venv/bin/python -m benchmarks.eval_ivl                     # 100k customers
    .venv/bin/python -m benchmarks.eval_ivl --warehouse data/warehouse --out runs/eval_ivl.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import f1_score

from youshu.engine import connect
from youshu.models.ivl import AumRegressor, build_portrait, ivl_cube, load_config, retention_labels
from youshu.models.ivl.portrait import _features
from youshu.models.ivl.value import align_later_aum
from youshu.models.timesplit import TimeSplit
from youshu.schema.storage import TRUTH_DIR
from youshu.synth import generate

TEST_AS_OF = date(2025, 9, 30)
V_START, V_END = date(2024, 12, 31), date(2025, 12, 31)
DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions" / "ivl"


def evaluate_ivl(warehouse: Path, *, learn_intimacy: bool = False) -> dict[str, object]:
    """Every IVL figure on one province (see the module docstring)."""
    config = load_config(DEFINITIONS)
    truth = pd.read_parquet(warehouse / TRUTH_DIR / "customers")
    result: dict[str, object] = {}
    with connect("duckdb") as eng:
        started = time.perf_counter()
        portrait = build_portrait(eng, warehouse, TEST_AS_OF, config, learn_intimacy=learn_intimacy)
        result["build_seconds"] = round(time.perf_counter() - started, 1)
        table = portrait.table
        joined = table.merge(truth, on="customer_id", suffixes=("", "_truth"))
        labels = sorted(set(joined["lifecycle_stage_truth"]))
        result["lifecycle_macro_f1"] = round(
            float(f1_score(joined["lifecycle_stage_truth"], joined["lifecycle_stage"], average="macro")), 4
        )
        per = f1_score(
            joined["lifecycle_stage_truth"], joined["lifecycle_stage"], average=None, labels=labels
        )
        result["lifecycle_f1_by_stage"] = {k: round(float(v), 3) for k, v in zip(labels, per, strict=True)}
        retained = retention_labels(eng, warehouse, table, TimeSplit(TEST_AS_OF, 90))
        tercile = pd.qcut(table["intimacy_score"].rank(method="first"), 3, labels=False).to_numpy()
        churn = 1 - retained
        result["attrition_by_intimacy_tercile"] = {
            name: round(float(churn[tercile == k].mean()), 4)
            for k, name in enumerate(("bottom", "middle", "top"))
        }
        result["intimacy_spearman_vs_planted"] = round(
            float(spearmanr(joined["intimacy_score"], joined["intimacy"]).statistic), 3
        )
        result["intimacy_weights"] = {c.name: round(c.weight, 3) for c in portrait.intimacy.components}
        before, after = _features(eng, warehouse, V_START), _features(eng, warehouse, V_END)
    realised = align_later_aum(before, after)
    train = np.random.default_rng(0).random(len(before)) < 0.5
    predicted = AumRegressor().fit(before[train], realised[train]).predict(before[~train])
    result["value_spearman_model"] = round(float(spearmanr(predicted, realised[~train]).statistic), 4)
    current = before["aum_fen"].to_numpy(dtype="float64")[~train]
    result["value_spearman_current_aum"] = round(float(spearmanr(current, realised[~train]).statistic), 4)
    cube = ivl_cube(table, config.playbook)
    result["cube_top_cells"] = (
        cube.sort_values("customers", ascending=False)
        .head(5)[["intimacy_level", "value_level", "lifecycle_stage_zh", "customers", "aum_share"]]
        .to_dict("records")
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--warehouse", type=Path, help="use this province instead of generating one")
    parser.add_argument("--learn-intimacy", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    scratch = None
    if args.warehouse is None:
        scratch = Path(tempfile.mkdtemp(prefix="eval_ivl-"))
        warehouse = scratch / "warehouse"
        generate(warehouse, customers=args.customers, seed=args.seed, workers=2)
    else:
        warehouse = args.warehouse
    try:
        figures = evaluate_ivl(warehouse, learn_intimacy=args.learn_intimacy)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(figures, ensure_ascii=False, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
