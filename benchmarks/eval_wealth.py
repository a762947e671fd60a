"""Evaluation: wealth-product propensity on the synthetic province, out of time, against baselines (issue 5).

Target: buys a bank wealth product (``products.category = 'wealth'``) within 90 days after the as-of date,
labelled from ``purchases`` only. Splits (``out_of_time``): features as of T0 = 2025-04-03 with labels to
2025-07-02 train a ranker that early-stops on T1 = 2025-07-02 (labels to 2025-09-30); the final ranker is
refitted on T1 with the rounds found, and everything is tested on T2 = 2025-09-30, labels 2025-10-01 to
2025-12-29. Measured in the same run on the same test rows:

- ``PropensityRanker`` (LightGBM, all customer features);
- ``logistic``: LogisticBaseline on the same features, fitted on T1;
- ``rank by AUM``: current assets under management;
- ``truth``: the planted ``wealth_propensity_90d`` (truth/, read here only to measure): the ceiling.

Issue targets: AUC >= 0.80 and top-decile lift >= 4, beating both baselines.

    .venv/bin/python -m benchmarks.eval_wealth                        # 100k customers
    .venv/bin/python -m benchmarks.eval_wealth --customers 1000000 --n-boot 50 --learning-rate 0.1
    .venv/bin/python -m benchmarks.eval_wealth --warehouse data/warehouse --out runs/eval_wealth.json
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
from youshu.models.evaluation import EvaluationReport, evaluate, out_of_time, roc_auc
from youshu.models.propensity import PropensityRanker
from youshu.models.scoring import BatchScorer
from youshu.models.targets import labelled_features
from youshu.synth import generate

TEST_AS_OF = date(2025, 9, 30)
#: Chosen on the T0 -> T1 validation of a 100k province (not on the test split).
RANKER = {"learning_rate": 0.03, "num_leaves": 7, "min_child_samples": 200, "n_jobs": 2}
TARGET_AUC, TARGET_LIFT = 0.80, 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--warehouse", type=Path, help="use this province instead of generating one")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=RANKER["learning_rate"], help="of the ranker")
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
    t0 = time.perf_counter()
    with connect("duckdb") as eng:
        (x0, y0), (x1, y1), (x2, y2) = (
            labelled_features(eng, warehouse, "wealth_purchase", s) for s in (t_0, t_1, t_2)
        )
    print(f"features and labels for 3 splits: {time.perf_counter() - t0:.0f} s")
    for split, y in ((t_0, y0), (t_1, y1), (t_2, y2)):
        print(f"  {split}: {len(y):,} customers, {int(y.sum()):,} buyers ({y.mean():.2%})")

    t0 = time.perf_counter()
    tuner = PropensityRanker(n_estimators=3000, early_stopping_rounds=100, **RANKER).fit(
        x0, y0, eval_set=(x1, y1)
    )
    ranker = PropensityRanker(n_estimators=tuner.best_iteration_, **RANKER).fit(x1, y1)
    train_s = time.perf_counter() - t0
    valid_lr = LogisticBaseline(C=0.1).fit(x0, y0).predict_proba(x1)[:, 1]
    print(
        f"validation (train {t_0.as_of}, early-stop on {t_1.as_of}): ranker AUC {tuner.validation_auc_:.4f} at "
        f"{tuner.best_iteration_} rounds; logistic AUC {roc_auc(y1, valid_lr):.4f}; trained in {train_s:.0f} s"
    )
    t0 = time.perf_counter()
    scorer = BatchScorer(ranker, check=x2.slice(0, 2000), n_jobs=1)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model_scores = scorer.score(x2)
    score_s = time.perf_counter() - t0
    logistic = LogisticBaseline(C=0.1).fit(x1, y1).predict_proba(x2)[:, 1]
    aum = rank_by(x2, "aum_fen")
    ceiling = planted(warehouse, "wealth_propensity_90d", x2.column("customer_id"))

    boot = args.n_boot
    reports: list[EvaluationReport] = [
        evaluate(
            y2, model_scores, name="PropensityRanker", ks=[1000], budgets=[0.05], n_boot=boot, split=t_2
        ),
        evaluate(y2, logistic, name="logistic", ks=[1000], budgets=[0.05], n_boot=boot, split=t_2),
        evaluate(y2, aum, name="rank by AUM", ks=[1000], budgets=[0.05], n_boot=boot, split=t_2),
        evaluate(y2, ceiling, name="truth (ceiling)", ks=[1000], budgets=[0.05], n_boot=boot, split=t_2),
    ]
    print(
        f"\ntest {t_2} ({scorer.backend} scoring of {len(y2):,} rows in {score_s:.2f} s, compiled in {compile_s:.0f} s)"
    )
    shown = ["name", "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "top_decile_lift"]
    shown += [
        "top_decile_lift_low",
        "top_decile_lift_high",
        "brier",
        "precision@top 1,000",
        "recall@budget 5%",
    ]
    print_comparison(reports, shown)
    model = reports[0]
    print_paired(
        y2, model_scores, {"logistic": logistic, "rank by AUM": aum, "truth": ceiling}, boot, width=12
    )
    print("\ntargets:")
    print(f"  AUC >= {TARGET_AUC}: {model.roc_auc:.4f} {'PASS' if model.roc_auc >= TARGET_AUC else 'FAIL'}")
    lift_ok = model.top_decile_lift >= TARGET_LIFT
    print(f"  top-decile lift >= {TARGET_LIFT}: {model.top_decile_lift:.3f} {'PASS' if lift_ok else 'FAIL'}")
    print_beats(model, reports[1:3], indent="  ")
    print_model(ranker, x2, model_scores)
    write_reports(reports, args.out)


if __name__ == "__main__":
    main()
