"""潜在价值 Potential value: AUM 12 months ahead predicted by LightGBM, trained on observed balances.

A fitted :class:`AumRegressor` saves to a folder like a ``PropensityRanker`` (``youshu.models.store``):
``aum_regressor.txt`` (LightGBM's text format) and ``aum_regressor.json`` (parameters, feature encoding, what
the model was trained on, the youshu version), written atomically; loading needs nothing else.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from youshu import __version__
from youshu.errors import YoushuError
from youshu.models.encoding import FeatureEncoder
from youshu.models.ivl.config import ValueConfig
from youshu.models.model_folder import (
    encoder_from_meta,
    encoder_meta,
    jsonable,
    read_model_folder,
    write_model_folder,
)

__all__ = ["FORMAT", "META_FILE", "MODEL_FILE", "AumRegressor", "align_later_aum", "value_level"]

MODEL_FILE = "aum_regressor.txt"
META_FILE = "aum_regressor.json"
#: Version of the folder layout; a reader refuses folders of a newer one.
FORMAT = 1
KIND = "AumRegressor"


class AumRegressor(RegressorMixin, BaseEstimator):
    """Predicts a customer's AUM (fen) H days ahead from features as of a date; fits log1p(AUM) by LightGBM.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM hyperparameters.
    random_state : int
        Seed of LightGBM.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> AumRegressor:
        """Fit on a feature table ``X`` (pandas or Arrow) and the AUM in fen observed H days later ``y``."""
        target = np.asarray(y, dtype="float64")
        if len(target) != len(X) or np.isnan(target).any() or (target < 0).any():
            raise YoushuError("AumRegressor.fit needs one non-negative later AUM (fen) per feature row")
        self.encoder_ = FeatureEncoder.learn(X)
        self.feature_names_in_ = np.array(self.encoder_.columns, dtype=object)
        self.n_features_in_ = len(self.encoder_.columns)
        self.booster_ = (
            lgb.LGBMRegressor(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                random_state=self.random_state,
                n_jobs=1,
                verbose=-1,
            )
            .fit(self.encoder_.transform(X), np.log1p(target))
            .booster_
        )
        self.info_: dict[str, Any] = {}
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted AUM in fen, H days after the features' as-of date (>= 0)."""
        check_is_fitted(self, "booster_")
        return np.clip(np.expm1(self.booster_.predict(self.encoder_.transform(X))), 0.0, None)

    def save(
        self,
        folder: Path,
        *,
        as_of: date | None = None,
        horizon_days: int | None = None,
        metrics: dict[str, Any] | None = None,
        notes: dict[str, Any] | None = None,
    ) -> Path:
        """Write the fitted model into ``folder`` (replacing it only once complete).

        Parameters
        ----------
        folder : Path
            Gets ``aum_regressor.txt`` and ``aum_regressor.json``.
        as_of : date, optional
            The date of the AUM the model was trained to predict (features as of ``as_of - horizon_days``).
        horizon_days : int, optional
            H: days between the features and the predicted AUM.
        metrics : dict, optional
            Figures measured for the model, labelled as what they are (kept in the metadata).
        notes : dict, optional
            Anything else worth keeping (training rows, who trained it...).

        Returns
        -------
        Path
            ``folder``.

        Raises
        ------
        YoushuError
            When the model is not fitted.
        """
        if not hasattr(self, "booster_"):
            raise YoushuError("the AumRegressor is not fitted: call fit before saving it")
        folder = Path(folder)
        encoder = self.encoder_
        meta = {
            "format": FORMAT,
            "kind": KIND,
            "youshu_version": __version__,
            "target": "aum_fen",
            "unit": "fen",
            "as_of": None if as_of is None else as_of.isoformat(),
            "horizon_days": horizon_days,
            "entity": "customer",
            "features": list(encoder.columns),
            "metrics": jsonable(metrics or {}),
            "notes": jsonable(notes or {}),
            "params": jsonable(self.get_params()),
            "encoder": encoder_meta(encoder),
        }
        return write_model_folder(folder, self.booster_.model_to_string(), meta, MODEL_FILE, META_FILE)

    @classmethod
    def load(cls, folder: Path) -> AumRegressor:
        """Read a folder written by :meth:`save`; its metadata is kept in ``info_``.

        Raises
        ------
        YoushuError
            When the folder is missing, incomplete, of a newer format or another kind, or the model text does
            not load.
        """
        folder = Path(folder)
        meta, booster = read_model_folder(
            folder,
            kind=KIND,
            max_format=FORMAT,
            model_file=MODEL_FILE,
            meta_file=META_FILE,
            missing=f"{folder} holds no saved AumRegressor ({META_FILE} and {MODEL_FILE}); save one with "
            "AumRegressor.save (the pipeline's registry step does)",
            what="the AumRegressor",
        )
        model = cls(**meta["params"])
        model.encoder_ = encoder_from_meta(meta)
        model.feature_names_in_ = np.asarray(model.encoder_.columns, dtype=object)
        model.n_features_in_ = len(model.encoder_.columns)
        model.booster_ = booster
        model.info_ = {
            k: meta.get(k) for k in ("as_of", "horizon_days", "metrics", "notes", "youshu_version")
        }
        return model


def value_level(predicted_aum_fen: np.ndarray, config: ValueConfig) -> np.ndarray:
    """高 / 中 / 低 from predicted AUM (fen) against the cut points in yuan."""
    yuan = np.asarray(predicted_aum_fen, dtype="float64") / 100.0
    levels = config.levels
    return np.where(yuan >= levels.high_yuan, "高", np.where(yuan >= levels.medium_yuan, "中", "低")).astype(
        object
    )


def align_later_aum(features: pd.DataFrame, later: pd.DataFrame) -> np.ndarray:
    """The later ``aum_fen`` of each row of ``features`` (0 for customers absent later)."""
    got = later.set_index("customer_id")["aum_fen"]
    return features["customer_id"].map(got).fillna(0).to_numpy(dtype="float64")
