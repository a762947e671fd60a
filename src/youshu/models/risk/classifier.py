"""``RiskyAccountClassifier``: gradient-boosted trees (LightGBM) scoring how likely an account is a money mule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from youshu.errors import YoushuError

__all__ = ["RiskyAccountClassifier"]


class RiskyAccountClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM binary classifier over account features, with per-row feature contributions.

    The defaults are regularised for the rare positive class (about 0.1-2% of active accounts): small
    trees, at least 50 rows per leaf and an L2 penalty, so a handful of positives cannot push a leaf to a
    probability of 1 (without these the ranking changes from run to run).

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, reg_lambda, subsample, colsample_bytree :
        LightGBM hyperparameters (``subsample`` is applied to every tree).
    random_state : int
        Seed of row and column sampling; with the same rows in the same order, the same model.
    n_jobs : int
        Threads.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted trees.
    feature_names_in_ : numpy.ndarray
        Feature names seen in ``fit``; ``predict_proba`` selects these columns by name.
    classes_ : numpy.ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> clf = RiskyAccountClassifier().fit(train[features], train_labels)  # doctest: +SKIP
    >>> clf.predict_proba(today[features])[:, 1]  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        reg_lambda: float = 5.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(self, X: pd.DataFrame, y: Any) -> RiskyAccountClassifier:
        """Fit on a feature frame ``X`` (numeric or boolean columns) and 0/1 labels ``y``.

        Raises
        ------
        YoushuError
            When ``y`` has one class only, or lengths differ.
        """
        frame = _numeric(X)
        labels = np.asarray(y).astype(int)
        if len(labels) != len(frame):
            raise YoushuError(f"{len(frame)} rows of features but {len(labels)} labels")
        if len(np.unique(labels)) < 2:
            raise YoushuError(
                f"training needs risky and ordinary accounts; all {len(labels)} labels are {labels[:1]}: "
                "pick as-of dates inside the confirmed cases' activity"
            )
        data = lgb.Dataset(frame, label=labels, feature_name=list(frame.columns), free_raw_data=True)
        self.booster_ = lgb.train(self._params(), data, num_boost_round=self.n_estimators)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = len(frame.columns)
        self.classes_ = np.array([0, 1])
        return self

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this RiskyAccountClassifier is not fitted yet; call fit first")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise YoushuError(f"the frame lacks feature column(s) the model was trained on: {missing}")
        return _numeric(X[list(self.feature_names_in_)])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities ``[P(ordinary), P(risky)]`` per row."""
        frame = self._check(X)
        p = np.asarray(self.booster_.predict(frame), dtype=np.float64)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where ``P(risky) >= 0.5``."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to each row's log-odds (LightGBM ``pred_contrib``; ``bias`` last).

        The contributions of a row sum to its log-odds, so they say which features pushed it up or down.
        """
        frame = self._check(X)
        values = np.asarray(self.booster_.predict(frame, pred_contrib=True))
        return pd.DataFrame(values, columns=[*self.feature_names_in_, "bias"], index=X.index)

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("this RiskyAccountClassifier is not fitted yet; call fit first")
        gain = self.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names_in_).sort_values(ascending=False)

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write ``model.txt`` (LightGBM text format) and ``classifier.json`` (parameters) into ``folder``."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("this RiskyAccountClassifier is not fitted yet; call fit first")
        folder = Path(folder)
        self.booster_.save_model(str(folder / "model.txt"))
        meta = {"params": self.get_params(), "features": list(self.feature_names_in_)}
        (folder / "classifier.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> RiskyAccountClassifier:
        """Read what :meth:`save` wrote."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
            booster = lgb.Booster(model_file=str(folder / "model.txt"))
        except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
            raise YoushuError(
                f"cannot read a risk model from {folder} ({exc}); train one with youshu risk train"
            ) from None
        model = cls(**meta["params"])
        model.booster_ = booster
        model.feature_names_in_ = np.asarray(meta["features"], dtype=object)
        model.n_features_in_ = len(meta["features"])
        model.classes_ = np.array([0, 1])
        return model


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise YoushuError("features must be a pandas DataFrame with named columns")
    bad = [
        c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
    ]
    if bad:
        raise YoushuError(f"feature columns must be numbers or booleans; not: {bad}")
    return X.astype({c: "float64" for c in X.columns if pd.api.types.is_bool_dtype(X[c])})
