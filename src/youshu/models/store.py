"""Saving and loading a fitted PropensityRanker: LightGBM model text plus JSON metadata, written atomically.

A model folder holds ``model.txt`` (LightGBM's text format, only the kept rounds) and ``model.json``: the
ranker's parameters and feature encoding (columns, kinds, categories seen in training), and what the model is
for (target, segment, as-of date, horizon, metrics, youshu version). Loading needs nothing else, so a folder
copied to another machine scores the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from youshu import __version__
from youshu.errors import YoushuError
from youshu.models.model_folder import (
    encoder_from_meta,
    encoder_meta,
    jsonable,
    read_model_folder,
    write_model_folder,
)
from youshu.models.propensity import PropensityRanker

__all__ = ["FORMAT", "META_FILE", "MODEL_FILE", "ModelCard", "SavedModel", "load_model", "save_model"]

MODEL_FILE = "model.txt"
META_FILE = "model.json"
#: Version of the folder layout; a reader refuses folders of a newer one.
FORMAT = 1


@dataclass(frozen=True)
class ModelCard:
    """What a saved model predicts and how it did.

    Attributes
    ----------
    target : str
        Target name (``youshu.models.targets.TARGETS``), e.g. ``"insurance_purchase"``.
    as_of : date
        D: the last day of the labels the model was trained on (features as of D - horizon).
    horizon_days : int
        Label window in days.
    segment : str or None
        The segment expression the training rows were restricted to (None: every customer).
    entity : str
        Whose rows (``"customer"``).
    metrics : dict
        Figures measured at training time (e.g. out-of-time AUC on a holdout split).
    notes : dict
        Anything else worth keeping (training rows, positives, rounds...).
    """

    target: str
    as_of: date
    horizon_days: int
    segment: str | None = None
    entity: str = "customer"
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedModel:
    """A loaded model folder: the fitted ranker and its card."""

    ranker: PropensityRanker
    card: ModelCard
    path: Path
    youshu_version: str


def save_model(ranker: PropensityRanker, card: ModelCard, folder: Path) -> Path:
    """Write a fitted ranker and its card into ``folder`` (replacing it only once complete).

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    YoushuError
        When the ranker is not fitted.
    """
    if not hasattr(ranker, "booster_"):
        raise YoushuError("the ranker is not fitted: call fit before saving it")
    folder = Path(folder)
    encoder = ranker.encoder_
    meta = {
        "format": FORMAT,
        "kind": "PropensityRanker",
        "youshu_version": __version__,
        "target": card.target,
        "as_of": card.as_of.isoformat(),
        "horizon_days": card.horizon_days,
        "segment": card.segment,
        "entity": card.entity,
        "features": list(encoder.columns),
        "metrics": jsonable(card.metrics),
        "notes": jsonable(card.notes),
        "params": jsonable(ranker.get_params()),
        "encoder": encoder_meta(encoder),
        "best_iteration": ranker.best_iteration_,
        "validation_auc": ranker.validation_auc_,
    }
    text = ranker.booster_.model_to_string(num_iteration=ranker.best_iteration_)
    return write_model_folder(folder, text, meta, MODEL_FILE, META_FILE)


def load_model(folder: Path) -> SavedModel:
    """Read a folder written by :func:`save_model`.

    Raises
    ------
    YoushuError
        When the folder is missing, incomplete, of a newer format, or the model text does not load.
    """
    folder = Path(folder)
    meta, booster = read_model_folder(
        folder,
        kind="PropensityRanker",
        max_format=FORMAT,
        model_file=MODEL_FILE,
        meta_file=META_FILE,
        missing=f"{folder} holds no saved model ({META_FILE} and {MODEL_FILE}); train one with "
        "`youshu models train ... -o FOLDER`",
        what="the model",
    )
    params = dict(meta["params"])
    params["exclude"] = tuple(params.get("exclude", ()))
    ranker = PropensityRanker(**params)
    ranker.encoder_ = encoder_from_meta(meta)
    ranker.booster_ = booster
    ranker.feature_names_in_ = np.asarray(ranker.encoder_.columns, dtype=object)
    ranker.n_features_in_ = len(ranker.encoder_.columns)
    ranker.classes_ = np.array([0, 1])
    ranker.best_iteration_ = int(meta["best_iteration"])
    ranker.validation_auc_ = meta.get("validation_auc")
    ranker.youshu_version_ = meta.get("youshu_version", "")
    card = ModelCard(
        target=meta["target"],
        as_of=date.fromisoformat(meta["as_of"]),
        horizon_days=int(meta["horizon_days"]),
        segment=meta.get("segment"),
        entity=meta.get("entity", "customer"),
        metrics=dict(meta.get("metrics") or {}),
        notes=dict(meta.get("notes") or {}),
    )
    return SavedModel(ranker, card, folder, ranker.youshu_version_)
