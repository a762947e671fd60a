"""Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005; Fader & Hardie 2013) by maximum likelihood.

A customer's purchase values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, independent of how often
they buy. From the mean value m̄ of a customer's x repeat purchases the model gives the expected value of their
future purchases, shrunk towards the population mean p·γ/(q-1).

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from youshu.errors import YoushuError
from youshu.models._mle import collapse, fit_log_params, standard_errors, summary_frame, weighted_sum

__all__ = ["MONETARY_COLUMNS", "GammaGammaFitter"]

PARAMS = ("p", "q", "gamma")
#: Columns of the monetary summary: repeat purchases and their mean value (any money unit, e.g. yuan).
MONETARY_COLUMNS = ("frequency", "monetary_value")


def monetary_arrays(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and mean repeat-purchase value as float arrays (frame with those columns, or (n, 2) array)."""
    if isinstance(X, pd.DataFrame):
        missing = [c for c in MONETARY_COLUMNS if c not in X.columns]
        if missing:
            raise YoushuError(
                f"the monetary summary lacks columns {missing}; it needs {list(MONETARY_COLUMNS)}"
            )
        x, m = (X[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in MONETARY_COLUMNS)
    else:
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != 2:
            raise YoushuError(
                f"expected columns {list(MONETARY_COLUMNS)} (shape (n, 2)), got shape {matrix.shape}"
            )
        x, m = matrix[:, 0], matrix[:, 1]
    bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise YoushuError(f"monetary summary row {i}: frequency must be a whole number >= 0, got {x[i]}")
    return x, m


class _Likelihood:
    """The Gamma-Gamma log-likelihood of mean spend m̄ over x purchases, over collapsed rows."""

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray) -> None:
        self.total = float(weights.sum())
        self.w = weights / self.total
        self.x, self.m = x, m
        self.log_m, self.log_x = np.log(m), np.log(x)

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood per customer and its gradient in (p, q, γ)."""
        p, q, gamma = params
        x, m, w = self.x, self.m, self.w
        px = p * x
        log_gxm = np.log(gamma + x * m)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1) * self.log_m
            + px * self.log_x
            - (px + q) * log_gxm
        )
        psi = digamma(px + q)
        d_p = x * (psi - digamma(px) + self.log_m + self.log_x - log_gxm)
        d_q = psi - digamma(q) + np.log(gamma) - log_gxm
        d_gamma = q / gamma - (px + q) / (gamma + x * m)
        return -float(weighted_sum(w, ll)), -np.array(
            [weighted_sum(w, d_p), weighted_sum(w, d_q), weighted_sum(w, d_gamma)]
        )


class GammaGammaFitter(BaseEstimator):
    """Gamma-Gamma model of the value of purchases, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer, tol, max_iter
        As for :class:`~youshu.models.bgnbd.BetaGeoFitter`.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma``.
    summary_ : pandas.DataFrame
        Estimates with standard errors and 95% Wald intervals.
    log_likelihood_ : float
    n_customers_, n_unique_ : int
        Customers with repeat purchases fitted, and distinct (x, m̄) rows.

    Notes
    -----
    Only customers with ``frequency > 0`` are used to fit (others have no repeat purchase to average).
    The model assumes spend does not depend on frequency: check ``corr(frequency, monetary_value)`` is small.
    """

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-12, max_iter: int = 2000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: Any, y: None = None, sample_weight: Any = None) -> GammaGammaFitter:
        """Fit to customers' ``frequency`` and ``monetary_value`` (mean value of their repeat purchases).

        Raises
        ------
        YoushuError
            When a customer with repeat purchases has a mean value <= 0, or none has repeat purchases.
        """
        x, m = monetary_arrays(X)
        use = x > 0
        bad = use & ~(np.isfinite(m) & (m > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise YoushuError(
                f"monetary summary row {i}: monetary_value must be > 0 for a customer with repeat purchases, "
                f"got {m[i]} ({int(bad.sum())} rows affected); drop zero-value purchases first"
            )
        if not use.any():
            raise YoushuError("no customer has a repeat purchase (frequency > 0): nothing to fit")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[use]
        columns, w = collapse([x[use], m[use]], weights)
        likelihood = _Likelihood(columns[0], columns[1], w)
        start = np.array([1.0, 1.0, max(float(np.median(m[use])), 1e-3)])
        params, log_likelihood = fit_log_params(
            likelihood,
            start,
            total_weight=likelihood.total,
            names=PARAMS,
            penalizer=self.penalizer,
            tol=self.tol,
            max_iter=self.max_iter,
            model="Gamma-Gamma",
        )
        errors = standard_errors(likelihood, params, likelihood.total)
        self.params_ = dict(zip(PARAMS, (float(v) for v in params), strict=True))
        self.summary_ = summary_frame(PARAMS, params, errors)
        self.log_likelihood_ = log_likelihood
        self.n_customers_ = round(float(w.sum()))
        self.n_unique_ = len(w)
        return self

    @property
    def population_mean_(self) -> float:
        """Mean value per purchase across customers, p·γ/(q-1) (infinite when q <= 1)."""
        check_is_fitted(self, "params_")
        p, q, gamma = (self.params_[k] for k in PARAMS)
        return p * gamma / (q - 1) if q > 1 else float("inf")

    def predict_value(self, X: Any) -> np.ndarray:
        """Expected value of each customer's future purchases, E[M | m̄, x] (the population mean when x = 0)."""
        check_is_fitted(self, "params_")
        p, q, gamma = (self.params_[k] for k in PARAMS)
        x, m = monetary_arrays(X)
        m = np.where(x > 0, np.nan_to_num(m, nan=0.0), 0.0)
        return np.asarray(p * (gamma + x * m) / (p * x + q - 1), dtype=np.float64)
