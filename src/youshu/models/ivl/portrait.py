"""The IVL portrait: per customer intimacy, potential value and lifecycle as of a date, and its output table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.features import compute_features
from youshu.models.ivl.config import IntimacyConfig, IvlConfig
from youshu.models.ivl.intimacy import intimacy_level, intimacy_score, learn_intimacy_weights
from youshu.models.ivl.lifecycle import STAGE_ZH, lifecycle_stage
from youshu.models.ivl.trend import balance_slope
from youshu.models.ivl.value import AumRegressor, align_later_aum, value_level
from youshu.models.ivl.value_txn import purchase_value
from youshu.models.timesplit import TimeSplit, label_vector

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "PORTRAIT_COLUMNS",
    "IvlPortrait",
    "build_portrait",
    "ivl_tag",
    "retention_labels",
    "write_portrait",
]

log = logging.getLogger(__name__)

#: Columns of the ``customer_ivl`` table, in order.
PORTRAIT_COLUMNS = (
    "customer_id",
    "as_of_date",
    "aum_fen",
    "intimacy_score",
    "intimacy_level",
    "value_predicted_aum_fen",
    "value_upside_fen",
    "value_level",
    "value_purchase_12m_fen",
    "p_alive",
    "lifecycle_stage",
    "lifecycle_stage_zh",
    "ivl_tag",
)


@dataclass(frozen=True)
class IvlPortrait:
    """A built portrait: the table plus what it was built with (for the report and model card)."""

    table: pd.DataFrame
    intimacy: IntimacyConfig
    value_model: AumRegressor
    value_train_as_of: date


def ivl_tag(intimacy: np.ndarray, value: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """The 3-D tag, e.g. ``高亲密·高潜力·成长期`` (``stage`` as English identifiers)."""
    return np.array(
        [f"{i}亲密·{v}潜力·{STAGE_ZH[s]}" for i, v, s in zip(intimacy, value, stage, strict=True)],
        dtype=object,
    )


def retention_labels(engine: Engine, warehouse: Path, features: pd.DataFrame, split: TimeSplit) -> np.ndarray:
    """1 when the customer has any account transaction in (T, T+H] (observed events only), else 0."""
    accounts = engine.table(warehouse, "accounts").select("account_id", "customer_id")
    txns = engine.table(warehouse, "transactions").select("account_id", "txn_at")
    events = txns.join(accounts, "account_id").select("customer_id", "txn_at")
    return label_vector(engine, events, features["customer_id"].to_numpy(), split, at="txn_at")


def _features(engine: Engine, warehouse: Path, as_of: date) -> pd.DataFrame:
    frame = engine.execute(compute_features(engine, warehouse, "customer", as_of))
    if frame.empty:
        raise YoushuError(f"no customers in {warehouse} as of {as_of}: check the warehouse and the date")
    return frame.sort_values("customer_id").reset_index(drop=True)


def build_portrait(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    config: IvlConfig,
    *,
    learn_intimacy: bool = False,
    retention_horizon_days: int = 90,
    features: pd.DataFrame | None = None,
) -> IvlPortrait:
    """Score every customer's intimacy, potential value and lifecycle stage as of ``as_of``.

    Parameters
    ----------
    engine, warehouse
        Where the canonical tables are.
    as_of : date
        T: every input is observed on or before it.
    config : IvlConfig
        From :func:`youshu.models.ivl.config.load_config`.
    learn_intimacy : bool
        Refit the intimacy weights against retention observed in (T - H, T] from features as of T - H.
    retention_horizon_days : int
        H of that retention label.
    features : pandas.DataFrame, optional
        Customer features as of T when already computed.

    Returns
    -------
    IvlPortrait
        The table has :data:`PORTRAIT_COLUMNS`. The value model is trained on features as of
        T - ``config.value.horizon_days`` with the AUM observed at T as the label, then applied at T.

    Raises
    ------
    YoushuError
        When the warehouse has no data at the training date of the value model.

    Notes
    -----
    ``value_purchase_12m_fen`` is the transaction-based value (BG/NBD expected product purchases in the next
    52 weeks times the Gamma-Gamma expected amount; 0 without purchases) and ``p_alive`` the BG/NBD
    probability that the customer still buys products (null without purchases); the lifecycle rules use it.
    """
    now = _features(engine, warehouse, as_of) if features is None else features
    intimacy_cfg = config.intimacy
    if learn_intimacy:
        past = as_of - timedelta(days=retention_horizon_days)
        past_features = _features(engine, warehouse, past)
        retained = retention_labels(engine, warehouse, past_features, TimeSplit(past, retention_horizon_days))
        intimacy_cfg = learn_intimacy_weights(past_features, retained, intimacy_cfg)
        log.info("intimacy weights learned on retention after %s", past)
    score = intimacy_score(now, intimacy_cfg)

    train_as_of = as_of - timedelta(days=config.value.horizon_days)
    before = _features(engine, warehouse, train_as_of)
    if pd.to_numeric(before["aum_max_12m_fen"], errors="coerce").fillna(0).sum() <= 0:
        raise YoushuError(
            f"no balances on or before {train_as_of} to train the value model (as of {as_of} minus "
            f"{config.value.horizon_days} days): choose a later as-of date or a shorter value horizon"
        )
    model = AumRegressor().fit(before, align_later_aum(before, now))
    predicted = model.predict(now)
    current = pd.to_numeric(now["aum_fen"], errors="coerce").fillna(0).to_numpy(dtype="float64")

    bought = purchase_value(engine, warehouse, as_of).set_index("customer_id")
    p_alive = now["customer_id"].map(bought["p_alive"]).to_numpy(dtype="float64", na_value=np.nan)
    purchase_12m = now["customer_id"].map(bought["purchase_value_fen"]).fillna(0.0).to_numpy(dtype="float64")
    slopes = engine.execute(balance_slope(engine, warehouse, as_of)).set_index("customer_id")
    with_slope = now.assign(balance_slope_9m=now["customer_id"].map(slopes["balance_slope_9m"]))
    stage = lifecycle_stage(with_slope, config.lifecycle, p_alive)
    i_level = intimacy_level(score, intimacy_cfg)
    v_level = value_level(predicted, config.value)
    table = pd.DataFrame(
        {
            "customer_id": now["customer_id"].astype(str).to_numpy(),
            "as_of_date": as_of,
            "aum_fen": current.astype("int64"),
            "intimacy_score": np.round(score, 2),
            "intimacy_level": i_level,
            "value_predicted_aum_fen": np.round(predicted).astype("int64"),
            "value_upside_fen": np.round(predicted - current).astype("int64"),
            "value_level": v_level,
            "value_purchase_12m_fen": np.round(purchase_12m).astype("int64"),
            "p_alive": np.round(p_alive, 4),
            "lifecycle_stage": stage,
            "lifecycle_stage_zh": [STAGE_ZH[s] for s in stage],
            "ivl_tag": ivl_tag(i_level, v_level, stage),
        },
        columns=list(PORTRAIT_COLUMNS),
    )
    return IvlPortrait(table, intimacy_cfg, model, train_as_of)


def write_portrait(table: pd.DataFrame, out_dir: Path, as_of: date) -> Path:
    """Write the portrait to ``out_dir/customer_ivl/as_of_date=YYYY-MM-DD/part-0.parquet`` atomically.

    Returns
    -------
    pathlib.Path
        The partition folder.
    """
    missing = [c for c in PORTRAIT_COLUMNS if c not in table.columns]
    if missing:
        raise YoushuError(f"the IVL table lacks columns {missing}")
    dest = Path(out_dir) / "customer_ivl" / f"as_of_date={as_of.isoformat()}"
    arrow = pa.Table.from_pandas(table[list(PORTRAIT_COLUMNS)], preserve_index=False)
    with atomic_dir(dest) as tmp:
        pq.write_table(arrow, tmp / "part-0.parquet")
    return dest


def read_portrait(out_dir: Path, as_of: date) -> pd.DataFrame:
    """Read a portrait written by :func:`write_portrait`.

    Raises
    ------
    YoushuError
        When no portrait was written for ``as_of`` under ``out_dir``.
    """
    folder = Path(out_dir) / "customer_ivl" / f"as_of_date={as_of.isoformat()}"
    if not (folder / "part-0.parquet").is_file():
        raise YoushuError(
            f"no IVL portrait as of {as_of} in {folder.parent}: run `youshu ivl build --as-of {as_of}`"
        )
    return pq.read_table(folder / "part-0.parquet").to_pandas()
