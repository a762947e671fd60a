"""Daily visit routes of one ground-team member: PyVRP under a time limit, and a nearest-neighbour baseline.

A member leaves the outlet (the depot), visits at most ``stops_per_day`` merchants and returns, day after day,
until every stop of the zone is visited. That is a capacitated vehicle-routing problem with one vehicle per
day (as many days as the stop limit requires); PyVRP (MIT licence) solves it under a wall-clock limit with a
fixed seed. Distances are geodesic metres between the points (there is no road network offline; a road
detour factor would scale every route alike and not change the plan). The baseline is the plain
nearest-neighbour tour: from the outlet always walk to the nearest unvisited stop, and go back once the day's
stops are made. When PyVRP finds no feasible plan, or a longer one, the baseline plan is returned and
``method`` says so.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from pyvrp import Model
from pyvrp.stop import MaxRuntime

from youshu.errors import YoushuError
from youshu.geo.distance import check_coordinates, geodesic_m

__all__ = ["DayRoute", "RoutePlan", "distance_matrix", "nearest_neighbour_routes", "plan_routes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayRoute:
    """One day's tour: stop indices in visiting order (into the stops given), and its length."""

    day: int
    stops: tuple[int, ...]
    distance_m: int


@dataclass(frozen=True)
class RoutePlan:
    """Daily tours covering every stop once; ``method`` is ``"pyvrp"`` or ``"nearest_neighbour"``."""

    routes: tuple[DayRoute, ...]
    method: str

    @property
    def distance_m(self) -> int:
        """Total length of all days' tours, metres."""
        return sum(r.distance_m for r in self.routes)

    @property
    def days(self) -> int:
        return len(self.routes)

    def stop_order(self) -> list[tuple[int, int, int]]:
        """``(stop, day, position)`` for every stop (day and position from 1)."""
        return [(s, r.day, i + 1) for r in self.routes for i, s in enumerate(r.stops)]


def distance_matrix(depot_lat: float, depot_lon: float, lat: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """Integer geodesic metres between the depot (index 0) and the stops (1..n), symmetric, zero diagonal."""
    la = np.r_[depot_lat, np.asarray(lat, dtype=np.float64).ravel()]
    lo = np.r_[depot_lon, np.asarray(lon, dtype=np.float64).ravel()]
    check_coordinates(la, lo, "route points")
    i, j = np.triu_indices(la.size, k=1)
    d = np.zeros((la.size, la.size), dtype=np.int64)
    d[i, j] = np.rint(geodesic_m(la[i], lo[i], la[j], lo[j])).astype(np.int64)
    return d + d.T


def _tour_length(d: np.ndarray, stops: list[int]) -> int:
    """Length of depot -> stops -> depot, with ``stops`` as matrix indices (1-based)."""
    path = [0, *stops, 0]
    return int(sum(d[a, b] for a, b in itertools.pairwise(path)))


def _check(n: int, stops_per_day: int) -> None:
    if stops_per_day < 1:
        raise YoushuError(f"stops per day must be at least 1, got {stops_per_day}")
    if n == 0:
        raise YoushuError("no stops to route")


def nearest_neighbour_routes(
    depot_lat: float, depot_lon: float, lat: ArrayLike, lon: ArrayLike, *, stops_per_day: int = 8
) -> RoutePlan:
    """The baseline: each day, from the outlet to the nearest unvisited stop until the day is full.

    Ties go to the lower stop index, so the plan is deterministic.
    """
    d = distance_matrix(depot_lat, depot_lon, lat, lon)
    n = d.shape[0] - 1
    _check(n, stops_per_day)
    left = np.ones(n + 1, dtype=bool)
    left[0] = False
    routes: list[DayRoute] = []
    while left.any():
        here, tour = 0, list[int]()
        while left.any() and len(tour) < stops_per_day:
            candidates = np.flatnonzero(left)
            here = int(candidates[np.argmin(d[here, candidates])])
            left[here] = False
            tour.append(here)
        routes.append(DayRoute(len(routes) + 1, tuple(s - 1 for s in tour), _tour_length(d, tour)))
    return RoutePlan(tuple(routes), "nearest_neighbour")


def plan_routes(
    depot_lat: float,
    depot_lon: float,
    lat: ArrayLike,
    lon: ArrayLike,
    *,
    stops_per_day: int = 8,
    time_limit_s: float = 5.0,
    seed: int = 0,
) -> RoutePlan:
    """Daily tours of minimum total length, found by PyVRP within ``time_limit_s`` seconds.

    Parameters
    ----------
    depot_lat, depot_lon : float
        The outlet, where every day starts and ends.
    lat, lon : array_like
        The stops.
    stops_per_day : int
        Visits a day at most; the plan uses the fewest days that allows, ``ceil(n / stops_per_day)``.
    time_limit_s : float
        PyVRP's wall-clock limit.
    seed : int
        PyVRP's seed (same seed and limit: same plan, up to timing).

    Returns
    -------
    RoutePlan
        Days ordered by their first stop's distance from the outlet; the nearest-neighbour plan instead
        (``method="nearest_neighbour"``) when PyVRP finds nothing feasible or nothing shorter.

    Examples
    --------
    >>> plan = plan_routes(30.0, 104.0, lat, lon, stops_per_day=8, time_limit_s=2)  # doctest: +SKIP
    >>> plan.days, plan.distance_m  # doctest: +SKIP
    """
    d = distance_matrix(depot_lat, depot_lon, lat, lon)
    n = d.shape[0] - 1
    _check(n, stops_per_day)
    baseline = nearest_neighbour_routes(depot_lat, depot_lon, lat, lon, stops_per_day=stops_per_day)
    if n == 1:
        return RoutePlan(baseline.routes, "pyvrp")
    model = Model()
    locations = [model.add_location(x=0.0, y=0.0)] + [model.add_location(x=0.0, y=0.0) for _ in range(n)]
    depot = model.add_depot(locations[0])
    for loc in locations[1:]:
        model.add_client(loc, delivery=[1])
    days = math.ceil(n / stops_per_day)
    model.add_vehicle_type(num_available=days, capacity=[stops_per_day], start_depot=depot, end_depot=depot)
    for a, frm in enumerate(locations):
        for b, to in enumerate(locations):
            model.add_edge(frm, to, distance=int(d[a, b]), duration=int(d[a, b]))
    result = model.solve(stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    if not result.is_feasible():
        log.warning("PyVRP found no feasible plan in %.1f s; using the nearest-neighbour plan", time_limit_s)
        return baseline
    tours = []
    for route in result.best.routes():
        stops = [a.idx + 1 for a in route.schedule() if a.is_client()]
        if stops:
            tours.append(stops)
    tours.sort(key=lambda t: (d[0, t[0]], t[0]))
    routes = tuple(DayRoute(i + 1, tuple(s - 1 for s in t), _tour_length(d, t)) for i, t in enumerate(tours))
    plan = RoutePlan(routes, "pyvrp")
    if plan.distance_m > baseline.distance_m:
        log.info(
            "PyVRP plan longer than nearest neighbour (%d > %d m); keeping the baseline",
            plan.distance_m,
            baseline.distance_m,
        )
        return baseline
    return plan
