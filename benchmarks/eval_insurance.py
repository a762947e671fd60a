"""Evaluation: 她经济 insurance propensity of female customers on the synthetic province, out of time (issue 5).

Target: a customer of the 女性客群 segment (the tag, computed from its definition over the features as of each
split's date) buys an insurance product (``products.category = 'insurance'``) within 90 days after the as-of
date, labelled from ``purchases`` only. Splits (``out_of_time``): T0 = 2025-04-03, T1 = 2025-07-02 and the test
split T2 = 2025-09-30 (labels 2025-10-01..2025-12-29). Measured in the same run on the same test rows:

- ``PropensityRanker`` as ``youshu models train`` fits it: fixed small forest (no early stopping), fitted on
  the women of T1;
- ``early-stopped``: the wealth recipe, rounds chosen on T1 by a ranker fitted on T0, refitted on T1;
- ``all customers``: the same ranker fitted on every customer of T1 (men too), scored on the test women;
- ``logistic``: LogisticBaseline on the same features, fitted on the women of T1;
- ``rank by AUM``: current assets under management;
- ``truth``: the planted ``insurance_propensity_90d`` (truth/, read here only to measure): the ceiling.

It also prints the holdout figure ``youshu models train --as-of 2025-09-30`` reports (fitted on T0, tested on
T1), to compare with the test figure one split later.

    .venv/bin/python -m benchmarks.eval_insurance                        # 100k customers
    .venv/bin/python -m benchmarks.eval_insurance --customers 1000000 --n-boot 50
    .venv/bin/python -m benchmarks.eval_insurance --warehouse data/warehouse --out runs/eval_insurance.json
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks._compare import (
    planted,
    print_beats,
    print_comparison,
    print_model,
    print_paired,
    write_reports,
)
from youshu.engine import connect
from youshu.models.baselines import LogisticBaseline, rank_by
from youshu.models.evaluation import EvaluationReport, evaluate, out_of_time, roc_auc, top_share_lift
from youshu.models.propensity import PropensityRanker
from youshu.models.segment import Segment, load_tagset
from youshu.models.training import RANKER, split_rows
from youshu.pipeline.tags_step import SHIPPED_DEFINITIONS
from youshu.synth import generate

TEST_AS_OF = date(2025, 9, 30)
SEGMENT = "女性客群"
TARGET = "insurance_purchase"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--warehouse", type=Path, help="use this province instead of generating one")
    parser.add_argument("--segment", default=SEGMENT, help="tag expression of the rows")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write the evaluation reports here as JSON")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="youshu-eval-"))
    try:
        warehouse = args.warehouse
        if warehouse is None:
            warehouse = root / "warehouse"
            t0 = time.perf_counter()
            generate(warehouse, customers=args.customers, seed=args.seed)
            print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.0f} s")
        evaluate_province(warehouse, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def evaluate_province(warehouse: Path, args: argparse.Namespace) -> None:
    t_0, t_1, t_2 = out_of_time(TEST_AS_OF, 90, folds=2)
    segment = Segment.parse(args.segment, load_tagset(SHIPPED_DEFINITIONS))
    t0 = time.perf_counter()
    with connect("duckdb") as eng:
        (x0, y0), (x1, y1), (x2, y2) = (
            split_rows(eng, warehouse, TARGET, s, segment) for s in (t_0, t_1, t_2)
        )
        x1_all, y1_all = split_rows(eng, warehouse, TARGET, t_1, None)
    print(f"features, segment and labels for 3 splits: {time.perf_counter() - t0:.0f} s")
    for split, y in ((t_0, y0), (t_1, y1), (t_2, y2)):
        print(f"  {split}: {len(y):,} customers of {segment}, {int(y.sum()):,} buyers ({y.mean():.2%})")
    print(f"  all customers as of {t_1.as_of}: {len(y1_all):,}, buyers {y1_all.mean():.2%}")

    t0 = time.perf_counter()
    holdout = PropensityRanker(**RANKER).fit(x0, y0).predict_proba(x1)[:, 1]
    ranker = PropensityRanker(**RANKER).fit(x1, y1)
    train_s = time.perf_counter() - t0
    print(
        f"youshu models train holdout ({t_0.as_of} -> {t_1.as_of}): AUC {roc_auc(y1, holdout):.4f}, "
        f"top-decile lift {top_share_lift(y1, holdout):.3f}; one fit {train_s / 2:.1f} s"
    )
    tuned = dict(RANKER, n_estimators=3000)
    tuner = PropensityRanker(**tuned, early_stopping_rounds=100).fit(x0, y0, eval_set=(x1, y1))
    early = PropensityRanker(**dict(RANKER, n_estimators=tuner.best_iteration_)).fit(x1, y1)
    print(
        f"early stopping on {t_1.as_of}: {tuner.best_iteration_} rounds (fixed recipe: {RANKER['n_estimators']})"
    )
    everyone = PropensityRanker(**RANKER).fit(x1_all, y1_all)

    t0 = time.perf_counter()
    model_scores = ranker.predict_proba(x2)[:, 1]
    score_s = time.perf_counter() - t0
    candidates = {
        "PropensityRanker": model_scores,
        "early-stopped": early.predict_proba(x2)[:, 1],
        "all customers": everyone.predict_proba(x2)[:, 1],
        "logistic": LogisticBaseline(C=0.1).fit(x1, y1).predict_proba(x2)[:, 1],
        "rank by AUM": rank_by(x2, "aum_fen"),
    }
    candidates["truth (ceiling)"] = planted(warehouse, "insurance_propensity_90d", x2.column("customer_id"))

    boot = args.n_boot
    reports: list[EvaluationReport] = [
        evaluate(y2, s, name=name, ks=[500], budgets=[0.05], n_boot=boot, split=t_2)
        for name, s in candidates.items()
    ]
    print(f"\ntest {t_2} on {segment} (LightGBM scoring of {len(y2):,} rows in {score_s:.2f} s)")
    shown = ["name", "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "top_decile_lift"]
    shown += ["top_decile_lift_low", "top_decile_lift_high", "brier", "precision@top 500", "recall@budget 5%"]
    print_comparison(reports, shown)
    others = ("logistic", "rank by AUM", "all customers", "early-stopped", "truth (ceiling)")
    print_paired(y2, model_scores, {n: candidates[n] for n in others}, boot, width=16, minus="other")
    print_beats(reports[0], reports[3:5])
    print_model(ranker, x2, model_scores)
    write_reports(reports, args.out)


if __name__ == "__main__":
    main()
