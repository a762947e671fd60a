"""Balanced zones: split a circle's stops into one compact zone per ground-team member, sizes within ±10 %.

The algorithm is constrained k-means (Bradley, Bennett & Demiriz, 2000) with the assignment step solved
exactly as a min-cost assignment: k-means (scikit-learn) gives the starting centres in local metres; every
zone then offers ``upper`` slots, ``lower`` of them mandatory, and SciPy's ``linear_sum_assignment`` assigns
each stop to a slot minimising the summed squared distance to the zone centres (dummy stops fill unused
optional slots, at an infinite price for mandatory ones); centres move to their zone's mean and the two
steps repeat until the zones stop changing. ``lower``/``upper`` are the equal share ``n / zones`` minus/plus
the tolerance (10 %), widened to the nearest integers that make the split possible, so sizes never differ
from the equal share by more than the tolerance or one stop. The assignment costs O(n³) in the worst case:
meant for a circle's few hundred stops, not a province at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from youshu.errors import YoushuError
from youshu.geo.distance import check_coordinates, local_metres

__all__ = ["Zones", "balanced_zones", "size_bounds"]

#: Cost of leaving a mandatory slot to a dummy stop (squared metres; far above any real cost).
_FORBIDDEN = 1e18


@dataclass(frozen=True)
class Zones:
    """Zone of every stop (0-based), each zone's centre and size, and the size bounds used."""

    labels: np.ndarray
    centre_lat: np.ndarray
    centre_lon: np.ndarray
    sizes: np.ndarray
    lower: int
    upper: int
    iterations: int


def size_bounds(n: int, zones: int, tolerance: float) -> tuple[int, int]:
    """Smallest and largest zone size allowed: the equal share ± ``tolerance``, at least one stop of slack.

    Examples
    --------
    >>> size_bounds(100, 3, 0.1)
    (30, 36)
    >>> size_bounds(7, 3, 0.1)
    (2, 3)
    """
    share = n / zones
    lower = min(math.ceil(share * (1 - tolerance)), math.floor(share))
    upper = max(math.floor(share * (1 + tolerance)), math.ceil(share))
    return lower, upper


def _assign(points: np.ndarray, centres: np.ndarray, lower: int, upper: int) -> np.ndarray:
    """Labels minimising squared distance to ``centres`` with every zone size in [lower, upper]."""
    n, k = points.shape[0], centres.shape[0]
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)  # (n, k)
    slot_zone = np.repeat(np.arange(k), upper)
    mandatory = np.tile(np.arange(upper) < lower, k)
    cost = d2[:, slot_zone]
    dummies = slot_zone.size - n
    if dummies:
        dummy_cost = np.where(mandatory, _FORBIDDEN, 0.0)
        cost = np.vstack([cost, np.broadcast_to(dummy_cost, (dummies, slot_zone.size))])
    rows, cols = linear_sum_assignment(cost)
    labels = np.empty(n, dtype=np.int64)
    real = rows < n
    labels[rows[real]] = slot_zone[cols[real]]
    return labels


def balanced_zones(
    lat: ArrayLike,
    lon: ArrayLike,
    zones: int,
    *,
    tolerance: float = 0.1,
    seed: int = 0,
    max_iter: int = 20,
) -> Zones:
    """Split stops into ``zones`` compact zones whose sizes stay within ``tolerance`` of an equal share.

    Parameters
    ----------
    lat, lon : array_like
        WGS-84 degrees of the stops.
    zones : int
        Number of zones (ground-team members).
    tolerance : float
        Allowed relative deviation from ``n / zones`` (0.1: ±10 %), widened to one stop when the share is
        small.
    seed : int
        Seed of the k-means start (the result is deterministic for a seed).
    max_iter : int
        Assignment / centre-update rounds at most.

    Returns
    -------
    Zones

    Raises
    ------
    YoushuError
        When there are fewer stops than zones, or ``zones`` < 1.

    Examples
    --------
    >>> z = balanced_zones(lat, lon, 3)  # doctest: +SKIP
    >>> z.sizes  # doctest: +SKIP
    array([34, 33, 33])
    """
    la = np.asarray(lat, dtype=np.float64).ravel()
    lo = np.asarray(lon, dtype=np.float64).ravel()
    check_coordinates(la, lo, "stops")
    n = la.size
    if zones < 1:
        raise YoushuError(f"the number of zones (team members) must be at least 1, got {zones}")
    if n < zones:
        raise YoushuError(f"{n} stops cannot fill {zones} zones: use a smaller team or a wider circle")
    lower, upper = size_bounds(n, zones, tolerance)
    if zones == 1:
        return Zones(
            np.zeros(n, np.int64), la.mean(keepdims=True), lo.mean(keepdims=True), np.array([n]), n, n, 0
        )
    lat0, lon0 = float(la.mean()), float(lo.mean())
    xy = local_metres(la, lo, lat0, lon0)
    centres = KMeans(n_clusters=zones, n_init=10, random_state=seed).fit(xy).cluster_centers_
    labels = np.full(n, -1, dtype=np.int64)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        new = _assign(xy, centres, lower, upper)
        if np.array_equal(new, labels):
            break
        labels = new
        centres = np.vstack([xy[labels == z].mean(axis=0) for z in range(zones)])
    sizes = np.bincount(labels, minlength=zones)
    # Centres back to degrees: the mean of each zone's stops (close enough for a label on a map).
    c_lat = np.array([la[labels == z].mean() for z in range(zones)])
    c_lon = np.array([lo[labels == z].mean() for z in range(zones)])
    return Zones(labels, c_lat, c_lon, sizes, lower, upper, iterations)
