"""A fitted LightGBM model saved as a folder: the model text and a JSON file of metadata, written atomically.

Used by :mod:`youshu.models.store` (PropensityRanker) and :class:`youshu.models.ivl.value.AumRegressor`, which
differ in file names, kind and metadata, not in how the folder is written, read and checked.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from youshu import __version__
from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.models.encoding import FeatureEncoder

__all__ = ["encoder_from_meta", "encoder_meta", "jsonable", "read_model_folder", "write_model_folder"]


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars, dates and NaN made JSON-friendly (dict keys become strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def encoder_meta(encoder: FeatureEncoder) -> dict[str, Any]:
    """The fitted encoder as metadata (:func:`encoder_from_meta` reads it back)."""
    return {"columns": encoder.columns, "kinds": encoder.kinds, "categories": encoder.categories}


def encoder_from_meta(meta: dict[str, Any]) -> FeatureEncoder:
    """The encoder saved by :func:`encoder_meta` under ``meta["encoder"]``."""
    enc = meta["encoder"]
    return FeatureEncoder(list(enc["columns"]), dict(enc["kinds"]), dict(enc["categories"]))


def write_model_folder(
    folder: Path, model_text: str, meta: dict[str, Any], model_file: str, meta_file: str
) -> Path:
    """Write the model text and its metadata into ``folder``, replacing it only once both are complete."""
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        (tmp / model_file).write_text(model_text, encoding="utf-8")
        (tmp / meta_file).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def read_model_folder(
    folder: Path,
    *,
    kind: str,
    max_format: int,
    model_file: str,
    meta_file: str,
    missing: str,
    what: str,
) -> tuple[dict[str, Any], lgb.Booster]:
    """The metadata and booster of a folder of ``kind`` written by :func:`write_model_folder`.

    Parameters
    ----------
    missing : str
        The error when the files are absent (what the folder should hold and how to make one).
    what : str
        How the error for an unreadable folder names the model (e.g. ``"the model"``).

    Raises
    ------
    YoushuError
        When the folder is missing, incomplete, of a newer format or another kind, or the model text does not
        load.
    """
    folder = Path(folder)
    meta_path, model_path = folder / meta_file, folder / model_file
    if not meta_path.is_file() or not model_path.is_file():
        raise YoushuError(missing)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        booster = lgb.Booster(model_str=model_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
        raise YoushuError(f"cannot read {what} in {folder}: {exc}") from None
    if meta.get("format", 0) > max_format or meta.get("kind") != kind:
        raise YoushuError(
            f"{meta_path} is a {meta.get('kind')} model of format {meta.get('format')}; this youshu "
            f"({__version__}) reads {kind} folders of format <= {max_format}"
        )
    return meta, booster
