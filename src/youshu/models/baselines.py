"""Baselines a model must beat, measured in the same run: logistic regression and ranking by one column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from youshu.errors import YoushuError
from youshu.models.encoding import DEFAULT_EXCLUDED, FeatureEncoder, as_arrow

__all__ = ["LogisticBaseline", "rank_by"]


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on the same feature table as :class:`~youshu.models.propensity.PropensityRanker`.

    A fair linear baseline: numbers are log-scaled (sign(v)·log(1+|v|): amounts in fen span many orders of
    magnitude), missing values imputed with the median plus a missing-indicator column, everything
    standardised; text columns one-hot encoded (the most frequent ``max_categories`` levels).

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength.
    max_categories : int
        Levels kept per text column.
    exclude : sequence of str
        Columns never used (ids, the as-of date).
    max_iter : int
        Iterations of the L-BFGS solver.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        max_categories: int = 30,
        exclude: Sequence[str] = DEFAULT_EXCLUDED,
        max_iter: int = 2000,
    ) -> None:
        self.C = C
        self.max_categories = max_categories
        self.exclude = exclude
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> LogisticBaseline:
        """Fit to a feature table (pandas or Arrow) and 0/1 labels."""
        encoder = FeatureEncoder.learn(X, exclude=self.exclude, max_categories=self.max_categories)
        matrix = encoder.transform(X)
        categorical = encoder.categorical_indices
        numeric = [i for i in range(len(encoder.columns)) if i not in categorical]
        numbers = make_pipeline(
            FunctionTransformer(_signed_log1p),
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
        )
        categories = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=-1.0),
            OneHotEncoder(handle_unknown="ignore"),
        )
        design = ColumnTransformer([("numbers", numbers, numeric), ("categories", categories, categorical)])
        labels = np.asarray(y).astype(np.int64)
        if labels.min() == labels.max():
            raise YoushuError("the baseline needs positive and negative labels")
        self.pipeline_ = Pipeline(
            [("design", design), ("model", LogisticRegression(C=self.C, max_iter=self.max_iter))]
        ).fit(matrix, labels)
        self.encoder_ = encoder
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(encoder.columns, dtype=object)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of shape (n, 2): column 1 is the probability of the event."""
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.predict_proba(self.encoder_.transform(X)))

    def predict(self, X: Any) -> np.ndarray:
        """1 where the probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def rank_by(X: Any, column: str) -> np.ndarray:
    """A rule's score: one column of the feature table as float (nulls ranked last), e.g. ``aum_fen``."""
    table = as_arrow(X)
    if column not in table.schema.names:
        raise YoushuError(f"the feature table has no column {column!r} to rank by")
    values = FeatureEncoder.learn(table.select([column]), exclude=()).transform(table.select([column]))[:, 0]
    missing = np.isnan(values)
    if missing.all():
        return np.zeros(len(values))
    return np.where(missing, np.nanmin(values) - 1.0, values)
