"""Saving and loading a fitted PropensityRanker: LightGBM model text plus JSON metadata, written atomically.

A model folder holds ``model.txt`` (LightGBM's text format, only the kept rounds) and ``model.json``: the
ranker's parameters and feature encoding (columns, kinds, categories seen in training), and what the model is
for (target, segment, as-of date, horizon, metrics, youshu version). Loading needs nothing else, so a folder
copied to another machine scores the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from youshu import __version__
from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.models.encoding import FeatureEncoder
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


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
        "metrics": _jsonable(card.metrics),
        "notes": _jsonable(card.notes),
        "params": _jsonable(ranker.get_params()),
        "encoder": {"columns": encoder.columns, "kinds": encoder.kinds, "categories": encoder.categories},
        "best_iteration": ranker.best_iteration_,
        "validation_auc": ranker.validation_auc_,
    }
    with atomic_dir(folder) as tmp:
        text = ranker.booster_.model_to_string(num_iteration=ranker.best_iteration_)
        (tmp / MODEL_FILE).write_text(text, encoding="utf-8")
        (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def load_model(folder: Path) -> SavedModel:
    """Read a folder written by :func:`save_model`.

    Raises
    ------
    YoushuError
        When the folder is missing, incomplete, of a newer format, or the model text does not load.
    """
    folder = Path(folder)
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise YoushuError(
            f"{folder} holds no saved model ({META_FILE} and {MODEL_FILE}); train one with "
            "`youshu models train ... -o FOLDER`"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        booster = lgb.Booster(model_str=model_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
        raise YoushuError(f"cannot read the model in {folder}: {exc}") from None
    if meta.get("format", 0) > FORMAT or meta.get("kind") != "PropensityRanker":
        raise YoushuError(
            f"{meta_path} is a {meta.get('kind')} model of format {meta.get('format')}; this youshu "
            f"({__version__}) reads PropensityRanker folders of format <= {FORMAT}"
        )
    params = dict(meta["params"])
    params["exclude"] = tuple(params.get("exclude", ()))
    ranker = PropensityRanker(**params)
    enc = meta["encoder"]
    ranker.encoder_ = FeatureEncoder(list(enc["columns"]), dict(enc["kinds"]), dict(enc["categories"]))
    ranker.booster_ = booster
    ranker.feature_names_in_ = np.asarray(enc["columns"], dtype=object)
    ranker.n_features_in_ = len(enc["columns"])
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
