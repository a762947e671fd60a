"""Evaluation: the specialty catalogue and chain customers on the synthetic province vs its planted truth (issue 7).

Measured in one run (truth/ is read here only to score), as of T = 2025-09-30:

- catalogue: share of planted county specialties (truth/county_specialties, every rank) that the catalogue
  ranks in their county's top 3 (target >= 0.90);
- chains: membership precision / recall / F1, a member counting as found only when its chain (product) is
  right too (target F1 >= 0.85); the same without the product ("any chain"); stage accuracy over members
  found (target >= 0.80); product accuracy by stage and by where the product came from;
- eligibility: ROC AUC of the loan-eligibility score of chain members as of T against their later observed
  repayment (an instalment due in (T, T+180] not paid within 30 days, judged only when its 30 days end by the
  last transaction date), target >= 0.80. The scorecard's weights were chosen on the earlier window as of
  TUNE_AS_OF = 2025-06-30, whose AUC is reported too, so the figure at T is out of time; also the AUC among
  borrowers with no instalment > 30 days late by T ("clean history": new defaults only). Observed outcomes
  come from loan_repayments, not truth.

    .venv/bin/python -m benchmarks.eval_rural                    # 50k customers
    .venv/bin/python -m benchmarks.eval_rural --customers 100000
    .venv/bin/python -m benchmarks.eval_rural --warehouse data/warehouse --out runs/eval_rural.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from youshu.engine import Engine, Tables, connect
from youshu.rural import chain_customers, specialty_catalogue
from youshu.rural.eligibility import eligibility_scores, repayment_outcomes
from youshu.schema.storage import TRUTH_DIR
from youshu.synth import generate

AS_OF = date(2025, 9, 30)
TUNE_AS_OF = date(2025, 6, 30)
HORIZON_DAYS = 180
TARGETS = {"top3_hit_rate": 0.90, "membership_f1": 0.85, "stage_accuracy": 0.80, "eligibility_auc": 0.80}


def score_eligibility_auc(eng: Engine, warehouse: Path, as_of: date, prefix: str) -> dict[str, object]:
    """AUC of the eligibility score against later observed repayment (all borrowers and clean history)."""
    t = Tables(eng, warehouse)
    x = t.transactions
    observed_to = eng.execute(x.aggregate(last=x.txn_at.max()))["last"].iloc[0].date()
    scores = eligibility_scores(eng, warehouse, as_of)
    outcomes = eng.execute(repayment_outcomes(t, as_of, HORIZON_DAYS, observed_to))
    d = scores.merge(outcomes, on="customer_id")
    clean = d[d["overdue_30_count"] == 0]
    last = min(as_of + timedelta(days=HORIZON_DAYS), observed_to - timedelta(days=30))

    def auc(frame: pd.DataFrame) -> float | None:
        if frame["is_bad"].nunique() < 2:
            return None
        return round(float(roc_auc_score(frame["is_bad"], -frame["eligibility_score"])), 4)

    return {
        f"{prefix}as_of": as_of.isoformat(),
        f"{prefix}outcome_due_window": f"({as_of}, {last}]",
        f"{prefix}members_scored": len(scores),
        f"{prefix}borrowers_judged": len(d),
        f"{prefix}bad_borrowers": int(d["is_bad"].sum()),
        f"{prefix}auc": auc(d),
        f"{prefix}auc_clean_history": auc(clean),
        f"{prefix}bad_clean_history": int(clean["is_bad"].sum()),
    }


def score_catalogue(catalogue: pd.DataFrame, planted: pd.DataFrame) -> dict[str, float]:
    """Top-3 hit rate of the planted (county, industry) pairs, overall and for rank-1 specialties."""
    m = planted.merge(catalogue, on=["county_id", "industry"], how="left")
    hit = m["rank_in_county"].fillna(99) <= 3
    first = m["rank"] == 1
    return {
        "planted_specialties": len(m),
        "top3_hit_rate": round(float(hit.mean()), 4),
        "top1_hit_rate_of_main_specialty": round(float((m["rank_in_county"][first] == 1).mean()), 4),
    }


def score_chains(members: pd.DataFrame, truth: pd.DataFrame) -> dict[str, object]:
    """Membership P/R/F1 (product must match), the same for any chain, stage accuracy over found members."""
    truth = truth[truth["chain_stage"].fillna("") != ""]
    m = members.merge(truth, on="customer_id", how="outer", suffixes=("", "_truth"), indicator=True)
    found = m[m["_merge"] == "both"]
    tp = int((found["chain_industry"] == found["chain_industry_truth"]).sum())
    tp_any = len(found)
    n_pred, n_true = len(members), len(truth)

    def f1(hits: int) -> tuple[float, float, float]:
        p, r = hits / max(n_pred, 1), hits / max(n_true, 1)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    p, r, f = f1(tp)
    pa, ra, fa = f1(tp_any)
    product_ok = found["chain_industry"] == found["chain_industry_truth"]
    by_basis = found.assign(ok=product_ok).groupby(["chain_stage_truth", "industry_basis"])["ok"]
    return {
        "members_predicted": n_pred,
        "members_planted": n_true,
        "membership_precision": round(p, 4),
        "membership_recall": round(r, 4),
        "membership_f1": round(f, 4),
        "any_chain_f1": round(fa, 4),
        "any_chain_precision": round(pa, 4),
        "any_chain_recall": round(ra, 4),
        "stage_accuracy": round(float((found["chain_stage"] == found["chain_stage_truth"]).mean()), 4),
        "recall_by_stage": {
            s: round(float(g["_merge"].eq("both").mean()), 4)
            for s, g in m[m["chain_stage_truth"].notna()].groupby("chain_stage_truth")
        },
        "product_accuracy_by_stage_and_basis": {
            f"{s}/{b}": [round(float(v.mean()), 4), int(v.size)] for (s, b), v in by_basis
        },
        "mean_probability_of_false_members": round(
            float(m.loc[m["_merge"] == "left_only", "probability"].mean()), 4
        )
        if (m["_merge"] == "left_only").any()
        else None,
    }


def evaluate(warehouse: Path) -> dict[str, object]:
    """Every figure of the module docstring on one province."""
    result: dict[str, object] = {}
    with connect("duckdb") as eng:
        started = time.perf_counter()
        catalogue = eng.execute(specialty_catalogue(Tables(eng, warehouse), AS_OF))
        result["catalogue_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        members = chain_customers(eng, warehouse, AS_OF)
        result["chain_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        result.update(score_eligibility_auc(eng, warehouse, AS_OF, "eligibility_"))
        result["eligibility_seconds"] = round(time.perf_counter() - started, 2)
        result.update(score_eligibility_auc(eng, warehouse, TUNE_AS_OF, "tuning_window_eligibility_"))
    planted = pd.read_parquet(warehouse / TRUTH_DIR / "county_specialties")
    truth = pd.read_parquet(
        warehouse / TRUTH_DIR / "customers", columns=["customer_id", "chain_industry", "chain_stage"]
    )
    result.update(score_catalogue(catalogue, planted))
    result.update(score_chains(members, truth))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warehouse", type=Path, help="Evaluate this province instead of generating one.")
    parser.add_argument("--out", type=Path, help="Also write the figures as JSON.")
    args = parser.parse_args()
    tmp = None
    if args.warehouse is None:
        tmp = Path(tempfile.mkdtemp(prefix="eval_rural_"))
        warehouse = tmp / "warehouse"
        generate(warehouse, customers=args.customers, seed=args.seed)
    else:
        warehouse = args.warehouse
    try:
        result = evaluate(warehouse)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    for name, target in TARGETS.items():
        if result[name] is None:
            print(f"{name}: not measurable (one outcome class only)")
            continue
        value = float(result[name])  # type: ignore[arg-type]
        print(f"{name}: {value:.4f} (target >= {target:.2f}) {'PASS' if value >= target else 'FAIL'}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
