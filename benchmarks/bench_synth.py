"""Benchmark: generate a synthetic province (default 1M customers) — time and peak RSS against the targets.

Targets (issue 2): 1M customers <= 120 s and <= 4 GB peak RSS on the 2-core reference machine.
Baseline measured in the same run: a plain pyarrow read + rewrite of the generated transactions table, i.e.
the I/O floor for that many rows; the ratio says how much generation costs on top of writing its output.

    .venv/bin/python -m benchmarks.bench_synth                     # 1M customers
    .venv/bin/python -m benchmarks.bench_synth --customers 4000000 # report and extrapolate to 16M
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from benchmarks._measure import measure, timed
from youshu.synth import generate

TARGET_SECONDS_PER_MILLION = 120.0
TARGET_RSS_GB = 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--keep", type=Path, help="keep the province here instead of a temp folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="youshu-bench-"))
    out = args.keep or root / "province"
    try:
        with measure() as m:
            result = generate(out, customers=args.customers, seed=args.seed, workers=args.workers)
        txn_rows = result.rows["transactions"]
        size_gb = sum(f.stat().st_size for f in out.rglob("*.parquet")) / 1e9

        def rewrite() -> None:
            # Streamed batch by batch, so the baseline's memory stays bounded at any province size.
            dataset = ds.dataset(out / "transactions", format="parquet")
            with pq.ParquetWriter(root / "copy.parquet", dataset.schema, compression="zstd") as writer:
                for batch in dataset.to_batches(batch_size=1_000_000):
                    writer.write_batch(batch)

        floor = timed(rewrite)
        millions = args.customers / 1e6
        print(f"synth {args.customers:,} customers on {result.workers} workers")
        print(f"  time            {m.seconds:8.1f} s   ({m.seconds / millions:.1f} s per million customers)")
        print(f"  peak RSS        {m.peak_rss_gb:8.2f} GB  (process tree, workers included)")
        print(f"  rows            {sum(result.rows.values()):,} in all, {txn_rows:,} transactions")
        print(f"  on disk         {size_gb:8.2f} GB Parquet (zstd)")
        print(f"  baseline        {floor:8.1f} s   plain read+rewrite of the transactions table (I/O floor)")
        print(f"  ratio           {m.seconds / floor:8.2f} x   generation time / I/O floor")
        if args.customers != 1_000_000:
            print(
                f"  extrapolated    {m.seconds / millions * 16:8.1f} s for 16M customers (linear in chunks; "
                f"peak RSS stays per-worker, about {m.peak_rss_gb:.1f} GB)"
            )
        if args.customers == 1_000_000:
            ok_t = m.seconds <= TARGET_SECONDS_PER_MILLION
            ok_m = m.peak_rss_gb <= TARGET_RSS_GB
            print(
                f"  target          <= {TARGET_SECONDS_PER_MILLION:.0f} s: {'PASS' if ok_t else 'FAIL'}; "
                f"<= {TARGET_RSS_GB:.0f} GB: {'PASS' if ok_m else 'FAIL'}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
