"""Benchmark: a 5-tag audience query over 16M customers on roaring bitmaps (target <= 50 ms, issue 3).

Baseline measured in the same run: the same boolean expression over NumPy boolean arrays (one byte per
customer per tag, vectorised), i.e. what a straightforward in-memory implementation does.

    .venv/bin/python -m benchmarks.bench_audience                 # 16M customers
    .venv/bin/python -m benchmarks.bench_audience --customers 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pyarrow as pa

from youshu.tags.audience import AudienceIndex

EXPRESSION = "is_female AND buys_wealth_elsewhere AND NOT is_dormant AND (has_payroll OR high_potential)"
TARGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=16_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    n = args.customers
    rng = np.random.default_rng(1)
    # Realistic densities, with clustering (tags correlate with customer order, as with outlet-sorted ids).
    drift = np.repeat(rng.random(n // 1000 + 1), 1000)[:n]
    columns = {
        "is_female": rng.random(n) < 0.5,
        "buys_wealth_elsewhere": rng.random(n) < 0.1 + 0.2 * drift,
        "is_dormant": rng.random(n) < 0.12,
        "has_payroll": rng.random(n) < 0.25,
        "high_potential": rng.random(n) < 0.05 + 0.1 * drift,
    }
    ids = pa.array(np.arange(n, dtype=np.int64))
    t0 = time.perf_counter()
    index = AudienceIndex.from_wide(pa.table({"id": ids, **columns}), "id")
    build = time.perf_counter() - t0

    def timed(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
        runs = []
        result = 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = fn()
            runs.append(time.perf_counter() - t)
        return statistics.median(runs) * 1000, result

    bitmap_ms, count = timed(lambda: index.count(EXPRESSION))
    c = columns
    numpy_ms, expected = timed(
        lambda: int(
            np.count_nonzero(
                c["is_female"]
                & c["buys_wealth_elsewhere"]
                & ~c["is_dormant"]
                & (c["has_payroll"] | c["high_potential"])
            )
        )
    )
    assert count == expected, (count, expected)
    size_mb = sum(len(b.serialize()) for b in index.bitmaps.values()) / 1e6
    print(f"audience over {n:,} customers, 5 tags: {EXPRESSION}")
    print(f"  matches         {count:,}")
    print(
        f"  bitmaps         {bitmap_ms:8.1f} ms  (median of {args.repeat}); index built in {build:.1f} s, "
        f"{size_mb:.0f} MB serialized"
    )
    print(f"  baseline        {numpy_ms:8.1f} ms  NumPy boolean arrays, same expression")
    print(f"  ratio           {numpy_ms / bitmap_ms:8.2f} x  faster than the baseline")
    print(f"  target          <= {TARGET_MS:.0f} ms: {'PASS' if bitmap_ms <= TARGET_MS else 'FAIL'}")


if __name__ == "__main__":
    main()
