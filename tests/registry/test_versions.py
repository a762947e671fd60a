"""Registering, promoting and scoring by alias against a real embedded MLflow store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.models.store import load_model
from youshu.registry.publish import publish
from youshu.registry.store import RegistryError, RegistryStore
from youshu.registry.versions import (
    compare_versions,
    describe_model,
    list_models,
    load_version,
    predict,
    promote,
    resolve_version,
)

from .conftest import INFO, frame, train_folder


@pytest.fixture(scope="module")
def two_versions(store: RegistryStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("folders")
    first, second = train_folder(root / "v1", seed=1), train_folder(root / "v2", seed=2)
    x, y = frame(300, seed=9)
    evaluation = pd.DataFrame(
        {"y": y, "score": load_model(first).ranker.predict_proba(x)[:, 1], "gender": x["gender"]}
    )
    _, v1 = publish(store, "her_insurance", first, INFO, evaluation=evaluation)
    _, v2 = publish(store, "her_insurance", second, INFO)
    assert (v1, v2) == ("1", "2")
    return first, second


def test_first_version_is_champion_and_later_ones_challengers(
    store: RegistryStore, two_versions: tuple[Path, Path]
) -> None:
    assert resolve_version(store, "her_insurance", "champion") == "1"
    assert resolve_version(store, "her_insurance", "challenger") == "2"
    [row] = [m for m in list_models(store) if m["name"] == "her_insurance"]
    assert row["versions"] == 2 and row["business_area"] == "零售金融" and row["name_zh"] == "她经济保险倾向"


def test_registers_two_versions_promotes_one_and_scores_by_alias_reproducibly(
    store: RegistryStore, two_versions: tuple[Path, Path]
) -> None:
    first, second = two_versions
    x, _ = frame(200, seed=5)
    before = predict(store, "her_insurance", x, "champion")["score"].to_numpy()
    np.testing.assert_allclose(before, load_model(first).ranker.predict_proba(x)[:, 1], rtol=1e-12)

    old, new = promote(store, "her_insurance")  # the challenger (v2) becomes champion
    assert (old, new) == ("1", "2")
    described = describe_model(store, "her_insurance")
    aliases = {v["version"]: v["aliases"] for v in described["versions"]}
    assert aliases == {2: ["champion"], 1: []}  # v1 keeps its version, loses the alias

    after = predict(store, "her_insurance", x, "champion")
    again = predict(store, "her_insurance", x, "champion")
    direct = load_model(second).ranker.predict_proba(x)[:, 1]
    assert list(after["customer_id"]) == list(x["customer_id"])
    np.testing.assert_array_equal(after["score"].to_numpy(), again["score"].to_numpy())
    np.testing.assert_allclose(after["score"].to_numpy(), direct, rtol=1e-12)
    assert not np.allclose(after["score"].to_numpy(), before)
    # version 1 is still there by number, scoring as before
    np.testing.assert_allclose(
        predict(store, "her_insurance", x, "1")["score"].to_numpy(), before, rtol=1e-12
    )


def test_loaded_version_holds_the_youshu_folder_and_its_card(
    store: RegistryStore, two_versions: tuple[Path, Path]
) -> None:
    loaded = load_version(store, "her_insurance", "1")
    assert loaded.kind == "PropensityRanker" and (loaded.folder / "model.txt").is_file()
    assert loaded.youshu.card.target == "insurance_purchase"
    card = next(v["card"] for v in describe_model(store, "her_insurance")["versions"] if v["version"] == 1)
    assert card["breakdown"]["gender"][0]["gender"] == "F"


def test_compare_rescores_the_same_rows_with_both_versions(
    store: RegistryStore, two_versions: tuple[Path, Path]
) -> None:
    first, second = two_versions
    x, y = frame(400, seed=7)
    table = compare_versions(store, "her_insurance", x, y, refs=("1", "2"))
    assert list(table["version"]) == [1, 2]
    assert set(table["rows"]) == {400}
    from youshu.models.evaluation import roc_auc

    expected = [roc_auc(y, load_model(f).ranker.predict_proba(x)[:, 1]) for f in (first, second)]
    np.testing.assert_allclose(table["roc_auc"].to_numpy(), expected)


def test_unknown_model_alias_and_version_are_clear_errors(
    store: RegistryStore, two_versions: tuple[Path, Path]
) -> None:
    with pytest.raises(RegistryError, match=r"no registered model 'wealth'.*her_insurance"):
        resolve_version(store, "wealth", "champion")
    with pytest.raises(RegistryError, match="no alias 'staging'"):
        resolve_version(store, "her_insurance", "staging")
    with pytest.raises(RegistryError, match="no version 9"):
        resolve_version(store, "her_insurance", "9")


def test_a_model_without_champion_says_so(store: RegistryStore, two_versions: tuple[Path, Path]) -> None:
    from youshu.registry.store import client

    mc = client(store)
    mc.create_registered_model("empty_model")
    with pytest.raises(RegistryError, match="no champion yet"):
        resolve_version(store, "empty_model", "champion")
