"""Benchmark: score 1M customers on Arrow record batches with a 200-tree model (target >= 1M rows/s per core).

A PropensityRanker with 200 trees is trained on 50 synthetic features (money, counts, shares, flags and two
text categories, with nulls, like the customer feature table); 1M rows are then scored batch by batch on one
core (``n_jobs=1``):

- ``lleaves``: the model compiled with LLVM (youshu.models.scoring.BatchScorer), encoding included;
- baseline ``lightgbm``: LightGBM's own ``predict`` on the same batches and encoding, one thread;
- ``encode only``: Arrow batches to the model's row blocks, no trees (the scorer's own encoding path);
- ``trees only``: the compiled model's ``predict`` on already encoded blocks (the floor of the compiled path).

The default tree size is that of every ranker youshu ships (``num_leaves=7``: youshu.models.training.RANKER,
the models step, benchmarks/eval_wealth.py). Measured on the 2-core dev machine (Xeon, 2 MB L2 per core, shared
with other jobs, load average 2.9-3.1), 1M rows, two runs: lleaves 1.07M rows per CPU-second (0.93 CPU-s;
0.97 s and 1.71 s wall), 6.0x LightGBM's predict (175k-181k); encode only 0.15 CPU-s, trees only 0.80 CPU-s.
Target met. With ``--leaves 31`` (deeper trees than youshu trains) the trees alone cap the compiled path at
~670k-740k rows per CPU-second (583k-635k end to end; see docs/models.md, "Scoring speed").

    .venv/bin/python -m benchmarks.bench_scoring
    .venv/bin/python -m benchmarks.bench_scoring --leaves 31            # deeper trees
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from youshu.models.encoding import row_blocks
from youshu.models.propensity import PropensityRanker
from youshu.models.scoring import BatchScorer

TARGET_ROWS_PER_SECOND = 1_000_000


def features(n: int, seed: int) -> tuple[pa.Table, np.ndarray]:
    """50 feature columns and a label driven by a few of them."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {"customer_id": pa.array([f"C{i:09d}" for i in range(n)])}
    logit = np.full(n, -3.0)
    for i in range(20):
        money = np.round(rng.lognormal(10 + i % 5, 1.5, n))
        columns[f"amount_{i}_fen"] = pa.array(money.astype(np.int64))
        logit += 0.15 * (np.log1p(money) - 10 - i % 5) * (i < 6)
    for i in range(15):
        counts = rng.poisson(3 + i, n)
        columns[f"count_{i}"] = pa.array(counts.astype(np.int64))
        logit += 0.05 * (counts - 3 - i) * (i < 4)
    for i in range(10):
        share = rng.beta(2, 5, n)
        columns[f"share_{i}"] = pa.array(np.where(rng.random(n) < 0.1, np.nan, share), from_pandas=True)
    for i in range(3):
        columns[f"flag_{i}"] = pa.array(rng.random(n) < 0.3)
    columns["occupation"] = pa.array(
        rng.choice(["farmer", "worker", "retiree", "merchant_owner", "other"], n)
    )
    columns["age_band"] = pa.array(rng.choice(["under_25", "25_34", "35_44", "45_54", "55_64", "65_plus"], n))
    logit += 0.4 * (columns["occupation"].to_numpy(zero_copy_only=False) == "retiree")
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pa.table(columns), labels


def run(scorer: BatchScorer, batches: list[pa.RecordBatch]) -> tuple[float, float, np.ndarray]:
    """Wall and CPU seconds (CPU: what one core spent, unaffected by other processes queueing) and scores."""
    t0, c0 = time.perf_counter(), time.process_time()
    scores = [next(iter(scorer.score_batches([b]))).column(1).to_numpy() for b in batches]
    return time.perf_counter() - t0, time.process_time() - c0, np.concatenate(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--leaves", type=int, default=7, help="leaves per tree (youshu's rankers use 7)")
    parser.add_argument("--batch", type=int, default=65_536, help="rows per Arrow record batch")
    args = parser.parse_args()

    train, labels = features(args.train_rows, seed=1)
    t0 = time.perf_counter()
    ranker = PropensityRanker(n_estimators=args.trees, num_leaves=args.leaves, n_jobs=2).fit(train, labels)
    trained = time.perf_counter() - t0
    table, _ = features(args.rows, seed=2)
    batches = table.to_batches(max_chunksize=args.batch)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        compiled = BatchScorer(ranker, cache_dir=Path(cache), check=train.slice(0, 2000), n_jobs=1)
        compile_s = time.perf_counter() - t0
        lightgbm = BatchScorer(ranker, compile=False, n_jobs=1)
        encoder = ranker.encoder_
        c0 = time.process_time()
        for batch in batches:
            for _ in row_blocks(encoder.encode_columns(batch), batch.num_rows):
                pass
        encode_cpu = time.process_time() - c0
        blocks = [
            block.copy()
            for batch in batches
            for _, _, block in row_blocks(encoder.encode_columns(batch), batch.num_rows)
        ]
        c0 = time.process_time()
        for block in blocks:
            compiled.score_matrix(block)
        trees_cpu = time.process_time() - c0
        del blocks
        lleaves_s, lleaves_cpu, fast = run(compiled, batches)
        lightgbm_s, lightgbm_cpu, slow = run(lightgbm, batches)
    assert compiled.backend == "lleaves", f"compiled scorer fell back to {compiled.backend}"
    worst = float(np.max(np.abs(fast - slow)))
    n = args.rows
    print(
        f"scoring {n:,} rows x {len(ranker.feature_names_in_)} features, {ranker.best_iteration_} trees of "
        f"<= {args.leaves} leaves, Arrow batches of {args.batch:,}, one core"
    )
    print(
        f"  trained in {trained:.1f} s on {args.train_rows:,} rows; compiled with lleaves in {compile_s:.1f} s"
    )
    print("                 wall s   CPU s    rows per CPU-second")
    print(f"  lleaves       {lleaves_s:7.2f} {lleaves_cpu:7.2f}   {n / lleaves_cpu:>12,.0f}")
    print(
        f"  lightgbm      {lightgbm_s:7.2f} {lightgbm_cpu:7.2f}   {n / lightgbm_cpu:>12,.0f}  (baseline: Booster.predict)"
    )
    print(
        f"  encode only           {encode_cpu:7.2f}   {n / encode_cpu:>12,.0f}  (Arrow -> matrix, no trees)"
    )
    print(
        f"  trees only            {trees_cpu:7.2f}   {n / trees_cpu:>12,.0f}  (lleaves predict, encoded blocks)"
    )
    ratio = lightgbm_cpu / lleaves_cpu
    print(f"  ratio         {ratio:7.1f} x  faster than the baseline (CPU); max |difference| {worst:.1e}")
    verdict = "PASS" if n / lleaves_cpu >= TARGET_ROWS_PER_SECOND else "FAIL"
    print(f"  target        >= {TARGET_ROWS_PER_SECOND:,} rows per CPU-second (one core): {verdict}")


if __name__ == "__main__":
    main()
