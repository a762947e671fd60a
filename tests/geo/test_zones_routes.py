"""Balanced zones (one per team member, ±10 % stops) and daily routes (PyVRP against nearest neighbour)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.cluster import KMeans

from youshu.errors import YoushuError
from youshu.geo.distance import local_metres
from youshu.geo.routes import distance_matrix, nearest_neighbour_routes, plan_routes
from youshu.geo.zones import balanced_zones, size_bounds

from .conftest import offset


def _skewed(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """150 stops: a dense market street (100), a village (35) and a few scattered shops (15)."""
    rng = np.random.default_rng(seed)
    parts = [(30.0, 104.0, 100, 0.003), (30.015, 104.02, 35, 0.002), (29.985, 103.98, 15, 0.006)]
    lat = np.concatenate([c_lat + rng.normal(0, s, n) for c_lat, _, n, s in parts])
    lon = np.concatenate([c_lon + rng.normal(0, s, n) for _, c_lon, n, s in parts])
    return lat, lon


def _within_ss(xy: np.ndarray, labels: np.ndarray) -> float:
    return float(
        sum(((xy[labels == z] - xy[labels == z].mean(axis=0)) ** 2).sum() for z in np.unique(labels))
    )


@pytest.mark.parametrize("team", [2, 3, 4, 7])
def test_zone_sizes_stay_within_ten_percent_of_an_equal_share(team: int) -> None:
    lat, lon = _skewed()
    zones = balanced_zones(lat, lon, team, tolerance=0.1, seed=1)
    share = len(lat) / team
    assert zones.sizes.sum() == len(lat)
    assert np.all(np.abs(zones.sizes - share) <= max(0.1 * share, 1.0))
    assert sorted(np.unique(zones.labels)) == list(range(team))


def test_zones_are_compact_and_plain_kmeans_would_be_unbalanced() -> None:
    lat, lon = _skewed()
    xy = local_metres(lat, lon, float(lat.mean()), float(lon.mean()))
    zones = balanced_zones(lat, lon, 3, seed=1)
    rng = np.random.default_rng(0)
    random_ss = np.mean([_within_ss(xy, rng.permutation(zones.labels)) for _ in range(20)])
    assert _within_ss(xy, zones.labels) < 0.5 * random_ss
    plain = np.bincount(KMeans(n_clusters=3, n_init=10, random_state=1).fit(xy).labels_)
    assert np.max(np.abs(plain - 50)) > 5  # the data needs the balancing step


def test_zones_are_deterministic_for_a_seed() -> None:
    lat, lon = _skewed(3)
    a, b = balanced_zones(lat, lon, 4, seed=5), balanced_zones(lat, lon, 4, seed=5)
    assert np.array_equal(a.labels, b.labels)


def test_size_bounds_and_errors() -> None:
    assert size_bounds(100, 4, 0.1) == (23, 27)
    assert size_bounds(5, 5, 0.1) == (1, 1)
    with pytest.raises(YoushuError, match="3 stops cannot fill 4 zones"):
        balanced_zones([30.0] * 3, [104.0] * 3, 4)
    single = balanced_zones([30.0, 30.01], [104.0, 104.01], 1)
    assert single.sizes.tolist() == [2]


def _stops(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pts = [
        offset(30.0, 104.0, a, d)
        for a, d in zip(rng.uniform(0, 360, n), 3000 * np.sqrt(rng.uniform(0, 1, n)), strict=True)
    ]
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


@pytest.mark.parametrize("n", [1, 7, 37])
def test_routes_visit_every_stop_once_within_the_daily_limit(n: int) -> None:
    lat, lon = _stops(n, seed=n)
    d = distance_matrix(30.0, 104.0, lat, lon)
    for plan in (
        plan_routes(30.0, 104.0, lat, lon, stops_per_day=8, time_limit_s=0.5, seed=1),
        nearest_neighbour_routes(30.0, 104.0, lat, lon, stops_per_day=8),
    ):
        visited = [s for r in plan.routes for s in r.stops]
        assert sorted(visited) == list(range(n)), plan.method
        assert all(1 <= len(r.stops) <= 8 for r in plan.routes)
        assert plan.days == math.ceil(n / 8)
        for r in plan.routes:  # each day starts and ends at the outlet
            path = [0, *(s + 1 for s in r.stops), 0]
            assert r.distance_m == sum(d[a, b] for a, b in itertools.pairwise(path))


def test_planner_is_never_longer_than_nearest_neighbour_and_usually_shorter() -> None:
    savings = []
    for seed in range(3):
        lat, lon = _stops(40, seed=100 + seed)
        plan = plan_routes(30.0, 104.0, lat, lon, stops_per_day=8, time_limit_s=0.5, seed=seed)
        baseline = nearest_neighbour_routes(30.0, 104.0, lat, lon, stops_per_day=8)
        assert plan.distance_m <= baseline.distance_m
        savings.append(1 - plan.distance_m / baseline.distance_m)
    assert np.mean(savings) > 0.05


def test_nearest_neighbour_follows_the_nearest_stop() -> None:
    # Stops due east at 1, 3, 2 km: the tour goes 1 km, 2 km, 3 km and back (6 km in all).
    pts = [offset(30.0, 104.0, 90, m) for m in (1000, 3000, 2000)]
    plan = nearest_neighbour_routes(30.0, 104.0, [p[0] for p in pts], [p[1] for p in pts], stops_per_day=5)
    assert plan.routes[0].stops == (0, 2, 1)
    assert plan.distance_m == pytest.approx(6000, abs=2)


def test_route_inputs_are_checked() -> None:
    with pytest.raises(YoushuError, match="stops per day must be at least 1"):
        plan_routes(30.0, 104.0, [30.01], [104.0], stops_per_day=0)
    with pytest.raises(YoushuError, match="no stops to route"):
        nearest_neighbour_routes(30.0, 104.0, [], [])
