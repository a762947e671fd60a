"""The MLflow pyfunc wrapper of a youshu model folder (PropensityRanker, RiskModel or AumRegressor).

The youshu folder itself is the model's artifact (``youshu_model``): LightGBM text plus JSON, no pickle. The
wrapper is logged "from code" (``_pyfunc_entry.py``), so nothing is pickled at all; loading it needs youshu
installed. ``predict`` takes a pandas feature frame and returns, row for row, the id column (when present)
and ``score`` (for a risk model also ``model_score``, ``rule_score`` and ``rules_hit``); for the IVL value
model (``AumRegressor``, a regressor) ``predicted_aum_fen``, the AUM forecast in fen, instead of ``score``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from youshu.errors import YoushuError

__all__ = ["ARTIFACT", "KINDS", "PREDICTION_COLUMN", "YoushuPyfunc", "folder_kind", "load_folder"]

#: Name of the youshu folder among the pyfunc model's artifacts.
ARTIFACT = "youshu_model"
KINDS = ("PropensityRanker", "RiskModel", "AumRegressor")
#: The column a regressor's predictions come in (the AUM forecast in fen).
PREDICTION_COLUMN = "predicted_aum_fen"


def folder_kind(folder: Path) -> str:
    """``"PropensityRanker"``, ``"RiskModel"`` or ``"AumRegressor"``, from the files of a saved model folder.

    Raises
    ------
    YoushuError
        When the folder holds neither.
    """
    from youshu.models.ivl.value import META_FILE as AUM_META

    folder = Path(folder)
    if (folder / "risk_model.json").is_file():
        return "RiskModel"
    if (folder / AUM_META).is_file():
        return "AumRegressor"
    if (folder / "model.json").is_file():
        return "PropensityRanker"
    raise YoushuError(
        f"{folder} holds no youshu model (model.json of `youshu models train`, risk_model.json of "
        "`youshu risk train` or aum_regressor.json of AumRegressor.save)"
    )


def load_folder(folder: Path) -> Any:
    """The youshu model of a folder: a ``SavedModel`` (propensity), a ``RiskModel`` or an ``AumRegressor``."""
    kind = folder_kind(folder)
    if kind == "AumRegressor":
        from youshu.models.ivl.value import AumRegressor

        return AumRegressor.load(folder)
    if kind == "RiskModel":
        from youshu.models.risk import RiskModel

        return RiskModel.load(folder)
    from youshu.models.store import load_model

    return load_model(folder)


def score_frame(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Scores of a loaded youshu model on a feature frame, in the frame's row order."""
    from youshu.features import ID_COLUMNS
    from youshu.models.ivl.value import AumRegressor
    from youshu.models.risk import RiskModel

    if isinstance(model, RiskModel):
        return model.score(frame).reset_index(drop=True)
    regressor = isinstance(model, AumRegressor)
    id_column = "customer_id" if regressor else ID_COLUMNS.get(model.card.entity, "customer_id")
    out = pd.DataFrame(index=range(len(frame)))
    if id_column in frame.columns:
        out[id_column] = frame[id_column].to_numpy()
    if regressor:
        out[PREDICTION_COLUMN] = model.predict(frame)
    else:
        out["score"] = model.ranker.predict_proba(frame)[:, 1]
    return out


class YoushuPyfunc(PythonModel):
    """Scores feature rows with the youshu model folder logged as the ``youshu_model`` artifact."""

    def load_context(self, context: Any) -> None:
        self.folder = Path(context.artifacts[ARTIFACT])
        self.kind = folder_kind(self.folder)
        self.model = load_folder(self.folder)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return score_frame(self.model, model_input)
