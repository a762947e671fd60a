"""Geodesic distances on the WGS-84 ellipsoid and the spatial joins built on them (pairs within a radius, nearest).

Distances are pyproj's geodesics (Karney's algorithm on the WGS-84 ellipsoid, accurate to nanometres), never a
spherical or planar approximation. Candidate pairs are found first with a KD-tree on 3-D unit vectors (geodetic
latitude and longitude placed on the unit sphere): the chord between two unit vectors is a monotone function of
their spherical arc, and that arc differs from the ellipsoidal geodesic by less than 0.6 % (the ratio of the
mean Earth radius to the meridional and normal radii of curvature lies in [0.9955, 1.0057]), so a search
radius 1 % wider than the requested one finds every pair; the exact geodesic then decides.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from youshu.errors import YoushuError

Float = NDArray[np.float64]
Index = NDArray[np.int64]

#: Mean Earth radius (IUGG), metres: the sphere the candidate search works on.
EARTH_RADIUS_M = 6371008.8
#: How much wider the spherical candidate search is than the requested geodesic radius (see module docstring).
SEARCH_MARGIN = 0.01


@functools.cache
def _geod() -> pyproj.Geod:
    return pyproj.Geod(ellps="WGS84")


def geodesic_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Float:
    """Geodesic distance in metres between WGS-84 points (pyproj, Karney's algorithm), vectorised.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        Degrees; broadcast against each other.

    Returns
    -------
    ndarray of float64
        Metres; NaN where a coordinate is NaN.

    Examples
    --------
    >>> round(float(geodesic_m(39.9087, 116.3975, 31.2304, 121.4737)) / 1000)
    1067
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lat1, lon1, lat2, lon2)))
    la1, lo1, la2, lo2 = (np.ascontiguousarray(a, dtype=np.float64).ravel() for a in arrays)
    if la1.size == 0:
        return np.empty(arrays[0].shape, dtype=np.float64)
    _, _, dist = _geod().inv(lo1, la1, lo2, la2, return_back_azimuth=False)
    return np.asarray(dist, dtype=np.float64).reshape(arrays[0].shape)


def circle_polygon(lat: float, lon: float, radius_m: float, points: int = 72) -> tuple[Float, Float]:
    """The geodesic circle of ``radius_m`` around a point as a closed ring of ``points + 1`` vertices."""
    azimuths = np.linspace(0.0, 360.0, points, endpoint=False)
    lons, lats, _ = _geod().fwd(
        np.full(points, lon), np.full(points, lat), azimuths, np.full(points, float(radius_m))
    )
    ring_lat = np.r_[np.asarray(lats, dtype=np.float64), lats[0]]
    ring_lon = np.r_[np.asarray(lons, dtype=np.float64), lons[0]]
    return ring_lat, ring_lon


def check_coordinates(lat: Float, lon: Float, what: str, ids: ArrayLike | None = None) -> None:
    """Raise naming the first offending row when coordinates are missing or out of range.

    Raises
    ------
    YoushuError
        ``what`` (e.g. ``"merchants"``), the row (or id) and the value, when a latitude is outside
        [-90, 90], a longitude outside [-180, 180], or either is NaN or infinite.
    """
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        name = f"id {np.asarray(ids)[row]!s}" if ids is not None else f"row {row}"
        raise YoushuError(
            f"{what}: {int(bad.sum())} location(s) missing or out of range, first at {name}: "
            f"lat={float(lat[row])}, lon={float(lon[row])}; expected WGS-84 degrees (lat in [-90, 90], lon in "
            "[-180, 180]); convert GCJ-02/BD-09 with youshu.geo.coords.to_wgs84"
        )


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> Float:
    """Points on the unit sphere (n, 3) for geodetic degrees; the KD-tree space of the searches."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    out = np.empty((phi.size, 3), dtype=np.float64)
    cos_phi = np.cos(phi).ravel()
    out[:, 0] = cos_phi * np.cos(lam).ravel()
    out[:, 1] = cos_phi * np.sin(lam).ravel()
    out[:, 2] = np.sin(phi).ravel()
    return out


def _chord(radius_m: float) -> float:
    """Unit-sphere chord that bounds a geodesic radius from above (with ``SEARCH_MARGIN``, plus 1 m)."""
    arc = (radius_m * (1.0 + SEARCH_MARGIN) + 1.0) / EARTH_RADIUS_M
    return float(2.0 * np.sin(min(arc, np.pi) / 2.0))


@dataclass(frozen=True)
class Pairs:
    """Pairs of (centre, point) indices with their geodesic distance, sorted by centre then point.

    Attributes
    ----------
    centre : ndarray of int64
        Index into the centres (e.g. outlets).
    point : ndarray of int64
        Index into the points (e.g. merchants).
    distance_m : ndarray of float64
        Geodesic metres.
    """

    centre: Index
    point: Index
    distance_m: Float

    def __len__(self) -> int:
        return int(self.centre.size)


def _candidates(centres: Float, points: Float, chord: float) -> tuple[Index, Index]:
    """(point, centre) index pairs within ``chord`` on the unit sphere: a dual-tree search of two KD-trees.

    The points' tree is built unbalanced with large leaves (quick to build for a million points); the
    search walks both trees at once and returns the pairs as arrays, never as Python lists.
    """
    centre_tree = cKDTree(centres)
    point_tree = cKDTree(points, leafsize=64, balanced_tree=False, compact_nodes=False)
    found = centre_tree.sparse_distance_matrix(point_tree, chord, output_type="ndarray")
    return found["j"].astype(np.int64), found["i"].astype(np.int64)


def pairs_within(
    centre_lat: ArrayLike,
    centre_lon: ArrayLike,
    point_lat: ArrayLike,
    point_lon: ArrayLike,
    radius_m: float,
) -> Pairs:
    """Every (centre, point) pair whose geodesic distance is at most ``radius_m``.

    KD-trees on the unit vectors of centres and points find candidates within a slightly wider spherical
    chord (see the module docstring, so no pair is missed); pyproj's geodesic then measures each candidate
    exactly.

    Parameters
    ----------
    centre_lat, centre_lon : array_like
        WGS-84 degrees of the centres (outlets).
    point_lat, point_lon : array_like
        WGS-84 degrees of the points (merchants).
    radius_m : float
        Geodesic radius in metres (inclusive).

    Returns
    -------
    Pairs
        Sorted by centre, then point.

    Raises
    ------
    YoushuError
        When a coordinate is missing or out of range, or the radius is not positive.

    Examples
    --------
    >>> p = pairs_within([30.0], [104.0], [30.0, 30.0], [104.01, 104.1], 3000)
    >>> p.point.tolist(), round(float(p.distance_m[0]))
    ([0], 964)
    """
    c_lat, c_lon = (np.asarray(v, dtype=np.float64).ravel() for v in (centre_lat, centre_lon))
    p_lat, p_lon = (np.asarray(v, dtype=np.float64).ravel() for v in (point_lat, point_lon))
    if not radius_m > 0:
        raise YoushuError(f"radius must be a positive number of metres, got {radius_m!r}")
    check_coordinates(c_lat, c_lon, "centres")
    check_coordinates(p_lat, p_lon, "points")
    if c_lat.size == 0 or p_lat.size == 0:
        empty = np.empty(0, np.int64)
        return Pairs(empty, empty.copy(), np.empty(0, np.float64))
    point, centre = _candidates(unit_vectors(c_lat, c_lon), unit_vectors(p_lat, p_lon), _chord(radius_m))
    dist = geodesic_m(c_lat[centre], c_lon[centre], p_lat[point], p_lon[point])
    inside = dist <= radius_m
    centre, point, dist = centre[inside], point[inside], dist[inside]
    order = np.argsort(centre * np.int64(p_lat.size) + point, kind="stable")
    return Pairs(centre[order], point[order], dist[order])


def nearest(
    centre_lat: ArrayLike,
    centre_lon: ArrayLike,
    point_lat: ArrayLike,
    point_lon: ArrayLike,
    k: int = 1,
    *,
    shortlist: int = 4,
) -> tuple[Index, Float]:
    """The ``k`` centres nearest to each point by geodesic distance.

    The ``max(k, shortlist)`` nearest on the sphere are measured with the geodesic and re-ranked; the
    sphere's distortion (< 0.6 %) can only swap near-ties, which the shortlist absorbs.

    Returns
    -------
    (index, distance_m) : tuple of ndarray
        Shapes ``(n_points, k)``, nearest first; ``k`` is capped at the number of centres.
    """
    c_lat, c_lon = (np.asarray(v, dtype=np.float64).ravel() for v in (centre_lat, centre_lon))
    p_lat, p_lon = (np.asarray(v, dtype=np.float64).ravel() for v in (point_lat, point_lon))
    check_coordinates(c_lat, c_lon, "centres")
    check_coordinates(p_lat, p_lon, "points")
    if c_lat.size == 0:
        raise YoushuError("no centres (outlets) to measure distances to")
    k = min(k, c_lat.size)
    m = min(max(k, shortlist), c_lat.size)
    if p_lat.size == 0:
        return np.empty((0, k), np.int64), np.empty((0, k), np.float64)
    tree = cKDTree(unit_vectors(c_lat, c_lon))
    _, idx = tree.query(unit_vectors(p_lat, p_lon), k=m, workers=-1)
    idx = np.asarray(idx, dtype=np.int64).reshape(p_lat.size, m)
    dist = geodesic_m(np.repeat(p_lat, m), np.repeat(p_lon, m), c_lat[idx.ravel()], c_lon[idx.ravel()])
    dist = dist.reshape(p_lat.size, m)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(dist, order, axis=1)


def local_metres(lat: ArrayLike, lon: ArrayLike, lat0: float, lon0: float) -> Float:
    """Azimuthal-equidistant metres (x east, y north) around ``(lat0, lon0)``: distances from it are exact."""
    proj = pyproj.Transformer.from_crs(
        "EPSG:4326",
        pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m"),
        always_xy=True,
    )
    x, y = proj.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.c_[np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()]
