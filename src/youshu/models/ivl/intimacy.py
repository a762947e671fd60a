"""亲密度 Intimacy: a transparent 0-100 score from relationship depth, with weights from config or learned."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from youshu.errors import YoushuError
from youshu.models.ivl.config import IntimacyComponent, IntimacyConfig

__all__ = ["intimacy_components", "intimacy_level", "intimacy_score", "learn_intimacy_weights"]

LEVELS = ("高", "中", "低")


def intimacy_components(features: pd.DataFrame, config: IntimacyConfig) -> pd.DataFrame:
    """Each configured component of every customer scaled to 0..1 (nulls count as 0).

    Raises
    ------
    YoushuError
        When ``features`` lacks a configured feature column.
    """
    out = {}
    for comp in config.components:
        if comp.feature not in features.columns:
            raise YoushuError(
                f"intimacy component {comp.name!r} needs feature column {comp.feature!r}, which the feature "
                f"table lacks; check definitions/ivl/intimacy.yml against youshu.features.catalog"
            )
        raw = pd.to_numeric(features[comp.feature], errors="coerce").astype("float64").fillna(0.0)
        if comp.transform == "flag":
            out[comp.name] = (raw > 0).astype("float64")
        else:
            cap = comp.cap if comp.cap is not None else 1.0
            out[comp.name] = np.clip(raw / cap, 0.0, 1.0)
    return pd.DataFrame(out, index=features.index)


def intimacy_score(features: pd.DataFrame, config: IntimacyConfig) -> np.ndarray:
    """The 0-100 score: 100 * sum(weight * component) / sum(weight)."""
    comps = intimacy_components(features, config)
    weights = np.array([c.weight for c in config.components], dtype="float64")
    if weights.sum() <= 0:
        raise YoushuError("intimacy weights sum to 0: give at least one component a positive weight")
    return np.asarray(100.0 * comps.to_numpy() @ weights / weights.sum())


def intimacy_level(score: np.ndarray, config: IntimacyConfig) -> np.ndarray:
    """高 (score >= levels.high), 中 (>= levels.medium) or 低."""
    score = np.asarray(score, dtype="float64")
    return np.where(
        score >= config.levels.high, "高", np.where(score >= config.levels.medium, "中", "低")
    ).astype(object)


def learn_intimacy_weights(
    features: pd.DataFrame, retained: np.ndarray, config: IntimacyConfig, *, C: float = 1.0
) -> IntimacyConfig:
    """Refit the component weights by logistic regression of observed retention on the components.

    Parameters
    ----------
    features : pandas.DataFrame
        Features as of a past date T.
    retained : numpy.ndarray
        1 when the customer still transacted in (T, T+H] (observed events, never truth).
    config : IntimacyConfig
        Gives the components; its weights are replaced.
    C : float
        Inverse L2 regularisation strength.

    Returns
    -------
    IntimacyConfig
        Same components and cut points; weights = the coefficients clipped at 0, rescaled to sum to the
        number of components (a negative coefficient means the component does not signal retention).
    """
    retained = np.asarray(retained)
    if len(retained) != len(features) or len(np.unique(retained)) < 2:
        raise YoushuError(
            "learning intimacy weights needs one 0/1 retention label per customer, both classes present"
        )
    comps = intimacy_components(features, config)
    model = LogisticRegression(C=C, max_iter=1000).fit(comps.to_numpy(), retained)
    coef = np.clip(model.coef_[0], 0.0, None)
    if coef.sum() <= 0:
        raise YoushuError("no intimacy component predicts retention positively; keep the configured weights")
    coef = coef * len(coef) / coef.sum()
    new: list[IntimacyComponent] = [
        c.model_copy(update={"weight": float(w)}) for c, w in zip(config.components, coef, strict=True)
    ]
    return config.model_copy(update={"components": tuple(new)})
