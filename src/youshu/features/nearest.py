"""Distance from each point to the nearest of a set of targets, as an Ibis expression both engines run.

A plain cross join of points and targets is exact but costs ``points × targets`` distance evaluations: fine
for a demo (hundreds of merchants × tens of outlets), not for a province (200k merchants × 5k outlets = 10⁹
pairs). Instead the search runs on grids of ``g``-degree cells, finest first, and stays exact:

1. Each target is copied into its own cell and the 8 around it, so an equi-join on the cell pairs every
   point with the targets of its 3 × 3 block of cells (a hash join on both engines, no range condition).
2. Any target outside the block is at least the *safe radius* away from the point,
   ``r = 2 R cos(|φ| + g) sin(g / 2)`` (φ the point's latitude, g in radians; the point lies in the middle
   cell, so the latitude or the longitude differs from any outside target's by at least g). A point whose
   nearest target in the block lies within ``r`` is settled: nothing outside can be nearer.
3. Points with no target in their block, or only farther ones, go to the next, coarser grid; whatever is
   left after the last grid is compared with every target (a cross join of the few remaining points), so
   the answer is exact whatever the data: the grids only decide how much work it takes.

With ``CELL_DEGREES = (0.05, 0.25)`` a merchant is settled on the first grid when an outlet lies within
about 4.8 km (at latitude 30°), on the second within about 24 km, and only merchants farther than that from
every outlet meet the cross join. At 200k merchants × 5k outlets (clustered in towns, 10 % of merchants
beyond 4.8 km) this evaluates a few million distances instead of 10⁹; a finer first grid leaves more
merchants for the second, a coarser one pairs each merchant with more outlets. Distances are great-circle metres on the mean-radius sphere (``haversine_m``), within 0.6 %
of the WGS-84 geodesic of ``youshu.geo.distance``. Assumes coordinates away from the poles and the
antimeridian (as everywhere in China).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from youshu.features.common import EARTH_RADIUS_M, haversine_m

__all__ = ["CELL_DEGREES", "nearest_distance_m", "safe_radius_m"]

#: Grid cell sizes in degrees, finest first (see the module docstring).
CELL_DEGREES: tuple[float, ...] = (0.05, 0.25)
#: The safe radius is shrunk by this factor so that rounding in cell assignment cannot break exactness.
_MARGIN = 0.999


def safe_radius_m(lat: ir.FloatingValue, cell_degrees: float) -> ir.FloatingValue:
    """Metres within which every target lies inside the 3 × 3 block of ``cell_degrees`` cells around a point.

    ``2 R cos(|lat| + g) sin(g / 2)`` with ``g`` the cell size in radians, shrunk by 0.1 % for rounding.
    """
    g = math.radians(cell_degrees)
    return _MARGIN * 2 * EARTH_RADIUS_M * math.sin(g / 2) * (lat.abs().radians() + g).cos()


def nearest_distance_m(
    points: ir.Table,
    key: str,
    targets: ir.Table,
    *,
    cell_degrees: Sequence[float] = CELL_DEGREES,
) -> ir.Table:
    """The great-circle distance in metres from each point to its nearest target.

    Parameters
    ----------
    points : ibis.Table
        ``key``, ``lat``, ``lon`` (WGS-84 degrees), unique on ``key``.
    key : str
        The points' key column.
    targets : ibis.Table
        ``lat``, ``lon`` of the targets (other columns are ignored).
    cell_degrees : sequence of float
        Grid cell sizes to search, finest first; an empty sequence means a plain cross join.

    Returns
    -------
    ibis.Table
        ``key, distance_m``: one row per point with coordinates when there is at least one target; points
        without coordinates, or every point when there is no target, are absent (null after a left join).

    Examples
    --------
    >>> m = t.merchants.select("merchant_id", "lat", "lon")  # doctest: +SKIP
    >>> near = nearest_distance_m(m, "merchant_id", t.outlets)  # doctest: +SKIP
    """
    if list(cell_degrees) != sorted(cell_degrees) or any(g <= 0 for g in cell_degrees):
        raise ValueError(f"cell sizes must be positive and increasing, got {list(cell_degrees)}")
    remaining = points.select(key, "lat", "lon").filter(lambda p: p.lat.notnull() & p.lon.notnull())
    spots = targets.select("lat", "lon").filter(lambda s: s.lat.notnull() & s.lon.notnull())
    settled: list[ir.Table] = []
    for g in cell_degrees:
        nearest = _nearest_in_block(remaining, key, spots, g)
        done = nearest.distance_m <= safe_radius_m(nearest.lat, g)
        settled.append(nearest.filter(done).select(key, "distance_m"))
        # Splitting one table rather than anti-joining the settled keys: the block search runs once less.
        remaining = nearest.filter(~done.fill_null(False)).select(key, "lat", "lon")
    p, s = remaining.view(), spots.view()
    rest = (
        p.cross_join(s)
        .select(p[key], d=haversine_m(p.lat, p.lon, s.lat, s.lon))
        .group_by(key)
        .aggregate(distance_m=ibis._.d.min())
    )
    return ibis.union(*settled, rest)


def _cells(table: ir.Table, g: float) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    return (table.lat / g).floor(), (table.lon / g).floor()


def _nearest_in_block(points: ir.Table, key: str, spots: ir.Table, g: float) -> ir.Table:
    """``key, lat, lon, distance_m`` per point: the nearest target in its 3 × 3 block of cells, or null."""
    row, col = _cells(spots, g)
    shifts = ibis.literal([-1, 0, 1], type="array<int64>")
    # One copy of each target per neighbouring cell: unnesting twice reads the targets once (a union of
    # nine shifted selects would scan them nine times on Spark).
    block = spots.select(t_lat=spots.lat, t_lon=spots.lon, row=row, col=col, dr=shifts.unnest())
    block = block.mutate(dc=shifts.unnest())
    block = block.select("t_lat", "t_lon", cell_row=block.row + block.dr, cell_col=block.col + block.dc)
    p_row, p_col = _cells(points, g)
    p = points.mutate(cell_row=p_row, cell_col=p_col).view()
    pairs = p.left_join(block, [p.cell_row == block.cell_row, p.cell_col == block.cell_col])
    pairs = pairs.select(p[key], p.lat, p.lon, d=haversine_m(p.lat, p.lon, block.t_lat, block.t_lon))
    return pairs.group_by(key).aggregate(
        lat=ibis._.lat.max(), lon=ibis._.lon.max(), distance_m=ibis._.d.min()
    )
