"""The IVL value model (AumRegressor) logged as a regressor kind, registered and scored by alias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.clirun import run_cli

from youshu.models.ivl.value import AumRegressor
from youshu.registry.card import BusinessArea, CardInfo
from youshu.registry.publish import publish
from youshu.registry.pyfunc import PREDICTION_COLUMN, folder_kind
from youshu.registry.store import RegistryStore
from youshu.registry.versions import describe_model, load_version, predict

from .conftest import AS_OF, frame

INFO = CardInfo(
    name_zh="IVL 潜在价值",
    name_en="IVL potential value",
    business_area=BusinessArea.RETAIL,
    use_case="ivl_portrait",
    intended_use="IVL potential-value dimension",
    limitations="no out-of-time figure",
)


def _later_aum(x: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return x["aum_fen"].to_numpy() * rng.lognormal(0.0, 0.2, len(x)) * np.where(x["gender"] == "F", 1.3, 1.0)


@pytest.fixture(scope="module")
def value_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, _ = frame(400, seed=21)
    model = AumRegressor(n_estimators=20, min_child_samples=10).fit(x, _later_aum(x, 21))
    return model.save(
        tmp_path_factory.mktemp("value") / "model",
        as_of=AS_OF,
        horizon_days=365,
        metrics={"halves_spearman": 0.61, "check": "customer halves, not out of time"},
        notes={"train_as_of": "2024-09-30"},
    )


@pytest.fixture(scope="module")
def registered(store: RegistryStore, value_folder: Path) -> str:
    _, version = publish(store, "ivl_value", value_folder, INFO)
    return version


def test_value_folder_is_the_regressor_kind(value_folder: Path) -> None:
    assert folder_kind(value_folder) == "AumRegressor"


def test_value_model_by_alias_predicts_the_folders_aum_forecast_in_fen(
    store: RegistryStore, value_folder: Path, registered: str
) -> None:
    x, _ = frame(150, seed=22)
    scored = predict(store, "ivl_value", x, "champion")
    direct = AumRegressor.load(value_folder).predict(x)
    assert list(scored.columns) == ["customer_id", PREDICTION_COLUMN]
    assert list(scored["customer_id"]) == list(x["customer_id"])
    np.testing.assert_allclose(scored[PREDICTION_COLUMN].to_numpy(), direct, rtol=1e-12)
    assert (direct > 1_000).all()  # fen: the frame's AUM is tens of thousands of yuan, never near zero
    loaded = load_version(store, "ivl_value", "champion")
    assert loaded.kind == "AumRegressor" and isinstance(loaded.youshu, AumRegressor)


def test_value_model_card_and_run_say_what_the_figures_are(store: RegistryStore, registered: str) -> None:
    [version] = describe_model(store, "ivl_value")["versions"]
    assert version["aliases"] == ["champion", "challenger"]
    assert version["metrics"] == {"halves_spearman": pytest.approx(0.61)}
    assert version["tags"]["youshu.metric.check"] == "customer halves, not out of time"
    assert version["tags"]["youshu.kind"] == "AumRegressor"
    card = version["card"]
    assert card["kind"] == "AumRegressor" and card["business_area"] == "零售金融"
    assert card["training"]["horizon_days"] == 365 and card["training"]["train_as_of"] == "2024-09-30"
    assert card["features"] == ["aum_fen", "tenure_days", "txn_count_90d", "gender", "age_band"]
    assert card["breakdown"] == {}


def test_the_cli_predicts_the_value_model_by_alias_from_a_feature_file(
    store: RegistryStore,
    value_folder: Path,
    registered: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x, _ = frame(50, seed=33)
    x.to_parquet(tmp_path / "features.parquet")
    out = tmp_path / "aum.parquet"
    code, output = run_cli(
        ["models", "predict", "ivl_value", "--registry-uri", store.uri, "--features",
         str(tmp_path / "features.parquet"), "-o", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, output
    got = pd.read_parquet(out)
    assert got["customer_id"].tolist() == x["customer_id"].tolist()
    expected = AumRegressor.load(value_folder).predict(x)
    assert np.array_equal(got["predicted_aum_fen"].to_numpy(), np.asarray(expected, dtype=float))
