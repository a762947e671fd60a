"""Reason codes in Chinese: the features that pushed a customer's score up most, with their values and units.

A reason reads like a line an account manager can say aloud: the feature's zh name from the catalog and its
value in the catalog's unit, e.g. ``近90天转他行理财 ¥52,000`` (money in fen shown as yuan), ``距最近购买天数
12天``, ``近90天手机银行交易占比 45%``, ``代发工资客户``. Features outside the catalog (outside data) show their
column name and raw value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from youshu.features.catalog import FEATURES, FeatureSpec

__all__ = ["catalog_specs", "format_reason", "format_value", "top_reasons"]

NO_RECORD = "无记录"


def catalog_specs(entity: str | None) -> dict[str, FeatureSpec]:
    """Feature name -> catalog spec for ``entity`` (empty for None or an entity without a catalog)."""
    return {spec.name: spec for spec in FEATURES.get(entity or "", ())}


def _number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _yuan(fen: float) -> str:
    yuan = fen / 100
    if abs(yuan) >= 100 or yuan == int(yuan):
        return f"¥{_number(round(yuan))}"
    return f"¥{yuan:,.2f}"


def _metres(m: float) -> str:
    return f"{m / 1000:,.1f}公里" if m >= 1000 else f"{round(m)}米"


_UNITS: dict[str, Callable[[float], str]] = {
    "fen": _yuan,
    "days": lambda v: f"{_number(v)}天",
    "years": lambda v: f"{_number(v)}岁",
    "m": _metres,
    "count": lambda v: _number(v),
    "share": lambda v: f"{v * 100:.0f}%",
    "ratio": lambda v: f"{v:,.2f}倍",
}


def format_value(value: Any, spec: FeatureSpec | None) -> str:
    """A feature value as shown to a marketer, in the spec's unit (yuan for fen, 天, %, 倍, 米/公里 ...)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_RECORD
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, str):
        return value
    number = float(value)
    unit = spec.unit if spec is not None else ""
    render = _UNITS.get(unit)
    if render is not None:
        return render(number)
    return _number(number) if number == int(number) else f"{number:,.2f}"


def format_reason(name: str, value: Any, spec: FeatureSpec | None) -> str:
    """One reason: ``<zh name> <value>``; a true flag is its zh name alone (``代发工资客户``)."""
    label = spec.zh if spec is not None else name
    if spec is not None and spec.dtype == "bool" and value is not None and not isinstance(value, float):
        return label if bool(value) else f"非{label}"
    return f"{label} {format_value(value, spec)}"


def top_reasons(
    contributions: np.ndarray,
    values: Callable[[int, int], Any],
    names: Sequence[str],
    specs: Mapping[str, FeatureSpec],
    *,
    top: int = 3,
) -> pd.DataFrame:
    """The ``top`` features with the largest positive contribution per row, rendered in zh.

    Parameters
    ----------
    contributions : numpy.ndarray of shape (n, k)
        Per-row, per-feature contributions to the score (e.g. LightGBM ``pred_contrib`` without the bias
        column), higher = pushes the score up.
    values : callable
        ``values(row, feature_index)`` -> the original value shown next to the feature.
    names : sequence of str
        Feature names in contribution order.
    specs : mapping
        Feature name -> catalog spec (zh name and unit); missing names show the column name.
    top : int
        Reasons per row; fewer when fewer features pushed the score up.

    Returns
    -------
    pandas.DataFrame
        ``reason_1`` .. ``reason_<top>`` (zh text or None), ``reason_feature_1`` .. (feature names) and
        ``reason_contribution_1`` .. (log-odds), one row per input row.
    """
    n, k = contributions.shape
    if k != len(names):
        raise ValueError(f"{k} contribution columns for {len(names)} feature names")
    top = max(0, min(top, k))
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    chosen = np.take_along_axis(contributions, order, axis=1)
    out: dict[str, list[Any]] = {}
    for slot in range(top):
        texts: list[str | None] = []
        features: list[str | None] = []
        for row in range(n):
            if chosen[row, slot] <= 0:
                texts.append(None)
                features.append(None)
                continue
            j = int(order[row, slot])
            name = names[j]
            texts.append(format_reason(name, values(row, j), specs.get(name)))
            features.append(name)
        out[f"reason_{slot + 1}"] = texts
        out[f"reason_feature_{slot + 1}"] = features
        out[f"reason_contribution_{slot + 1}"] = np.where(
            chosen[:, slot] > 0, chosen[:, slot], np.nan
        ).tolist()
    return pd.DataFrame(out)
