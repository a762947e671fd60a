"""Conversion between WGS-84, GCJ-02 (国测局, "Mars" coordinates) and BD-09 (百度) latitude/longitude.

The warehouse stores WGS-84; bank exports and map APIs in China often give GCJ-02 (AMap, Tencent, WeChat) or
BD-09 (Baidu). The GCJ-02 offset is the widely published closed-form approximation of the official
obfuscation (Krasovsky-1940 ellipsoid, a = 6 378 245 m); it is accurate to about a metre, which is below the
precision of village-level home locations. Points outside China's rough bounding box get no offset, as the
published formula specifies. Every function takes and returns ``(lat, lon)`` in degrees, latitude first
like the warehouse columns, as float64 NumPy arrays (scalars and sequences are accepted); NaN passes through.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Float = NDArray[np.float64]

# Krasovsky-1940 ellipsoid used by the GCJ-02 formula: semi-major axis (m) and first eccentricity squared.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 rotates and scales GCJ-02 by these published constants.
_BD_PI = np.pi * 3000.0 / 180.0
_BD_DLON, _BD_DLAT = 0.0065, 0.006
# The rough box (degrees) inside which the published formula applies an offset at all.
_CHINA_LAT = (0.8293, 55.8271)
_CHINA_LON = (72.004, 137.8347)
#: Convergence threshold of the iterative inverses, in degrees (1e-7 degrees is about 1 cm).
TOLERANCE_DEG = 1e-7
_MAX_ITERATIONS = 50


class CoordSystem(StrEnum):
    """Coordinate systems a source file may use; all are converted to WGS-84 at import."""

    WGS84 = "wgs84"  # GPS, international maps, the warehouse convention
    GCJ02 = "gcj02"  # 国测局坐标: AMap (高德), Tencent, WeChat
    BD09 = "bd09"  # 百度坐标: Baidu maps


def _arrays(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    la, lo = np.broadcast_arrays(la, lo)
    return la.astype(np.float64, copy=True), lo.astype(np.float64, copy=True)


def in_china_box(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie in the rough box where GCJ-02 applies an offset (False for NaN)."""
    la, lo = _arrays(lat, lon)
    return (la >= _CHINA_LAT[0]) & (la <= _CHINA_LAT[1]) & (lo >= _CHINA_LON[0]) & (lo <= _CHINA_LON[1])


def _offset_terms(x: Float, y: Float) -> tuple[Float, Float]:
    """The published polynomial-plus-sine offsets in 'metres-like' units, x = lon - 105, y = lat - 35."""
    two_thirds = 2.0 / 3.0
    pi = np.pi
    shared = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * two_thirds
    root = np.sqrt(np.abs(x))
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * root
        + shared
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * two_thirds
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * two_thirds
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * root
        + shared
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * two_thirds
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * two_thirds
    )
    return dlat, dlon


def _gcj_offset(lat: Float, lon: Float) -> tuple[Float, Float]:
    """Degrees to add to WGS-84 to get GCJ-02 (zero outside the China box)."""
    dlat, dlon = _offset_terms(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    # Convert the offsets from ellipsoid arc length to degrees at this latitude.
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = in_china_box(lat, lon)
    return np.where(inside, dlat, 0.0), np.where(inside, dlon, 0.0)


def wgs84_to_gcj02(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert WGS-84 to GCJ-02 with the published offset formula.

    Parameters
    ----------
    lat, lon : array_like
        WGS-84 degrees.

    Returns
    -------
    (lat, lon) : tuple of ndarray
        GCJ-02 degrees; unchanged outside China's rough bounding box.

    Examples
    --------
    >>> lat, lon = wgs84_to_gcj02(39.9087, 116.3975)
    >>> bool(0.0005 < lat - 39.9087 < 0.003)
    True
    """
    la, lo = _arrays(lat, lon)
    dlat, dlon = _gcj_offset(la, lo)
    return la + dlat, lo + dlon


def gcj02_to_wgs84(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert GCJ-02 to WGS-84 by fixed-point iteration on the forward formula.

    Starting from the GCJ-02 point, each step corrects the estimate by the gap between its forward image and
    the target, until every point moves less than ``TOLERANCE_DEG`` (1e-7 degrees, about 1 cm).

    Parameters
    ----------
    lat, lon : array_like
        GCJ-02 degrees.

    Returns
    -------
    (lat, lon) : tuple of ndarray
        WGS-84 degrees.

    Examples
    --------
    >>> lat, lon = gcj02_to_wgs84(*wgs84_to_gcj02(39.9087, 116.3975))
    >>> round(float(lat), 6), round(float(lon), 6)
    (39.9087, 116.3975)
    """
    glat, glon = _arrays(lat, lon)
    wlat, wlon = glat.copy(), glon.copy()
    for _ in range(_MAX_ITERATIONS):
        flat, flon = wgs84_to_gcj02(wlat, wlon)
        step_lat, step_lon = glat - flat, glon - flon
        wlat += step_lat
        wlon += step_lon
        step = np.fmax(np.abs(step_lat), np.abs(step_lon))  # fmax ignores NaN points
        if not np.any(step >= TOLERANCE_DEG):
            break
    return wlat, wlon


def gcj02_to_bd09(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert GCJ-02 to BD-09 (Baidu) with Baidu's published rotation and scaling."""
    la, lo = _arrays(lat, lon)
    radius = np.sqrt(lo * lo + la * la) + 0.00002 * np.sin(la * _BD_PI)
    theta = np.arctan2(la, lo) + 0.000003 * np.cos(lo * _BD_PI)
    return radius * np.sin(theta) + _BD_DLAT, radius * np.cos(theta) + _BD_DLON


def bd09_to_gcj02(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert BD-09 (Baidu) to GCJ-02.

    The closed-form inverse is only approximate (about 1e-6 degrees), so it is refined by fixed-point
    iteration on the forward transform to ``TOLERANCE_DEG``.
    """
    blat, blon = _arrays(lat, lon)
    y, x = blat - _BD_DLAT, blon - _BD_DLON
    radius = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_PI)
    glat, glon = radius * np.sin(theta), radius * np.cos(theta)
    for _ in range(_MAX_ITERATIONS):
        flat, flon = gcj02_to_bd09(glat, glon)
        step_lat, step_lon = blat - flat, blon - flon
        glat += step_lat
        glon += step_lon
        if not np.any(np.fmax(np.abs(step_lat), np.abs(step_lon)) >= TOLERANCE_DEG):
            break
    return glat, glon


def bd09_to_wgs84(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert BD-09 (Baidu) to WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def wgs84_to_bd09(lat: ArrayLike, lon: ArrayLike) -> tuple[Float, Float]:
    """Convert WGS-84 to BD-09 (Baidu) (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def to_wgs84(lat: ArrayLike, lon: ArrayLike, source: CoordSystem | str) -> tuple[Float, Float]:
    """Convert points given in ``source`` coordinates to WGS-84.

    Parameters
    ----------
    lat, lon : array_like
        Degrees in the source system.
    source : CoordSystem or str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    (lat, lon) : tuple of ndarray
        WGS-84 degrees.

    Raises
    ------
    ValueError
        When ``source`` is not one of the three systems.
    """
    system = CoordSystem(source)
    if system is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lat, lon)
    if system is CoordSystem.BD09:
        return bd09_to_wgs84(lat, lon)
    return _arrays(lat, lon)


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Float:
    """Great-circle distance in metres on a sphere of radius 6 371 008.8 m (the mean Earth radius)."""
    p1, l1 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1))
    p2, l2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat2, lon2))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    result: Any = 2.0 * 6371008.8 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.asarray(result, dtype=np.float64)
