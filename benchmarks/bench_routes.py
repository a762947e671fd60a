"""Benchmark: total route length of the visit planner (PyVRP, time-limited) against plain nearest neighbour.

Each scenario is one outlet's circle (3 km) with prospects and low-activity merchants scattered over a town
centre and a few villages, split into balanced zones for a team (``youshu.geo.zones``); every zone is routed
day by day (at most ``--stops-per-day`` visits, starting and ending at the outlet) by ``plan_routes`` and by
``nearest_neighbour_routes`` in the same run. Lengths are geodesic metres.

    .venv/bin/python -m benchmarks.bench_routes
    .venv/bin/python -m benchmarks.bench_routes --circles 10 --stops 200 --team 4 --time-limit 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyproj

from youshu.geo.routes import nearest_neighbour_routes, plan_routes
from youshu.geo.zones import balanced_zones


def _circle(rng: np.random.Generator, n: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """An outlet and ``n`` stops within 3 km: 60 % in the town around it, the rest in 2-4 villages."""
    geod = pyproj.Geod(ellps="WGS84")
    lat0, lon0 = rng.uniform(26, 32), rng.uniform(102, 109)
    villages = rng.integers(2, 5)
    centres_az, centres_d = rng.uniform(0, 360, villages), rng.uniform(1200, 2600, villages)
    town = int(n * 0.6)
    which = np.r_[np.full(town, -1), rng.integers(0, villages, n - town)]
    az = rng.uniform(0, 360, n)
    dist = np.where(which < 0, 800 * np.sqrt(rng.uniform(0, 1, n)), 300 * np.sqrt(rng.uniform(0, 1, n)))
    base_lon, base_lat, _ = geod.fwd(
        np.full(n, lon0),
        np.full(n, lat0),
        np.where(which < 0, 0.0, centres_az[which]),
        np.where(which < 0, 0.0, centres_d[which]),
    )
    lon, lat, _ = geod.fwd(base_lon, base_lat, az, dist)
    return lat0, lon0, np.asarray(lat), np.asarray(lon)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circles", type=int, default=5)
    parser.add_argument("--stops", type=int, default=120, help="stops per circle")
    parser.add_argument("--team", type=int, default=3)
    parser.add_argument("--stops-per-day", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=2.0, help="PyVRP seconds per zone")
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    total_plan = total_nn = 0
    solve_s = 0.0
    print(
        f"routes: {args.circles} circles x {args.stops} stops, team {args.team}, "
        f"{args.stops_per_day} stops a day, PyVRP limit {args.time_limit:g} s per zone"
    )
    print(
        f"  {'circle':>6} {'zone':>4} {'stops':>5} {'days':>4} {'planner km':>10} {'NN km':>8} {'shorter':>8}"
    )
    for c in range(args.circles):
        lat0, lon0, lat, lon = _circle(rng, args.stops)
        zones = balanced_zones(lat, lon, args.team, seed=c)
        for z in range(args.team):
            sel = zones.labels == z
            t0 = time.perf_counter()
            plan = plan_routes(
                lat0,
                lon0,
                lat[sel],
                lon[sel],
                stops_per_day=args.stops_per_day,
                time_limit_s=args.time_limit,
                seed=c,
            )
            solve_s += time.perf_counter() - t0
            nn = nearest_neighbour_routes(lat0, lon0, lat[sel], lon[sel], stops_per_day=args.stops_per_day)
            total_plan += plan.distance_m
            total_nn += nn.distance_m
            print(
                f"  {c + 1:>6} {z + 1:>4} {int(sel.sum()):>5} {plan.days:>4} {plan.distance_m / 1000:>10.1f} "
                f"{nn.distance_m / 1000:>8.1f} {1 - plan.distance_m / nn.distance_m:>8.1%}"
            )
    print(f"  total planner   {total_plan / 1000:10.1f} km  ({solve_s:.1f} s of solving)")
    print(f"  total NN        {total_nn / 1000:10.1f} km  (plain nearest-neighbour tours, same days)")
    print(f"  planner routes are {1 - total_plan / total_nn:.1%} shorter than nearest neighbour")


if __name__ == "__main__":
    main()
