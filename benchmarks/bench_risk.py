"""Benchmark: risky-account features on 10M transactions (target <= 60 s) and transfer-graph features on 40M
edges (target: peak RSS within 16 GB), each against a straightforward baseline measured in the same run.

- Account features: ``youshu.features.risk`` on DuckDB over a synthetic province; the baseline is the same
  core aggregates (1/7/30-day counts, amounts, fan-in/out, night and round shares) written in pandas over
  the same lookback rows, checked equal.
- Graph features: ``youshu.features.graph`` (scipy.sparse, int32) on a generated transfer graph with local
  communities, hubs and planted short cycles; the baseline is ``graph_features_reference`` (networkx and
  Python loops) on a small graph, checked equal, with its time extrapolated per edge.

    .venv/bin/python -m benchmarks.bench_risk                          # both parts at full size
    .venv/bin/python -m benchmarks.bench_risk --part graph --edges 4000000
    .venv/bin/python -m benchmarks.bench_risk --part features --customers 100000
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._measure import measure
from youshu.engine import connect
from youshu.features.graph import TransferGraph, graph_features, graph_features_reference
from youshu.features.risk import LOOKBACK_DAYS, NIGHT_HOURS, ROUND_FEN, risk_features
from youshu.synth import generate

FEATURE_TARGET_S = 60.0
GRAPH_TARGET_GB = 16.0
AS_OF = date(2025, 12, 31)


# -- account features ---------------------------------------------------------------------------------------


def _pandas_features(warehouse: Path, as_of: date) -> pd.DataFrame:
    """The core windowed aggregates in plain pandas (the baseline)."""
    first = pd.Timestamp(as_of) - pd.Timedelta(days=LOOKBACK_DAYS - 1)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    cols = ["account_id", "txn_at", "direction", "amount_fen", "counterparty_id", "counterparty_account_id",
            "counterparty_category"]  # fmt: skip
    x = pd.read_parquet(
        warehouse / "transactions", columns=cols, filters=[("txn_at", ">=", first), ("txn_at", "<", end)]
    )
    x["night"] = x["txn_at"].dt.hour.isin(NIGHT_HOURS)
    x["round"] = (x["amount_fen"] >= ROUND_FEN) & (x["amount_fen"] % ROUND_FEN == 0)
    x["peer"] = x["counterparty_id"].notna() & (
        x["counterparty_category"].isin(["p2p", "other"]) | x["counterparty_account_id"].notna()
    )
    out = []
    for w in (1, 7, 30):
        y = x[x["txn_at"] >= pd.Timestamp(as_of) - pd.Timedelta(days=w - 1)]
        g = y.groupby("account_id")
        part = pd.DataFrame(
            {
                f"in_count_{w}d": g["direction"].apply(lambda s: (s == "in").sum()),
                f"in_amount_{w}d_fen": y[y["direction"] == "in"].groupby("account_id")["amount_fen"].sum(),
                f"out_amount_{w}d_fen": y[y["direction"] == "out"].groupby("account_id")["amount_fen"].sum(),
                f"fan_in_{w}d": y[(y["direction"] == "in") & y["peer"]]
                .groupby("account_id")["counterparty_id"]
                .nunique(),
                f"night_share_{w}d": g["night"].mean(),
                f"round_share_{w}d": g["round"].mean(),
            }
        )
        out.append(part)
    wide = pd.concat(out, axis=1)
    return wide.fillna({c: 0 for c in wide.columns if "share" not in c})


def bench_features(customers: int, keep: Path | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="youshu-bench-risk-"))
    warehouse = keep or root / "province"
    try:
        if not (warehouse / "transactions").exists():
            t0 = time.perf_counter()
            generate(warehouse, customers=customers, seed=20261129, workers=2)
            print(f"province of {customers:,} customers generated in {time.perf_counter() - t0:.1f} s")
        con = duckdb.connect()
        total, window = con.execute(
            f"select count(*), count(*) filter (where txn_at >= DATE '{AS_OF}' - INTERVAL {LOOKBACK_DAYS - 1} DAY) "
            f"from read_parquet('{warehouse}/transactions/*.parquet')"
        ).fetchone()  # type: ignore[misc]
        with connect("duckdb") as eng, measure() as m:
            table = eng.to_pyarrow(risk_features(eng, warehouse, AS_OF))
        with measure() as b:
            baseline = _pandas_features(warehouse, AS_OF)
        ours = table.to_pandas().set_index("account_id").loc[baseline.index]
        for column in baseline.columns:
            assert np.allclose(ours[column].astype(float), baseline[column].astype(float), equal_nan=True), (
                column
            )
        print(
            f"account features, as of {AS_OF}: {table.num_rows:,} accounts x {table.num_columns - 2} features"
        )
        print(f"  transactions    {total:,} in the table, {window:,} in the {LOOKBACK_DAYS}-day lookback")
        print(
            f"  youshu (DuckDB) {m.seconds:8.1f} s   peak RSS {m.peak_rss_gb:.2f} GB  (all {table.num_columns - 2} features)"
        )
        print(
            f"  baseline pandas {b.seconds:8.1f} s   peak RSS {b.peak_rss_gb:.2f} GB  ({len(baseline.columns)} core features, equal)"
        )
        print(
            f"  ratio           {b.seconds / m.seconds:8.2f} x  faster than the baseline, which computes a third of the features"
        )
        # The features read the lookback only, so it is the lookback that must hold 10M transactions.
        verdict = "PASS" if m.seconds <= FEATURE_TARGET_S and window >= 10_000_000 else "FAIL"
        print(
            f"  target          <= {FEATURE_TARGET_S:.0f} s for >= 10M transactions in the lookback: {verdict}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- graph features -----------------------------------------------------------------------------------------


def synthetic_edges(n_edges: int, seed: int = 0) -> pa.Table:
    """A transfer graph like a province's month: local communities, a few hubs, planted rings of 3-6."""
    rng = np.random.default_rng(seed)
    n_nodes = n_edges // 2
    local = int(n_edges * 0.8)
    src = rng.integers(0, n_nodes, n_edges, dtype=np.int64)
    dst = np.empty(n_edges, dtype=np.int64)
    dst[:local] = (src[:local] // 1000) * 1000 + rng.integers(0, 1000, local)  # same village of 1,000
    rest = n_edges - local
    hubs = rng.integers(0, n_nodes, 2000)
    to_hub = rng.random(rest) < 0.3
    dst[local:] = np.where(to_hub, hubs[rng.integers(0, len(hubs), rest)], rng.integers(0, n_nodes, rest))
    rings = max(1, n_edges // 2000)
    size = rng.integers(3, 7, rings)
    start = rng.integers(0, n_nodes - 10, rings)
    ring_src = np.concatenate([s + np.arange(k) for s, k in zip(start, size, strict=True)])
    ring_dst = np.concatenate([s + (np.arange(k) + 1) % k for s, k in zip(start, size, strict=True)])
    src = np.r_[src, ring_src]
    dst = np.r_[dst, ring_dst]
    ids = pa.array(src).cast(pa.string())
    return pa.table(
        {
            "src": pa.compute.binary_join_element_wise("A", ids, ""),
            "dst": pa.compute.binary_join_element_wise("A", pa.array(dst).cast(pa.string()), ""),
        }
    )


def bench_graph(n_edges: int, small_edges: int) -> None:
    edges = synthetic_edges(n_edges)
    gc.collect()
    with measure(interval=0.05) as m:
        t0 = time.perf_counter()
        graph = TransferGraph.from_edges(edges)
        build = time.perf_counter() - t0
        table = graph_features(graph)
    print(
        f"graph features: {graph.n:,} nodes, {len(graph.src):,} distinct edges ({edges.num_rows:,} generated)"
    )
    print(
        f"  youshu (scipy)  {m.seconds:8.1f} s   peak RSS {m.peak_rss_gb:.2f} GB  (numbering {build:.1f} s)"
    )
    print(
        f"  on cycles       {int((table['graph_shortest_cycle'].to_numpy() > 0).sum()):,} nodes on a cycle of <= 6"
    )
    del table, graph, edges
    gc.collect()
    small = synthetic_edges(small_edges, seed=1).to_pandas()
    t0 = time.perf_counter()
    fast = (
        graph_features(TransferGraph.from_edges(small))
        .to_pandas()
        .sort_values("node_id")
        .reset_index(drop=True)
    )
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = graph_features_reference(small).sort_values("node_id").reset_index(drop=True)
    reference = time.perf_counter() - t0
    for column in slow.columns:
        assert (fast[column].to_numpy() == slow[column].to_numpy()).all(), column
    print(
        f"  baseline        networkx reference on {small_edges:,} edges: {reference:.1f} s vs {ours:.2f} s (equal results)"
    )
    print(f"  ratio           {reference / ours:8.1f} x  faster at that size; the reference would need about "
          f"{reference / small_edges * n_edges / 3600:.1f} h for {n_edges:,} edges")  # fmt: skip
    verdict = "PASS" if m.peak_rss_gb <= GRAPH_TARGET_GB else "FAIL"
    print(f"  target          peak RSS <= {GRAPH_TARGET_GB:.0f} GB at {n_edges:,} edges: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["features", "graph", "both"], default="both")
    parser.add_argument(
        "--customers",
        type=int,
        default=600_000,
        help="province size (~18 transactions each in the 90-day lookback: 600k gives ~11M)",
    )
    parser.add_argument("--keep", type=Path, help="use or keep the province here")
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--small-edges", type=int, default=20_000)
    args = parser.parse_args()
    if args.part in ("features", "both"):
        bench_features(args.customers, args.keep)
    if args.part in ("graph", "both"):
        bench_graph(args.edges, args.small_edges)


if __name__ == "__main__":
    main()
