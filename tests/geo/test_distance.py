"""Geodesic distances and the radius join: exact against pyproj's geodesic, nothing missed at the boundary."""

from __future__ import annotations

import numpy as np
import pytest

from youshu.errors import YoushuError
from youshu.geo.distance import circle_polygon, geodesic_m, local_metres, nearest, pairs_within

from .conftest import GEOD, offset


def _brute_pairs(c_lat, c_lon, p_lat, p_lon, radius_m):  # type: ignore[no-untyped-def]
    ci, pi = np.meshgrid(np.arange(len(c_lat)), np.arange(len(p_lat)), indexing="ij")
    ci, pi = ci.ravel(), pi.ravel()
    _, _, d = GEOD.inv(c_lon[ci], c_lat[ci], p_lon[pi], p_lat[pi])
    keep = d <= radius_m
    return set(zip(ci[keep].tolist(), pi[keep].tolist(), strict=True)), d[keep]


def test_distances_agree_with_pyproj_geodesic_within_a_metre() -> None:
    rng = np.random.default_rng(3)
    lat1, lon1 = rng.uniform(18, 53, 2000), rng.uniform(74, 134, 2000)
    lat2, lon2 = lat1 + rng.normal(0, 0.05, 2000), lon1 + rng.normal(0, 0.05, 2000)
    _, _, expected = GEOD.inv(lon1, lat1, lon2, lat2)
    assert np.max(np.abs(geodesic_m(lat1, lon1, lat2, lon2) - expected)) < 1.0


def test_radius_join_finds_exactly_the_brute_force_pairs() -> None:
    rng = np.random.default_rng(5)
    c_lat, c_lon = rng.uniform(29.0, 29.4, 40), rng.uniform(104.0, 104.5, 40)
    p_lat, p_lon = rng.uniform(29.0, 29.4, 3000), rng.uniform(104.0, 104.5, 3000)
    pairs = pairs_within(c_lat, c_lon, p_lat, p_lon, 3000.0)
    expected, _ = _brute_pairs(c_lat, c_lon, p_lat, p_lon, 3000.0)
    got = set(zip(pairs.centre.tolist(), pairs.point.tolist(), strict=True))
    assert got == expected
    assert len(expected) > 500  # the sample really exercises the join
    _, _, d = GEOD.inv(c_lon[pairs.centre], c_lat[pairs.centre], p_lon[pairs.point], p_lat[pairs.point])
    assert np.max(np.abs(pairs.distance_m - d)) < 1.0
    key = pairs.centre * len(p_lat) + pairs.point
    assert np.all(np.diff(key) > 0)  # sorted by centre, then point


@pytest.mark.parametrize("lat", [0.5, 30.0, 52.0, 78.0])
def test_points_just_inside_and_outside_the_radius_are_told_apart(lat: float) -> None:
    radius = 3000.0
    azimuths = np.arange(0, 360, 15.0)
    inside = [offset(lat, 100.0, a, radius - 0.5) for a in azimuths]
    outside = [offset(lat, 100.0, a, radius + 0.5) for a in azimuths]
    pts = np.array(inside + outside)
    pairs = pairs_within([lat], [100.0], pts[:, 0], pts[:, 1], radius)
    assert sorted(pairs.point.tolist()) == list(range(len(inside)))


def test_many_overlapping_centres_are_all_found() -> None:
    # 30 outlets within a few hundred metres: every point is in all 30 circles.
    rng = np.random.default_rng(1)
    c_lat, c_lon = 30.0 + rng.normal(0, 0.001, 30), 104.0 + rng.normal(0, 0.001, 30)
    p_lat, p_lon = 30.0 + rng.normal(0, 0.001, 50), 104.0 + rng.normal(0, 0.001, 50)
    pairs = pairs_within(c_lat, c_lon, p_lat, p_lon, 3000.0)
    assert len(pairs) == 30 * 50


def test_the_join_works_across_the_antimeridian() -> None:
    c_lat, c_lon = np.array([-17.0]), np.array([179.99])
    p_lat, p_lon = np.array([-17.0, -17.0]), np.array([-179.99, -179.9])
    pairs = pairs_within(c_lat, c_lon, p_lat, p_lon, 3000.0)
    assert pairs.point.tolist() == [0]
    assert pairs.distance_m[0] == pytest.approx(2129.0, abs=5.0)


def test_nearest_matches_the_brute_force_geodesic_nearest() -> None:
    rng = np.random.default_rng(9)
    c_lat, c_lon = rng.uniform(25, 32, 300), rng.uniform(101, 110, 300)
    p_lat, p_lon = rng.uniform(25, 32, 500), rng.uniform(101, 110, 500)
    idx, dist = nearest(c_lat, c_lon, p_lat, p_lon, k=2)
    _, _, d = GEOD.inv(np.tile(c_lon, 500), np.tile(c_lat, 500), np.repeat(p_lon, 300), np.repeat(p_lat, 300))
    d = d.reshape(500, 300)
    assert np.array_equal(idx[:, 0], d.argmin(axis=1))
    assert np.allclose(dist[:, 0], d.min(axis=1), atol=1.0)
    assert np.all(dist[:, 1] >= dist[:, 0])


def test_circle_polygon_vertices_lie_on_the_radius() -> None:
    ring_lat, ring_lon = circle_polygon(30.0, 104.0, 3000.0, points=36)
    assert len(ring_lat) == 37 and ring_lat[0] == ring_lat[-1]
    assert np.allclose(geodesic_m(30.0, 104.0, ring_lat, ring_lon), 3000.0, atol=0.01)


def test_local_metres_keep_distances_from_the_centre() -> None:
    lat, lon = offset(30.0, 104.0, 60.0, 2500.0)
    xy = local_metres([lat], [lon], 30.0, 104.0)
    assert float(np.hypot(*xy[0])) == pytest.approx(2500.0, abs=0.01)


def test_bad_coordinates_are_reported_with_the_row() -> None:
    with pytest.raises(YoushuError, match=r"points: 1 location\(s\).*row 1.*lat=95"):
        pairs_within([30.0], [104.0], [30.0, 95.0], [104.0, 104.0], 3000.0)
    with pytest.raises(YoushuError, match="radius must be a positive"):
        pairs_within([30.0], [104.0], [30.0], [104.0], 0.0)
