"""Benchmark: the circle join, 1M merchants x 10k outlets within 3 km by exact geodesic (target <= 2 s, issue 4).

Points are synthetic, uniform in the province-sized box of the synthetic province (25.5-32.5 N, 101.5-110 E,
about 780 x 840 km); ``--clustered`` puts them in towns instead (denser circles, many more pairs). The join is
``youshu.geo.distance.pairs_within``: KD-tree candidates on unit vectors, pyproj geodesic for each candidate,
sorted pairs; tree build included.

Baseline measured in the same run, on a 100k-merchant x 1k-outlet sample: a naive pandas cross join (every
pair materialised, in chunks of 10k merchants to bound memory), a vectorised haversine on every pair, the
exact geodesic for the pairs within 1 % of the radius, then the radius filter. Both must give the same pairs
on the sample.

    .venv/bin/python -m benchmarks.bench_circles
    .venv/bin/python -m benchmarks.bench_circles --merchants 200000 --outlets 5000 --clustered
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import pyproj

from benchmarks._measure import measure
from youshu.geo.distance import pairs_within

LAT, LON = (25.5, 32.5), (101.5, 110.0)
RADIUS_M = 3000.0
TARGET_S = 2.0
EARTH_RADIUS_M = 6371008.8


def _points(n: int, rng: np.random.Generator, towns: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if towns is None:
        return rng.uniform(*LAT, n), rng.uniform(*LON, n)
    pick = rng.integers(0, len(towns), n)
    spread = 2.0 / 111.2  # about 2 km around the town centre
    return towns[pick, 0] + rng.normal(0, spread, n), towns[pick, 1] + rng.normal(0, spread / 0.87, n)


def _naive(
    o_lat: np.ndarray, o_lon: np.ndarray, m_lat: np.ndarray, m_lon: np.ndarray
) -> set[tuple[int, int]]:
    """Pandas cross join of every (outlet, merchant) pair, haversine, exact geodesic near the radius."""
    geod = pyproj.Geod(ellps="WGS84")
    outlets = pd.DataFrame({"o": np.arange(len(o_lat)), "o_lat": o_lat, "o_lon": o_lon})
    found: set[tuple[int, int]] = set()
    chunk = 10_000
    for start in range(0, len(m_lat), chunk):
        merchants = pd.DataFrame(
            {
                "m": np.arange(start, min(start + chunk, len(m_lat))),
                "m_lat": m_lat[start : start + chunk],
                "m_lon": m_lon[start : start + chunk],
            }
        )
        x = outlets.merge(merchants, how="cross")
        p1, p2 = np.radians(x["o_lat"]), np.radians(x["m_lat"])
        dlon = np.radians(x["m_lon"] - x["o_lon"])
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
        x["haversine_m"] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))
        near = x[x["haversine_m"] <= RADIUS_M * 1.01].copy()
        _, _, near["distance_m"] = geod.inv(
            near["o_lon"].to_numpy(),
            near["o_lat"].to_numpy(),
            near["m_lon"].to_numpy(),
            near["m_lat"].to_numpy(),
        )
        inside = near[near["distance_m"] <= RADIUS_M]
        found.update(zip(inside["o"].tolist(), inside["m"].tolist(), strict=True))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=1_000_000)
    parser.add_argument("--outlets", type=int, default=10_000)
    parser.add_argument("--clustered", action="store_true", help="points in 2,000 towns instead of uniform")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-merchants", type=int, default=100_000)
    parser.add_argument("--sample-outlets", type=int, default=1_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    towns = np.c_[rng.uniform(*LAT, 2000), rng.uniform(*LON, 2000)] if args.clustered else None
    m_lat, m_lon = _points(args.merchants, rng, towns)
    o_lat, o_lon = _points(args.outlets, rng, towns)

    runs = []
    pairs = None
    for _ in range(args.repeat):
        with measure() as m:
            pairs = pairs_within(o_lat, o_lon, m_lat, m_lon, RADIUS_M)
        runs.append(m)
    assert pairs is not None
    best = min(r.seconds for r in runs)
    med = statistics.median(r.seconds for r in runs)
    peak = max(r.peak_rss_gb for r in runs)

    sm, so = args.sample_merchants, args.sample_outlets
    t0 = time.perf_counter()
    sample = pairs_within(o_lat[:so], o_lon[:so], m_lat[:sm], m_lon[:sm], RADIUS_M)
    ours_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    expected = _naive(o_lat[:so], o_lon[:so], m_lat[:sm], m_lon[:sm])
    naive = time.perf_counter() - t0
    got = set(zip(sample.centre.tolist(), sample.point.tolist(), strict=True))
    assert got == expected, f"{len(got ^ expected)} pairs differ between the join and the naive cross join"

    layout = "clustered in 2,000 towns" if args.clustered else "uniform"
    print(f"circle join: {args.merchants:,} merchants x {args.outlets:,} outlets, radius 3 km, {layout}")
    print(f"  pairs found     {len(pairs):,} (merchants in a circle: {len(np.unique(pairs.point)):,})")
    print(
        f"  join            {best:8.2f} s best, {med:.2f} s median of {args.repeat}; peak RSS {peak:.1f} GB"
    )
    print(f"  sample          {sm:,} x {so:,}: {len(got):,} pairs, identical to the naive cross join")
    print(f"    ours          {ours_sample:8.3f} s")
    print(f"    naive pandas  {naive:8.3f} s  (cross join of {sm * so:,} pairs, haversine, geodesic near R)")
    print(f"    ratio         {naive / ours_sample:8.1f} x  faster than the baseline")
    print(
        f"  target          <= {TARGET_S:.0f} s for the full join: {'PASS' if best <= TARGET_S else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
