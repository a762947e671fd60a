"""Huff catchments: which outlet a customer at a place uses, calibrated from observed use, and trade areas.

The Huff model gives the probability that a customer at location i uses outlet j as::

    P_ij = A_j d_ij^-λ / Σ_k A_k d_ik^-λ

over the outlets k competing for that customer: the ``candidates`` nearest open outlets (default 6, the
``circles.huff_candidates`` setting), with geodesic distances in km floored at ``min_distance_km`` (default
0.3 km, so a customer next door to an outlet does not get an infinite pull). λ (distance decay) and the
attractiveness A_j of every outlet are estimated together by maximum likelihood from observed choices: each
customer's home outlet (归属网点) and, by default, every counter/ATM visit of the last year (transactions
carrying an ``outlet_id``), weighted by count, with the customer's home location. The likelihood is that of
a conditional logit with utility ``log A_j - λ log d_ij``; it is optimised with analytic gradients in log
space for A (L-BFGS-B), attractiveness normalised to a geometric mean of 1 over outlets with observations.
The standard error of λ comes from the observed information with every log A profiled out.

Trade areas (商圈) are probability zones on an H3 grid: the 50 % zone of an outlet is every cell whose centre
has P ≥ 0.5 for it, the 70 % zone every cell with P ≥ 0.7 (inside the 50 % zone).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import h3
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.optimize import minimize
from scipy.sparse.linalg import spsolve

from youshu.engine import Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date, last_days
from youshu.geo.distance import check_coordinates, nearest

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "ConvergenceError",
    "HuffModel",
    "calibrate_huff",
    "huff_observations",
    "trade_areas",
]

log = logging.getLogger(__name__)

Source = Literal["home", "visits", "both"]
#: Bounds of log attractiveness: an outlet nobody chose sits at the lower one.
_LOG_A_BOUND = 12.0
_LAMBDA_BOUNDS = (0.0, 20.0)
#: Observations used for the standard error (its Hessian is scaled up to the full weight beyond this).
_SE_MAX_OBSERVATIONS = 200_000


class ConvergenceError(YoushuError):
    """The Huff likelihood did not converge."""


def huff_observations(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    source: Source = "both",
    lookback_days: int = 365,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed customer-outlet use as of a date, from the warehouse (never from planted truth).

    Parameters
    ----------
    engine, warehouse
        Where to read ``customers``, ``transactions``, ``accounts`` and ``outlets``.
    as_of : date
        Customers onboarded, outlets opened and visits made on or before it.
    source : {"both", "home", "visits"}
        ``home``: each customer's home outlet once; ``visits``: counter and ATM transactions of the
        ``lookback_days`` days up to ``as_of`` at an outlet, one observation each; ``both``: the two together.
    lookback_days : int
        Window of the visits.

    Returns
    -------
    (choices, outlets) : tuple of DataFrame
        ``choices``: ``lat, lon, outlet_id, weight`` (one row per customer and outlet used, with the number
        of observations); ``outlets``: ``outlet_id, lat, lon`` open by ``as_of``.
    """
    if source not in ("home", "visits", "both"):
        raise YoushuError(f"Huff observations: source must be 'home', 'visits' or 'both', got {source!r}")
    as_of = as_of_date(as_of)
    t = Tables(engine, warehouse)
    o = t.outlets
    outlets = engine.execute(
        o.filter(o.opened_date <= as_of).select("outlet_id", "lat", "lon").order_by("outlet_id")
    )
    c = t.customers.filter(t.customers.onboard_date <= as_of)
    parts: list[ibis.Table] = []
    if source in ("home", "both"):
        parts.append(c.select("customer_id", outlet_id=c.home_outlet_id, weight=ibis.literal(1, "int64")))
    if source in ("visits", "both"):
        x = last_days(t.transactions, "txn_at", as_of, lookback_days)
        x = x.filter(x.outlet_id.notnull() & x.channel.isin(["counter", "atm"]))
        a = t.accounts.select("account_id", "customer_id")
        v = x.join(a, "account_id")
        parts.append(v.group_by(["customer_id", "outlet_id"]).aggregate(weight=v.count().cast("int64")))
    used = parts[0] if len(parts) == 1 else parts[0].union(parts[1], distinct=False)
    used = used.group_by(["customer_id", "outlet_id"]).aggregate(weight=used.weight.sum().cast("int64"))
    j = used.join(c.select("customer_id", "lat", "lon"), "customer_id")
    choices = engine.execute(
        j.select("customer_id", "lat", "lon", "outlet_id", "weight").order_by(["customer_id", "outlet_id"])
    )
    return choices.drop(columns="customer_id"), outlets


def _log_distances(
    outlet_lat: np.ndarray, outlet_lon: np.ndarray, lat: np.ndarray, lon: np.ndarray, k: int, floor_km: float
) -> tuple[np.ndarray, np.ndarray]:
    idx, dist_m = nearest(outlet_lat, outlet_lon, lat, lon, k=k, shortlist=k + 2)
    return idx, np.log(np.maximum(dist_m / 1000.0, floor_km))


def _softmax(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise probabilities and log normalisers of utilities ``u`` (n, k)."""
    top = u.max(axis=1, keepdims=True)
    e = np.exp(u - top)
    s = e.sum(axis=1, keepdims=True)
    return e / s, (top + np.log(s))[:, 0]


class HuffModel:
    """Huff model of outlet choice, fitted by maximum likelihood (see the module docstring).

    Parameters
    ----------
    candidates : int
        Outlets competing for a customer: the nearest ``candidates`` by geodesic distance.
    min_distance_km : float
        Distances below it count as it.
    max_iter : int
        L-BFGS-B iterations.

    Attributes
    ----------
    lambda_ : float
        Distance-decay exponent λ.
    lambda_se_ : float
        Its standard error (observed information, attractiveness profiled out).
    attractiveness_ : pandas.Series
        A_j by outlet id, geometric mean 1 over outlets with observations; outlets nobody chose get a
        tiny value (their log sits at the lower bound).
    log_likelihood_ : float
    n_observations_ : float
        Summed weight of the observations used.
    coverage_ : float
        Weighted share of observations whose chosen outlet was among the candidates (the rest are
        dropped: a low share says ``candidates`` is too small for this province).
    outlet_ids_, outlet_lat_, outlet_lon_ : ndarray
        The outlets the model chooses among.

    Examples
    --------
    >>> model = HuffModel(candidates=6).fit(lat, lon, chosen_outlet_ids, outlets)  # doctest: +SKIP
    >>> model.lambda_, model.summary()  # doctest: +SKIP
    """

    def __init__(self, *, candidates: int = 6, min_distance_km: float = 0.3, max_iter: int = 1000) -> None:
        self.candidates = candidates
        self.min_distance_km = min_distance_km
        self.max_iter = max_iter

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(
        self,
        lat: ArrayLike,
        lon: ArrayLike,
        chosen: ArrayLike,
        outlets: pd.DataFrame,
        weight: ArrayLike | None = None,
    ) -> HuffModel:
        """Estimate λ and attractiveness from observed choices.

        Parameters
        ----------
        lat, lon : array_like
            WGS-84 location of each observation (the customer's home).
        chosen : array_like of str
            Outlet id used in each observation.
        outlets : DataFrame
            ``outlet_id, lat, lon`` of the outlets to choose among.
        weight : array_like, optional
            Number of times each observation was seen (default 1).

        Returns
        -------
        HuffModel
            ``self``, fitted.

        Raises
        ------
        YoushuError
            When there are fewer than two outlets or no usable observation.
        ConvergenceError
            When the optimiser fails.
        """
        la = np.asarray(lat, dtype=np.float64).ravel()
        lo = np.asarray(lon, dtype=np.float64).ravel()
        w = np.ones(la.size) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
        ids = np.asarray(outlets["outlet_id"].astype(str))
        o_lat = outlets["lat"].to_numpy(dtype=np.float64)
        o_lon = outlets["lon"].to_numpy(dtype=np.float64)
        check_coordinates(o_lat, o_lon, "outlets", ids)
        check_coordinates(la, lo, "Huff observations")
        if ids.size < 2:
            raise YoushuError(f"a Huff model needs at least two outlets to choose among, got {ids.size}")
        chosen_idx = pd.Index(ids).get_indexer(np.asarray(chosen, dtype=object).astype(str))
        unknown = chosen_idx < 0
        if unknown.any():
            log.warning(
                "Huff fit: %d observations name an outlet not among the outlets; dropped", int(unknown.sum())
            )
        k = min(self.candidates, ids.size)
        near, ld = _log_distances(o_lat, o_lon, la, lo, k, self.min_distance_km)
        hit = near == chosen_idx[:, None]
        usable = hit.any(axis=1) & ~unknown & (w > 0)
        total = float(w[~unknown].sum())
        if not usable.any():
            raise YoushuError(
                "no observation chose one of its candidate outlets; raise circles.huff_candidates "
                f"(now {self.candidates}) or check that outlet ids of the choices match the outlets table"
            )
        near, ld, hit, w = near[usable], ld[usable], hit[usable], w[usable]
        n_outlets = ids.size
        chosen_weight = np.bincount(near[hit], weights=w, minlength=n_outlets)

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            lam, alpha = theta[0], theta[1:]
            u = alpha[near] - lam * ld
            p, norm = _softmax(u)
            ll = float(np.dot(w, u[hit] - norm))
            resid = (hit - p) * w[:, None]
            grad_lam = float(np.sum(resid * ld))  # d(-ll)/dλ = Σ w (ld_chosen - E ld)
            grad_alpha = -np.bincount(near.ravel(), weights=resid.ravel(), minlength=n_outlets)
            return -ll, np.r_[grad_lam, grad_alpha]

        start = np.r_[1.0, np.where(chosen_weight > 0, 0.0, -_LOG_A_BOUND / 2)]
        bounds = [_LAMBDA_BOUNDS] + [(-_LOG_A_BOUND, _LOG_A_BOUND)] * n_outlets
        result = minimize(
            nll, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": self.max_iter}
        )
        if not result.success and "ABNORMAL" not in str(result.message):
            raise ConvergenceError(
                f"Huff likelihood did not converge ({result.message}); try more iterations (max_iter, now "
                f"{self.max_iter}), fewer candidates, or more observations (source='both')"
            )
        lam, alpha = float(result.x[0]), result.x[1:].copy()
        seen = chosen_weight > 0
        alpha -= alpha[seen].mean()
        self.lambda_ = lam
        self.attractiveness_ = pd.Series(
            np.exp(alpha), index=pd.Index(ids, name="outlet_id"), name="attractiveness"
        )
        self.log_likelihood_ = -float(result.fun)
        self.n_observations_ = float(w.sum())
        self.coverage_ = float(w.sum() / total) if total else 0.0
        self.outlet_ids_ = ids
        self.outlet_lat_ = o_lat
        self.outlet_lon_ = o_lon
        self.converged_ = bool(result.success)
        self.lambda_se_ = self._lambda_se(near, ld, w, alpha, chosen_weight)
        log.info(
            "Huff fit: λ=%.3f (se %.3f) over %.0f observations", lam, self.lambda_se_, self.n_observations_
        )
        return self

    def _lambda_se(
        self, near: np.ndarray, ld: np.ndarray, w: np.ndarray, alpha: np.ndarray, chosen_weight: np.ndarray
    ) -> float:
        """Standard error of λ: 1 / (H_λλ - H_λα H_αα⁻¹ H_αλ), the most chosen outlet's log A held fixed.

        Outlets nobody chose are held fixed too (their log A sits at the bound). Beyond
        ``_SE_MAX_OBSERVATIONS`` rows the Hessian is taken over a fixed random subset and scaled up to the
        full weight.
        """
        total_weight = float(w.sum())
        if near.shape[0] > _SE_MAX_OBSERVATIONS:
            pick = np.random.default_rng(0).choice(near.shape[0], _SE_MAX_OBSERVATIONS, replace=False)
            near, ld, w = near[pick], ld[pick], w[pick]
        scale = total_weight / float(w.sum())
        p, _ = _softmax(alpha[near] - self.lambda_ * ld)
        x = -ld  # derivative of the utility with respect to λ
        centred = x - (p * x).sum(axis=1, keepdims=True)
        h_ll = float(np.dot(w, (p * centred**2).sum(axis=1)))
        free = np.flatnonzero(chosen_weight > 0)
        free = free[free != int(np.argmax(chosen_weight))]
        if free.size == 0:
            info = h_ll
        else:
            col = np.full(alpha.size, -1)
            col[free] = np.arange(free.size)
            c = col[near]
            mask = c >= 0
            h_la = np.bincount(c[mask], weights=(w[:, None] * p * centred)[mask], minlength=free.size)
            rows, cols, vals = [], [], []
            k = near.shape[1]
            for a in range(k):
                for b in range(k):
                    ok = mask[:, a] & mask[:, b]
                    v = w * ((p[:, a] if a == b else 0.0) - p[:, a] * p[:, b])
                    rows.append(c[ok, a])
                    cols.append(c[ok, b])
                    vals.append(v[ok])
            h_aa = sparse.csc_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(free.size, free.size),
            )
            info = h_ll - float(h_la @ spsolve(h_aa, h_la))
        info *= scale
        return float(1.0 / math.sqrt(info)) if info > 0 else float("nan")

    # -- using it ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "lambda_"):
            raise YoushuError("this HuffModel is not fitted yet; call fit(...) or calibrate_huff(...) first")

    def predict_proba(self, lat: ArrayLike, lon: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities over each location's candidate outlets.

        Returns
        -------
        (outlet_index, probability) : tuple of ndarray
            Shapes ``(n, k)``: indices into ``outlet_ids_`` (nearest first) and their probabilities (rows
            sum to 1).
        """
        self._check_fitted()
        la = np.asarray(lat, dtype=np.float64).ravel()
        lo = np.asarray(lon, dtype=np.float64).ravel()
        k = min(self.candidates, self.outlet_ids_.size)
        near, ld = _log_distances(self.outlet_lat_, self.outlet_lon_, la, lo, k, self.min_distance_km)
        log_a = np.log(self.attractiveness_.to_numpy())
        p, _ = _softmax(log_a[near] - self.lambda_ * ld)
        return near, p

    def summary(self) -> pd.DataFrame:
        """Parameter table: λ with its standard error, fit statistics (English and zh labels)."""
        self._check_fitted()
        rows = [
            ("lambda", "距离衰减系数 λ", self.lambda_, self.lambda_se_),
            ("log_likelihood", "对数似然", self.log_likelihood_, float("nan")),
            ("observations", "观测数(加权)", self.n_observations_, float("nan")),
            ("coverage", "候选网点覆盖率", self.coverage_, float("nan")),
        ]
        return pd.DataFrame(rows, columns=["parameter", "parameter_zh", "estimate", "std_error"])


def calibrate_huff(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    source: Source = "both",
    candidates: int | None = None,
    min_distance_km: float | None = None,
    lookback_days: int | None = None,
) -> HuffModel:
    """Fit a :class:`HuffModel` to the observed customer-outlet use of a warehouse as of a date.

    Defaults come from the ``circles`` block of youshu.yaml (6 candidates, 0.3 km floor, 365-day visits).

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     model = calibrate_huff(eng, Path("data/warehouse"), date(2025, 9, 30))
    """
    from youshu.config import get_settings

    cfg = get_settings().circles
    choices, outlets = huff_observations(
        engine, warehouse, as_of, source=source, lookback_days=lookback_days or cfg.huff_lookback_days
    )
    model = HuffModel(
        candidates=candidates or cfg.huff_candidates,
        min_distance_km=min_distance_km or cfg.huff_min_distance_km,
    )
    return model.fit(choices["lat"], choices["lon"], choices["outlet_id"], outlets, choices["weight"])


def trade_areas(
    model: HuffModel,
    *,
    resolution: int = 7,
    levels: Sequence[float] = (0.5, 0.7),
    reach_km: float = 10.0,
) -> pa.Table:
    """Huff probability zones of every outlet on an H3 grid.

    Parameters
    ----------
    model : HuffModel
        Fitted.
    resolution : int
        H3 resolution (7: cells of about 5 km², centres about 2.4 km apart).
    levels : sequence of float
        Probability thresholds; a cell is in an outlet's zone L when P ≥ L there.
    reach_km : float
        Cells within about this distance of an outlet are evaluated.

    Returns
    -------
    pyarrow.Table
        ``outlet_id, h3_cell, lat, lon, probability, level`` for every (outlet, cell) with P ≥ min(levels);
        ``level`` is the highest threshold reached (the 50 % zone is every row with level ≥ 0.5).
    """
    model._check_fitted()
    thresholds = sorted(float(v) for v in levels)
    if not thresholds or thresholds[0] <= 0 or thresholds[-1] > 1:
        raise YoushuError(f"trade-area levels must be probabilities in (0, 1], got {list(levels)}")
    spacing = h3.average_hexagon_edge_length(resolution, unit="km") * math.sqrt(3.0)
    rings = max(1, math.ceil(reach_km / spacing))
    cells: set[str] = set()
    for la, lo in zip(model.outlet_lat_, model.outlet_lon_, strict=True):
        cells.update(h3.grid_disk(h3.latlng_to_cell(float(la), float(lo), resolution), rings))
    cell_ids = np.array(sorted(cells), dtype=object)
    centres = np.array([h3.cell_to_latlng(c) for c in cell_ids], dtype=np.float64).reshape(-1, 2)
    near, prob = model.predict_proba(centres[:, 0], centres[:, 1])
    row, slot = np.nonzero(prob >= thresholds[0])
    p = prob[row, slot]
    level = np.asarray(thresholds)[np.searchsorted(thresholds, p, side="right") - 1]
    order = np.lexsort((cell_ids[row].astype(str), near[row, slot]))
    row, slot, p, level = row[order], slot[order], p[order], level[order]
    return pa.table(
        {
            "outlet_id": pa.array(model.outlet_ids_[near[row, slot]], pa.string()),
            "h3_cell": pa.array(cell_ids[row], pa.string()),
            "lat": pa.array(centres[row, 0]),
            "lon": pa.array(centres[row, 1]),
            "probability": pa.array(np.round(p, 6)),
            "level": pa.array(level),
        }
    )
