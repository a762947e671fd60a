"""Registry fixtures: a tiny fitted PropensityRanker saved as a youshu folder, and one embedded store per module."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.models.propensity import PropensityRanker
from youshu.models.store import ModelCard, save_model
from youshu.registry.card import BusinessArea, CardInfo
from youshu.registry.store import RegistryStore

AS_OF = date(2025, 9, 30)


def frame(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic customer features (with gender and age band) and labels that depend on two of them."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "customer_id": [f"C{seed:02d}{i:05d}" for i in range(rows)],
            "aum_fen": rng.gamma(2.0, 50_000.0, rows),
            "tenure_days": rng.integers(30, 4000, rows).astype(float),
            "txn_count_90d": rng.poisson(12, rows).astype(float),
            "gender": rng.choice(["F", "M"], rows),
            "age_band": rng.choice(["25_34", "35_44", "55_64"], rows),
        }
    )
    logit = -2.0 + 1.2 * (x["aum_fen"] > 120_000) + 0.8 * (x["gender"] == "F") + 0.02 * x["txn_count_90d"]
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y.to_numpy() if hasattr(y, "to_numpy") else y


def train_folder(folder: Path, seed: int, rows: int = 600) -> Path:
    """Fit a 10-tree ranker on a synthetic frame and save it as a youshu folder."""
    x, y = frame(rows, seed)
    ranker = PropensityRanker(n_estimators=10, min_child_samples=10, random_state=seed).fit(x, y)
    card = ModelCard("insurance_purchase", AS_OF, 90, segment=None, metrics={"roc_auc": 0.7, "holdout": "t1"})
    return save_model(ranker, card, folder)


INFO = CardInfo(
    name_zh="她经济保险倾向",
    name_en="Women's insurance propensity",
    business_area=BusinessArea.RETAIL,
    use_case="her_insurance",
    owner_team="零售金融部",
    intended_use="rank women customers for insurance outreach",
    limitations="trained on a synthetic province",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RegistryStore:
    """An embedded store in a fresh project folder (shared by a module: creating the tables takes seconds)."""
    return RegistryStore.embedded_in(tmp_path_factory.mktemp("project"))
