"""BatchScorer: compiled scores equal LightGBM's, batch by batch; a failed compile falls back with a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from youshu.errors import YoushuError
from youshu.models.propensity import PropensityRanker
from youshu.models.scoring import BLOCK_ROWS, BatchScorer

from .test_propensity import make_features


@pytest.fixture(scope="module")
def fitted() -> tuple[PropensityRanker, pd.DataFrame]:
    train, labels = make_features(6000, seed=11)
    ranker = PropensityRanker(n_estimators=25, num_leaves=7, min_child_samples=50).fit(train, labels)
    test, _ = make_features(BLOCK_ROWS + 1500, seed=12)  # more than one block
    return ranker, test


@pytest.fixture(scope="module")
def compiled(
    fitted: tuple[PropensityRanker, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> BatchScorer:
    ranker, test = fitted
    return BatchScorer(ranker, cache_dir=tmp_path_factory.mktemp("lleaves"), check=test)


def test_compiled_scores_equal_lightgbm_on_arrow_batches(
    compiled: BatchScorer, fitted: tuple[PropensityRanker, pd.DataFrame]
) -> None:
    ranker, test = fitted
    assert compiled.backend == "lleaves"
    expected = ranker.predict_proba(test)[:, 1]
    table = pa.Table.from_pandas(test, preserve_index=False)
    out = list(compiled.score_batches(table.to_batches(max_chunksize=3000), id_column="customer_id"))
    assert [b.num_rows for b in out] == [b.num_rows for b in table.to_batches(max_chunksize=3000)]
    scored = pa.Table.from_batches(out)
    assert scored.column_names == ["customer_id", "score"]
    assert scored.column("customer_id").to_pylist() == test["customer_id"].tolist()
    assert np.allclose(scored.column("score").to_numpy(), expected, rtol=0, atol=1e-12)
    assert np.allclose(compiled.score(test), expected, rtol=0, atol=1e-12)


def test_a_second_scorer_loads_the_cached_compiled_model(
    compiled: BatchScorer, fitted: tuple[PropensityRanker, pd.DataFrame], tmp_path: Path
) -> None:
    ranker, test = fitted
    cache = tmp_path / "cache"
    first = BatchScorer(ranker, cache_dir=cache)
    files = sorted(p.suffix for p in cache.iterdir())
    assert files == [".so", ".txt"]
    again = BatchScorer(ranker, cache_dir=cache)
    assert again.backend == "lleaves"
    assert np.array_equal(first.score(test), again.score(test))


def test_a_failed_compile_falls_back_to_lightgbm_with_a_warning(
    fitted: tuple[PropensityRanker, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import lleaves

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("no LLVM here")

    monkeypatch.setattr(lleaves.Model, "compile", broken)
    ranker, test = fitted
    with caplog.at_level(logging.WARNING, logger="youshu.models.scoring"):
        scorer = BatchScorer(ranker, cache_dir=tmp_path)
    assert scorer.backend == "lightgbm"
    assert "no LLVM here" in caplog.text
    assert np.allclose(scorer.score(test), ranker.predict_proba(test)[:, 1], rtol=0, atol=1e-12)


def test_a_compiled_model_that_disagrees_with_lightgbm_is_not_used(
    fitted: tuple[PropensityRanker, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import lleaves

    monkeypatch.setattr(lleaves.Model, "predict", lambda self, data, n_jobs=None: np.zeros(len(data)))
    ranker, test = fitted
    with caplog.at_level(logging.WARNING, logger="youshu.models.scoring"):
        scorer = BatchScorer(ranker, cache_dir=tmp_path, check=test)
    assert scorer.backend == "lightgbm"
    assert "differs from LightGBM" in caplog.text


def test_scoring_needs_a_fitted_ranker_and_the_id_column(compiled: BatchScorer) -> None:
    with pytest.raises(YoushuError, match="not fitted"):
        BatchScorer(PropensityRanker())
    batch = pa.RecordBatch.from_pydict({"x": [1]})
    with pytest.raises(YoushuError, match="id column 'customer_id'"):
        next(compiled.score_batches([batch]))
