"""Risk situational awareness (风险态势感知): score distributions, alert trends, drift, rising outlets, flags.

Works on scored accounts of one or more as-of dates (``youshu.models.risk.alerts.score_accounts``, stacked):

- daily score distribution per outlet and per county (mean, quantiles, alerts);
- alert volume per day (and per county), with the change from the day before;
- population stability index (PSI) of features and scores between two as-of dates, read against the
  usual thresholds: below 0.1 stable (稳定), 0.1-0.25 watch (关注), above 0.25 drift (显著漂移);
- outlets whose alerts and scores rose most between two dates;
- a per-customer 风险账户 flag (``customer_risk_flags``): a small table the tag step joins so that marketing
  lists can leave those customers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.features.graph import GRAPH_FEATURES
from youshu.features.risk import RISK_FEATURES
from youshu.schema.storage import PARQUET_COMPRESSION, part_path

__all__ = [
    "FLAG_TABLE",
    "PSI_THRESHOLDS",
    "AwarenessSummary",
    "alert_trend",
    "awareness_summary",
    "customer_risk_flags",
    "drift_status",
    "feature_drift",
    "mark_alerts",
    "psi",
    "rising_outlets",
    "score_distribution",
    "write_customer_flags",
]

#: PSI below the first value is stable, up to the second worth watching, above it a drift.
PSI_THRESHOLDS = (0.1, 0.25)
#: Name of the per-customer flag table (``<out>/customer_risk_flags/as_of_date=YYYY-MM-DD/``).
FLAG_TABLE = "customer_risk_flags"
_ZH = {s.name: s.zh for s in (*RISK_FEATURES, *GRAPH_FEATURES)} | {
    "score": "综合风险分",
    "model_score": "模型分",
}
_EPS = 1e-4


def psi(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, bins: int = 10
) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Bins are the deciles (``bins`` quantiles) of ``expected``, with repeated edges merged; missing values
    form a bin of their own. ``PSI = sum((a - e) * ln(a / e))`` over bins of the shares ``e`` and ``a``
    (each at least 1e-4, so an empty bin does not give infinity).

    Examples
    --------
    >>> round(psi([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25), 6)
    0.0
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if len(e) == 0 or len(a) == 0:
        raise YoushuError("PSI needs values on both dates; one side is empty")
    e_ok, a_ok = e[~np.isnan(e)], a[~np.isnan(a)]
    edges = np.unique(np.quantile(e_ok, np.linspace(0, 1, bins + 1)[1:-1])) if len(e_ok) else np.array([])

    def shares(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, ok, side="right"), minlength=len(edges) + 1)
        counts = np.r_[counts, len(values) - len(ok)]
        return np.maximum(counts / len(values), _EPS)

    pe, pa_ = shares(e, e_ok), shares(a, a_ok)
    return float(np.sum((pa_ - pe) * np.log(pa_ / pe)))


def drift_status(value: float) -> str:
    """``"stable 稳定"`` below 0.1, ``"watch 关注"`` up to 0.25, ``"drift 显著漂移"`` above."""
    if value < PSI_THRESHOLDS[0]:
        return "stable 稳定"
    if value <= PSI_THRESHOLDS[1]:
        return "watch 关注"
    return "drift 显著漂移"


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """PSI of each numeric column between two frames (e.g. two as-of dates), largest first.

    Returns
    -------
    pandas.DataFrame
        ``feature, name_zh, psi, status, reference_mean, current_mean``.
    """
    names = (
        list(columns)
        if columns is not None
        else [c for c in reference.columns if c in _ZH and c in current.columns]
    )
    rows = []
    for name in names:
        ref = reference[name].astype("float64").to_numpy()
        cur = current[name].astype("float64").to_numpy()
        value = psi(ref, cur)
        rows.append(
            {
                "feature": name,
                "name_zh": _ZH.get(name, name),
                "psi": value,
                "status": drift_status(value),
                "reference_mean": float(np.nanmean(ref)) if np.isfinite(ref).any() else np.nan,
                "current_mean": float(np.nanmean(cur)) if np.isfinite(cur).any() else np.nan,
            }
        )
    out = pd.DataFrame(
        rows, columns=["feature", "name_zh", "psi", "status", "reference_mean", "current_mean"]
    )
    return out.sort_values(["psi", "feature"], ascending=[False, True]).reset_index(drop=True)


def mark_alerts(scores: pd.DataFrame, budget: int = 100) -> pd.DataFrame:
    """``scores`` with ``is_alert``: the ``budget`` highest scores of each as-of date (ties: smaller account id)."""
    if budget < 1:
        raise YoushuError(f"the alert budget must be at least 1, got {budget}")
    out = scores.sort_values(["as_of_date", "score", "account_id"], ascending=[True, False, True]).copy()
    out["is_alert"] = out.groupby("as_of_date").cumcount() < budget
    return out.sort_index()


def score_distribution(scores: pd.DataFrame, by: str = "outlet_id") -> pd.DataFrame:
    """Per as-of date and ``by`` (``outlet_id`` or ``county_id``): accounts, mean, p50/p90/p99, alerts."""
    if "is_alert" not in scores.columns:
        raise YoushuError("mark alerts first (mark_alerts) to count them per group")
    g = scores.groupby(["as_of_date", by], dropna=False)
    out = g["score"].agg(
        accounts="size",
        mean_score="mean",
        p50=lambda s: s.quantile(0.5),
        p90=lambda s: s.quantile(0.9),
        p99=lambda s: s.quantile(0.99),
    )
    out["alerts"] = g["is_alert"].sum().astype(int)
    out["alert_rate"] = out["alerts"] / out["accounts"]
    return out.reset_index()


def alert_trend(scores: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Alerts per as-of date (and ``by``), with the change from the previous date."""
    keys = ["as_of_date"] + ([by] if by else [])
    out = scores.groupby(keys, dropna=False).agg(
        alerts=("is_alert", "sum"), accounts=("score", "size"), mean_score=("score", "mean")
    )
    out = out.reset_index().sort_values(keys)
    out["alerts"] = out["alerts"].astype(int)
    change = out.groupby(by, dropna=False)["alerts"].diff() if by else out["alerts"].diff()
    out["change"] = change
    return out.reset_index(drop=True)


def rising_outlets(scores: pd.DataFrame, reference: date, current: date, top: int = 10) -> pd.DataFrame:
    """Outlets whose alerts (then mean score) rose most from ``reference`` to ``current``."""
    dist = score_distribution(scores, "outlet_id")
    days = dist["as_of_date"].astype(str)
    a = dist[days == str(reference)].set_index("outlet_id")
    b = dist[days == str(current)].set_index("outlet_id")
    if a.empty or b.empty:
        raise YoushuError(f"no scores on {reference if a.empty else current}; score both dates first")
    both = (
        b[["accounts", "alerts", "mean_score"]]
        .join(a[["alerts", "mean_score"]], rsuffix="_before", how="left")
        .fillna({"alerts_before": 0, "mean_score_before": 0.0})
    )
    both["alerts_change"] = both["alerts"] - both["alerts_before"]
    both["mean_score_change"] = both["mean_score"] - both["mean_score_before"]
    both = both.reset_index().sort_values(
        ["alerts_change", "mean_score_change", "outlet_id"], ascending=[False, False, True]
    )
    return both.head(top).reset_index(drop=True)


def customer_risk_flags(scores: pd.DataFrame) -> pd.DataFrame:
    """The 风险账户 flag per customer on each as-of date: a customer holding an alerted account.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, as_of_date, is_risky_account (风险账户), alerted_accounts, max_score`` for every
        customer with a scored account.
    """
    if "is_alert" not in scores.columns:
        raise YoushuError("mark alerts first (mark_alerts)")
    known = scores[scores["customer_id"].notna()]
    g = known.groupby(["customer_id", "as_of_date"])
    out = g.agg(alerted_accounts=("is_alert", "sum"), max_score=("score", "max")).reset_index()
    out["alerted_accounts"] = out["alerted_accounts"].astype("int64")
    out.insert(2, "is_risky_account", out["alerted_accounts"] > 0)
    return out


def write_customer_flags(flags: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write flags as ``out_dir/customer_risk_flags/as_of_date=YYYY-MM-DD/part-00000.parquet`` (atomically)."""
    written = []
    schema = pa.schema(
        [
            pa.field("customer_id", pa.string()),
            pa.field("as_of_date", pa.date32()),
            pa.field("is_risky_account", pa.bool_(), metadata={"zh": "风险账户"}),
            pa.field("alerted_accounts", pa.int64()),
            pa.field("max_score", pa.float64()),
        ]
    )
    for day, part in flags.groupby("as_of_date"):
        dest = Path(out_dir) / FLAG_TABLE / f"as_of_date={day}"
        table = pa.Table.from_pandas(part[schema.names], schema=schema, preserve_index=False)
        with atomic_dir(dest) as tmp:
            pq.write_table(table, part_path(tmp, 0), compression=PARQUET_COMPRESSION)
        written.append(dest)
    return written


@dataclass
class AwarenessSummary:
    """Every awareness table; ``None`` where the inputs did not allow it."""

    by_outlet: pd.DataFrame
    by_county: pd.DataFrame
    trend: pd.DataFrame
    trend_by_county: pd.DataFrame
    flags: pd.DataFrame
    rising_outlets: pd.DataFrame | None = None
    drift: pd.DataFrame | None = None
    dates: list[str] = field(default_factory=list)


def awareness_summary(
    scores: pd.DataFrame,
    *,
    budget: int = 100,
    reference_frame: pd.DataFrame | None = None,
    current_frame: pd.DataFrame | None = None,
    top_outlets: int = 10,
) -> AwarenessSummary:
    """All awareness tables from the scores of one or more as-of dates (pipeline and report entry point).

    Parameters
    ----------
    scores : pandas.DataFrame
        Scored accounts, stacked over dates (``score_accounts``); ``is_alert`` is added with ``budget``.
    budget : int
        Alerts per day.
    reference_frame, current_frame : pandas.DataFrame, optional
        Model frames of two dates to compute feature drift (the scores' own drift is included then too).
    """
    marked = mark_alerts(scores, budget)
    days = sorted({str(d) for d in marked["as_of_date"]})
    rising = None
    if len(days) >= 2:
        rising = rising_outlets(
            marked, date.fromisoformat(days[0]), date.fromisoformat(days[-1]), top_outlets
        )
    drift = None
    if reference_frame is not None and current_frame is not None:
        drift = feature_drift(reference_frame, current_frame)
        first = marked[marked["as_of_date"].astype(str) == days[0]]["score"]
        last = marked[marked["as_of_date"].astype(str) == days[-1]]["score"]
        if len(days) >= 2:
            value = psi(first.to_numpy(), last.to_numpy())
            extra = pd.DataFrame(
                [
                    {
                        "feature": "score",
                        "name_zh": _ZH["score"],
                        "psi": value,
                        "status": drift_status(value),
                        "reference_mean": float(first.mean()),
                        "current_mean": float(last.mean()),
                    }
                ]
            )
            drift = pd.concat([extra, drift], ignore_index=True)
    return AwarenessSummary(
        by_outlet=score_distribution(marked, "outlet_id"),
        by_county=score_distribution(marked, "county_id"),
        trend=alert_trend(marked),
        trend_by_county=alert_trend(marked, "county_id"),
        flags=customer_risk_flags(marked),
        rising_outlets=rising,
        drift=drift,
        dates=days,
    )
