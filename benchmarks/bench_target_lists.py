"""Benchmark: capacity-aware target lists, top ~200k of 16M scored customers over ~30k outlets, 2 campaigns.

Library: ``youshu.models.target_lists.select_targets`` (dense NumPy arrays aligned to the customers, a
per-outlet pruning pass, then an exact Arrow sort of the few rows left). Baseline measured in the same run:
plain pandas on the same inputs (long table of both campaigns, opt-outs dropped, sort + drop_duplicates for
the dedupe, sort + groupby cumcount for the rank, cut at capacity). Both must give the same lists.
Also timed: the library a second time (warm), and when the customers table is in another order than the scores
(one hash join). The pandas baseline needs > 6 GB at 16M (Python string objects), so the ratio is measured at
``--baseline-customers`` (4M), library and baseline on the same inputs in the same run.

    .venv/bin/python -m benchmarks.bench_target_lists                  # 16M customers
    .venv/bin/python -m benchmarks.bench_target_lists --customers 1000000
"""

from __future__ import annotations

import argparse
import gc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks._measure import measure
from youshu.models.target_lists import Exclusions, ScoredCampaign, select_targets

PER_MANAGER_WEEK = 5  # with 1-2 managers per outlet (mean 4/3): ~200k contacts over 30k outlets
OPT_OUT_SHARE = 0.01


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def inputs(n: int, n_outlets: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    ids = _strings("C", rng.permutation(n) + 10_000_000_000)
    outlet_names = _strings("O", np.arange(n_outlets) + 100_000)
    # customers cluster unevenly over outlets (a few big branches, many small agencies)
    weight = rng.gamma(0.8, 1.0, n_outlets)
    outlet = rng.choice(n_outlets, size=n, p=weight / weight.sum())
    managers = np.where(rng.random(n_outlets) < 1 / 3, 2, 1)
    copy = pa.array(np.arange(n))
    return {
        "homes": pa.table({"customer_id": ids, "outlet_id": outlet_names.take(pa.array(outlet))}),
        # scores written by the scoring step in the customers' order, but separate buffers (files)
        "wealth": pa.table({"customer_id": ids.take(copy), "score": rng.random(n)}),
        "insurance": pa.table({"customer_id": ids.take(copy), "score": rng.beta(2, 5, n)}),
        "capacity": pa.table({"outlet_id": outlet_names, "capacity": managers * PER_MANAGER_WEEK}),
        "opt_out": ids.take(pa.array(rng.choice(n, int(n * OPT_OUT_SHARE), replace=False))),
    }


def library(data: dict, homes: pa.Table | None = None) -> pa.Table:
    campaigns = [ScoredCampaign("wealth", data["wealth"]), ScoredCampaign("insurance", data["insurance"])]
    result = select_targets(
        campaigns, homes or data["homes"], data["capacity"], Exclusions(opted_out=data["opt_out"])
    )
    return result.lists


def baseline(data: dict) -> pd.DataFrame:
    homes = data["homes"].to_pandas()
    long = pd.concat(
        [
            data[name].to_pandas().assign(campaign=name).merge(homes, on="customer_id")
            for name in ("wealth", "insurance")
        ],
        ignore_index=True,
    )
    long = long[~long["customer_id"].isin(set(data["opt_out"].to_pylist()))]
    best = long.sort_values(["customer_id", "score", "campaign"], ascending=[True, False, True])
    best = best.drop_duplicates("customer_id")
    best = best.sort_values(["outlet_id", "score", "customer_id"], ascending=[True, False, True])
    best["rank_in_outlet"] = best.groupby("outlet_id").cumcount() + 1
    cap = data["capacity"].to_pandas().set_index("outlet_id")["capacity"]
    return best[best["rank_in_outlet"] <= best["outlet_id"].map(cap)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=16_000_000)
    parser.add_argument("--outlets", type=int, default=30_000)
    parser.add_argument("--baseline-customers", type=int, default=4_000_000, help="0: skip the baseline.")
    args = parser.parse_args()
    data = inputs(args.customers, args.outlets)
    gc.collect()
    with measure() as lib:
        lists = library(data)
    with measure() as warm:
        assert library(data).equals(lists)
    shuffled = data["homes"].take(pa.array(np.random.default_rng(2).permutation(args.customers)))
    gc.collect()
    with measure() as joined:
        again = library(data, shuffled)
    assert again.equals(lists), "customers in another order gave other lists"
    print(f"target lists: {args.customers:,} customers x 2 campaigns, {args.outlets:,} outlets")
    print(f"  capacity        {pc.sum(data['capacity']['capacity']).as_py():,} contacts")
    print(f"  selected        {lists.num_rows:,}")
    print(f"  library         {lib.seconds:8.2f} s   peak RSS {lib.peak_rss_gb:.2f} GB  (first call)")
    print(f"  library, warm   {warm.seconds:8.2f} s   peak RSS {warm.peak_rss_gb:.2f} GB  (second call)")
    print(
        f"  library, join   {joined.seconds:8.2f} s   peak RSS {joined.peak_rss_gb:.2f} GB  (customers shuffled)"
    )
    n = args.baseline_customers
    if not n:
        return
    del data, lists, shuffled, again
    gc.collect()
    outlets = max(1, round(args.outlets * n / args.customers))
    data = inputs(n, outlets)
    with measure() as lib:
        lists = library(data)
    with measure() as base:
        expected = baseline(data)
    got = lists.select(["outlet_id", "customer_id", "campaign", "rank_in_outlet"]).to_pandas()
    want = expected[["outlet_id", "customer_id", "campaign", "rank_in_outlet"]].reset_index(drop=True)
    assert got.astype(str).equals(want.astype(str)), "library and baseline lists differ"
    print(f"same run, {n:,} customers, {outlets:,} outlets, {lists.num_rows:,} selected (lists equal):")
    print(f"  library         {lib.seconds:8.2f} s   peak RSS {lib.peak_rss_gb:.2f} GB")
    print(
        f"  baseline        {base.seconds:8.2f} s   peak RSS {base.peak_rss_gb:.2f} GB  (pandas sort/groupby)"
    )
    print(f"  ratio           {base.seconds / lib.seconds:8.1f} x  faster than the baseline")


if __name__ == "__main__":
    main()
