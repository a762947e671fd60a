"""生命周期 Lifecycle: 获客期 / 成长期 / 成熟期 / 衰退期 / 沉睡流失 from tenure, AUM trend, activity and P(alive)."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from youshu.errors import YoushuError
from youshu.models.ivl.config import LifecycleConfig

__all__ = ["STAGE_ZH", "LifecycleStage", "lifecycle_stage"]


class LifecycleStage(StrEnum):
    """Lifecycle stages, in order."""

    ACQUISITION = "acquisition"
    GROWTH = "growth"
    MATURE = "mature"
    DECLINE = "decline"
    DORMANT = "dormant"


STAGE_ZH: dict[str, str] = {
    "acquisition": "获客期",
    "growth": "成长期",
    "mature": "成熟期",
    "decline": "衰退期",
    "dormant": "沉睡流失",
}

REQUIRED = ("tenure_days", "aum_fen", "aum_max_12m_fen", "balance_slope_9m")


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def lifecycle_stage(
    features: pd.DataFrame, config: LifecycleConfig, p_alive: np.ndarray | None = None
) -> np.ndarray:
    """The lifecycle stage (English identifier) of each customer by the documented rules.

    Parameters
    ----------
    features : pandas.DataFrame
        Customer features as of a date (``tenure_days``, ``aum_fen``, ``aum_max_12m_fen``,
        ``days_since_last_txn``, ``txn_count_90d``) and ``balance_slope_9m`` from
        :func:`youshu.models.ivl.trend.balance_slope` (null: no trend, neither growth nor decline).
    config : LifecycleConfig
        Thresholds (definitions/ivl/lifecycle.yml).
    p_alive : numpy.ndarray, optional
        BG/NBD probability of being alive; NaN where unknown.

    Returns
    -------
    numpy.ndarray of str
        Values of :class:`LifecycleStage`; see ``STAGE_ZH`` for the Chinese names.
    """
    missing = [c for c in (*REQUIRED, "days_since_last_txn", "txn_count_90d") if c not in features.columns]
    if missing:
        raise YoushuError(f"lifecycle rules need feature columns {missing}, which the feature table lacks")
    tenure = _num(features, "tenure_days")
    peak = _num(features, "aum_max_12m_fen")
    with np.errstate(divide="ignore", invalid="ignore"):
        vs_peak = np.where(peak > 0, _num(features, "aum_fen") / peak, 0.0)
    since = _num(features, "days_since_last_txn")
    quiet = (np.isnan(since) | (since >= config.quiet_min_days_since_txn)) & (
        np.nan_to_num(_num(features, "txn_count_90d")) <= config.quiet_max_txn_90d
    )
    if p_alive is not None:
        quiet |= np.nan_to_num(np.asarray(p_alive, dtype="float64"), nan=1.0) < config.dormant_max_p_alive
    slope = _num(features, "balance_slope_9m")
    growing = np.nan_to_num(slope, nan=0.0) >= config.growth_min_slope
    shrinking = np.nan_to_num(slope, nan=0.0) <= config.decline_max_slope
    new = np.nan_to_num(tenure, nan=0.0) < config.acquisition_max_tenure_days
    return np.select(
        [
            new,
            (vs_peak < config.dormant_max_aum_vs_peak) | quiet,
            (vs_peak < config.decline_max_aum_vs_peak) | shrinking,
            growing,
        ],
        [
            LifecycleStage.ACQUISITION.value,
            LifecycleStage.DORMANT.value,
            LifecycleStage.DECLINE.value,
            LifecycleStage.GROWTH.value,
        ],
        LifecycleStage.MATURE.value,
    ).astype(object)
