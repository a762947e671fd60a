"""Incremental effect of a campaign against its randomized control group, with confidence intervals.

- Conversion uplift: difference of two proportions (treatment minus control) with Newcombe's hybrid score
  interval (Newcombe 1998, method 10: Wilson intervals of each proportion combined), which keeps its
  coverage for rare conversions and small control groups where the plain Wald interval does not; the
  p-value is the two-sided pooled z-test.
- Deposit uplift: difference of two means with Welch's t interval (unequal variances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

__all__ = ["Estimate", "difference_in_means", "difference_in_proportions", "wilson_interval"]


@dataclass(frozen=True)
class Estimate:
    """A difference (treatment minus control) with its confidence interval; None where undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    p_value: float | None
    confidence: float

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (False when there is no interval)."""
        return self.low is not None and self.high is not None and self.low <= value <= self.high

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


_NONE = (None, None, None, None)


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (``n`` > 0)."""
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_in_proportions(
    x_treatment: int, n_treatment: int, x_control: int, n_control: int, confidence: float = 0.95
) -> Estimate:
    """Treatment minus control conversion rate with Newcombe's hybrid score interval.

    Parameters
    ----------
    x_treatment, n_treatment : int
        Converted treatment members and treatment members.
    x_control, n_control : int
        The same for the control group.
    confidence : float
        Confidence level of the interval, e.g. 0.95.

    Returns
    -------
    Estimate
        All None when a group is empty.

    Examples
    --------
    >>> e = difference_in_proportions(56, 70, 48, 80)  # Newcombe (1998), example (a)
    >>> round(e.estimate, 4), round(e.low, 4), round(e.high, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n_treatment <= 0 or n_control <= 0:
        return Estimate(*_NONE, confidence)
    p1, p0 = x_treatment / n_treatment, x_control / n_control
    l1, u1 = wilson_interval(x_treatment, n_treatment, confidence)
    l0, u0 = wilson_interval(x_control, n_control, confidence)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    pooled = (x_treatment + x_control) / (n_treatment + n_control)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_treatment + 1 / n_control))
    p_value = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(d) / se0))
    return Estimate(d, low, high, p_value, confidence)


def difference_in_means(
    sum_treatment: float,
    sumsq_treatment: float,
    n_treatment: int,
    sum_control: float,
    sumsq_control: float,
    n_control: int,
    confidence: float = 0.95,
) -> Estimate:
    """Treatment minus control mean with Welch's t interval, from sums and sums of squares.

    Each group needs at least two members; otherwise every field is None. With no variance in either group
    the interval collapses onto the estimate.
    """
    if n_treatment < 2 or n_control < 2:
        return Estimate(*_NONE, confidence)
    m1, m0 = sum_treatment / n_treatment, sum_control / n_control
    v1 = max(sumsq_treatment - n_treatment * m1 * m1, 0.0) / (n_treatment - 1)
    v0 = max(sumsq_control - n_control * m0 * m0, 0.0) / (n_control - 1)
    a, b = v1 / n_treatment, v0 / n_control
    se = math.sqrt(a + b)
    d = m1 - m0
    if se == 0:
        return Estimate(d, d, d, None, confidence)
    df = (a + b) ** 2 / (a * a / (n_treatment - 1) + b * b / (n_control - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * stats.t.sf(abs(d) / se, df))
    return Estimate(d, d - t * se, d + t * se, p_value, confidence)
