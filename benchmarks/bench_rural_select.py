"""Benchmark: rural selection (乡村振兴优选), the top 200k of scored customers, 1M and 4M rows, extrapolated to 16M.

Library: ``youshu.rural.select.select_top`` (risky ids by an Arrow hash set, outlet mask, ``np.partition`` for the
N-th score, an exact Arrow sort of the rows at or above it) followed by the per-outlet ranking of the N chosen
rows, as ``rural_selection`` does after scoring. Baseline in the same run: plain pandas (``isin`` for risky ids,
``notna`` for outlets, ``sort_values`` of every row, ``head(N)``, sort by outlet and ``groupby.cumcount``). Both
must choose the same customers. Inputs are synthetic: scores with ties (2 decimals like the scorecard), ~5k
outlets, 2% of customers without an outlet, 1% risky. Time and memory are extrapolated linearly from the 1M and
4M runs to 16M (the selection is linear in rows plus N log N).

    .venv/bin/python -m benchmarks.bench_rural_select
    .venv/bin/python -m benchmarks.bench_rural_select --sizes 1000000 4000000 --top 200000
"""

from __future__ import annotations

import argparse
import gc

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks._measure import measure
from youshu.rural.select import select_top

N_OUTLETS = 5_000


def inputs(n: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise("C", pc.cast(pa.array(rng.permutation(n) + 10**9), pa.string()), "")
    score = np.round(rng.beta(5, 2, n) * 100, 2)
    outlet = rng.integers(0, N_OUTLETS, n)
    has_outlet = rng.random(n) >= 0.02
    risky = ids.filter(pa.array(rng.random(n) < 0.01))
    return {"ids": ids, "score": score, "outlet": outlet, "has_outlet": has_outlet, "risky": risky}


def library(d: dict, top: int) -> pa.Table:
    rows, _ = select_top(d["ids"], d["score"], d["has_outlet"], d["risky"], top)
    chosen = pa.table(
        {
            "outlet": d["outlet"][rows],
            "rank": np.arange(1, len(rows) + 1),
            "customer_id": d["ids"].take(pa.array(rows)),
            "score": d["score"][rows],
        }
    )
    chosen = chosen.take(pc.sort_indices(chosen, [("outlet", "ascending"), ("rank", "ascending")]))
    outlet = chosen.column("outlet").to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(outlet)) + 1]
    rank_in_outlet = np.arange(len(outlet)) - np.repeat(starts, np.diff(np.r_[starts, len(outlet)])) + 1
    return chosen.append_column("rank_in_outlet", pa.array(rank_in_outlet))


def baseline(d: dict, top: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": d["ids"].to_pandas(),
            "score": d["score"],
            "outlet": np.where(d["has_outlet"], d["outlet"], -1),
        }
    )
    risky = set(d["risky"].to_pylist())
    frame = frame[~frame["customer_id"].isin(risky) & (frame["outlet"] >= 0)]
    frame = frame.sort_values(["score", "customer_id"], ascending=[False, True]).head(top)
    frame = frame.sort_values(["outlet", "score", "customer_id"], ascending=[True, False, True])
    frame["rank_in_outlet"] = frame.groupby("outlet").cumcount() + 1
    return frame


def run(n: int, top: int) -> dict[str, float]:
    d = inputs(n)
    gc.collect()
    base_rss = psutil.Process().memory_info().rss
    library(d, top)  # warm
    with measure(0.02) as lib:
        got = library(d, top)
    gc.collect()
    with measure(0.02) as pdm:
        want = baseline(d, top)
    same = set(got.column("customer_id").to_pylist()) == set(want["customer_id"])
    if not same or got.num_rows != len(want):
        raise SystemExit(f"library and pandas chose different customers at {n:,} rows")
    return {
        "rows": n,
        "library_s": lib.seconds,
        "pandas_s": pdm.seconds,
        "library_peak_extra_gb": max(0, lib.peak_rss_bytes - base_rss) / 1e9,
        "pandas_peak_extra_gb": max(0, pdm.peak_rss_bytes - base_rss) / 1e9,
        "inputs_gb": (base_rss) / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000_000, 4_000_000])
    parser.add_argument("--top", type=int, default=200_000)
    args = parser.parse_args()
    results = [run(n, args.top) for n in args.sizes]
    for r in results:
        print(
            f"{r['rows']:>11,} rows, top {args.top:,}: library {r['library_s']:.3f} s "
            f"(+{r['library_peak_extra_gb']:.2f} GB peak), pandas {r['pandas_s']:.3f} s "
            f"(+{r['pandas_peak_extra_gb']:.2f} GB); ratio {r['pandas_s'] / r['library_s']:.1f}x; "
            f"process RSS with inputs {r['inputs_gb']:.2f} GB"
        )
    (a, b), target = results, 16_000_000

    def extrapolate(key: str) -> float:
        slope = (b[key] - a[key]) / (b["rows"] - a["rows"])
        return b[key] + slope * (target - b["rows"])

    total = psutil.virtual_memory().total / 1e9
    print(
        f"16M extrapolated: library {extrapolate('library_s'):.2f} s, +{extrapolate('library_peak_extra_gb'):.2f} GB "
        f"(inputs ~{extrapolate('inputs_gb'):.2f} GB); pandas {extrapolate('pandas_s'):.2f} s, "
        f"+{extrapolate('pandas_peak_extra_gb'):.2f} GB; machine memory {total:.1f} GB"
    )


if __name__ == "__main__":
    main()
