"""WGS-84 / GCJ-02 / BD-09 conversions: the published offset near a known point, and exact round trips."""

from __future__ import annotations

import numpy as np
import pytest

from youshu.geo.coords import (
    CoordSystem,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    in_china_box,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

TIANANMEN = (39.9087, 116.3975)  # WGS-84


def test_gcj02_offset_in_beijing_matches_the_published_magnitude() -> None:
    lat, lon = wgs84_to_gcj02(*TIANANMEN)
    offset = float(haversine_m(*TIANANMEN, lat, lon))
    assert 100 < offset < 700
    # GCJ-02 moves Beijing points north-east by roughly 0.0014 degrees latitude and 0.0062 longitude.
    assert float(lat) - TIANANMEN[0] == pytest.approx(0.0014, abs=0.0003)
    assert float(lon) - TIANANMEN[1] == pytest.approx(0.0062, abs=0.0003)


def test_gcj02_round_trip_is_below_half_a_metre() -> None:
    lat, lon = gcj02_to_wgs84(*wgs84_to_gcj02(*TIANANMEN))
    assert float(haversine_m(*TIANANMEN, lat, lon)) < 0.5


def test_bd09_round_trips_through_wgs84_and_gcj02() -> None:
    lat, lon = bd09_to_wgs84(*wgs84_to_bd09(*TIANANMEN))
    assert float(haversine_m(*TIANANMEN, lat, lon)) < 0.5
    glat, glon = wgs84_to_gcj02(*TIANANMEN)
    back = bd09_to_gcj02(*gcj02_to_bd09(glat, glon))
    assert float(haversine_m(glat, glon, *back)) < 0.01
    # Baidu's offset on top of GCJ-02 is several hundred metres too.
    blat, blon = gcj02_to_bd09(glat, glon)
    assert 500 < float(haversine_m(glat, glon, blat, blon)) < 1500


def test_conversions_are_vectorised_over_a_province() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(18.5, 53.5, 10_000)
    lon = rng.uniform(74.0, 134.0, 10_000)
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        fl, fo = forward(lat, lon)
        assert fl.shape == lat.shape
        rl, ro = inverse(fl, fo)
        assert np.max(np.abs(rl - lat)) < 1e-7 and np.max(np.abs(ro - lon)) < 1e-7
        assert float(np.max(haversine_m(lat, lon, rl, ro))) < 0.5


def test_points_outside_china_get_no_gcj_offset() -> None:
    paris = (48.8566, 2.3522)
    assert not in_china_box(*paris)
    lat, lon = wgs84_to_gcj02(*paris)
    assert (float(lat), float(lon)) == paris
    assert tuple(float(v) for v in gcj02_to_wgs84(*paris)) == paris


def test_missing_coordinates_pass_through_as_nan() -> None:
    lat, lon = gcj02_to_wgs84([np.nan, 30.0], [114.0, np.nan])
    assert np.isnan(lat[0]) and np.isnan(lon[1])
    assert lat[1] == 30.0  # no offset without a longitude


@pytest.mark.parametrize("system", list(CoordSystem))
def test_to_wgs84_dispatches_on_the_source_system(system: CoordSystem) -> None:
    source = {
        CoordSystem.WGS84: TIANANMEN,
        CoordSystem.GCJ02: wgs84_to_gcj02(*TIANANMEN),
        CoordSystem.BD09: wgs84_to_bd09(*TIANANMEN),
    }[system]
    lat, lon = to_wgs84(*source, system.value)
    assert float(haversine_m(*TIANANMEN, lat, lon)) < 0.5


def test_an_unknown_system_is_rejected() -> None:
    with pytest.raises(ValueError, match="mars"):
        to_wgs84(30.0, 114.0, "mars")
